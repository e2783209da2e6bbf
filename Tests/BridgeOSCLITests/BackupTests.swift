import BridgeOSCore
import BridgeOSOperations
import BridgeOSStorage
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import GRDB
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `bridgeos backup`, `restore` and `doctor --fix`, as an admin runs them, against real files and processes.
@Suite("Backup and restore")
struct BackupTests {
    /// A checksum of every table's content (rows in rowid order), by table.
    func checksums(_ path: String) throws -> [String: Int] {
        var hashers: [String: Hasher] = [:]
        try StoreInspection(path: path).eachTableContent { table, chunk in hashers[table, default: Hasher()].combine(chunk) }
        return hashers.mapValues { $0.finalize() }
    }

    func manifest(_ backup: String) throws -> BackupManifest {
        try JSONDecoder().decode(BackupManifest.self, from: try #require(FileManager.default.contents(atPath: BackupManifest.path(for: backup))))
    }

    @Test("a backup taken while another process writes continuously is valid and holds every row committed before it began")
    func underLoad() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            let database = directory.appendingPathComponent("data/bridgeos.sqlite").path
            // 500 commits a second: continuous, without taking a whole core from the tests running beside it.
            let writer = try launch(try product("bridgeos-bench"), ["write-load", "--database", database, "--size", "2000", "--rate", "500"], in: directory)
            defer { if writer.0.isRunning { kill(writer.0.processIdentifier, SIGKILL) } }
            let queue = try DatabaseQueue(path: database, configuration: { var c = Configuration(); c.readonly = true; return c }())
            let deadline = ContinuousClock.now + .seconds(60)
            while try await queue.read({ try Int.fetchOne($0, sql: "SELECT count(*) FROM messages") ?? 0 }) < 500 {
                guard ContinuousClock.now < deadline, writer.0.isRunning else { Issue.record("the writer did not write: \(try String(contentsOf: writer.2, encoding: .utf8))"); return }
                try await Task.sleep(for: .milliseconds(20))
            }
            let committed = try await queue.read { try Int64.fetchOne($0, sql: "SELECT max(id) FROM messages") ?? 0 }
            // What a killed backup left is swept; a live backup's copy (pid 1 runs) is kept.
            let out = directory.appendingPathComponent("out").path
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let dead = out + "/.bridgeos-20260101-000000.sqlite.partial-999999999-5"
            let live = out + "/.bridgeos-20260101-000001.sqlite.partial-1-5"
            for leftover in [dead, dead + "-journal", live] { FileManager.default.createFile(atPath: leftover, contents: Data("x".utf8)) }
            let result = try await bridgeos("backup", "--output", out + "/", in: directory)
            #expect(!FileManager.default.fileExists(atPath: dead) && !FileManager.default.fileExists(atPath: dead + "-journal"))
            #expect(FileManager.default.fileExists(atPath: live))
            try FileManager.default.removeItem(atPath: live)
            let afterwards = try await queue.read { try Int64.fetchOne($0, sql: "SELECT max(id) FROM messages") ?? 0 }
            #expect(writer.0.isRunning, "the writer kept writing through the backup")
            kill(writer.0.processIdentifier, SIGKILL)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(afterwards > committed, "rows were committed while the backup ran")
            let path = try #require(result.stdout.split(separator: "\n").first?.split(separator: " ").last.map(String.init))
            #expect(path.hasPrefix(directory.appendingPathComponent("out").path + "/bridgeos-") && path.hasSuffix(".sqlite"))
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let copy = try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }())
            try await copy.read { db in
                #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
                #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
                let kept = try Int64.fetchOne(db, sql: "SELECT count(*) FROM messages WHERE id <= ?", arguments: [committed]) ?? 0
                #expect(kept == committed, "every message committed before the backup began is in it")
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("out").path).filter { $0.contains("partial") }
            #expect(leftovers.isEmpty, "\(leftovers)")
            let manifest = try manifest(path)
            #expect(manifest.sha256 == (try Backups.sha256(of: path)))
            #expect(manifest.schemaVersion == (try SchemaMigrations.all().count))
            #expect(manifest.tables["messages"] ?? 0 >= Int(committed))
        }
    }

    @Test("backup → restore gives the same content table by table; the database replaced is kept aside; --dry-run changes nothing")
    func roundTrip() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            let database = directory.appendingPathComponent("data/bridgeos.sqlite").path
            let backupPath = directory.appendingPathComponent("one.sqlite").path
            var original: [String: Int] = [:]
            do {  // the store is closed (deinitialised) before the restore, as serve is stopped before one
                let store = try AppDatabase.openFile(at: database)
                try store.managers.register(UserProfile(id: 1, displayName: "Marta", language: "en", gender: .female), industry: "construction")
                try store.workers.register(UserProfile(id: 2, displayName: "Iván", language: "es", gender: .male))
                let connection = try store.connections.connect(manager: 1, worker: 2, slot: BotSlot(1)!)
                for index in 0..<300 {
                    try store.messages.append(NewMessage(connectionID: connection.id, senderID: 1, originalText: "message \(index) ✓", sourceLanguage: "en", targetLanguage: "es"))
                }
                #expect(try await bridgeos("backup", "--output", backupPath, in: directory).status == 0)
                original = try checksums(database)
                #expect(original["messages"] != nil && original["connections"] != nil && original["grdb_migrations"] != nil)
                // Life goes on after the backup: a row the restore takes back (it stays in the file kept aside).
                try store.workers.register(UserProfile(id: 3, displayName: "Late", language: "uk", gender: .female))
            }
            let current = try checksums(database)

            let dry = try await bridgeos("restore", "--dry-run", backupPath, in: directory)
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(dry.stdout.contains("dry run"))
            #expect(try checksums(database) == current, "a dry run changes nothing")
            let dataFiles = { try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("data").path) }
            #expect(try dataFiles().allSatisfy { !$0.contains("before-restore") })

            let restored = try await bridgeos("restore", backupPath, in: directory)
            #expect(restored.status == 0, "\(restored.stderr)")
            #expect(try checksums(database) == original)
            let aside = try #require(try dataFiles().first { $0.hasPrefix("bridgeos.sqlite.before-restore-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") })
            let kept = try DatabaseQueue(path: directory.appendingPathComponent("data/\(aside)").path)
            #expect(try await kept.read { try String.fetchOne($0, sql: "SELECT display_name FROM users WHERE id = 3") } == "Late",
                    "the database replaced is kept whole, its last rows included")
            let doctor = try await bridgeos("doctor", in: directory)
            #expect(doctor.stdout.contains("OK    journal mode    wal") && doctor.stdout.contains("OK    integrity"), "\(doctor.stdout)")
        }
    }

    @Test("restore refuses a truncated, a changed or a damaged backup, one without its manifest, and one from a newer schema")
    func refusals() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            let source = directory.appendingPathComponent("good.sqlite").path
            #expect(try await bridgeos("backup", "--output", source, in: directory).status == 0)
            func variant(_ name: String, _ change: (String) throws -> Void) throws -> String {
                let path = directory.appendingPathComponent(name).path
                try FileManager.default.copyItem(atPath: source, toPath: path)
                try FileManager.default.copyItem(atPath: BackupManifest.path(for: source), toPath: BackupManifest.path(for: path))
                try change(path)
                return path
            }
            func refused(_ path: String, _ words: String) async throws {
                let before = try checksums(directory.appendingPathComponent("data/bridgeos.sqlite").path)
                let result = try await bridgeos("restore", path, in: directory)
                #expect(result.status == 1, "\(result.stdout)")
                #expect(result.stderr.contains(words), "\(result.stderr)")
                #expect(try checksums(directory.appendingPathComponent("data/bridgeos.sqlite").path) == before, "nothing was changed")
            }
            let truncated = try variant("truncated.sqlite") { path in
                let handle = try #require(FileHandle(forUpdatingAtPath: path))
                try handle.truncate(atOffset: 8192)
                try handle.close()
            }
            try await refused(truncated, "truncated")
            let flipped = try variant("flipped.sqlite") { path in
                let handle = try #require(FileHandle(forUpdatingAtPath: path))
                try handle.seek(toOffset: 5000)
                try handle.write(contentsOf: Data([0x5A]))
                try handle.close()
            }
            try await refused(flipped, "does not match its manifest's sha256")
            // Damaged, with a manifest made to match: SQLite's own checks still refuse it.
            let damaged = try variant("damaged.sqlite") { path in
                let handle = try #require(FileHandle(forUpdatingAtPath: path))
                let pages = try handle.seekToEnd() / 4096
                for page in stride(from: UInt64(1), to: pages, by: 2) {
                    try handle.seek(toOffset: page * 4096 + 100)
                    try handle.write(contentsOf: Data(repeating: 0xA5, count: 1500))
                }
                try handle.close()
                var manifest = try manifest(path)
                manifest.sha256 = try Backups.sha256(of: path)
                try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: BackupManifest.path(for: path)))
            }
            try await refused(damaged, "fails SQLite's checks")
            let orphan = try variant("orphan.sqlite") { path in try FileManager.default.removeItem(atPath: BackupManifest.path(for: path)) }
            try await refused(orphan, "manifest.json is missing")
            let newer = try variant("newer.sqlite") { path in
                var manifest = try manifest(path)
                manifest.schemaVersion = 999
                try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: BackupManifest.path(for: path)))
            }
            try await refused(newer, "upgrade bridgeos first")
        }
    }

    @Test("restore refuses while serve runs, and says so")
    func whileServing() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(1)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                #expect(try await bridgeos("migrate", in: directory).status == 0)
                let backup = directory.appendingPathComponent("b.sqlite").path
                #expect(try await bridgeos("backup", "--output", backup, in: directory).status == 0)
                let serve = try launch(try product("bridgeos"), ["serve"], environment: [
                    "BRIDGEOS_TELEGRAM_API_URL": sandbox.baseURL, "BRIDGEOS_HTTP_ADDRESS": "127.0.0.1:0",
                    "BRIDGEOS_BOT1_TOKEN": sandbox.bots[0].token.secret,
                ], in: directory)
                defer { if serve.0.isRunning { kill(serve.0.processIdentifier, SIGKILL) } }
                try await sandbox.wait(timeout: .seconds(30), "serve polls") { $0.isPolling($0.bots[0]) }
                let result = try await bridgeos("restore", backup, in: directory)
                #expect(result.status == 1)
                #expect(result.stderr.contains("bridgeos serve is running") && result.stderr.contains("stop it first"), "\(result.stderr)")
                // A backup of the live database works meanwhile.
                #expect(try await bridgeos("backup", in: directory).status == 0)
                kill(serve.0.processIdentifier, SIGTERM)
                await exited(serve.0)
            }
        }
    }

    @Test("doctor fails on a database others can read, and --fix mends the permissions")
    func permissions() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            let database = directory.appendingPathComponent("data/bridgeos.sqlite").path
            #expect(chmod(database, 0o644) == 0)
            let loose = try await bridgeos("doctor", in: directory)
            #expect(loose.status == 1)
            #expect(loose.stdout.contains("FAIL  permissions") && loose.stdout.contains("--fix"), "\(loose.stdout)")
            let fixed = try await bridgeos("doctor", "--fix", in: directory)
            #expect(fixed.stdout.contains("permissions set"), "\(fixed.stdout)")
            #expect(fixed.status == 2, "only warnings remain (no tokens, no translator): \(fixed.stdout)")
            #expect(((try FileManager.default.attributesOfItem(atPath: database))[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
    }

    @Test("migrate backs up a database before applying a pending migration; keep prunes to the newest N")
    func beforeMigrating() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            let database = directory.appendingPathComponent("data/bridgeos.sqlite").path
            // Undo the last migration, as if this database came from the previous release.
            let queue = try DatabaseQueue(path: database)
            try await queue.writeWithoutTransaction { db in
                try db.execute(sql: "DROP INDEX jobs_delayed")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = '0006_hot_indexes'")
                try db.execute(sql: "PRAGMA user_version = 5")
            }
            try queue.close()
            let upgrade = try await bridgeos("migrate", in: directory)
            #expect(upgrade.status == 0, "\(upgrade.stderr)")
            #expect(upgrade.stdout.contains("backed up before migrating"), "\(upgrade.stdout)")
            let backups = directory.appendingPathComponent("data/backups").path
            let taken = try FileManager.default.contentsOfDirectory(atPath: backups).filter { $0.hasSuffix("-pre-migration.sqlite") }
            #expect(taken.count == 1)
            #expect(try manifest((backups as NSString).appendingPathComponent(taken[0])).schemaVersion == 5)
            #expect(BackupStatus.read(in: backups)?.ok == true)
            #expect(try await bridgeos("migrate", in: directory).stdout.contains("backed up") == false, "nothing pending: no backup")

            // Pruning touches only what BridgeOS named, and keeps the newest.
            try Data("mine".utf8).write(to: URL(fileURLWithPath: backups).appendingPathComponent("bridgeos-keep.sqlite"))
            var newest = ""
            for _ in 0..<3 {
                let result = try await bridgeos("backup", "--keep", "2", in: directory)
                #expect(result.status == 0)
                newest = String(result.stdout.split(separator: "\n").first?.split(separator: "/").last ?? "")
                try await Task.sleep(for: .milliseconds(1050))  // backups are named by the second
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: backups).filter { $0.hasSuffix(".sqlite") }.sorted()
            #expect(left.count == 3 && left.contains("bridgeos-keep.sqlite") && left.contains(newest), "\(left)")
            #expect(!left.contains(taken[0]), "the oldest (the pre-migration backup) was pruned")
        }
    }
}
