import BridgeOSCore
import BridgeOSStorage
import Foundation
import Logging

/// `bridgeos import`: a PostgreSQL database or an export file back into a new SQLite file, verified.
public enum Import {
    /// Rows written to SQLite per transaction.
    static let batchSize = 2_000

    /// `import --sql FILE`.
    public static func fromSQLFile(_ path: String, destination: String, progress: (String) -> Void) throws -> Verification {
        let importer = try PortableImport.create(at: destination)
        do {
            let source = try DumpContent.read(path, schema: importer.schema) { table, rows in
                try importer.insert(rows, into: table)
            } tableDone: { table, rows in
                progress("\(table): \(rows) rows")
            }
            for (name, floor) in source.floors {
                if let table = importer.schema.table(name) { try importer.raiseSequence(of: table, to: floor) }
            }
            try importer.close()
            let verification = try verify(importer.temporaryPath, against: source.digests, floors: source.floors, progress: progress)
            // Only a verified file takes the destination's name: serve never opens one that differs.
            if verification.matches { try importer.publish() } else { importer.abandon() }
            return verification
        } catch {
            importer.abandon()
            throw error
        }
    }

    /// `import --postgres URL`: reads every table in one REPEATABLE READ snapshot of the PostgreSQL database.
    public static func fromPostgres(
        _ address: PostgresAddress, destination: String, logger: Logger, progress: @escaping @Sendable (String) -> Void
    ) async throws -> Verification {
        let twins = try PostgresSchema.twins().map(\.identifier)
        let target = try await PostgresTarget.connect(address, logger: logger)
        do {
            let verification = try await read(target, twins: twins, destination: destination, progress: progress)
            await target.close()
            return verification
        } catch {
            await target.close()
            throw error
        }
    }

