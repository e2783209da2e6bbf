import Foundation

/// A date's calendar fields in UTC, by arithmetic (Howard Hinnant's civil-from-days): no `Calendar`, no
/// `DateFormatter`, no ICU. The hot path names months, hours and timestamps for every message.
public struct UTCDate: Sendable, Equatable {
    public let year: Int64
    public let month: Int64
    public let day: Int64
    public let hour: Int64
    public let minute: Int64
    public let second: Int64
    public let millisecond: Int64

    /// The fields of `date`, cut to the millisecond (as `Calendar` does).
    public init(_ date: Date) {
        self.init(millisecondsSince1970: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    public init(millisecondsSince1970 milliseconds: Int64) {
        var (days, inDay) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
        if inDay < 0 { (days, inDay) = (days - 1, inDay + 86_400_000) }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let seconds = inDay / 1000
        (hour, minute, second, millisecond) = (seconds / 3600, seconds / 60 % 60, seconds % 60, inDay % 1000)
    }

    /// The fields as fixed-width digits: each pair is (value, width), joined by the separators between them
    /// (`separators.count == fields.count - 1`).
    public static func digits(_ fields: [(Int64, Int)], separators: [UInt8]) -> String {
        let length = fields.reduce(0) { $0 + $1.1 } + separators.count
        return String(unsafeUninitializedCapacity: length) { buffer in
            var position = 0
            for (index, (value, width)) in fields.enumerated() {
                var value = value
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    buffer[position + offset] = UInt8(truncatingIfNeeded: 48 + value % 10)
                    value /= 10
                }
                position += width
                if index < separators.count {
                    buffer[position] = separators[index]
                    position += 1
                }
            }
            return length
        }
    }

    /// "2026-12"
    public var monthText: String { Self.digits([(year, 4), (month, 2)], separators: [45]) }
    /// "2026-12-02 08"
    public var hourText: String { Self.digits([(year, 4), (month, 2), (day, 2), (hour, 2)], separators: [45, 45, 32]) }
    /// "08:05"
    public var clockText: String { Self.digits([(hour, 2), (minute, 2)], separators: [58]) }
    /// The first instant of the month holding this date.
    public var monthStart: Date {
        // Days from 1970-01-01 to the 1st of this month (the inverse of the conversion above).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return Date(timeIntervalSince1970: Double((era * 146_097 + dayOfEra - 719_468) * 86400))
    }

    /// "2026-12-02 08:05:09.123" (the store's timestamp format)
    public var storeText: String {
        Self.digits([(year, 4), (month, 2), (day, 2), (hour, 2), (minute, 2), (second, 2), (millisecond, 3)], separators: [45, 45, 32, 58, 58, 46])
    }
}
