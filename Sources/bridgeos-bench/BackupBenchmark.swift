import ArgumentParser
import AsyncHTTPClient
import BridgeOSApp
import BridgeOSCore
import BridgeOSFlows
import BridgeOSOperations
import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `bridgeos backup` on a large database while the relay runs: how long the backup takes, and what it does
/// to the relay's latency (p99 before, and during the backup).
struct BackupBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Backup time of a large database, and the relay's p99 while it runs.",
        discussion: "Fills the database with --megabytes of history, runs the relay at --rate, then backs up. Build with -c release.")

    @Option(help: "Size of the history to back up, in MB.")
    var megabytes = 1024

    @Option(help: "Relayed messages per second offered during the measurement.")
    var rate: Double = 50

    @Option(help: "Manager↔worker conversations.")
    var conversations = 50

    func run() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // The history first: the fixtures expect the appliance to poll soon after they start.
        let fillStarted = ContinuousClock.now
        let database = try AppDatabase.open(AppConfiguration(dataDirectory: directory.path))
        try RelayPeople.seed(database, conversations: conversations)
        try fill(database, megabytes: megabytes)
        let fixtures = try FixturesProcess.launch()
        defer { fixtures.stop() }
        let configuration = try await fixtures.ready().configuration(dataDirectory: directory.path)
        let size = Self.size(configuration.databasePath) + Self.size(configuration.databasePath + "-wal")
        print(String(format: "database: %.0f MB of history written in %.1f s", Double(size) / 1_048_576, (ContinuousClock.now - fillStarted).seconds))

        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let http = HTTPClient.makeForBotAPI()
        let appliance = try Appliance.build(configuration: configuration, database: database, httpClient: http,
                                            localizer: try Localizer.embedded(logger: logger), logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: appliance.services, gracefulShutdownSignals: [], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            fixtures.send("PEOPLE \(conversations)")
            guard await fixtures.next() == "OK" else { throw ValidationError("the fixtures could not set up the people") }
            _ = try await fixtures.load(rate: rate, seconds: 5)  // warm: connections, caches, the file's pages
            let before = try await fixtures.load(rate: rate, seconds: 10)
            print(String(format: "relay at %.0f msg/s without a backup: %d/%d delivered, p50 %.1f ms, p99 %.1f ms",
                         rate, before.delivered, before.offered, before.p50Milliseconds, before.p99Milliseconds))

            let output = directory.appendingPathComponent("backups").path + "/"
            // On its own thread, as serve's BackupService runs it: the cooperative pool keeps relaying.
            let outcome = Mutex<Result<BackupResult, any Error>?>(nil)
            Thread.detachNewThread {
                let result = Result { try Backups.take(databasePath: configuration.databasePath, options: StoreOptions(configuration), output: output,
                                                       directory: output, keep: nil) }
                outcome.withLock { $0 = result }
            }
            var during: [RelayFixtures.LoadResult] = []
            repeat {
                during.append(try await fixtures.load(rate: rate, seconds: 2))
            } while outcome.withLock({ $0 == nil })
            let result = try outcome.withLock { $0! }.get()
            let delivered = during.map(\.delivered).reduce(0, +)
            let offered = during.map(\.offered).reduce(0, +)
            let worst = during.map(\.p99Milliseconds).max() ?? 0
            print(String(format: "backup: %.1f s for %.0f MB (copy %.0f MB, verified, fsynced, manifest)", result.seconds, Double(size) / 1_048_576,
                         Double(result.manifest.sizeBytes) / 1_048_576))
            print(String(format: "relay at %.0f msg/s during the backup (%d windows of 2 s): %d/%d delivered, p99 %.1f ms in the worst window, %@",
                         rate, during.count, delivered, offered, worst, during.map { String(format: "%.0f", $0.p99Milliseconds) }.joined(separator: "/")))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await http.shutdown()
    }

    /// Old conversation history: 4 KB messages in transactions of 2,000.
    func fill(_ database: AppDatabase, megabytes: Int) throws {
        try database.managers.register(UserProfile(id: 9_100_001, displayName: "History manager", language: "en", gender: .female), industry: "other")
        try database.workers.register(UserProfile(id: 9_100_002, displayName: "History worker", language: "es", gender: .male))
        let connection = try database.connections.connect(manager: 9_100_001, worker: 9_100_002, slot: BotSlot(5)!)
        let text = String(repeating: "Bring the ladder to the third floor. ", count: 110)
        let rows = megabytes * 1_048_576 / (2 * text.utf8.count + 150)  // original and translation
        var written = 0
        while written < rows {
            let batch = min(2000, rows - written)
            try database.write { tx in
                for _ in 0..<batch {
                    _ = try tx.appendMessage(NewMessage(connectionID: connection.id, senderID: 9_100_001, originalText: text, translatedText: text,
                                                        sourceLanguage: "en", targetLanguage: "es"), now: database.clock.now())
                }
            }
            written += batch
        }
    }

    static func size(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
