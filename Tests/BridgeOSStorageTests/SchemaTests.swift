import BridgeOSCore
import BridgeOSResources
import BridgeOSTestSupport
import Foundation
import GRDB
import Testing
@testable import BridgeOSStorage

@Suite("Schema and migrations")
struct SchemaTests {
    static let tables = [
        "users", "managers", "workers", "connections", "messages", "tasks", "subscriptions",
        "usage_tracking", "feedback", "updates", "outbox", "jobs", "unreachable_chats", "conversation_states", "invites",
        "bot_chats", "connection_notices", "person_notices", "announcements", "receipts", "daily_summaries",
        "message_copies", "webhook_deliveries", "referrals", "feedback_notices",
        "admin_accounts", "admin_sessions", "admin_links", "alerts", "app_state",
    ]

    @Test("the embedded resources are byte-for-byte the files under schema/, locales/ and spec/")
    func embeddedSchemaMatchesFiles() throws {
        for folder in ["schema", "locales", "spec", "dashboard", "glossary"] {
            let directory = packageRoot.appendingPathComponent(folder)
            // Every file, in sub-folders too (schema/postgres/).
            let onDisk = try #require(FileManager.default.subpaths(atPath: directory.path))
                .filter { path in !path.split(separator: "/").contains { $0.hasPrefix(".") } }
                .filter { path in
                    var isDirectory: ObjCBool = false
                    FileManager.default.fileExists(atPath: directory.appendingPathComponent(path).path, isDirectory: &isDirectory)
                    return !isDirectory.boolValue
                }
                .map { "\(folder)/\($0)" }.sorted()
            #expect(EmbeddedResources.paths(in: folder) == onDisk)
            for path in onDisk {
                let data = try Data(contentsOf: packageRoot.appendingPathComponent(path))
                #expect(EmbeddedResources.data(path) == data, "\(path) differs from its embedded copy")
            }
        }
    }

    @Test("migrations are numbered without gaps and set user_version")
    func migrationNumbering() throws {
        let migrations = try SchemaMigrations.all()
        #expect(!migrations.isEmpty)
        #expect(migrations.map(\.version) == Array(1...migrations.count))
        try withStore { database, _ in
            let state = try database.writer.read { try MigrationState.read($0) }
            #expect(state.isCurrent)
            #expect(state.userVersion == migrations.count)
            #expect(state.applied == migrations.map(\.identifier))
        }
    }

    @Test("every table is STRICT, and the store runs in WAL with foreign keys and a busy timeout")
    func connectionSettings() throws {
        try withStore { database, _ in
            try database.writer.read { db in
                for table in Self.tables {
                    let strict = try Int.fetchOne(db, sql: "SELECT strict FROM pragma_table_list WHERE name = ?", arguments: [table])
                    #expect(strict == 1, "\(table) is not STRICT")
                }
                #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
                #expect(try Int.fetchOne(db, sql: "PRAGMA foreign_keys") == 1)
            }
            // synchronous and busy_timeout are per connection: what matters is the writer's.
            #expect(try database.writer.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 1)  // NORMAL
            #expect(try database.writer.write { try Int.fetchOne($0, sql: "PRAGMA busy_timeout") } == 5000)
        }
        try withTemporaryDirectory { directory in
            let database = try AppDatabase.openFile(
                at: directory.appendingPathComponent("full.sqlite").path,
                options: StoreOptions(synchronous: .full, busyTimeout: .milliseconds(250)))
            #expect(try database.writer.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)  // FULL
            #expect(try database.writer.write { try Int.fetchOne($0, sql: "PRAGMA busy_timeout") } == 250)
        }
    }

    @Test("both guards are partial unique indexes on active connections")
    func partialUniqueIndexes() throws {
        try withStore { database, _ in
            try database.writer.read { db in
                let indexes = try Row.fetchAll(
                    db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'connections'")
                let byName = Dictionary(uniqueKeysWithValues: indexes.map { ($0["name"] as String, $0["sql"] as String? ?? "") })
                let slotGuard = try #require(byName["connections_one_active_per_manager_slot"])
                let workerGuard = try #require(byName["connections_one_active_per_worker"])
                for sql in [slotGuard, workerGuard] {
                    #expect(sql.contains("UNIQUE"))
                    #expect(sql.contains("WHERE status = 'active'"))
                }
                #expect(slotGuard.contains("(manager_id, bot_slot)"))
                #expect(workerGuard.contains("(worker_id)"))
            }
        }
    }

    @Test("timestamps are stored as canonical UTC text, and other spellings are refused")
    func timestampFormat() throws {
        let clock = ManualWallClock(Date(timeIntervalSince1970: 1_795_000_000.123_456))
        try withStore(clock: clock) { database, _ in
            try database.users.save(profile(7))
            try database.writer.read { db in
                let raw = try String.fetchOne(db, sql: "SELECT created_at FROM users WHERE id = 7")
                #expect(raw == "2026-11-18 11:06:40.123")
            }
            #expect(throws: DatabaseError.self) {
                try database.writer.write { db in
                    try db.execute(sql: "UPDATE users SET updated_at = '2026-11-18T08:26:40Z' WHERE id = 7")
                }
            }
        }
    }

    @Test("reopening a current database changes nothing")
    func reopenIsNoOp() throws {
        try withStore { database, path in
            try database.users.save(profile(1))
            let reopened = try AppDatabase.openFile(at: path)
            #expect(try reopened.users.find(1) != nil)
            let state = try reopened.writer.read { try MigrationState.read($0) }
            #expect(state.isCurrent)
        }
    }

    @Test("a database written by a newer BridgeOS is refused and left untouched")
    func newerSchemaRefused() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("bridgeos.sqlite").path
            let database = try AppDatabase.openFile(at: path)
            try database.writer.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
            }
            let latest = try #require(try AppDatabase.knownMigrations().last)
            #expect(throws: StoreError.newerSchema(unknownMigrations: ["9999_from_the_future"], knownLatest: latest)) {
                _ = try AppDatabase.openFile(at: path)
            }
            let error = StoreError.newerSchema(unknownMigrations: ["9999_from_the_future"], knownLatest: latest)
            #expect(error.description.contains("newer BridgeOS"))
            let applied = try database.writer.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }
            #expect(applied.contains("9999_from_the_future"))
        }
    }

    @Test("several pools migrating one new file at once all succeed")
    func concurrentFirstOpen() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let path = directory.appendingPathComponent("bridgeos.sqlite").path
            let failures = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        do { _ = try AppDatabase.openFile(at: path); return nil } catch { return "\(error)" }
                    }
                }
                return await group.reduce(into: [String]()) { if let failure = $1 { $0.append(failure) } }
            }
            #expect(failures.isEmpty, "\(failures.count) of 12 opens failed: \(failures)")
            let database = try AppDatabase.openFile(at: path)
            let state = try await database.writer.read { try MigrationState.read($0) }
            #expect(state.isCurrent)
        }
    }

    @Test("an SQLite older than 3.37 would be refused with a clear message")
    func sqliteVersionGuard() throws {
        try AppDatabase.requireSupportedSQLite()  // this machine's SQLite is new enough
        let error = StoreError.sqliteTooOld(found: "3.31.1", required: "3.37")
        #expect(error.description == "SQLite 3.31.1 is too old: BridgeOS needs SQLite 3.37 or newer (install a newer libsqlite3)")
    }
}
