import BridgeOSPostgres
import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import Logging
import Testing

/// The move against a real PostgreSQL 15 (see `PostgresServer`): export, verification, the schema's guards,
/// refusals, psql loading the SQL file, and import back.
@Suite("Moving to PostgreSQL: a real server", .enabled(if: PostgresServer.shouldRun), .serialized)
struct MovePostgresTests {
    let logger: Logger = {
        var logger = Logger(label: "test.move")
        logger.logLevel = .warning
        return logger
    }()

    @Test("a filled database exports with equal checksums, keeps its guards in PostgreSQL, and imports back identical")
    func exportVerifyImport() async throws {
        let server = try await PostgresServer.shared()
        let url = try await server.createDatabase()
        let name = databaseName(url)
        try await Fixture.withSource { directory, source in
            let exported = try await Export.toPostgres(
                database: source, address: try PostgresAddress(url), force: false, spoolDirectory: directory.path,
                logger: logger, progress: { _ in })
            #expect(exported.matches, "\(exported.rendered(source: "sqlite", target: "postgres"))")
            for check in exported.tables { #expect(check.targetRows > 0, "\(check.table) arrived empty") }
            #expect(exported.sequences.contains { $0.table == "messages" && $0.source == 7 && $0.target == 7 })
            #expect(exported.sequences.contains { $0.table == "outbox" && $0.target == 9 })
            // The spool is gone.
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("bridgeos-export-") }
            #expect(leftovers.isEmpty)

            // Values as PostgreSQL sees them: 64-bit ids, booleans, UTC instants, JSON, text.
            let users = try await server.query("SELECT id::text, display_name FROM users ORDER BY id", in: name)
            #expect(users.map { $0[0] } == ["\(Fixture.formerWorker)", "\(Fixture.manager)", "\(Fixture.worker)", "\(Fixture.formerManager)"])
            #expect(users[2][1] == "محمد العربي")
            let blocked = try await server.query("SELECT is_blocked::text, pg_typeof(is_blocked)::text FROM usage_tracking ORDER BY manager_id", in: name)
            #expect(blocked.map { $0[0] } == ["false", "true"] && blocked[0][1] == "boolean")
            let instant = try await server.query(
                "SELECT (created_at = TIMESTAMPTZ '2026-01-02 03:04:05.678+00')::text FROM users WHERE id = \(Fixture.manager)", in: name)
            #expect(instant == [["true"]])
            let nested = try await server.query("SELECT payload::json -> 'nested' -> 'a' ->> 1 FROM jobs WHERE id = 1", in: name)
            #expect(nested == [["2.5"]])
            let text = try await server.query("SELECT original_text FROM messages WHERE id = 2", in: name)
            #expect(text == [[Fixture.nasty]])
            // A new row takes an id above every id SQLite ever gave (7 was deleted; AUTOINCREMENT never reuses it).
            let next = try await server.query("""
                INSERT INTO messages (connection_id, sender_id, original_text, source_language, target_language, created_at)
                VALUES (2, \(Fixture.manager), 'after the move', 'en', 'ar', now()) RETURNING id::text
                """, in: name)
            #expect(next == [["8"]])
            try await server.execute("DELETE FROM messages WHERE id = 8", in: name)

            // The partial unique indexes refuse a second active connection, as in SQLite.
            await #expect { try await server.execute("""
                INSERT INTO connections (manager_id, worker_id, bot_slot, status, connected_at)
                VALUES (\(Fixture.formerManager), \(Fixture.worker), 2, 'active', now())
                """, in: name) } throws: { "\(String(reflecting: $0))".contains("connections_one_active_per_worker") }
            await #expect { try await server.execute("""
                INSERT INTO connections (manager_id, worker_id, bot_slot, status, connected_at)
                VALUES (\(Fixture.manager), \(Fixture.formerWorker), 1, 'active', now())
                """, in: name) } throws: { "\(String(reflecting: $0))".contains("connections_one_active_per_manager_slot") }
            // Disconnected rows are not held by the guard: a new active connection in a freed slot is fine.
            try await server.execute("""
                INSERT INTO connections (manager_id, worker_id, bot_slot, status, connected_at)
                VALUES (\(Fixture.manager), \(Fixture.formerWorker), 2, 'active', now())
                """, in: name)
            // ... and the trigger still refuses a message from outside the connection.
            await #expect { try await server.execute("""
                INSERT INTO messages (connection_id, sender_id, original_text, source_language, target_language, created_at)
                VALUES (2, \(Fixture.formerManager), 'intruder', 'en', 'ar', now())
                """, in: name) } throws: { "\(String(reflecting: $0))".contains("not a party") }
            try await server.execute("DELETE FROM connections WHERE id > 3", in: name)

            // Back into a new SQLite file: identical rows, the AUTOINCREMENT counters included.
            let copy = directory.appendingPathComponent("copy.sqlite").path
            let imported = try await Import.fromPostgres(try PostgresAddress(url), destination: copy, logger: logger, progress: { _ in })
            #expect(imported.matches, "\(imported.rendered(source: "postgres", target: "sqlite"))")
            #expect(try Fixture.rows(of: copy) == (try Fixture.rows(of: source)))
            // PostgreSQL gave ids after the move (8, deleted since; 9 to the refused intruder): SQLite will not
            // give them again either.
            var sequences = try Fixture.sequences(of: source)
            #expect(sequences["messages"] == 7)
            let given = try await server.query("SELECT last_value::text FROM pg_sequences WHERE sequencename = 'messages_id_seq'", in: name)
            #expect(given == [["9"]])
            sequences["messages"] = 9
            #expect(try Fixture.sequences(of: copy) == sequences)
            await #expect(throws: StoreError.self) {
                try await Import.fromPostgres(try PostgresAddress(url), destination: copy, logger: logger, progress: { _ in })
            }
        }
    }

    @Test("the twins give PostgreSQL the same tables, columns (in order), types from the registry, and index names")
    func twinsMatchRegistry() async throws {
        let server = try await PostgresServer.shared()
        let url = try await server.createDatabase()
        let name = databaseName(url)
        try await Fixture.withSource { directory, source in
            _ = try await Export.toPostgres(database: source, address: try PostgresAddress(url), force: false,
                                            spoolDirectory: directory.path, logger: logger, progress: { _ in })
        }
        let schema = try AppDatabase.portableSchema()
        let columns = try await server.query("""
            SELECT table_name, column_name, data_type, is_nullable,
                   CASE WHEN data_type LIKE 'timestamp%' THEN datetime_precision::text END
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY table_name, ordinal_position
            """, in: name)
        let expected = schema.tables.sorted { $0.name < $1.name }.flatMap { table in
            table.columns.map {
                [table.name, $0.name, $0.kind.postgresType, $0.nullable ? "YES" : "NO", $0.kind == .timestamp ? "3" : nil] as [String?]
            }
        }
        #expect(columns == expected)
        let sqliteIndexes = try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("empty.sqlite").path
            _ = try AppDatabase.openFile(at: path)
            return try StoreInspection(path: path).indexNames()
        }
        let postgresIndexes = try await server.query("""
            SELECT indexname FROM pg_indexes WHERE schemaname = 'public'
            AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname
            """, in: name).compactMap { $0[0] }
        #expect(postgresIndexes == sqliteIndexes)
        let identities = try await server.query("""
            SELECT table_name FROM information_schema.columns
            WHERE table_schema = 'public' AND is_identity = 'YES' AND identity_generation = 'BY DEFAULT' ORDER BY table_name
            """, in: name).compactMap { $0[0] }
        #expect(identities == ["announcements", "connections", "feedback", "glossary_entries", "invites", "jobs", "messages", "outbox", "receipts", "subscriptions", "tasks"])
        #expect(Set(identities) == (try PostgresSchema.identityTables()))
    }

    @Test("a target that is not empty is refused without --force; --force reloads only a BridgeOS export of the same schema")
    func refusals() async throws {
        let server = try await PostgresServer.shared()
        try await Fixture.withSource { directory, source in
            func export(_ url: String, force: Bool) async throws -> Verification {
                try await Export.toPostgres(database: source, address: try PostgresAddress(url), force: force,
                                            spoolDirectory: directory.path, logger: logger, progress: { _ in })
            }
            let url = try await server.createDatabase()
            #expect(try await export(url, force: false).matches)
            await #expect { try await export(url, force: false) } throws: { "\($0)".contains("not empty") }
            // The refused run changed nothing; --force empties and reloads, sequences included.
            let counts = "SELECT (SELECT count(*) FROM person_notices)::text, (SELECT count(*) FROM messages)::text"
            #expect(try await server.query(counts, in: databaseName(url)) == [["2", "3"]])
            try await server.execute("DELETE FROM person_notices", in: databaseName(url))
            let reloaded = try await export(url, force: true)
            #expect(reloaded.matches, "\(reloaded.rendered(source: "sqlite", target: "postgres"))")
            #expect(reloaded.sequences.contains { $0.table == "messages" && $0.target == 7 })

            let foreign = try await server.createDatabase()
            try await server.execute("CREATE TABLE invoices (id BIGINT PRIMARY KEY)", in: databaseName(foreign))
            await #expect { try await export(foreign, force: true) } throws: { "\($0)".contains("invoices") }
            let rows = try await server.query("SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'", in: databaseName(foreign))
            #expect(rows == [["1"]])

            let latin = try await server.createDatabase(encoding: "SQL_ASCII")
            await #expect { try await export(latin, force: false) } throws: { "\($0)".contains("UTF8") }

            // A time PostgreSQL can hold and SQLite cannot (infinity) is refused by import, not turned into NULL.
            try await server.execute("UPDATE users SET updated_at = 'infinity' WHERE id = \(Fixture.manager)", in: databaseName(url))
            await #expect { try await Import.fromPostgres(try PostgresAddress(url), destination: directory.path + "/inf.sqlite",
                                                         logger: logger, progress: { _ in }) } throws: { "\($0)".contains("users.updated_at") }
            #expect(!FileManager.default.fileExists(atPath: directory.path + "/inf.sqlite"))
            // A time PostgreSQL writes itself keeps SQLite's milliseconds (TIMESTAMPTZ(3)).
            let now = try await server.query("SELECT to_char(now()::timestamptz(3) AT TIME ZONE 'UTC', 'US')", in: databaseName(url))
            #expect(now.first?.first??.hasSuffix("000") == true)

            let empty = try await server.createDatabase()
            await #expect { try await Import.fromPostgres(try PostgresAddress(empty), destination: directory.path + "/x.sqlite",
                                                         logger: logger, progress: { _ in }) } throws: { "\($0)".contains("no BridgeOS schema") }
            #expect(!FileManager.default.fileExists(atPath: directory.path + "/x.sqlite"))
        }
    }

    @Test("psql loads the SQL file into an empty database, and that database imports back identical")
    func psqlLoadsTheFile() async throws {
        let server = try await PostgresServer.shared()
        let url = try await server.createDatabase()
        try await Fixture.withSource { directory, source in
            let file = directory.appendingPathComponent("export.sql").path
            #expect(try Export.toSQLFile(database: source, output: file, force: false) { _ in }.matches)
            let loaded = try await server.psql(file: file, database: databaseName(url))
            #expect(loaded.status == 0, "\(loaded.output)")
            let copy = directory.appendingPathComponent("copy.sqlite").path
            let imported = try await Import.fromPostgres(try PostgresAddress(url), destination: copy, logger: logger, progress: { _ in })
            #expect(imported.matches, "\(imported.rendered(source: "postgres", target: "sqlite"))")
            #expect(try Fixture.content(of: copy) == (try Fixture.content(of: source)))
            // Loading it again stops at the first statement and changes nothing.
            let again = try await server.psql(file: file, database: databaseName(url))
            #expect(again.status != 0)
            #expect(try await server.query("SELECT count(*)::text FROM users", in: databaseName(url)) == [["4"]])
        }
    }

    @Test("an unreachable server is a clear error, and nothing is written")
    func unreachable() async throws {
        try await Fixture.withSource { directory, source async throws in
            await #expect { try await Export.toPostgres(
                database: source, address: try PostgresAddress("postgres://nobody@127.0.0.1:1/none?sslmode=disable"), force: false,
                spoolDirectory: directory.path, logger: logger, progress: { _ in }) } throws: { "\($0)".contains("cannot connect") }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix("source.sqlite") }.isEmpty)
        }
    }
}
