import Foundation
import GRDB

/// A timestamp bound as SQLite text in GRDB's storage format ("yyyy-MM-dd HH:mm:ss.SSS", UTC), formatted by
/// arithmetic: GRDB's own `Date` binding goes through `DateFormatter`, which a profile of the relay showed
/// at 3 % of all CPU. Reads are unchanged (GRDB parses that format itself).
struct StoreDate: DatabaseValueConvertible {
    let date: Date

    init(_ date: Date) { self.date = date }

    var databaseValue: DatabaseValue { Self.text(date).databaseValue }

    static func fromDatabaseValue(_ dbValue: DatabaseValue) -> StoreDate? {
        Date.fromDatabaseValue(dbValue).map(StoreDate.init)
    }

    /// The storage text of `date`, rounded to the millisecond as GRDB's formatter does.
    static func text(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (days, inDay) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
        let (day, millisecond) = inDay < 0 ? (days - 1, inDay + 86_400_000) : (days, inDay)
        let (year, month, dayOfMonth) = civil(fromDays: day)
        let second = millisecond / 1000
        return String(unsafeUninitializedCapacity: 23) { buffer in
            func put(_ value: Int64, _ width: Int, at start: Int) {
                var value = value
                for index in stride(from: start + width - 1, through: start, by: -1) {
                    buffer[index] = UInt8(truncatingIfNeeded: 48 + value % 10)
                    value /= 10
                }
            }
            put(year, 4, at: 0); buffer[4] = 45  // -
            put(month, 2, at: 5); buffer[7] = 45
            put(dayOfMonth, 2, at: 8); buffer[10] = 32  // space
            put(second / 3600, 2, at: 11); buffer[13] = 58  // :
            put(second / 60 % 60, 2, at: 14); buffer[16] = 58
            put(second % 60, 2, at: 17); buffer[19] = 46  // .
            put(millisecond % 1000, 3, at: 20)
            return 23
        }
    }

    /// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