    private static func read(
        _ target: PostgresTarget, twins: [String], destination: String, progress: @escaping @Sendable (String) -> Void
    ) async throws -> Verification {
        let address = target.address
        let facts = try await target.serverFacts()
        guard facts.encoding == "UTF8" else {
            throw MoveError.sourceRefused("\(address) is encoded \(facts.encoding), not UTF8: its text may not be what BridgeOS wrote")
        }
        guard let applied = try await target.appliedTwins() else {
            throw MoveError.sourceRefused("\(address) holds no BridgeOS schema (no \(PostgresSchema.migrationsTable) table)")
        }
        guard applied == twins else {
            throw MoveError.sourceRefused(
                "\(address) has schema \(applied.last ?? "none"); this bridgeos reads \(twins.last ?? "none") "
                    + "(use the bridgeos version that matches it)")
        }
        let importer = try PortableImport.create(at: destination)
        do {
            var digests: [(String, TableDigest)] = []
            var floors: [(String, Int64)] = []
            try await target.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            for table in importer.schema.tables {
                var digest = TableDigest()
                var batch: [[String?]] = []
                try await target.eachRow(PostgresLoad.canonicalSelect(table)) { row in
                    digest.add(row)
                    batch.append(row)
                    if batch.count == batchSize {
                        try await insert(batch, into: table, with: importer)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                if !batch.isEmpty { try await insert(batch, into: table, with: importer) }
                _ = digest.finish()
                digests.append((table.name, digest))
                progress("\(table.name): \(digest.rows) rows")
                if table.autoincrement, let floor = try await target.sequenceFloor(of: table) {
                    floors.append((table.name, floor))
                    try await onOwnThread { try importer.raiseSequence(of: table, to: floor) }
                }
            }
            try await target.execute("COMMIT")
            try await onOwnThread { try importer.close() }
            let (sourceDigests, sourceFloors) = (digests, floors)
            let verification = try await onOwnThread {
                try verify(importer.temporaryPath, against: sourceDigests, floors: sourceFloors, progress: progress)
            }
            if verification.matches { try importer.publish() } else { importer.abandon() }
            return verification
        } catch {
            importer.abandon()
            throw error
        }
    }

    /// SQLite writes block: on a thread of their own, not the cooperative pool's.
    private static func insert(_ rows: [[String?]], into table: PortableTable, with importer: PortableImport) async throws {
        try await onOwnThread { try importer.insert(rows, into: table) }
    }

    /// Reads the new file back and compares every table with what was read from the source.
    static func verify(
        _ destination: String, against source: [(String, TableDigest)], floors: [(String, Int64)], progress: (String) -> Void
    ) throws -> Verification {
        progress("verifying the new file")
        let (digests, targetFloors) = try StoreInspection(path: destination).withPortableSnapshot { snapshot in
            var digests: [(String, TableDigest)] = []
            var targetFloors: [(String, Int64)] = []
            for table in snapshot.schema.tables {
                var digest = TableDigest()
                try snapshot.forEachBatch(of: table) { rows in rows.forEach { digest.add($0) } }
                _ = digest.finish()
                digests.append((table.name, digest))
                if table.autoincrement { targetFloors.append((table.name, try snapshot.sequenceFloor(of: table))) }
            }
            return (digests, targetFloors)
        }
        let autoincrementFloors = floors.filter { name, _ in targetFloors.contains { $0.0 == name } }
        return Verification.compare(source: source, target: digests, sourceFloors: autoincrementFloors, targetFloors: targetFloors)
    }
}

/// The content of an export file, read back: each table's digest, checked against the checksum the file
/// recorded when it was written (a file edited or damaged since is refused), and the sequence floors.
enum DumpContent {
    static func read(
        _ path: String, schema: PortableSchema,
        rows consume: (PortableTable, [[String?]]) throws -> Void = { _, _ in },
        tableDone: (String, Int) -> Void = { _, _ in }
    ) throws -> (digests: [(String, TableDigest)], floors: [(String, Int64)]) {
        let reader = try SQLDump.Reader(path: path)
        var digests: [(String, TableDigest)] = []
        var floors: [(String, Int64)] = []
        var current: (table: PortableTable, digest: TableDigest, batch: [[String?]])?
        var checked = Set<String>()
        let known = try AppDatabase.knownMigrations()
        while let event = try reader.next() {
            switch event {
            case let .schema(identifiers):
                guard identifiers == known else {
                    throw MoveError.sourceRefused(
                        "\(path) has schema \(identifiers.last ?? "none"); this bridgeos reads \(known.last ?? "none") "
                            + "(use the bridgeos version that wrote it)")
                }
            case let .table(name):
                guard let table = schema.table(name) else { throw MoveError.unreadable("\(path) has an unknown table \(name)") }
                guard current == nil, !digests.contains(where: { $0.0 == name }) else {
                    throw MoveError.unreadable("\(path) has the rows of \(name) twice (the file was changed or damaged)")
                }
                current = (table, TableDigest(), [])
            case let .row(line):
                guard current != nil else { throw MoveError.unreadable("\(path) has rows outside a table") }
                let row = try CopyText.row(line, of: current!.table)
                current!.digest.add(row)
                current!.batch.append(row)
                if current!.batch.count == Import.batchSize {
                    try consume(current!.table, current!.batch)
                    current!.batch.removeAll(keepingCapacity: true)
                }
            case .endOfTable:
                guard var done = current else { throw MoveError.unreadable("\(path) ends a table it did not start") }
                if !done.batch.isEmpty { try consume(done.table, done.batch) }
                _ = done.digest.finish()
                digests.append((done.table.name, done.digest))
                tableDone(done.table.name, done.digest.rows)
                current = nil
            case let .recordedDigest(name, rows, sha256):
                checked.insert(name)
                guard var digest = digests.last(where: { $0.0 == name })?.1 else {
                    throw MoveError.unreadable("\(path) has a checksum for \(name) before its rows")
                }
                guard digest.rows == rows, digest.finish() == sha256 else {
                    throw MoveError.unreadable(
                        "\(path): the rows of \(name) do not match the checksum recorded when it was written (the file was changed or damaged)")
                }
            case let .sequence(name, floor):
                floors.append((name, floor))
            case .end:
                break
            }
        }
        let missing = schema.tables.map(\.name).filter { name in !digests.contains { $0.0 == name } }
        guard missing.isEmpty else { throw MoveError.unreadable("\(path) lacks the tables \(missing.joined(separator: ", "))") }
        let unchecked = schema.tables.map(\.name).filter { !checked.contains($0) }
        guard unchecked.isEmpty else {
            throw MoveError.unreadable("\(path) lacks the checksums of \(unchecked.joined(separator: ", ")) (the file was changed or damaged)")
        }
        return (digests, floors)
    }
}
