import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import GRDB
import Testing

extension FaultSuite {
    @Suite("Operations under load")
    struct OperationsTests {
        /// One operation run beside the load: when, how long, and what it printed.
        struct Operation {
            let name: String
            let started: ContinuousClock.Instant
            let ended: ContinuousClock.Instant
            let result: ProcessResult
        }

        @Test("an upgrade that migrates, a scheduled backup, a manual backup, a PostgreSQL export and a repeated migrate, all while people keep writing: each succeeds and nothing is lost, doubled or reordered; the relay's p99 during each")
        func operationsUnderLoad() async throws {
            let (count, rate) = (1_000, 20.0)
            try await FaultWorld.run(conversations: 20, settings: ["BRIDGEOS_BACKUP_INTERVAL_HOURS": "0"]) { world in
                // The database as the previous release left it: the newest migration not applied yet.
                try Self.undoNewestMigration(world.databasePath)
                let load = RelayLoad(world: world)
                async let loaded: Void = load.run(count: count, rate: rate)
                let postgres = PostgresServer.shouldRun ? try await PostgresServer.shared() : nil
                var operations: [Operation] = []

                // People write while the upgrade starts serve: it backs up, migrates, and relays what waited.
                try await Task.sleep(for: .seconds(1))
                let upgradeStarted = ContinuousClock.now
                try await world.serve.start()
                let upgraded = ContinuousClock.now
                #expect(world.serve.log.contains("backed up before migrating"))
                #expect(try StoreInspection(path: world.databasePath).migrationState().isCurrent)

                // serve restarts with daily backups on and none taken yet into their folder: one is due at once.
                try await Task.sleep(for: .seconds(4))
                #expect(await world.serve.terminate() == 0)
                let scheduledStarted = ContinuousClock.now
                try await world.serve.start(adding: ["BRIDGEOS_BACKUP_INTERVAL_HOURS": "24", "BRIDGEOS_BACKUP_DIR": world.directory.appendingPathComponent("daily").path])
                try await Self.waitFor("the scheduled backup", timeout: .seconds(60)) { world.serve.log.contains("backup taken") }
                let scheduledEnded = ContinuousClock.now

                operations.append(try await Self.run("backup", ["backup", "--output", world.directory.appendingPathComponent("manual.sqlite").path], world))
                if let postgres {
                    let url = try await postgres.createDatabase()
                    operations.append(try await Self.run("export-postgres", ["export", "--postgres", url], world))
                }
                operations.append(try await Self.run("export-sql", ["export", "--sql", world.directory.appendingPathComponent("export.sql").path], world))
                operations.append(try await Self.run("migrate", ["migrate"], world))

                try await loaded
                try await load.waitForAll(timeout: .seconds(120))
                for operation in operations {
                    #expect(operation.result.status == 0, "\(operation.name): \(operation.result.stderr)")
                }
                let verdict = load.verdict()
                #expect(verdict.lost.isEmpty, "lost: \(verdict.lost.prefix(20))")
                #expect(verdict.duplicates.isEmpty, "twice: \(verdict.duplicates.prefix(5).map(\.serial))")
                #expect(verdict.outOfOrder.isEmpty, "out of order: \(verdict.outOfOrder.prefix(10))")
                try FaultSuite.finalChecks(world)

                func p99(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> String {
                    let window = load.latencies { _, sent in sent.at >= start && sent.at <= end }.sorted()
                    return window.isEmpty ? "n/a" : FaultSuite.format(window[(window.count - 1) * 99 / 100])
                }
                var figures: [(String, String)] = [
                    ("messages", "\(count)"), ("p50_ms", FaultSuite.format(verdict.percentile(0.5))), ("p99_ms", FaultSuite.format(verdict.percentile(0.99))),
                    ("upgrade_s", FaultSuite.format((upgraded - upgradeStarted).milliseconds / 1000)),
                    ("scheduled_backup_p99_ms", p99(from: scheduledStarted, to: scheduledEnded)),
                ]
                for operation in operations {
                    figures.append(("\(operation.name)_s", FaultSuite.format((operation.ended - operation.started).milliseconds / 1000)))
                    figures.append(("\(operation.name)_p99_ms", p99(from: operation.started, to: operation.ended)))
                }
                print("fault-figures operations: " + figures.map { "\($0.0)=\($0.1)" }.joined(separator: " ") + (postgres == nil ? " (no PostgreSQL here)" : ""))
            }
        }

        /// Runs `bridgeos` with the world's settings beside the running serve.
        static func run(_ name: String, _ arguments: [String], _ world: FaultWorld) async throws -> Operation {
            let started = ContinuousClock.now
            let result = try await finish(launch(try product("bridgeos"), arguments, environment: world.environment, in: world.directory))
            return Operation(name: name, started: started, ended: .now, result: result)
        }

        static func waitFor(_ what: String, timeout: Duration, _ condition: () -> Bool) async throws {
            let deadline = ContinuousClock.now + timeout
            while !condition() {
                guard ContinuousClock.now < deadline else { throw Failure("\(what) did not happen within \(timeout)") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        /// Turns the database back into what the previous release left: migration 0012 undone. (When a newer
        /// migration is added, this rehearses that one instead.)
        static func undoNewestMigration(_ path: String) throws {
            #expect(try AppDatabase.knownMigrations().last == "0012_sender_notices", "rehearse the newest migration: undo it here")
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: """
                    CREATE TABLE connection_notices_0011 (
                        connection_id  INTEGER NOT NULL REFERENCES connections(id),
                        kind           TEXT NOT NULL CHECK (kind IN ('delayed', 'counterpart_unreachable')),
                        since          TEXT NOT NULL CHECK (since IS strftime('%Y-%m-%d %H:%M:%f', since)),
                        PRIMARY KEY (connection_id, kind)
                    ) STRICT, WITHOUT ROWID;
                    INSERT INTO connection_notices_0011 (connection_id, kind, since) SELECT connection_id, kind, since FROM connection_notices;
                    DROP TABLE connection_notices;
                    ALTER TABLE connection_notices_0011 RENAME TO connection_notices;
                    DELETE FROM grdb_migrations WHERE identifier = '0012_sender_notices';
                    PRAGMA user_version = 11;
                    """)
            }
            try queue.close()
        }
    }
}
