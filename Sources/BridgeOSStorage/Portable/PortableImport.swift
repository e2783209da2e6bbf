import BridgeOSCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A new SQLite file being filled from canonical rows (`bridgeos import`).
///
/// The file is built beside its destination under a temporary name, with this binary's schema, and only
/// `publish()` puts it in place, never over an existing file (`FilePlacement.placeNew`): an import never
/// overwrites a database, and an import that fails leaves nothing behind at the destination.
public struct PortableImport: Sendable {
    public let destination: String
    /// Where the file is built and checked before `publish()` links it into place.
    public let temporaryPath: String
    let queue: DatabaseQueue
    /// Holds the temporary file's lock until it is published or abandoned (other runs' sweeps leave it alone).
    let claim: ClaimedFile
    /// The registry of the new file's schema.
    public let schema: PortableSchema

    /// Creates the new file under a temporary name. Refuses an existing destination.
    public static func create(at destination: String) throws -> PortableImport {
        StaleFiles.sweep(beside: destination, marker: ".importing-")
        if let attributes = try? FileManager.default.attributesOfItem(atPath: destination) {
            if (attributes[.size] as? NSNumber)?.intValue == 0 {
                throw StoreError.notPortable(
                    "\(destination) is an empty file (an import stopped while putting its file there?); remove it and import again")
            }
            throw StoreError.destinationExists(destination)
        }
        // A name of its own, created new and locked: two imports to one destination never share a file (the
        // second to finish is refused), and a sweep of files that killed imports left never takes a live one.
        let claim: ClaimedFile
        do {
            claim = try ClaimedFile.create(beside: destination, marker: ".importing-")
        } catch let error as FilePlacementError {
            throw StoreError.notPortable("cannot create the new database beside \(destination): \(error.reason)")
        }
        let temporaryPath = claim.path
        do {
            // Fills the empty file with every migration, as serve would (0600, and its -wal and -shm alike).
            _ = try AppDatabase.openFile(at: temporaryPath)
            // Foreign keys are checked once at the end, so rows can arrive in any order within a table
            // (the outbox refers to itself).
            var configuration = AppDatabase.configuration(StoreOptions())
            configuration.foreignKeysEnabled = false
            let queue = try DatabaseQueue(path: temporaryPath, configuration: configuration)
            let schema = try queue.read { try PortableSchema.read($0) }
            return PortableImport(destination: destination, temporaryPath: temporaryPath, queue: queue, claim: claim, schema: schema)
        } catch {
            for suffix in ["-wal", "-shm"] { unlink(temporaryPath + suffix) }
            claim.discard()
            throw error
        }
    }

    /// Inserts canonical rows (values in the table's column order) in one transaction.
    public func insert(_ rows: [[String?]], into table: PortableTable) throws {
        let columns = table.columns.map(\.name.quotedDatabaseIdentifier).joined(separator: ", ")
        let marks = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
        try queue.inTransaction(.immediate) { db in
            let statement = try db.cachedStatement(
                sql: "INSERT INTO \(table.name.quotedDatabaseIdentifier) (\(columns)) VALUES (\(marks))")
            for row in rows {
                guard row.count == table.columns.count else {
                    throw StoreError.notPortable("a row of \(table.name) has \(row.count) values for \(table.columns.count) columns")
                }
                var values: [DatabaseValue] = []
                values.reserveCapacity(row.count)
                for (value, column) in zip(row, table.columns) {
                    values.append(try CanonicalValue.toSQLite(value, kind: column.kind, at: "\(table.name).\(column.name)"))
                }
                try statement.execute(arguments: StatementArguments(values))
            }
            return .commit
        }
    }

    /// Makes sure an AUTOINCREMENT table never gives an id at or below `floor` (the highest id the source ever
    /// gave, deleted rows included).
    public func raiseSequence(of table: PortableTable, to floor: Int64) throws {
        guard table.autoincrement, floor > 0 else { return }
        try queue.inTransaction(.immediate) { db in
            try db.execute(sql: "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", arguments: [floor, table.name])
            if db.changesCount == 0 {
                try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", arguments: [table.name, floor])
            }
            return .commit
        }
    }

    /// Checks the new file (foreign keys, integrity), folds its write-ahead log in and closes it. The file is
    /// still under its temporary name (`temporaryPath`): verify it there, then `publish()` it.
    public func close() throws {
        try queue.writeWithoutTransaction { db in
            let orphans = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
            if let first = orphans.first {
                throw StoreError.notPortable(
                    "\(orphans.count) row(s) refer to rows that are not there (first: \(first["table"] as String? ?? "?") "
                        + "row \(first["rowid"] as Int64? ?? 0) → \(first["parent"] as String? ?? "?"))")
            }
            let problems = try String.fetchAll(db, sql: "PRAGMA quick_check")
            guard problems == ["ok"] else { throw StoreError.notPortable("the new file fails its check: \(problems.joined(separator: "; "))") }
            _ = try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        try queue.close()
        // On disk before it takes the destination's name.
        do { try claim.sync() } catch {
            throw StoreError.notPortable("cannot sync the new database: \(error)")
        }
    }

    /// Puts the closed, verified file in place; never over an existing one.
    public func publish() throws {
        do {
            try FilePlacement.placeNew(temporaryPath, at: destination)
        } catch let error as FilePlacementError {
            abandon()
            throw StoreError.notPortable(
                "cannot put the new database at \(destination): \(error.exists ? "it appeared meanwhile" : error.reason)")
        }
        for suffix in ["-wal", "-shm"] { unlink(temporaryPath + suffix) }
        claim.release()
    }

    /// Removes the unfinished file.
    public func abandon() {
        try? queue.close()
        for suffix in ["-wal", "-shm"] { unlink(temporaryPath + suffix) }
        claim.discard()
    }
}
