import ArgumentParser
import AsyncHTTPClient
import BridgeOSApp
import BridgeOSCore
import BridgeOSFlows
import BridgeOSStorage
import BridgeOSTestSupport
import BridgeOSTelegram
import Foundation
import Logging
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// The whole relay as people drive it: the appliance (built by `Appliance.build`, as `serve` builds it) in
/// this process, the Bot API sandbox, a translator answering at once and the simulated people in a child
/// process, so every figure below is the appliance's alone.
struct RelayBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Relayed messages per second, update→send latency, CPU per message and memory of the whole appliance.",
        discussion: """
            Messages go both ways over --conversations manager↔worker pairs spread over five bots, each translated \
            (en↔es) and delivered, with BridgeOS's own rate limits and quotas lifted. A fixed --rate, or --sweep for \
            the highest rate held with no loss and p99 under 1 s. Build with -c release.
            """)

    @Option(help: "Offered messages per second (fixed-rate mode).")
    var rate: Double = 100

    @Option(help: "Seconds of load per measurement.")
    var seconds: Double = 20

    @Option(help: "Manager↔worker conversations.")
    var conversations: Int = 50

    @Flag(help: "Find the highest rate held with no loss and p99 < 1 s.")
    var sweep = false

    @Option(help: "Then relay this many messages and report memory after the first 1,000 and after all (0: skip).")
    var memoryMessages: Int = 100_000

    @Option(help: "The offered rate of the memory run, msg/s (default: the highest rate held, when --sweep found one, else 200).")
    var memoryRate: Double?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    struct Figures: Codable {
        var machineCores = ProcessInfo.processInfo.activeProcessorCount
        var conversations = 0
        var offeredRate = 0.0
        var relayedPerSecond = 0.0
        var delivered = 0
        var offered = 0
        var p50Milliseconds = 0.0
        var p99Milliseconds = 0.0
        var cpuMillisecondsPerMessage = 0.0
        var rssIdleMB = 0.0
        var pssIdleMB = 0.0
        var rssPeakMB = 0.0
        var highestRateHeld: Double?
        var rssAfterFirst1000MB: Double?
        var rssAfterAllMB: Double?
        var anonymousAfterFirst1000MB: Double?
        var anonymousAfterAllMB: Double?
        var sqliteAfterFirst1000MB: Double?
        var sqliteAfterAllMB: Double?
        var memoryMessages: Int?
    }

    func validate() throws {
        guard rate > 0, seconds > 0, conversations > 0, memoryMessages >= 0, (memoryRate ?? 1) > 0 else { throw ValidationError("values must be positive") }
    }

    func run() async throws {
        let fixtures = try FixturesProcess.launch()
        defer { fixtures.stop() }
        let ready = try await fixtures.ready()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = ready.configuration(dataDirectory: directory.path)
        let database = try AppDatabase.open(configuration)
        try RelayPeople.seed(database, conversations: conversations)
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let localizer = try Localizer.embedded(logger: logger)
        let http = HTTPClient.makeForBotAPI()
        do {
            let figures = try await measure(configuration: configuration, database: database, http: http, localizer: localizer, fixtures: fixtures, logger: logger)
            try await http.shutdown()
            report(figures)
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    func measure(configuration: AppConfiguration, database: AppDatabase, http: HTTPClient, localizer: Localizer, fixtures: FixturesProcess,
                 logger: Logger) async throws -> Figures {
        let appliance = try Appliance.build(configuration: configuration, database: database, httpClient: http, localizer: localizer, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: appliance.services, gracefulShutdownSignals: [], logger: logger))
        var figures = Figures()
        figures.conversations = conversations
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            fixtures.send("PEOPLE \(conversations)")
            guard await fixtures.next() == "OK" else { throw ValidationError("the fixtures could not set up the people") }
            // Warm up (connections, statement caches), then idle memory.
            _ = try await fixtures.load(rate: 20, seconds: 2)
            try await Task.sleep(for: .seconds(2))
            let idle = MemoryReading.now()
            (figures.rssIdleMB, figures.pssIdleMB) = (idle.rssMB, idle.pssMB)
            if sweep {
                figures.highestRateHeld = try await sweepRates(fixtures, &figures)
            } else {
                try await measure(fixtures, rate: rate, into: &figures)
            }
            if memoryMessages > 0 { try await measureMemory(fixtures, &figures) }
            figures.rssPeakMB = MemoryReading.now().peakMB
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        return figures
    }

    /// One fixed-rate run: throughput, latency and the appliance's CPU per relayed message.
    @discardableResult
    func measure(_ fixtures: FixturesProcess, rate: Double, into figures: inout Figures) async throws -> RelayFixtures.LoadResult {
        let cpuBefore = CPUTime.now()
        let result = try await fixtures.load(rate: rate, seconds: seconds)
        let cpu = CPUTime.now() - cpuBefore
        figures.offeredRate = rate
        figures.offered = result.offered
        figures.delivered = result.delivered
        figures.relayedPerSecond = Double(result.delivered) / max(result.seconds, 0.001)
        figures.p50Milliseconds = result.p50Milliseconds
        figures.p99Milliseconds = result.p99Milliseconds
        figures.cpuMillisecondsPerMessage = result.delivered > 0 ? cpu * 1000 / Double(result.delivered) : 0
        if !json {
            print(String(format: "  %6.0f msg/s offered: %6.0f relayed/s, %d/%d delivered, p50 %.1f ms, p99 %.1f ms, CPU %.2f ms/message",
                         rate, figures.relayedPerSecond, result.delivered, result.offered, result.p50Milliseconds, result.p99Milliseconds,
                         figures.cpuMillisecondsPerMessage))
        }
        return result
    }

    /// Doubling rates until one is not held (a loss, or p99 ≥ 1 s), then the figures of the highest held.
    func sweepRates(_ fixtures: FixturesProcess, _ figures: inout Figures) async throws -> Double {
        var held = 0.0
        var best = figures
        var current = 25.0
        while current <= 4000 {
            var attempt = figures
            let result = try await measure(fixtures, rate: current, into: &attempt)
            guard result.delivered == result.offered, result.p99Milliseconds < 1000 else { break }
            held = current
            best = attempt
            current *= 2
            try await Task.sleep(for: .seconds(3))  // let the queues drain
        }
        figures = best
        return held
    }

    /// Memory after the first 1,000 relayed messages and after `memoryMessages`.
    func measureMemory(_ fixtures: FixturesProcess, _ figures: inout Figures) async throws {
        let rate = memoryRate ?? figures.highestRateHeld ?? 200
        var relayed = 0
        while relayed < 1000 { relayed += try await fixtures.load(rate: rate, seconds: Double(1000 - relayed) / rate + 0.1).delivered }
        let first = MemoryReading.now()
        (figures.rssAfterFirst1000MB, figures.anonymousAfterFirst1000MB) = (first.rssMB, first.anonymousMB)
        figures.sqliteAfterFirst1000MB = Double(AppDatabase.sqliteMemoryInUse) / 1_048_576
        while relayed < memoryMessages {
            relayed += try await fixtures.load(rate: rate, seconds: min(60, Double(memoryMessages - relayed) / rate + 0.1)).delivered
            FileHandle.standardError.write(Data(String(format: "memory run: %d of %d relayed, RSS %.1f MB\n", relayed, memoryMessages, MemoryReading.now().rssMB).utf8))
        }
        let all = MemoryReading.now()
        (figures.rssAfterAllMB, figures.anonymousAfterAllMB) = (all.rssMB, all.anonymousMB)
        figures.sqliteAfterAllMB = Double(AppDatabase.sqliteMemoryInUse) / 1_048_576
        figures.memoryMessages = relayed
    }

    func report(_ figures: Figures) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: (try? encoder.encode(figures)) ?? Data(), as: UTF8.self))
            return
        }
        print("relay benchmark: \(figures.conversations) conversations over 5 bots, \(figures.machineCores) cores, SQLite \(AppDatabase.sqliteVersionText)")
        if let held = figures.highestRateHeld { print(String(format: "highest rate held (no loss, p99 < 1 s): %.0f msg/s", held)) }
        print(String(format: "at %.0f msg/s offered: %.0f relayed msg/s, update→send p50 %.1f ms / p99 %.1f ms, CPU %.2f ms per relayed message",
                     figures.offeredRate, figures.relayedPerSecond, figures.p50Milliseconds, figures.p99Milliseconds, figures.cpuMillisecondsPerMessage))
        print(String(format: "memory: RSS idle %.1f MB (PSS %.1f MB), peak %.1f MB", figures.rssIdleMB, figures.pssIdleMB, figures.rssPeakMB))
        if let first = figures.rssAfterFirst1000MB, let all = figures.rssAfterAllMB, let count = figures.memoryMessages {
            print(String(format: "memory: RSS %.1f MB after the first 1,000 messages, %.1f MB after %d (%+.1f MB)", first, all, count, all - first))
            if let before = figures.anonymousAfterFirst1000MB, let after = figures.anonymousAfterAllMB {
                print(String(format: "memory: of which anonymous (heap) %.1f → %.1f MB (%+.1f MB); the rest is file pages (code, libraries)",
                             before, after, after - before))
            }
            if let before = figures.sqliteAfterFirst1000MB, let after = figures.sqliteAfterAllMB, before > 0 {  // 0: statistics off
                print(String(format: "memory: of which SQLite's own (page caches, statements) %.1f → %.1f MB (%+.1f MB)", before, after, after - before))
            }
        }
    }
}

