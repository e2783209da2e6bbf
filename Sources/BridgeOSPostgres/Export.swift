import BridgeOSCore
import BridgeOSStorage
import Foundation
import Logging

/// `bridgeos export`: one consistent snapshot of the SQLite store, written as a psql-loadable file or loaded
/// into an empty PostgreSQL database, then verified table by table.
public enum Export {
    /// `export --sql FILE`: writes the dump, then reads it back and compares every table with the snapshot.
    /// An existing file is refused unless `force`; the file appears only once it is complete.
    public static func toSQLFile(
        database: String, output: String, force: Bool, progress: (String) -> Void
    ) throws -> Verification {
        if FileManager.default.fileExists(atPath: output), !force {
            throw MoveError.targetRefused("\(output) exists; choose a new file or pass --force to replace it")
        }
        StaleFiles.sweep(beside: output, marker: ".partial-")
        // Created new and locked for the whole run: another run's sweep never takes it.
        let claim: ClaimedFile
        do {
            claim = try ClaimedFile.create(beside: output, marker: ".partial-")
        } catch let error as FilePlacementError {
            throw MoveError.targetRefused("cannot create the export beside \(output): \(error.reason)")
        }
        defer { claim.discard() }  // placed by then, or not to be kept
        let written = try writeDump(database: database, into: try BufferedOutput(sharing: claim), progress: progress)
        progress("verifying the file")
        let read = try DumpContent.read(claim.path, schema: try AppDatabase.portableSchema())
        let verification = Verification.compare(source: written.digests, target: read.digests,
                                                sourceFloors: written.floors, targetFloors: read.floors)
        // Only a verified file takes the name; --force replaces the old one in one step (rename), so a failure
        // never leaves neither.
        guard verification.matches else { return verification }
        do {
            if force { try FilePlacement.replace(claim.path, at: output) } else { try FilePlacement.placeNew(claim.path, at: output) }
        } catch let error as FilePlacementError {
            throw MoveError.targetRefused(
                "cannot put the export at \(output): \(error.exists ? "it appeared meanwhile (pass --force to replace it)" : error.reason)")
        }
        return verification
    }

    /// `export --postgres URL`: checks the target, writes the snapshot to a spool file in `spoolDirectory`,
    /// loads it in one transaction (schema, rows, sequences), then reads every table back from PostgreSQL and
    /// compares it with the snapshot.
    public static func toPostgres(
        database: String, address: PostgresAddress, force: Bool, spoolDirectory: String, logger: Logger,
        progress: @escaping @Sendable (String) -> Void
    ) async throws -> Verification {
        let schema = try AppDatabase.portableSchema()
        let twins = try PostgresSchema.twins()
        let target = try await PostgresTarget.connect(address, logger: logger)
        do {
            let replacing = try await preflight(target, schema: schema, twins: twins, force: force)
            let spool = (spoolDirectory as NSString).appendingPathComponent(
                "bridgeos-export-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max)).sql")
            // The spool holds every conversation: it has no name once open, so nothing is left if the export is
            // stopped (Ctrl-C, SIGKILL, a full disk).
            let output = try BufferedOutput(creating: spool)
            let spoolReader = FileHandle(forReadingAtPath: spool)
            unlink(spool)
            guard let spoolReader else {
                throw MoveError.invalidInput("cannot read back the spool in \(spoolDirectory)")
            }
            let written = try await onOwnThread {
                try writeDump(database: database, into: output, progress: { progress("read \($0)") })
            }
            try await load(try SQLDump.Reader(handle: spoolReader, name: "the spool"), into: target, schema: schema, twins: twins,
                           replacing: replacing, progress: progress)
            progress("verifying \(address)")
            var digests: [(String, TableDigest)] = []
            var floors: [(String, Int64)] = []
            for table in schema.tables {
                digests.append((table.name, try await target.digest(of: table)))
                if let floor = try await target.sequenceFloor(of: table) { floors.append((table.name, floor)) }
            }
            await target.close()
            return Verification.compare(source: written.digests, target: digests,
                                        sourceFloors: written.floors,
                                        targetFloors: floors)
        } catch {
            await target.close()
            throw error
        }
    }

