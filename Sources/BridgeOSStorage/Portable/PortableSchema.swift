import BridgeOSCore
import Foundation
import GRDB

/// What a column holds, beyond SQLite's storage class: the one registry that drives the type mapping of the
/// move to PostgreSQL in both directions (SQLite ⇄ canonical form ⇄ PostgreSQL).
///
/// It is read from the schema itself, never kept by hand: the SQLite schema declares every kind through its
/// conventions (README "Storage"), and the test suite checks the result against the PostgreSQL twins.
public enum ColumnKind: String, Sendable, Equatable, CaseIterable {
    /// `INTEGER`: a 64-bit integer (`BIGINT`).
    case integer
    /// `INTEGER … CHECK (x IN (0, 1))`: a boolean (`BOOLEAN`).
    case boolean
    /// `TEXT … CHECK (x IS strftime('%Y-%m-%d %H:%M:%f', x))`: a UTC instant (`TIMESTAMPTZ`).
    case timestamp
    /// `TEXT … CHECK (json_valid(x))`: JSON text, kept byte for byte (`JSON`).
    case json
    /// `TEXT`: UTF-8 text (`TEXT`).
    case text

    /// The PostgreSQL type of the twin column.
    public var postgresType: String {
        switch self {
        case .integer: "bigint"
        case .boolean: "boolean"
        case .timestamp: "timestamp with time zone"
        case .json: "json"
        case .text: "text"
        }
    }
}

public struct PortableColumn: Sendable, Equatable {
    public let name: String
    public let kind: ColumnKind
    public let nullable: Bool
}

/// One table as the move to PostgreSQL sees it.
public struct PortableTable: Sendable, Equatable {
    public let name: String
    /// In the table's column order (the twins keep the same order).
    public let columns: [PortableColumn]
    /// The primary key's columns, in key order: rows are read and checksummed in this order.
    public let primaryKey: [String]
    /// SQLite `AUTOINCREMENT`: ids are never given again, so the highest id ever given (sqlite_sequence)
    /// travels with the data.
    public let autoincrement: Bool
    /// Tables this one refers to (other than itself).
    public let references: [String]

    /// The single integer primary-key column, the one a PostgreSQL identity sequence can belong to.
    public var integerKey: String? {
        guard primaryKey.count == 1, let column = columns.first(where: { $0.name == primaryKey[0] }),
              column.kind == .integer else { return nil }
        return column.name
    }

    public func kind(of column: String) -> ColumnKind? { columns.first { $0.name == column }?.kind }
}

/// Every application table, parents before children (the order a load must follow).
public struct PortableSchema: Sendable, Equatable {
    public let tables: [PortableTable]

    public func table(_ name: String) -> PortableTable? { tables.first { $0.name == name } }

    /// Reads the registry from a database's own schema.
    static func read(_ db: Database) throws -> PortableSchema {
        let names = try String.fetchAll(db, sql: """
            SELECT name FROM sqlite_master
            WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'
            ORDER BY name
            """)
        var tables: [String: PortableTable] = [:]
        for name in names { tables[name] = try readTable(name, db) }
        return PortableSchema(tables: try parentsFirst(tables))
    }

    private static func readTable(_ name: String, _ db: Database) throws -> PortableTable {
        let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                      arguments: [name]) ?? ""
        let rows = try Row.fetchAll(db, sql: "SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?)",
                                    arguments: [name])
        var columns: [PortableColumn] = []
        var keyed: [(position: Int, name: String)] = []
        for row in rows {
            let hidden: Int = row["hidden"]
            guard hidden == 0 else {
                throw StoreError.unsupportedSchema("\(name) has a generated or hidden column, which the PostgreSQL move does not carry")
            }
            let column: String = row["name"]
            let declared = (row["type"] as String).uppercased()
            let kind = try kind(of: column, declared: declared, table: name, sql: sql)
            let notNull: Int = row["notnull"]
            let position: Int = row["pk"]
            if position > 0 { keyed.append((position, column)) }
            // An INTEGER PRIMARY KEY is the rowid and never NULL, whatever its declaration says.
            let isRowid = position > 0 && declared == "INTEGER" && rows.filter { ($0["pk"] as Int) > 0 }.count == 1
            columns.append(PortableColumn(name: column, kind: kind, nullable: notNull == 0 && !isRowid))
        }
        guard !keyed.isEmpty else {
            throw StoreError.unsupportedSchema("\(name) has no primary key, so its rows have no order to verify")
        }
        let references = try String.fetchAll(db, sql: "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)",
                                             arguments: [name]).filter { $0 != name }
        return PortableTable(
            name: name, columns: columns, primaryKey: keyed.sorted { $0.position < $1.position }.map(\.name),
            autoincrement: sql.range(of: "AUTOINCREMENT", options: .caseInsensitive) != nil,
            references: references.sorted())
    }

    /// The kind a column's declaration and CHECKs give it (the conventions of schema/0001_initial.sql).
    static func kind(of column: String, declared: String, table: String, sql: String) throws -> ColumnKind {
        let name = NSRegularExpression.escapedPattern(for: column)
        func declares(_ pattern: String) -> Bool {
            sql.range(of: pattern, options: [.regularExpression, .caseInsensitive]) != nil
        }
        switch declared {
        case "INTEGER":
            return declares("\\b\(name)\\s+IN\\s*\\(\\s*0\\s*,\\s*1\\s*\\)") ? .boolean : .integer
        case "TEXT":
            if declares("\\b\(name)\\s+IS\\s+strftime\\(\\s*'%Y-%m-%d %H:%M:%f'\\s*,\\s*\(name)\\s*\\)") { return .timestamp }
            if declares("json_valid\\(\\s*\(name)\\s*\\)") { return .json }
            return .text
        default:
            throw StoreError.unsupportedSchema(
                "\(table).\(column) is declared \(declared.isEmpty ? "without a type" : declared); the PostgreSQL move knows INTEGER and TEXT")
        }
    }

    /// Parents before children; ties in name order, so the order is the same on every run.
    private static func parentsFirst(_ tables: [String: PortableTable]) throws -> [PortableTable] {
        var ordered: [PortableTable] = []
        var placed = Set<String>()
        var remaining = tables.keys.sorted()
        while !remaining.isEmpty {
            guard let next = remaining.first(where: { name in
                tables[name]!.references.allSatisfy { placed.contains($0) || tables[$0] == nil }
            }) else {
                throw StoreError.unsupportedSchema("foreign keys form a cycle among \(remaining.joined(separator: ", "))")
            }
            ordered.append(tables[next]!)
            placed.insert(next)
            remaining.removeAll { $0 == next }
        }
        return ordered
    }
}
