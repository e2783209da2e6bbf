import BridgeOSCore
import Foundation
import GRDB

/// One consistent view of a whole database for the move to PostgreSQL: every read inside `withPortableSnapshot`
/// sees the same committed state, however long the export takes and whatever `serve` writes meanwhile.
///
/// Only valid inside the closure it is handed to.
public struct PortableSnapshot {
    let db: Database
    /// The registry of tables and column kinds, read from this database's schema.
    public let schema: PortableSchema
    /// The migrations the database has (an export needs all of this binary's, and nothing newer).
    public let migrations: MigrationState

    /// Rows of `table`, in primary-key order, each value in canonical form and in column order, handed over
    /// `batchSize` rows at a time.
    public func forEachBatch(of table: PortableTable, batchSize: Int = 2_000, _ consume: ([[String?]]) throws -> Void) throws {
        // Text as its bytes: GRDB's String would cut a value at a NUL and repair invalid UTF-8 silently, and the
        // checksum would then vouch for the damaged value. The bytes are checked instead (CanonicalValue).
        let columns = table.columns.map { column in
            column.kind == .integer || column.kind == .boolean
                ? column.name.quotedDatabaseIdentifier : "CAST(\(column.name.quotedDatabaseIdentifier) AS BLOB)"
        }.joined(separator: ", ")
        let order = table.primaryKey.map(\.quotedDatabaseIdentifier).joined(separator: ", ")
        let rows = try Row.fetchCursor(db, sql: "SELECT \(columns) FROM \(table.name.quotedDatabaseIdentifier) ORDER BY \(order)")
        var batch: [[String?]] = []
        batch.reserveCapacity(batchSize)
        while let row = try rows.next() {
            var values: [String?] = []
            values.reserveCapacity(table.columns.count)
            for (index, column) in table.columns.enumerated() {
                let value: DatabaseValue = row[index]
                values.append(try CanonicalValue.fromSQLite(value, kind: column.kind, at: "\(table.name).\(column.name)"))
            }
            batch.append(values)
            if batch.count == batchSize {
                try consume(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try consume(batch) }
    }

    /// The first id an identity column may give next must be above this: the highest id the table ever gave
    /// (sqlite_sequence for AUTOINCREMENT tables, whose deleted ids never come back), or its highest id now.
    public func sequenceFloor(of table: PortableTable) throws -> Int64 {
        guard let key = table.integerKey else { return 0 }
        let highest = try Int64.fetchOne(
            db, sql: "SELECT max(\(key.quotedDatabaseIdentifier)) FROM \(table.name.quotedDatabaseIdentifier)") ?? 0
        guard table.autoincrement, try db.tableExists("sqlite_sequence") else { return highest }
        let given = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table.name]) ?? 0
        return max(highest, given)
    }
}

extension StoreInspection {
    /// Runs `body` inside one read transaction: a consistent snapshot next to a live `serve` (WAL).
    public func withPortableSnapshot<T>(_ body: (PortableSnapshot) throws -> T) throws -> T {
        try queue.read { db in
            // Text is read as its bytes (CAST AS BLOB): in a UTF-16 database those would not be UTF-8.
            let encoding = try String.fetchOne(db, sql: "PRAGMA encoding") ?? "?"
            guard encoding == "UTF-8" else {
                throw StoreError.notPortable("the database's text encoding is \(encoding), not UTF-8 (BridgeOS creates UTF-8 files)")
            }
            let snapshot = PortableSnapshot(db: db, schema: try PortableSchema.read(db), migrations: try MigrationState.read(db))
            return try body(snapshot)
        }
    }
}

extension StoreInspection {
    /// The names of the indexes the schema declares (not SQLite's automatic ones).
    public func indexNames() throws -> [String] {
        try queue.read { db in
            try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name
                """)
        }
    }
}

extension AppDatabase {
    /// The registry of the schema this binary creates (the migrations applied to an empty in-memory database).
    public static func portableSchema() throws -> PortableSchema {
        let queue = try DatabaseQueue()
        try migrate(queue)
        return try queue.read { try PortableSchema.read($0) }
    }
}
