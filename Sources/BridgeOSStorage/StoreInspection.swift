import BridgeOSCore
import Foundation
import GRDB
import GRDBSQLite

/// A read-only look at a database file, for `doctor` and `migrate`: it never creates, migrates or repairs
/// anything, so it is safe next to a live `serve`.
public struct StoreInspection: Sendable {
    let queue: DatabaseQueue

    /// Opens the file read-only. Throws (with SQLite's words) when it cannot be opened.
    public init(path: String, options: StoreOptions = StoreOptions()) throws {
        queue = try DatabaseQueue(path: path, configuration: AppDatabase.configuration(options, readonly: true))
    }

    /// Whether the linked SQLite can run the schema.
    public static var sqliteIsSupported: Bool {
        Database.sqliteLibVersionNumber >= AppDatabase.minimumSQLiteVersion.number
    }

    public func journalMode() throws -> String {
        try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } ?? "unknown"
    }

    /// `PRAGMA quick_check`'s problems (none: the file is sound), at most `limit`.
    public func integrityProblems(limit: Int = 100) throws -> [String] {
        let rows = try queue.read { try String.fetchAll($0, sql: "PRAGMA quick_check(\(max(1, limit)))") }
        guard rows != ["ok"] else { return [] }
        // A row may hold several lines; the "*** in database main ***" banner is not a problem.
        return rows.flatMap { $0.split(separator: "\n") }.map(String.init).filter { !$0.hasPrefix("***") && !$0.isEmpty }
    }

    /// Rows whose foreign key names a missing parent.
    public func foreignKeyViolations() throws -> [(table: String, rowid: Int64?, parent: String)] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { row in
                (row["table"] ?? "?", row["rowid"], row["parent"] ?? "?")
            }
        }
    }

    public func migrationState() throws -> MigrationState {
        try queue.read { try MigrationState.read($0) }
    }

    /// The application's tables, and whether each is STRICT.
    public func tables() throws -> [(name: String, strict: Bool)] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table'")
                .map { (name: $0["name"] as String, strict: ($0["strict"] as Int? ?? 0) == 1) }
                .filter { !$0.name.hasPrefix("sqlite_") && $0.name != "grdb_migrations" }
        }
    }

    /// An error from SQLite in a person's words.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "SQLite error \(error.resultCode.rawValue): \(error.message ?? "\(error)")"
        }
        return "\(error)"
    }
}

extension AppDatabase {
    /// Which migrations this database has.
    public func migrationState() throws -> MigrationState {
        try writer.read { try MigrationState.read($0) }
    }
}

extension AppDatabase {
    /// Bytes SQLite holds in this process (page caches of every connection, prepared statements, …).
    public static var sqliteMemoryInUse: Int64 { sqlite3_memory_used() }
}
