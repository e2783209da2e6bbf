import BridgeOSCore
import Foundation
import GRDB

/// What backups and restores need of a database file: a consistent copy taken next to live writers, the
/// checks a copy must pass, and the settings a restored file needs.
extension StoreInspection {
    /// Writes a consistent, compacted copy of the database to `path` (which must not exist) with
    /// `VACUUM INTO`: one read transaction on a WAL snapshot, so writers in any process go on and the copy
    /// never restarts under load, unlike a stepped backup.
    public func copy(to path: String) throws {
        try queue.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
    }

    /// `PRAGMA integrity_check`'s problems (none: the file is sound), at most `limit`. Slower and more
    /// thorough than `integrityProblems` (quick_check): for verifying a backup.
    public func fullIntegrityProblems(limit: Int = 100) throws -> [String] {
        let rows = try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check(\(max(1, limit)))") }
        guard rows != ["ok"] else { return [] }
        return rows.flatMap { $0.split(separator: "\n") }.map(String.init).filter { !$0.hasPrefix("***") && !$0.isEmpty }
    }

    /// Rows per table, the migrations table included, by name.
    public func rowCounts() throws -> [String: Int] {
        try queue.read { db in
            let names = try String.fetchAll(db, sql: """
                SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name
                """)
            var counts: [String: Int] = [:]
            for name in names {
                counts[name] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(name.quotedDatabaseIdentifier)") ?? 0
            }
            return counts
        }
    }

    /// Every row of every table as text, table by table in name order and rows sorted by every column, fed to
    /// `consume` in chunks: for comparing two databases' contents (a checksum per table).
    public func eachTableContent(_ consume: (_ table: String, _ chunk: String) -> Void) throws {
        try queue.read { db in
            let names = try String.fetchAll(db, sql: """
                SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name
                """)
            for name in names {
                // Every column in order: WITHOUT ROWID tables have no rowid to sort by.
                let columns = try db.columns(in: name).map(\.name.quotedDatabaseIdentifier).joined(separator: ", ")
                let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \(name.quotedDatabaseIdentifier) ORDER BY \(columns)")
                while let row = try rows.next() { consume(name, row.description + "\n") }
            }
        }
    }
}

extension AppDatabase {
    /// Makes a file that was copied into place (a restored backup) a WAL database, as `open` expects.
    public static func useWriteAheadLog(at path: String, options: StoreOptions = StoreOptions()) throws {
        try requireSupportedSQLite()
        let queue = try DatabaseQueue(path: path, configuration: configuration(options))
        try queue.writeWithoutTransaction { db in
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode?.lowercased() == "wal" else { throw StoreError.unexpectedResult("journal mode of \(path) stays \(mode ?? "unknown")") }
        }
        try queue.close()
    }
}

/// What waits and what failed, for `doctor`.
public struct QueueSummary: Sendable, Equatable {
    public let jobsWaiting: Int
    public let oldestJob: Date?
    public let deadLetters: Int
    public let undelivered: Int
    public let people: Int
}

extension StoreInspection {
    public func queueSummary() throws -> QueueSummary {
        try queue.read { db in
            let jobs = try JobRepository.backlog(db)
            let outbox = try OutboxRepository.counts(db)
            return QueueSummary(
                jobsWaiting: jobs.waiting, oldestJob: jobs.oldest,
                deadLetters: outbox[.dead] ?? 0, undelivered: outbox[.unreachable] ?? 0,
                people: try Int.fetchOne(db, sql: "SELECT count(*) FROM users") ?? 0)
        }
    }
}
