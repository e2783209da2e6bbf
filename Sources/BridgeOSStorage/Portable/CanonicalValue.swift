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

    /// `2026-12-02 16:30:54.123` (the store's form) → `2026-12-02T16:30:54.123000Z`.
    public static func timestamp(fromStore text: String) -> String? {
        var bytes = Array(text.utf8)
        guard bytes.count == 23, bytes[10] == UInt8(ascii: " "), bytes[19] == UInt8(ascii: ".") else { return nil }
        bytes[10] = UInt8(ascii: "T")
        bytes.append(contentsOf: "000Z".utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `2026-12-02T16:30:54.123000Z` → `2026-12-02 16:30:54.123`; nil when it is not in that form or has
    /// microseconds the store cannot keep.
    public static func storeTimestamp(fromCanonical canonical: String) -> String? {
        var bytes = Array(canonical.utf8)
        guard bytes.count == 27, bytes[10] == UInt8(ascii: "T"), bytes[19] == UInt8(ascii: "."),
              bytes[26] == UInt8(ascii: "Z"), bytes[23..<26].elementsEqual("000".utf8)
        else { return nil }
        bytes[10] = UInt8(ascii: " ")
        return String(decoding: bytes[0..<23], as: UTF8.self)
    }
}
