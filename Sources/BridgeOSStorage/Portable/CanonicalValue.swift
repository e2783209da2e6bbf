import Foundation
import GRDB

/// The one fixed form every value takes on its way between SQLite and PostgreSQL, and the form the
/// verification checksums are computed over (README "Moving to PostgreSQL"):
///
/// - integers: decimal (`-42`, `9007199254740993`)
/// - booleans: `0` or `1`
/// - timestamps: RFC 3339 in UTC to the microsecond (`2026-12-02T16:30:54.123000Z`)
/// - text and JSON: the UTF-8 text itself
/// - NULL: `nil` (the checksum writes its own marker)
public enum CanonicalValue {
    /// The canonical form of a value read from SQLite.
    static func fromSQLite(_ value: DatabaseValue, kind: ColumnKind, at place: @autoclosure () -> String) throws -> String? {
        switch value.storage {
        case .null:
            return nil
        case let .int64(number) where kind == .integer:
            return String(number)
        case let .int64(number) where kind == .boolean && (number == 0 || number == 1):
            return String(number)
        case let .blob(bytes) where kind == .timestamp || kind == .text || kind == .json:
            // Over the raw buffer: Data's own iteration is several times slower on every text of the database.
            let (decoded, hasNUL) = bytes.withUnsafeBytes { raw -> (String?, Bool) in
                let buffer = raw.bindMemory(to: UInt8.self)
                return (String(validating: buffer, as: UTF8.self), buffer.contains(0))
            }
            guard let text = decoded else {
                throw StoreError.notPortable("\(place()) holds bytes that are not UTF-8 text")
            }
            guard !hasNUL else {
                throw StoreError.notPortable("\(place()) holds a NUL character, which PostgreSQL text cannot hold")
            }
            guard kind == .timestamp else { return text }
            guard let canonical = timestamp(fromStore: text) else {
                throw StoreError.notPortable("\(place()) holds \"\(text)\", not a timestamp 'YYYY-MM-DD HH:MM:SS.SSS'")
            }
            return canonical
        case let .string(text) where kind == .timestamp:
            guard let canonical = timestamp(fromStore: text) else {
                throw StoreError.notPortable("\(place()) holds \"\(text)\", not a timestamp 'YYYY-MM-DD HH:MM:SS.SSS'")
            }
            return canonical
        case let .string(text) where kind == .text || kind == .json:
            return text
        default:
            throw StoreError.notPortable("\(place()) holds \(value) where the schema says \(kind.rawValue)")
        }
    }

    /// The SQLite value of a canonical value.
    static func toSQLite(_ canonical: String?, kind: ColumnKind, at place: @autoclosure () -> String) throws -> DatabaseValue {
        guard let canonical else { return .null }
        switch kind {
        case .integer:
            guard let number = Int64(canonical) else {
                throw StoreError.notPortable("\(place()): \"\(canonical)\" is not a 64-bit integer")
            }
            return number.databaseValue
        case .boolean:
            guard canonical == "0" || canonical == "1" else {
                throw StoreError.notPortable("\(place()): \"\(canonical)\" is not a boolean 0 or 1")
            }
            return Int64(canonical == "1" ? 1 : 0).databaseValue
        case .timestamp:
            guard let text = storeTimestamp(fromCanonical: canonical) else {
                throw StoreError.notPortable(
                    "\(place()): \"\(canonical)\" is not a UTC timestamp to the millisecond (SQLite keeps milliseconds)")
            }
            return text.databaseValue
        case .text, .json:
            return canonical.databaseValue
        }
    }

    /// `2026-12-02 16:30:54.123` (the store's form) → `2026-12-02T16:30:54.123000Z`; nil for anything else,
    /// a date that does not exist (`2026-02-30`) or a time out of range (`25:61`) included.
    public static func timestamp(fromStore text: String) -> String? {
        var bytes = Array(text.utf8)
        guard bytes.count == 23, bytes[10] == UInt8(ascii: " "), isValidInstant(bytes) else { return nil }
        bytes[10] = UInt8(ascii: "T")
        bytes.append(contentsOf: "000Z".utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `2026-12-02T16:30:54.123000Z` → `2026-12-02 16:30:54.123`; nil when it is not in that form, not a real
    /// instant, or has microseconds the store cannot keep.
    public static func storeTimestamp(fromCanonical canonical: String) -> String? {
        var bytes = Array(canonical.utf8)
        guard bytes.count == 27, bytes[10] == UInt8(ascii: "T"), bytes[26] == UInt8(ascii: "Z"),
              bytes[23..<26].elementsEqual("000".utf8), isValidInstant(bytes)
        else { return nil }
        bytes[10] = UInt8(ascii: " ")
        return String(decoding: bytes[0..<23], as: UTF8.self)
    }

    /// `YYYY-MM-DD?HH:MM:SS.mmm` at the start of `bytes` names a real instant (years 0001–9999).
    static func isValidInstant(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 23, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[13] == UInt8(ascii: ":"),
              bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: ".")
        else { return false }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19), number(20..<23) != nil,
              year >= 1, (1...12).contains(month), hour < 24, minute < 60, second < 60
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }
}
