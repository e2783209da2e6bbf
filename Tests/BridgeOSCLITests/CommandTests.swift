import BridgeOSCore
import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import GRDB
import Testing

@Suite("bridgeos command line")
struct CommandTests {
    @Test("--version and --help")
    func versionAndHelp() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let version = try await bridgeos("--version", in: directory)
            #expect(version.status == 0)
            #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == BridgeOSVersion.current)
            let help = try await bridgeos("--help", in: directory)
            #expect(help.status == 0)
            #expect(help.stdout.contains("migrate") && help.stdout.contains("doctor"))
            let unknown = try await bridgeos("frobnicate", in: directory)
            #expect(unknown.status != 0)
        }
    }

    @Test("migrate on an empty directory creates STRICT tables and both partial unique indexes")
    func migrateCreatesDatabase() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let result = try await bridgeos("migrate", in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            let path = directory.appendingPathComponent("data/bridgeos.sqlite").path
            #expect(result.stdout.contains("created"))
            let migrations = try SchemaMigrations.all()
            #expect(result.stdout.contains("schema version \(migrations.count)"))

            let queue = try DatabaseQueue(path: path)
            try await queue.read { db in
                let tables = try Row.fetchAll(db, sql: """
                    SELECT name, strict FROM pragma_table_list
                    WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'
                    """)
                // Tables created, less those a later migration rebuilt (created anew, the old one dropped).
                let declared = try SchemaMigrations.all().map {
                    ($0.sql.components(separatedBy: "CREATE TABLE ").count - 1) - ($0.sql.components(separatedBy: "DROP TABLE ").count - 1)
                }.reduce(0, +)
                #expect(declared >= 9 && tables.count == declared)
                #expect(tables.allSatisfy { ($0["strict"] as Int) == 1 })
                let partial = try String.fetchAll(db, sql: """
                    SELECT name FROM sqlite_master
                    WHERE type = 'index' AND tbl_name = 'connections' AND sql LIKE 'CREATE UNIQUE INDEX%WHERE status = ''active'''
                    ORDER BY name
                    """)
                #expect(partial == ["connections_one_active_per_manager_slot", "connections_one_active_per_worker"])
                #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            }
            let permissions = try FileManager.default.attributesOfItem(atPath: directory.path + "/data")[.posixPermissions] as? Int
            #expect(permissions == 0o700)
            let again = try await bridgeos("migrate", in: directory)
            #expect(again.status == 0)
            #expect(again.stdout.contains("schema is up to date"))
        }
    }

    @Test("settings come from an env file, a flag, or the environment")
    func configurationSources() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let envFile = directory.appendingPathComponent("bridgeos.env")
            try "BRIDGEOS_DATA_DIR=\(directory.path)/from-file\n".write(to: envFile, atomically: true, encoding: .utf8)
            #expect(try await bridgeos("migrate", "--env-file", envFile.path, in: directory).status == 0)
            #expect(FileManager.default.fileExists(atPath: directory.path + "/from-file/bridgeos.sqlite"))

            #expect(try await bridgeos("migrate", "--data-dir", "flag-dir", in: directory).status == 0)
            #expect(FileManager.default.fileExists(atPath: directory.path + "/flag-dir/bridgeos.sqlite"))

            let viaEnv = try await bridgeos("migrate", environment: ["BRIDGEOS_ENV_FILE": envFile.path, "BRIDGEOS_DATA_DIR": "env-dir"], in: directory)
            #expect(viaEnv.status == 0)
            #expect(FileManager.default.fileExists(atPath: directory.path + "/env-dir/bridgeos.sqlite"))
        }
    }

    @Test("a bad setting is one clear line and exit code 78, and nothing is created")
    func invalidConfiguration() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let result = try await bridgeos("migrate", environment: ["BRIDGEOS_SQLITE_SYNCHRONOUS": "sometimes"], in: directory)
            #expect(result.status == 78)
            #expect(result.stderr == "bridgeos: configuration error: BRIDGEOS_SQLITE_SYNCHRONOUS='sometimes' is invalid: expected NORMAL or FULL\n")
            #expect(!FileManager.default.fileExists(atPath: directory.path + "/data"))

            let missing = try await bridgeos("doctor", "--env-file", "nope.env", in: directory)
            #expect(missing.status == 78)
            #expect(missing.stderr.contains("cannot read env file nope.env: no such file"))

            let typo = try await bridgeos("migrate", environment: ["BRIDGEOS_DATADIR": "x"], in: directory)
            #expect(typo.status == 0)
            #expect(typo.stderr.contains("ignoring unknown setting BRIDGEOS_DATADIR"))
        }
    }

    @Test("doctor tries each configured provider with a tiny request and lists the pairs it translates")
    func doctorProviders() async throws {
        let deepl = FakeServer([
            "GET /v2/languages": { request in .json((request.query.contains("target") ? ["EN-US", "ES", "UK"] : ["EN", "ES", "UK"]).map { ["language": $0] }) },
            "POST /v2/translate": { _ in .json(["translations": [["text": "Buenos días"]]]) },
        ])
        let apertium = FakeServer(["GET /listPairs": { _ in .json(["responseData": [], "responseStatus": 200]) }])
        try await deepl.run { deeplBase in try await apertium.run { apertiumBase in
            try await withTemporaryDirectoryAsync { directory in
                #expect(try await bridgeos("migrate", in: directory).status == 0)
                let result = try await bridgeos("doctor", environment: [
                    "BRIDGEOS_TRANSLATOR": "deepl", "DEEPL_API_KEY": "sk-doctor-SECRET", "DEEPL_BASE_URL": deeplBase,
                    "BRIDGEOS_TRANSLATOR_FALLBACK": "apertium,libretranslate", "APERTIUM_URL": apertiumBase,
                ], in: directory)
                #expect(result.stdout.contains("translates (en→es); pairs: en→es,uk; es→en,uk; uk→en,es"), "\(result.stdout)")
                #expect(result.stdout.contains("translates none of BridgeOS's languages into another"))
                #expect(result.stdout.contains("libretranslate needs LIBRETRANSLATE_URL"))
                #expect(!result.stdout.contains("SECRET") && !result.stderr.contains("SECRET"))
            }
        } }
        let sent = try #require(deepl.received("POST /v2/translate").first?.json)
        #expect(sent["text"] as? [String] == ["Good morning"] && sent["target_lang"] as? String == "ES")
    }

    @Test("doctor warns of an env file others can read, and names the lines the service (systemd's EnvironmentFile=) would read otherwise")
    func doctorEnvFile() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            let file = directory.appendingPathComponent("bridgeos.env")
            try "BRIDGEOS_LOG_LEVEL=info\n".write(to: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
            let loose = try await bridgeos("doctor", "--env-file", file.path, in: directory)
            #expect(loose.stdout.contains("holds tokens and not only its owner can read it (mode 644): make it the service user's alone, e.g. chown bridgeos: \(file.path) && chmod 600 \(file.path)"), "\(loose.stdout)")
            try "BRIDGEOS_LOG_LEVEL=info  # quiet\nexport BRIDGEOS_POLL_TIMEOUT=30\n".write(to: file, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
            let result = try await bridgeos("doctor", "--env-file", file.path, in: directory)
            #expect(result.stdout.contains("WARN  env file"), "\(result.stdout)")
            #expect(result.stdout.contains("line 1: a trailing comment: systemd keeps it in the value; line 2: `export`: systemd ignores the line"))
            try "BRIDGEOS_LOG_LEVEL=info\n".write(to: file, atomically: false, encoding: .utf8)
            let clean = try await bridgeos("doctor", "--env-file", file.path, in: directory)
            #expect(clean.stdout.contains("reads the same for systemd's EnvironmentFile="), "\(clean.stdout)")
        }
    }

    @Test("doctor passes on a healthy database and reports every check")
    func doctorHealthy() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            let result = try await bridgeos("doctor", in: directory)
            // No tokens and no translator in this configuration: warnings, so exit 2.
            #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
            for check in ["SQLite library", "database file", "journal mode", "integrity", "foreign keys", "migrations", "strict tables",
                          "permissions", "disk space", "WAL", "backups", "jobs", "dead letters", "bot tokens", "translator"] {
                #expect(result.stdout.contains(check))
            }
            #expect(result.stdout.contains("WARN  bot tokens      none configured"))
            #expect(result.stdout.contains("no check failed; 2 warning(s)"))
            #expect(!result.stdout.contains("FAIL "))
        }
    }

    @Test("doctor fails on a missing, foreign or corrupted file")
    func doctorFailures() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let missing = try await bridgeos("doctor", in: directory)
            #expect(missing.status == 1)
            #expect(missing.stdout.contains("does not exist: run `bridgeos migrate`"))

            let dataDir = directory.appendingPathComponent("data")
            try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
            try Data("this is not a database".utf8).write(to: dataDir.appendingPathComponent("bridgeos.sqlite"))
            let foreign = try await bridgeos("doctor", in: directory)
            #expect(foreign.status == 1)
            #expect(foreign.stdout.contains("is not an SQLite database"))
            try FileManager.default.removeItem(at: dataDir)

            // A real database with rows: one damaged data page (the file opens, quick_check finds it)...
            let path = dataDir.appendingPathComponent("bridgeos.sqlite").path
            try await makeDatabaseWithRows(in: directory, path: path)
            try overwrite(path, pages: [try pageCount(path) - 2], at: 8, count: 64)
            let damaged = try await bridgeos("doctor", in: directory)
            #expect(damaged.status == 1, "\(damaged.stdout)")
            #expect(damaged.stdout.contains("FAIL  integrity"))
            #expect(damaged.stdout.contains("restore from a backup"))
            #expect(damaged.stdout.contains("OK    migrations"))  // the schema itself is intact
            #expect(damaged.stdout.contains("check(s) failed"))
            try FileManager.default.removeItem(at: dataDir)

            // ... and garbage over many pages, schema included (the file no longer opens).
            try await makeDatabaseWithRows(in: directory, path: path)
            try overwrite(path, pages: Array(stride(from: 1, to: try pageCount(path), by: 3)), at: 100, count: 2000)
            let wrecked = try await bridgeos("doctor", in: directory)
            #expect(wrecked.status == 1, "\(wrecked.stdout)")
            #expect(wrecked.stdout.contains("FAIL "))
            #expect(wrecked.stdout.contains("malformed"))
        }
    }

    func makeDatabaseWithRows(in directory: URL, path: String) async throws {
        #expect(try await bridgeos("migrate", in: directory).status == 0)
        let database = try AppDatabase.openFile(at: path)
        try database.managers.register(UserProfile(id: 1, displayName: "M", language: "en", gender: .female), industry: "retail")
        for id in 2...300 {
            try database.workers.register(UserProfile(id: Int64(id), displayName: String(repeating: "w", count: 200), language: "es", gender: .male))
        }
        // Move everything from the WAL into the main file, where the damage is done.
        _ = try await database.writer.writeWithoutTransaction { try $0.checkpoint(.truncate) }
    }

    func pageCount(_ path: String) throws -> UInt64 {
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        return UInt64(size) / 4096
    }

    func overwrite(_ path: String, pages: [UInt64], at offset: UInt64, count: Int) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        for page in pages {
            try handle.seek(toOffset: page * 4096 + offset)
            try handle.write(contentsOf: Data(repeating: 0xA5, count: count))
        }
    }

    @Test("doctor reports a foreign key violation")
    func doctorForeignKeys() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            let path = directory.appendingPathComponent("data/bridgeos.sqlite").path
            var configuration = Configuration()
            configuration.foreignKeysEnabled = false
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO workers (id, created_at, updated_at) VALUES (99, '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')")
            }
            let result = try await bridgeos("doctor", in: directory)
            #expect(result.status == 1)
            #expect(result.stdout.contains("1 violations, e.g. workers row 99 → missing users"))
        }
    }

    @Test("migrate and doctor refuse a database from a newer BridgeOS")
    func newerSchema() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            let queue = try DatabaseQueue(path: directory.appendingPathComponent("data/bridgeos.sqlite").path)
            try await queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('9999_from_the_future')") }
            let migrate = try await bridgeos("migrate", in: directory)
            #expect(migrate.status == 1)
            #expect(migrate.stderr.contains("written by a newer BridgeOS"))
            let doctor = try await bridgeos("doctor", in: directory)
            #expect(doctor.status == 1)
            #expect(doctor.stdout.contains("written by a newer BridgeOS"))
        }
    }
}
