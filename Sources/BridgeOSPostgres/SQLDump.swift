import BridgeOSCore
import BridgeOSStorage
import Foundation

/// The file `bridgeos export --sql` writes: the PostgreSQL schema, every table's rows as COPY data, the
/// identity sequences set past the highest id ever given, all in one transaction that psql loads:
///
///     psql -v ON_ERROR_STOP=1 -f bridgeos.sql postgres://…/new_database
///
/// Lines starting `-- bridgeos-` carry what BridgeOS needs to read the file back (`import --sql`) and to check
/// it: the format, the schema version, and each table's row count and SHA-256.
public enum SQLDump {
    static let formatLine = "-- bridgeos-export-format: 1"
    static let schemaPrefix = "-- bridgeos-schema: "
    static let tablePrefix = "-- bridgeos-table: "
    static let rowsPrefix = "-- bridgeos-rows: "
    static let sequencePrefix = "-- bridgeos-sequence: "
    static let endLine = "-- bridgeos-end"

    /// Writes the dump of `snapshot` to `handle`; returns each table's digest and each identity floor.
    static func write(
        _ snapshot: PortableSnapshot, twins: [PostgresSchema.Twin], source: String, to output: BufferedOutput,
        progress: (String) -> Void
    ) throws -> (digests: [(String, TableDigest)], floors: [(String, Int64)]) {
        let identifiers = twins.map(\.identifier)
        let identities = try PostgresSchema.identityTables()
        // The source's path goes into a comment: a newline in it must not end the comment and start SQL.
        let shownSource = String(String.UnicodeScalarView(source.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
        output.write("""
            -- BridgeOS export for PostgreSQL, from \(shownSource), schema \(identifiers.last ?? "none").
            -- Load it into a new, empty PostgreSQL database (UTF8) in one transaction:
            --     psql -v ON_ERROR_STOP=1 -f THIS_FILE postgres://user@host/database
            -- or read it back into a new SQLite file: bridgeos import --sql THIS_FILE
            \(formatLine)
            \(schemaPrefix)\(identifiers.joined(separator: " "))
            \\set ON_ERROR_STOP on
            SET client_encoding = 'UTF8';
            SET standard_conforming_strings = on;
            SET TIME ZONE 'UTC';
            BEGIN;

            """)
        for twin in twins {
            output.write("-- schema/postgres/\(twin.identifier).sql\n\(twin.sql)\n")
        }
        output.write(PostgresLoad.migrationsTableSQL(identifiers) + "\n")
        output.write("SET CONSTRAINTS ALL DEFERRED;\n\n")
        var digests: [(String, TableDigest)] = []
        var floors: [(String, Int64)] = []
        for table in snapshot.schema.tables {
            var digest = TableDigest()
            output.write("\(tablePrefix)\(table.name)\n")
            output.write("COPY \(PostgresLoad.quoted(table.name)) (\(table.columns.map { PostgresLoad.quoted($0.name) }.joined(separator: ", "))) FROM stdin;\n")
            try snapshot.forEachBatch(of: table) { rows in
                for row in rows {
                    output.write(try CopyText.line(row, of: table))
                    digest.add(row)
                }
            }
            let hex = digest.finish()
            output.write("\\.\n\(rowsPrefix)\(table.name) \(digest.rows) \(hex)\n\n")
            digests.append((table.name, digest))
            progress("\(table.name): \(digest.rows) rows")
            if identities.contains(table.name), table.integerKey != nil {
                let floor = try snapshot.sequenceFloor(of: table)
                floors.append((table.name, floor))
            }
        }
        for (name, floor) in floors {
            guard let table = snapshot.schema.table(name), let key = table.integerKey else { continue }
            output.write("\(sequencePrefix)\(name) \(floor)\n\(PostgresLoad.setvalSQL(table: name, column: key, floor: floor))\n")
        }
        output.write("COMMIT;\n\(endLine)\n")
        return (digests, floors)
    }

    /// What a dump file holds, read back event by event.
    enum Event {
        case schema([String])
        case table(String)
        case row(Substring)
        case endOfTable
        case recordedDigest(table: String, rows: Int, sha256: String)
        case sequence(table: String, floor: Int64)
        case end
    }

    /// Reads a dump written by `write`, event by event. Throws on anything else.
    final class Reader: @unchecked Sendable {  // used by one task at a time
        private let path: String
        private let lines: LineReader
        private var inCopy = false
        private var sawFormat = false
        private var sawEnd = false
        private var lineNumber = 0

        init(path: String) throws {
            self.path = path
            lines = try LineReader(path: path)
        }

        /// Reads an open file (the spool, which has no name any more).
        init(handle: FileHandle, name: String) throws {
            path = name
            lines = LineReader(handle: handle)
        }

        /// The next event; nil at the end of a complete file.
        func next() throws -> Event? {
            while let line = try lines.next() {
                lineNumber += 1
                if inCopy {
                    if line == "\\." {
                        inCopy = false
                        return .endOfTable
                    }
                    return .row(line)
                }
                if line == SQLDump.formatLine {
                    sawFormat = true
                } else if line.hasPrefix(SQLDump.schemaPrefix), sawFormat {
                    return .schema(line.dropFirst(SQLDump.schemaPrefix.count).split(separator: " ").map(String.init))
                } else if line.hasPrefix(SQLDump.tablePrefix), sawFormat {
                    return .table(String(line.dropFirst(SQLDump.tablePrefix.count)))
                } else if line.hasPrefix("COPY "), line.hasSuffix(" FROM stdin;"), sawFormat {
                    inCopy = true
                } else if line.hasPrefix(SQLDump.rowsPrefix), sawFormat {
                    let parts = line.dropFirst(SQLDump.rowsPrefix.count).split(separator: " ")
                    guard parts.count == 3, let rows = Int(parts[1]) else {
                        throw MoveError.unreadable("\(path) line \(lineNumber): a damaged checksum line")
                    }
                    return .recordedDigest(table: String(parts[0]), rows: rows, sha256: String(parts[2]))
                } else if line.hasPrefix(SQLDump.sequencePrefix), sawFormat {
                    let parts = line.dropFirst(SQLDump.sequencePrefix.count).split(separator: " ")
                    guard parts.count == 2, let floor = Int64(parts[1]) else {
                        throw MoveError.unreadable("\(path) line \(lineNumber): a damaged sequence line")
                    }
                    return .sequence(table: String(parts[0]), floor: floor)
                } else if line == SQLDump.endLine, sawFormat {
                    sawEnd = true
                    return .end
                } else if lineNumber > 10, !sawFormat {
                    break
                }
            }
            guard sawFormat else {
                throw MoveError.unreadable("\(path) is not a file written by bridgeos export --sql")
            }
            guard sawEnd, !inCopy else {
                throw MoveError.unreadable("\(path) ends early (line \(lineNumber)): the export that wrote it did not finish")
            }
            return nil
        }
    }
}

/// Buffered writes to a file created new (0600: it holds every conversation), synced before it is done.
final class BufferedOutput: @unchecked Sendable {  // used by one thread at a time
    private let handle: FileHandle
    private var buffer: [UInt8] = []

    init(creating path: String) throws {
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw MoveError.invalidInput("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        buffer.reserveCapacity(1 << 16)
    }

    /// Writes into a claimed file through a descriptor of its own (closing it keeps the claim's lock).
    init(sharing claim: ClaimedFile) throws {
        let descriptor = fcntl(claim.descriptor, F_DUPFD_CLOEXEC, 0)  // a child spawned meanwhile gets no copy
        guard descriptor >= 0 else {
            throw MoveError.invalidInput("cannot write \(claim.path): \(String(cString: strerror(errno)))")
        }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        buffer.reserveCapacity(1 << 16)
    }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try? flushBuffer() }
    }

    private var failure: (any Error)?

    private func flushBuffer() throws {
        guard !buffer.isEmpty else { return }
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            failure = failure ?? error
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered, syncs and closes; throws the first write error (a full disk).
    func close() throws {
        try flushBuffer()
        if let failure { throw MoveError.invalidInput("cannot write the export: \(failure.localizedDescription)") }
        try handle.synchronize()
        try handle.close()
    }
}

/// A file's lines (without their newlines), read in large chunks.
final class LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw MoveError.invalidInput("cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")")
        }
        self.handle = handle
    }

    init(handle: FileHandle) {
        self.handle = handle
    }

    deinit { try? handle.close() }

    func next() throws -> Substring? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[start..<newline], as: UTF8.self)
                start = newline + 1
                return Substring(line)
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = String(decoding: buffer[start...], as: UTF8.self)
                start = buffer.count
                return Substring(line)
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
