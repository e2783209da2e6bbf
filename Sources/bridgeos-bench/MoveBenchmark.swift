import ArgumentParser
import BridgeOSCore
import BridgeOSPostgres
import BridgeOSStorage
import Foundation
import Logging

/// `bridgeos export` and `import` on a large history: time and rows per second for each direction, with the
/// verification included (it is part of every run).
struct MoveBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "move",
        abstract: "Export to a SQL file (and PostgreSQL with --postgres) and import back: time and rows per second.",
        discussion: "Fills a database with --messages conversation messages first. Build with -c release.")

    @Option(help: "Conversation messages in the history.")
    var messages = 200_000

    @Option(help: "An empty PostgreSQL database on 127.0.0.1 to export into and import from (optional).")
    var postgres: String?

    func run() async throws {
        if let postgres {
            let address = try PostgresAddress(postgres)
            guard address.host == "127.0.0.1" || address.host == "localhost" || address.socketDirectory != nil else {
                throw ValidationError("benchmarks talk to 127.0.0.1 only")
            }
        }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try AppDatabase.open(AppConfiguration(dataDirectory: directory.path))
        let path = AppConfiguration(dataDirectory: directory.path).databasePath
        let filled = ContinuousClock.now
        try fill(database, messages: messages)
        let rows = try StoreInspection(path: path).rowCounts().filter { $0.key != "grdb_migrations" }.values.reduce(0, +)
        print(String(format: "database: %d rows (%d messages), %.0f MB, written in %.1f s", rows, messages,
                     Double(BackupBenchmark.size(path) + BackupBenchmark.size(path + "-wal")) / 1_048_576, (ContinuousClock.now - filled).seconds))

        func report(_ what: String, _ started: ContinuousClock.Instant, _ verification: Verification) {
            let seconds = (ContinuousClock.now - started).seconds
            print(String(format: "%@: %.2f s, %.0f rows/s, %@", what, seconds, Double(rows) / seconds,
                         verification.matches ? "verified" : "NOT VERIFIED"))
        }
        let file = directory.appendingPathComponent("export.sql").path
        var started = ContinuousClock.now
        report("export --sql (write, read back, verify)", started,
               try Export.toSQLFile(database: path, output: file, force: false) { _ in })
        print(String(format: "  file: %.0f MB", Double(BackupBenchmark.size(file)) / 1_048_576))
        started = ContinuousClock.now
        report("import --sql (read, write SQLite, verify)", started,
               try Import.fromSQLFile(file, destination: directory.appendingPathComponent("from-file.sqlite").path) { _ in })
        guard let postgres else { return }
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        started = ContinuousClock.now
        report("export --postgres (spool, COPY, read back, verify)", started,
               try await Export.toPostgres(database: path, address: try PostgresAddress(postgres), force: true,
                                           spoolDirectory: directory.path, logger: logger, progress: { _ in }))
        started = ContinuousClock.now
        report("import --postgres (read, write SQLite, verify)", started,
               try await Import.fromPostgres(try PostgresAddress(postgres), destination: directory.appendingPathComponent("from-pg.sqlite").path,
                                             logger: logger, progress: { _ in }))
    }

    /// Short, mixed-script messages between ten pairs, as a team writes them.
    func fill(_ database: AppDatabase, messages: Int) throws {
        var connections: [(id: Int64, manager: Int64)] = []
        for pair in 0..<10 {
            let manager = Int64(5_000_000_000 + pair), worker = Int64(6_000_000_000 + pair)
            try database.managers.register(UserProfile(id: manager, displayName: "Manager \(pair)", language: "en", gender: .female), industry: "construction")
            try database.workers.register(UserProfile(id: worker, displayName: "Працівник \(pair)", language: "uk", gender: .male))
            connections.append((try database.connections.connect(manager: manager, worker: worker, slot: BotSlot(1)!).id, manager))
        }
        let texts = ["Bring the ladder to the third floor, please.", "Добре, несу драбину 👍", "The cement truck arrives at 2 pm.",
                     "Зрозуміло. Буду на місці о 13:50.", "Check the windows on the second floor — one is cracked."]
        var written = 0
        while written < messages {
            let batch = min(2000, messages - written)
            try database.write { tx in
                for index in 0..<batch {
                    let connection = connections[(written + index) % connections.count]
                    let text = texts[(written + index) % texts.count]
                    _ = try tx.appendMessage(NewMessage(connectionID: connection.id, senderID: connection.manager, originalText: text,
                                                        translatedText: text, sourceLanguage: "en", targetLanguage: "uk"), now: database.clock.now())
                }
            }
            written += batch
        }
    }
}
