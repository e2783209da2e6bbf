import BridgeOSPostgres
import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import GRDB
import Testing

/// The parts of the move that need no PostgreSQL server: the twins, the registry, the fixed forms, the
/// checksum, and the SQL file both ways.
@Suite("Moving to PostgreSQL: formats")
struct MoveFormatTests {
    @Test("every SQLite migration has its PostgreSQL twin, and no twin lacks a migration")
    func twinsMatchMigrations() throws {
        let twins = try PostgresSchema.twins()
        #expect(twins.map(\.identifier) == (try AppDatabase.knownMigrations()))
        #expect(twins.allSatisfy { !PostgresSchema.statements($0.sql).isEmpty })
    }

    @Test("the registry reads every column's kind from the schema's own conventions")
    func registryKinds() throws {
        let schema = try AppDatabase.portableSchema()
        #expect(schema.table("users")?.kind(of: "id") == .integer)
        #expect(schema.table("users")?.kind(of: "created_at") == .timestamp)
        #expect(schema.table("usage_tracking")?.kind(of: "is_blocked") == .boolean)
        #expect(schema.table("outbox")?.kind(of: "is_group") == .boolean)
        #expect(schema.table("outbox")?.kind(of: "payload") == .json)
        #expect(schema.table("outbox")?.kind(of: "result") == .json)
        #expect(schema.table("conversation_states")?.kind(of: "data") == .json)
        #expect(schema.table("messages")?.kind(of: "original_text") == .text)
        #expect(schema.table("messages")?.kind(of: "undelivered_notice_at") == .timestamp)
        #expect(schema.table("managers")?.columns.last?.name == "daily_hour")
        #expect(schema.table("receipts")?.kind(of: "needs_confirmation") == .boolean)
        #expect(schema.table("daily_summaries")?.primaryKey == ["manager_id", "local_day"])
        #expect(schema.table("messages")?.autoincrement == true)
        #expect(schema.table("connections")?.autoincrement == false)
        #expect(schema.table("updates")?.primaryKey == ["bot_slot", "update_id"])
        // Parents before children.
        let order = schema.tables.map(\.name)
        for table in schema.tables {
            for parent in table.references {
                #expect(order.firstIndex(of: parent)! < order.firstIndex(of: table.name)!, "\(parent) before \(table.name)")
            }
        }
        #expect(!order.contains("grdb_migrations") && !order.contains("sqlite_sequence"))
    }

    @Test("the statement splitter keeps dollar-quoted bodies, quotes and comments whole")
    func statementSplitter() {
        let statements = PostgresSchema.statements("""
            -- a comment; with a semicolon
            CREATE TABLE a (x TEXT DEFAULT 'a;b');
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'x; y';
            END;
            $$;
            SELECT 1
            """)
        #expect(statements.count == 3)
        #expect(statements[0] == "CREATE TABLE a (x TEXT DEFAULT 'a;b')")
        #expect(statements[1].hasSuffix("END;\n$$"))
        #expect(statements[2] == "SELECT 1")
    }

    @Test("the checksum tells apart rows that a separator-based form would confuse")
    func digestIsUnambiguous() {
        func hex(_ rows: [[String?]]) -> String {
            var digest = TableDigest()
            rows.forEach { digest.add($0) }
            return digest.finish()
        }
        #expect(hex([["a", nil]]) != hex([["a-", nil]]))
        #expect(hex([["a", "b"]]) != hex([["ab", ""]]))
        #expect(hex([[nil]]) != hex([["-"]]))
        #expect(hex([["1"], ["2"]]) != hex([["1\n2"]]))
        #expect(hex([["x"]]) == hex([["x"]]))
    }

    @Test("timestamps go between the store's form and RFC 3339 to the microsecond, and refuse what SQLite cannot keep")
    func timestampForms() {
        #expect(CanonicalValue.timestamp(fromStore: "2026-12-02 16:30:54.123") == "2026-12-02T16:30:54.123000Z")
        #expect(CanonicalValue.storeTimestamp(fromCanonical: "2026-12-02T16:30:54.123000Z") == "2026-12-02 16:30:54.123")
        #expect(CanonicalValue.storeTimestamp(fromCanonical: "2026-12-02T16:30:54.123456Z") == nil)
        #expect(CanonicalValue.timestamp(fromStore: "2026-12-02") == nil)
        // Real instants only: no 30 February, no 25:61, no letters where digits go, leap days where they exist.
        #expect(CanonicalValue.timestamp(fromStore: "2024-02-29 23:59:59.999") == "2024-02-29T23:59:59.999000Z")
        for invalid in ["2026-02-30 10:00:00.000", "2025-02-29 10:00:00.000", "1900-02-29 10:00:00.000", "2026-12-02 25:00:00.000",
                        "2026-12-02 10:61:00.000", "2026-12-02 10:00:60.000", "2026-13-02 10:00:00.000", "0000-01-01 00:00:00.000",
                        "20x6-12-02 10:00:00.000", "2026-12-02 10:00:00.1x3", "2026/12/02 10:00:00.000"] {
            #expect(CanonicalValue.timestamp(fromStore: invalid) == nil, "\(invalid)")
        }
        #expect(CanonicalValue.storeTimestamp(fromCanonical: "2026-02-30T10:00:00.000000Z") == nil)
    }