    /// Refuses a target that is not a new, UTF-8 database of a supported version; with `force`, accepts one
    /// that holds a BridgeOS export of this very schema (returns true: its tables are emptied and reloaded).
    static func preflight(_ target: PostgresTarget, schema: PortableSchema, twins: [PostgresSchema.Twin], force: Bool) async throws -> Bool {
        let facts = try await target.serverFacts()
        guard facts.version >= 120_000 else {
            throw MoveError.targetRefused("PostgreSQL \(facts.version / 10_000) is too old; BridgeOS needs 12 or newer")
        }
        guard facts.encoding == "UTF8" else {
            throw MoveError.targetRefused(
                "the database's encoding is \(facts.encoding), not UTF8; create it with: CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0")
        }
        let relations = try await target.relations()
        guard !relations.isEmpty else { return false }
        let names = relations.filter { $0.kind != "S" }.map(\.name)
        guard force else {
            throw MoveError.targetRefused(
                "\(target.address) is not empty (\(names.count) tables: \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")); "
                    + "export into a new database, or pass --force to replace a BridgeOS export of the same version")
        }
        let ours = Set(schema.tables.map(\.name) + [PostgresSchema.migrationsTable])
        let foreign = names.filter { !ours.contains($0) }
        guard foreign.isEmpty, Set(names) == ours else {
            throw MoveError.targetRefused(
                "--force replaces only a BridgeOS export; \(target.address) has other tables "
                    + "(\((foreign.isEmpty ? Array(ours.subtracting(names)) : foreign).prefix(5).joined(separator: ", ")))")
        }
        let applied = try await target.appliedTwins() ?? []
        guard applied == twins.map(\.identifier) else {
            throw MoveError.targetRefused(
                "--force replaces only an export of the same schema; \(target.address) has \(applied.last ?? "none"), "
                    + "this bridgeos writes \(twins.last?.identifier ?? "none")")
        }
        return true
    }

    /// Loads a spool into PostgreSQL in one transaction: nothing is left behind when it fails.
    static func load(
        _ reader: SQLDump.Reader, into target: PostgresTarget, schema: PortableSchema, twins: [PostgresSchema.Twin],
        replacing: Bool, progress: @escaping @Sendable (String) -> Void
    ) async throws {
        try await target.execute("BEGIN")
        do {
            if replacing {
                let tables = schema.tables.map { PostgresLoad.quoted($0.name) }.joined(separator: ", ")
                try await target.execute("TRUNCATE \(tables) RESTART IDENTITY")
            } else {
                for twin in twins {
                    for statement in PostgresSchema.statements(twin.sql) { try await target.execute(statement) }
                }
                for statement in PostgresSchema.statements(PostgresLoad.migrationsTableSQL(twins.map(\.identifier))) {
                    try await target.execute(statement)
                }
            }
            try await target.execute("SET CONSTRAINTS ALL DEFERRED")
            while let event = try reader.next() {
                switch event {
                case let .table(name):
                    guard let table = schema.table(name) else { throw MoveError.unreadable("the spool names an unknown table \(name)") }
                    var rows = 0
                    try await target.copy(into: table) {
                        guard let next = try reader.next() else { return nil }
                        switch next {
                        case let .row(line):
                            rows += 1
                            return String(line) + "\n"
                        case .endOfTable:
                            return nil
                        default:
                            throw MoveError.unreadable("the spool's rows of \(name) end without their terminator")
                        }
                    }
                    progress("\(name): \(rows) rows loaded")
                case let .sequence(name, floor):
                    guard let table = schema.table(name), let key = table.integerKey else { continue }
                    try await target.execute(String(PostgresLoad.setvalSQL(table: name, column: key, floor: floor).dropLast()))
                default:
                    continue
                }
            }
            try await target.execute("COMMIT")
        } catch {
            try? await target.execute("ROLLBACK")
            throw error
        }
    }

    /// Writes the dump of the database at `database` into `output`, and closes it.
    static func writeDump(
        database: String, into output: BufferedOutput, progress: (String) -> Void
    ) throws -> (digests: [(String, TableDigest)], floors: [(String, Int64)]) {
        let twins = try PostgresSchema.twins()
        guard FileManager.default.fileExists(atPath: database) else {
            throw MoveError.sourceRefused("there is no database at \(database)")
        }
        let inspection = try StoreInspection(path: database)
        let written = try inspection.withPortableSnapshot { snapshot in
            let state = snapshot.migrations
            if !state.unknown.isEmpty {
                throw MoveError.sourceRefused("it was written by a newer BridgeOS (\(state.unknown.joined(separator: ", "))); upgrade bridgeos")
            }
            if !state.pending.isEmpty {
                throw MoveError.sourceRefused("it lacks migrations \(state.pending.joined(separator: ", ")); run bridgeos migrate first")
            }
            return try SQLDump.write(snapshot, twins: twins, source: database, to: output, progress: progress)
        }
        try output.close()
        return written
    }
}
