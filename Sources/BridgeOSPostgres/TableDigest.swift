import BridgeOSStorage
import Crypto
import Foundation

/// A table's row count and SHA-256 over its rows in primary-key order, each value in canonical form
/// (`CanonicalValue`). BridgeOS computes it the same way on both sides of a move, from what it reads there.
///
/// Each value is written as its UTF-8 byte count, a colon and the bytes (`5:hello`), NULL as `-`, and each
/// row ends with a newline: no value can be mistaken for another or for a row boundary.
public struct TableDigest: Sendable, Equatable {
    public private(set) var rows = 0
    private var hasher = SHA256()
    private var finished: String?

    public init() {}

    public mutating func add(_ row: [String?]) {
        var line: [UInt8] = []
        line.reserveCapacity(128)
        for value in row {
            if let value {
                line.append(contentsOf: String(value.utf8.count).utf8)
                line.append(UInt8(ascii: ":"))
                line.append(contentsOf: value.utf8)
            } else {
                line.append(UInt8(ascii: "-"))
            }
        }
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        rows += 1
    }

    /// The hex SHA-256 (the digest can take no more rows after this).
    public mutating func finish() -> String {
        if let finished { return finished }
        let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        finished = hex
        return hex
    }

    public static func == (lhs: TableDigest, rhs: TableDigest) -> Bool { lhs.rows == rhs.rows && lhs.finished == rhs.finished }
}

/// One table's figures on both sides of a move.
public struct TableCheck: Sendable, Equatable {
    public let table: String
    public let sourceRows: Int
    public let sourceSHA256: String
    public let targetRows: Int
    public let targetSHA256: String

    public var matches: Bool { sourceRows == targetRows && sourceSHA256 == targetSHA256 }
}

/// An identity sequence's floor on both sides (the highest id ever given).
public struct SequenceCheck: Sendable, Equatable {
    public let table: String
    public let source: Int64
    public let target: Int64
    /// A target that gives ids above the source's floor is right; below it would give an old id again.
    public var matches: Bool { target >= source }
}

/// What the verification after an export or import found: a line per table.
public struct Verification: Sendable, Equatable {
    public var tables: [TableCheck] = []
    public var sequences: [SequenceCheck] = []

    public var matches: Bool { tables.allSatisfy(\.matches) && sequences.allSatisfy(\.matches) }

    /// The report, as a table for a terminal.
    public func rendered(source: String, target: String) -> String {
        let width = max(22, (tables.map(\.table.count) + sequences.map(\.table.count)).max() ?? 0) + 2
        func pad(_ text: String, _ length: Int) -> String { text.padding(toLength: max(length, text.count), withPad: " ", startingAt: 0) }
        var lines = [pad("table", width) + pad("rows (\(source))", 18) + pad("rows (\(target))", 18)
            + pad("sha256 (\(source))", 20) + pad("sha256 (\(target))", 20) + "result"]
        for check in tables {
            lines.append(pad(check.table, width) + pad("\(check.sourceRows)", 18) + pad("\(check.targetRows)", 18)
                + pad(String(check.sourceSHA256.prefix(16)), 20) + pad(String(check.targetSHA256.prefix(16)), 20)
                + (check.matches ? "ok" : "MISMATCH"))
        }
        for sequence in sequences {
            lines.append(pad(sequence.table + " (next id)", width) + pad("\(sequence.source + 1)", 18)
                + pad("\(sequence.target + 1)", 18) + pad("", 40) + (sequence.matches ? "ok" : "MISMATCH"))
        }
        let failed = tables.filter { !$0.matches }.count + sequences.filter { !$0.matches }.count
        lines.append(failed == 0
            ? "verified: \(tables.count) tables, \(tables.map(\.targetRows).reduce(0, +)) rows, equal on both sides"
            : "NOT verified: \(failed) mismatch(es)")
        return lines.joined(separator: "\n")
    }
}

extension Verification {
    /// Pairs the tables (and sequences) of both sides by name; a table missing on one side is a mismatch.
    static func compare(
        source: [(String, TableDigest)], target: [(String, TableDigest)],
        sourceFloors: [(String, Int64)], targetFloors: [(String, Int64)]
    ) -> Verification {
        var verification = Verification()
        let names = source.map(\.0) + target.map(\.0).filter { name in !source.contains { $0.0 == name } }
        for name in names {
            var mine = source.first { $0.0 == name }?.1
            var theirs = target.first { $0.0 == name }?.1
            verification.tables.append(TableCheck(
                table: name,
                sourceRows: mine?.rows ?? 0, sourceSHA256: mine?.finish() ?? "(missing)",
                targetRows: theirs?.rows ?? 0, targetSHA256: theirs?.finish() ?? "(missing)"))
        }
        for (name, floor) in sourceFloors {
            verification.sequences.append(SequenceCheck(
                table: name, source: floor, target: targetFloors.first { $0.0 == name }?.1 ?? -1))
        }
        return verification
    }
}