    @Test("a SQL export reads back into a new SQLite file with identical data, verified; the file refuses overwrites and edits")
    func sqlFileRoundTrip() throws {
        try Fixture.withSource { directory, source in
            let file = directory.appendingPathComponent("export.sql").path
            var tables: [String] = []
            let exported = try Export.toSQLFile(database: source, output: file, force: false) { tables.append($0) }
            #expect(exported.matches, "\(exported.rendered(source: "sqlite", target: "file"))")
            let schema = try AppDatabase.portableSchema()
            #expect(exported.tables.map(\.table) == schema.tables.map(\.name))
            // Every table of the schema has rows in the fixture: a new table must be added to it.
            for check in exported.tables { #expect(check.sourceRows > 0, "the fixture leaves \(check.table) empty") }
            #expect(tables.filter { $0.hasSuffix(" rows") }.count == schema.tables.count)
            #expect(tables.last?.hasPrefix("verifying") == true)
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600)

            #expect(throws: MoveError.self) { try Export.toSQLFile(database: source, output: file, force: false) { _ in } }
            #expect(try Export.toSQLFile(database: source, output: file, force: true) { _ in }.matches)

            let copy = directory.appendingPathComponent("copy.sqlite").path
            let imported = try Import.fromSQLFile(file, destination: copy) { _ in }
            #expect(imported.matches, "\(imported.rendered(source: "file", target: "sqlite"))")
            #expect(try Fixture.content(of: copy) == (try Fixture.content(of: source)))
            #expect(imported.sequences.contains { $0.table == "messages" && $0.target == 7 })

            // Never over an existing database.
            #expect(throws: StoreError.self) { try Import.fromSQLFile(file, destination: copy) { _ in } }
            // Nor over an empty file, which it names for what it probably is.
            let empty = directory.appendingPathComponent("empty.sqlite").path
            _ = FileManager.default.createFile(atPath: empty, contents: Data())
            #expect { try Import.fromSQLFile(file, destination: empty) { _ in } } throws: { "\($0)".contains("is an empty file") }

            // A changed row no longer matches the checksum the file recorded, and nothing is left behind.
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let edited = directory.appendingPathComponent("edited.sql").path
            try text.replacingOccurrences(of: "Pour the slab", with: "Pour the slag").write(toFile: edited, atomically: true, encoding: .utf8)
            let target = directory.appendingPathComponent("edited.sqlite").path
            #expect { try Import.fromSQLFile(edited, destination: target) { _ in } } throws: { error in
                "\(error)".contains("checksum recorded")
            }
            #expect(!FileManager.default.fileExists(atPath: target))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".importing") || $0.contains(".partial") }.isEmpty)

            // What a killed run left (its process is gone) is swept by the next one; a live run's file is kept.
            let dead = copy + ".importing-999999999-1"
            let live = copy + ".importing-\(getpid())-1"
            for path in [dead, dead + "-wal", live] { FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
            #expect(throws: StoreError.self) { try Import.fromSQLFile(file, destination: copy) { _ in } }
            #expect(!FileManager.default.fileExists(atPath: dead) && !FileManager.default.fileExists(atPath: dead + "-wal"))
            #expect(FileManager.default.fileExists(atPath: live))
            try FileManager.default.removeItem(atPath: live)

            // A file cut short is refused.
            let cut = directory.appendingPathComponent("cut.sql").path
            try String(text.prefix(text.count / 2)).write(toFile: cut, atomically: true, encoding: .utf8)
            #expect(throws: MoveError.self) { try Import.fromSQLFile(cut, destination: target) { _ in } }

            // A table's section twice (its checksum line repeated with it) is refused, not read as more rows.
            let start = try #require(text.range(of: "-- bridgeos-table: users\n"))
            let end = try #require(text.range(of: "-- bridgeos-rows: users ", range: start.upperBound..<text.endIndex))
            let lineEnd = try #require(text[end.upperBound...].firstIndex(of: "\n"))
            let section = String(text[start.lowerBound...lineEnd])
            let doubled = directory.appendingPathComponent("doubled.sql").path
            try text.replacingOccurrences(of: section, with: section + section).write(toFile: doubled, atomically: true, encoding: .utf8)
            #expect { try Import.fromSQLFile(doubled, destination: target) { _ in } } throws: { "\($0)".contains("users twice") }
            #expect(!FileManager.default.fileExists(atPath: target))
        }
    }

