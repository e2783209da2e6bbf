import ArgumentParser
import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import Foundation

/// Message append and last-6 context latency at several table sizes.
struct StoreBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Measure message append and last-6 context latency (p50/p99) at given table sizes."
    )

    @Option(help: "Comma-separated message counts to preload.")
    var sizes: String = "1000,1000000"

    @Option(help: "Timed operations of each kind per size.")
    var samples: Int = 2000

    @Option(help: "NORMAL or FULL.")
    var synchronous: String = "NORMAL"

    @Option(help: "Connections the preloaded messages are spread over.")
    var connections: Int = 100

    func validate() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
        guard (1...1000).contains(connections) else { throw ValidationError("--connections must be 1...1000") }
        guard SQLiteSynchronous(rawValue: synchronous.uppercased()) != nil else {
            throw ValidationError("--synchronous must be NORMAL or FULL")
        }
        guard !parsedSizes.isEmpty, parsedSizes.allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("--sizes must be comma-separated whole numbers, e.g. 1000,1000000")
        }
    }

    var parsedSizes: [Int] { sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() async throws {
        let mode = SQLiteSynchronous(rawValue: synchronous.uppercased()) ?? .normal
        print("store benchmark: SQLite \(AppDatabase.sqliteVersionText), WAL, synchronous=\(mode.rawValue), "
              + "\(samples) samples per figure, messages spread over \(connections) connections")
        print(["messages", "preload", "append p50", "append p99", "context p50", "context p99", "file"]
            .map { $0.padding(toLength: 13, withPad: " ", startingAt: 0) }.joined())
        for size in parsedSizes {
            let row = try measure(size: size, synchronous: mode)
            print(row.map { $0.padding(toLength: 13, withPad: " ", startingAt: 0) }.joined())
        }
    }

    private func measure(size: Int, synchronous: SQLiteSynchronous) throws -> [String] {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bench.sqlite").path
        let database = try AppDatabase.openFile(at: path, options: StoreOptions(synchronous: synchronous))
        let clock = ContinuousClock()

        // People and connections: 5 workers per manager, one per slot.
        var connectionList: [Connection] = []
        for index in 0..<connections {
            let managerID = Int64(1_000_000 + index / 5)
            let workerID = Int64(2_000_000 + index)
            if index % 5 == 0 {
                try database.managers.register(
                    UserProfile(id: managerID, displayName: "Manager \(managerID)", language: "en", gender: .female),
                    industry: "construction")
            }
            try database.workers.register(
                UserProfile(id: workerID, displayName: "Worker \(workerID)", language: "es", gender: .male))
            connectionList.append(try database.connections.connect(
                manager: managerID, worker: workerID, slot: BotSlot(index % 5 + 1)!))
        }

        // Preload in large transactions: this is setup, not the measured path.
        let preloadStart = clock.now
        let batch = 20_000
        var inserted = 0
        let created = Date().addingTimeInterval(-3600)
        while inserted < size {
            let count = min(batch, size - inserted)
            try database.write { tx in
                for offset in 0..<count {
                    let n = inserted + offset
                    let connection = connectionList[n % connectionList.count]
                    _ = try tx.appendMessage(NewMessage(
                        connectionID: connection.id, senderID: connection.managerID,
                        originalText: "Please bring the ladder to site \(n) before noon.",
                        translatedText: "Por favor trae la escalera al sitio \(n) antes del mediodía.",
                        sourceLanguage: "en", targetLanguage: "es", sourceMessageID: Int64(n)), now: created)
                }
            }
            inserted += count
        }
        let preload = clock.now - preloadStart

        var generator = SystemRandomNumberGenerator()
        var appendSamples: [Duration] = []
        appendSamples.reserveCapacity(samples)
        for n in 0..<samples {
            let connection = connectionList.randomElement(using: &generator)!
            let message = NewMessage(
                connectionID: connection.id, senderID: connection.workerID,
                originalText: "Listo, la escalera está en el sitio \(n).", translatedText: "Done, the ladder is at site \(n).",
                sourceLanguage: "es", targetLanguage: "en", sourceMessageID: Int64(n))
            let start = clock.now
            _ = try database.messages.append(message)
            appendSamples.append(clock.now - start)
        }

        var contextSamples: [Duration] = []
        contextSamples.reserveCapacity(samples)
        for _ in 0..<samples {
            let connection = connectionList.randomElement(using: &generator)!
            let start = clock.now
            let context = try database.messages.context(connection: connection.id, limit: 6)
            contextSamples.append(clock.now - start)
            precondition(context.count <= 6)
        }

        let append = LatencySummary(appendSamples)
        let context = LatencySummary(contextSamples)
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return [
            "\(size)",
            String(format: "%.1f s", preload.seconds),
            append.p50.microsecondsText, append.p99.microsecondsText,
            context.p50.microsecondsText, context.p99.microsecondsText,
            ByteCountFormatter.string(fromByteCount: Int64(fileSize), countStyle: .file),
        ]
    }
}
