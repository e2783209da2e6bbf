import BridgeOSStorage
import Foundation

/// PostgreSQL's COPY text format (tab-separated, `\N` for NULL, backslash escapes) for canonical rows: the
/// form `export --sql` writes into its file and `export --postgres` streams to the server.
public enum CopyText {
    /// One row as a COPY line (with its newline).
    public static func line(_ row: [String?], of table: PortableTable) throws -> String {
        var line = ""
        for (index, (value, column)) in zip(row, table.columns).enumerated() {
            if index > 0 { line += "\t" }
            guard let value else { line += "\\N"; continue }
            switch column.kind {
            case .integer:
                line += value
            case .boolean:
                line += value == "1" ? "t" : "f"
            case .timestamp:
                // 2026-12-02T16:30:54.123000Z → 2026-12-02 16:30:54.123000+00
                var bytes = Array(value.utf8)
                guard bytes.count == 27, bytes[10] == UInt8(ascii: "T"), bytes[26] == UInt8(ascii: "Z") else {
                    throw MoveError.unreadable("\(table.name).\(column.name): \"\(value)\" is not a canonical timestamp")
                }
                bytes[10] = UInt8(ascii: " ")
                line += String(decoding: bytes[0..<26], as: UTF8.self)
                line += "+00"
            case .text, .json:
                if value.utf8.contains(0) {
                    throw MoveError.notRepresentable(
                        "\(table.name).\(column.name) holds a NUL character, which PostgreSQL text cannot hold")
                }
                line += escape(value)
            }
        }
        return line + "\n"
    }

    /// A COPY line (without its newline) back to canonical values.
    public static func row(_ line: Substring, of table: PortableTable) throws -> [String?] {
        // Split on the tab byte (a tab inside a value is escaped): byte work, not Character work.
        let fields = line.utf8.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false).map { Substring($0) }
        guard fields.count == table.columns.count else {
            throw MoveError.unreadable("a row of \(table.name) has \(fields.count) fields for \(table.columns.count) columns")
        }
        var row: [String?] = []
        row.reserveCapacity(fields.count)
        for (field, column) in zip(fields, table.columns) {
            if field == "\\N" { row.append(nil); continue }
            switch column.kind {
            case .integer:
                guard Int64(field) != nil else { throw MoveError.unreadable("\(table.name).\(column.name): \"\(field)\" is not an integer") }
                row.append(String(field))
            case .boolean:
                guard field == "t" || field == "f" else {
                    throw MoveError.unreadable("\(table.name).\(column.name): \"\(field)\" is not a boolean t or f")
                }
                row.append(field == "t" ? "1" : "0")
            case .timestamp:
                // 2026-12-02 16:30:54.123000+00
                var bytes = Array(field.utf8)
                guard bytes.count == 29, bytes[10] == UInt8(ascii: " "), bytes[26...].elementsEqual("+00".utf8) else {
                    throw MoveError.unreadable("\(table.name).\(column.name): \"\(field)\" is not a UTC timestamp")
                }
                bytes[10] = UInt8(ascii: "T")
                bytes[26] = UInt8(ascii: "Z")
                row.append(String(decoding: bytes[0..<27], as: UTF8.self))
            case .text, .json:
                row.append(try unescape(field, at: "\(table.name).\(column.name)"))
            }
        }
        return row
    }

    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else { return text }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    static func unescape(_ field: Substring, at place: String) throws -> String {
        guard field.utf8.contains(UInt8(ascii: "\\")) else { return String(field) }
        var text = ""
        var scalars = field.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == "\\" else { text.unicodeScalars.append(scalar); continue }
            switch scalars.next() {
            case "\\": text += "\\"
            case "n": text += "\n"
            case "r": text += "\r"
            case "t": text += "\t"
            case "b": text += "\u{08}"
            case "f": text += "\u{0C}"
            case "v": text += "\u{0B}"
            default: throw MoveError.unreadable("\(place): an escape this file format does not write")
            }
        }
        return text
    }
}