    @Test("a database whose text is UTF-16 is refused: its bytes are not the UTF-8 the checksums and PostgreSQL take")
    func utf16Refused() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("utf16.sqlite").path
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA encoding = 'UTF-16le'")
                try db.execute(sql: "CREATE TABLE first_table (x INTEGER)")  // the encoding is fixed from here on
                try db.execute(sql: "DROP TABLE first_table")
            }
            try queue.close()
            try Fixture.make(at: path)
            #expect { try Export.toSQLFile(database: path, output: path + ".sql", force: false) { _ in } } throws: { error in
                "\(error)".contains("UTF-16le, not UTF-8")
            }
            #expect(!FileManager.default.fileExists(atPath: path + ".sql"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".partial-") }.isEmpty)
        }
    }

    @Test("an export reads one snapshot while another process's writes go on")
    func exportDuringWrites() async throws {
        try await Fixture.withSource { directory, source in
            let live = try AppDatabase.openFile(at: source)
            let writing = Task.detached {
                var written = 0
                while !Task.isCancelled {
                    // A message and a task in one transaction: a snapshot has both or neither.
                    try await live.writer.write { db in
                        try db.execute(sql: """
                            INSERT INTO messages (connection_id, sender_id, original_text, source_language, target_language, created_at)
                            VALUES (2, ?, 'more', 'en', 'ar', '2026-01-06 00:00:00.000');
                            INSERT INTO tasks (connection_id, description, created_at) VALUES (2, 'more', '2026-01-06 00:00:00.000');
                            """, arguments: [Fixture.manager])
                    }
                    written += 1
                    try? await Task.sleep(for: .milliseconds(1))  // steady, not flat out: other tests share the machine
                }
                return written
            }
            try await Task.sleep(for: .milliseconds(50))
            let file = directory.appendingPathComponent("export.sql").path
            let exported = try Export.toSQLFile(database: source, output: file, force: false) { _ in }
            writing.cancel()
            let written = try await writing.value
            #expect(exported.matches)
            #expect(written > 0)
            let copy = directory.appendingPathComponent("copy.sqlite").path
            #expect(try Import.fromSQLFile(file, destination: copy) { _ in }.matches)
            let counts = try Fixture.rowCounts(of: copy)
            let final = try Fixture.rowCounts(of: source)
            let (messages, tasks) = (counts["messages"] ?? 0, counts["tasks"] ?? 0)
            #expect(messages >= 3 && messages <= final["messages"] ?? 0)
            // Every table read at one instant: the pairs written together are exported together.
            #expect(messages - 3 == tasks - 2, "\(messages - 3) messages but \(tasks - 2) tasks of the pairs")
        }
    }

    @Test("text SQLite holds but PostgreSQL cannot (a NUL, bytes that are not UTF-8) is refused, never repaired")
    func unportableText() throws {
        for bytes in ["610062", "61FF62"] {
            try withTemporaryDirectory { directory in
                let path = directory.appendingPathComponent("source.sqlite").path
                try Fixture.make(at: path)
                let queue = try DatabaseQueue(path: path)
                try queue.write { db in try db.execute(sql: "UPDATE tasks SET description = CAST(X'\(bytes)' AS TEXT) WHERE id = 1") }
                try queue.close()
                #expect { try Export.toSQLFile(database: path, output: path + ".sql", force: false) { _ in } } throws: { error in
                    "\(error)".contains("tasks.description") && ("\(error)".contains("NUL") || "\(error)".contains("not UTF-8"))
                }
                #expect(!FileManager.default.fileExists(atPath: path + ".sql"))
            }
        }
    }

    @Test("PostgreSQL URLs: parts, PGPASSWORD, TLS defaults by place, Unix sockets, refusals, and no password in any message")
    func postgresAddresses() throws {
        let remote = try PostgresAddress("postgresql://crew:p%40ss@db.example:6543/bridge", environment: [:])
        #expect(remote.user == "crew" && remote.password == "p@ss" && remote.host == "db.example" && remote.port == 6543)
        #expect(remote.database == "bridge" && remote.tls == .require)
        #expect(remote.description == "postgres://crew@db.example:6543/bridge")
        let local = try PostgresAddress("postgres://crew@127.0.0.1/bridge", environment: ["PGPASSWORD": "from-env"])
        #expect(local.password == "from-env" && local.port == 5432 && local.tls == .disable)
        #expect(try PostgresAddress("postgres://crew@db.example/bridge?sslmode=verify-full", environment: [:]).tls == .verifyFull)
        let socket = try PostgresAddress("postgres://crew@/bridge?host=/run/postgresql", environment: [:])
        #expect(socket.socketDirectory == "/run/postgresql" && socket.tls == .disable)
        #expect(socket.description == "postgres://crew@/run/postgresql/.s.PGSQL.5432/bridge")
        for bad in ["http://db/x", "postgres://db.example", "postgres://db/x?sslmode=sometimes", "postgres://db/x?colour=red",
                    "postgres://db:99999/x", "postgres://db/x?sslrootcert=/nonexistent/ca.pem"] {
            #expect(throws: MoveError.self, "\(bad)") { try PostgresAddress(bad, environment: [:]) }
        }
        #expect(PostgresAddress.redacted("postgres://u:p@ss@h:1/db") == "postgres://u:***@h:1/db")
        // A password with characters its author did not percent-encode never shows, whatever URL parsing makes of it.
        for (character, prefix) in ["#", "/", "?", "@", ":", "%", "&"].flatMap({ [($0, "pa"), ($0, "2024")] }) {
            // "2024" before the character parses as a port: the rest would be a path or a query item.
            let url = "postgres://crew:\(prefix)\(character)s3cr3t@db.example:5432/bridge"
            #expect(!PostgresAddress.redacted(url).contains("s3cr3t"), "\(character)")
            do {
                let address = try PostgresAddress(url, environment: [:])
                #expect(!address.description.contains("s3cr3t"), "\(character)")
            } catch {
                #expect(!"\(error)".contains("s3cr3t"), "\(character): \(error)")
            }
        }
        // sslrootcert: checked where it is used (verify-ca, verify-full, and require as libpq does), refused where
        // nothing would check it.
        let ca = FileManager.default.temporaryDirectory.appendingPathComponent("bridgeos-ca-\(UUID().uuidString).pem").path
        _ = FileManager.default.createFile(atPath: ca, contents: Data("-----BEGIN CERTIFICATE-----\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: ca) }
        #expect(try PostgresAddress("postgres://crew@db.example/bridge?sslmode=require&sslrootcert=\(ca)", environment: [:]).tls == .verifyCA)
        #expect(try PostgresAddress("postgres://crew@db.example/bridge?sslrootcert=\(ca)", environment: [:]).tls == .verifyCA)
        #expect(try PostgresAddress("postgres://crew@db.example/bridge?sslmode=verify-ca", environment: [:]).tls == .verifyCA)
        #expect(try PostgresAddress("postgres://crew@127.0.0.1/bridge?sslrootcert=\(ca)", environment: [:]).tls == .verifyCA)
        // An @ in a known parameter's value is no password: kept.
        #expect(try PostgresAddress("postgres://db.example/bridge?user=alice@myserver", environment: [:]).user == "alice@myserver")
        #expect { try PostgresAddress("postgres://crew@/bridge?host=/run/postgresql&sslrootcert=\(ca)", environment: [:]) } throws: {
            "\($0)".contains("Unix socket")
        }
        // A password with a space: never shown, whether it parses or not.
        do {
            #expect(!(try PostgresAddress("postgres://crew:pa s3cr3t@db.example/bridge", environment: [:])).description.contains("s3cr3t"))
        } catch {
            #expect(!"\(error)".contains("s3cr3t"))
        }
        #expect(!PostgresAddress.redacted("postgres://crew:pa s3cr3t@db.example/bridge", whole: true).contains("s3cr3t"))
        // Redaction stays inside the URL: what follows it in a message is kept.
        #expect(PostgresAddress.redacted("cannot reach postgres://u:pw@h/db (mail admin@example.com)")
                == "cannot reach postgres://u:***@h/db (mail admin@example.com)")
        let full = try PostgresAddress("postgres://crew@db.example/bridge?sslmode=verify-full&sslrootcert=\(ca)", environment: [:])
        #expect(full.tls == .verifyFull && full.rootCertificate == ca)
        for mode in ["disable", "prefer"] {
            #expect { try PostgresAddress("postgres://crew@db.example/bridge?sslmode=\(mode)&sslrootcert=\(ca)", environment: [:]) } throws: {
                "\($0)".contains("sslrootcert needs sslmode=verify-full")
            }
        }
        #expect(PostgresAddress.redacted("postgres://u@h/db?password=secret&sslmode=require") == "postgres://u@h/db?password=***&sslmode=require")
        #expect { try PostgresAddress("http://u:secret@h/db", environment: [:]) } throws: { !"\($0)".contains("secret") }
    }

    @Test("a database with pending migrations is refused until it is migrated")
    func pendingMigrationsRefused() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("old.sqlite").path
            try Fixture.make(at: path)
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = (SELECT max(identifier) FROM grdb_migrations)")
            }
            try queue.close()
            #expect { try Export.toSQLFile(database: path, output: path + ".sql", force: false) { _ in } } throws: { error in
                "\(error)".contains("bridgeos migrate")
            }
            #expect(!FileManager.default.fileExists(atPath: path + ".sql"))
        }
    }
}