extension RelayFixtures.Ready {
    /// The appliance's configuration against these fixtures, BridgeOS's own limits and quotas lifted.
    func configuration(dataDirectory: String) -> AppConfiguration {
        var configuration = AppConfiguration(dataDirectory: dataDirectory, logLevel: .error, telegramAPIURL: sandbox)
        for (index, token) in tokens.enumerated() { configuration.botTokens[index + 1] = token }
        configuration.translation.translator = "openai"
        configuration.translation.openAIBaseURL = translator
        configuration.translation.openAIAPIKey = "bench"
        configuration.httpPort = 0
        configuration.ratePerBot = 1_000_000
        configuration.ratePerChat = 1_000_000
        configuration.ratePerGroupPerMinute = 1_000_000
        configuration.freeMessages = 1_000_000_000
        configuration.relayHourlyCap = 100_000_000
        configuration.backupIntervalHours = 0  // a benchmark measures the relay, not serve's first backup
        return configuration
    }
}

/// The child process running `relay-fixtures`, spoken to line by line.
final class FixturesProcess: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let lines: AsyncStream<String>
    var iterator: AsyncStream<String>.Iterator

    private init() {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["relay-fixtures"]
        process.standardInput = input
        process.standardOutput = output
        let (lines, continuation) = AsyncStream<String>.makeStream()
        self.lines = lines
        iterator = lines.makeAsyncIterator()
        let handle = output.fileHandleForReading
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    continuation.yield(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            continuation.finish()
        }
    }

    static func launch() throws -> FixturesProcess {
        let fixtures = FixturesProcess()
        try fixtures.process.run()
        return fixtures
    }

    func send(_ line: String) {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    func next() async -> String? { await iterator.next() }

    /// The people send at `rate` for `seconds`; what was offered, delivered, and how fast.
    func load(rate: Double, seconds: Double) async throws -> RelayFixtures.LoadResult {
        send("LOAD \(rate) \(seconds)")
        guard let line = await next(), line.hasPrefix("RESULT ") else { throw ValidationError("the fixtures stopped") }
        return try JSONDecoder().decode(RelayFixtures.LoadResult.self, from: Data(line.dropFirst(7).utf8))
    }

    /// The fixtures' first line: where the sandbox and the translator listen, and the bots' tokens.
    func ready() async throws -> RelayFixtures.Ready {
        guard let line = await next(), line.hasPrefix("READY ") else { throw ValidationError("the fixtures did not start") }
        return try JSONDecoder().decode(RelayFixtures.Ready.self, from: Data(line.dropFirst(6).utf8))
    }

    func stop() {
        send("QUIT")
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// This process's CPU time (user + system), in seconds.
enum CPUTime {
    static func now() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

/// This process's memory, from /proc (Linux).
struct MemoryReading {
    let rssMB: Double
    let peakMB: Double
    let pssMB: Double
    /// Anonymous memory (the heap, stacks), the part of RSS that is not file pages (code, libraries).
    let anonymousMB: Double

    static func now() -> MemoryReading {
        func kilobytes(_ file: String, _ field: String) -> Double {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                  let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
                  let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Double($0) })
            else { return 0 }
            return value
        }
        return MemoryReading(
            rssMB: kilobytes("/proc/self/status", "VmRSS") / 1024, peakMB: kilobytes("/proc/self/status", "VmHWM") / 1024,
            pssMB: kilobytes("/proc/self/smaps_rollup", "Pss") / 1024,
            anonymousMB: kilobytes("/proc/self/smaps_rollup", "Anonymous") / 1024)
    }
}
