import AsyncHTTPClient
import BridgeOSApp
import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Logging
import Synchronization

/// The appliance as `serve` builds it (the one composition function), its services never started: the
/// fuzz tests hand inputs straight to its intake, which records them and runs every handler in one
/// transaction, as a delivered update would be. Nothing reaches the network (its Bot API URL is a closed
/// port, and nothing sends).
struct FuzzAppliance {
    let appliance: Appliance
    let database: AppDatabase
    let databasePath: String
    let bots: [SandboxBot]
    /// Everything logged at info and above while it ran.
    let logs: CapturingLogHandlerStore

    /// The people the mutations aim at: five managers and their workers, a stranger, and the bots.
    var favouriteIDs: [Int64] {
        (0..<5).flatMap { [RelayPeople.manager($0), RelayPeople.worker($0)] } + [42] + bots.map(\.token.botID)
    }

    static func run<T>(_ body: (FuzzAppliance) async throws -> T) async throws -> T {
        try await withTemporaryDirectoryAsync { directory in
            let bots = SandboxBot.make(5, prefix: "fuzz")
            var environment = [
                "BRIDGEOS_DATA_DIR": directory.path, "BRIDGEOS_TELEGRAM_API_URL": "http://127.0.0.1:9",
                "BRIDGEOS_TRANSLATOR": "openai", "OPENAI_API_KEY": "sk-fuzz-secret-never-logged", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
                "LEMONSQUEEZY_WEBHOOK_SECRET": FuzzAppliance.billingSecret,
            ]
            for (index, bot) in bots.enumerated() { environment["BRIDGEOS_BOT\(index + 1)_TOKEN"] = bot.token.secret }
            let configuration = try AppConfiguration.load(environment: environment)
            let database = try AppDatabase.open(configuration)
            try RelayPeople.seed(database, conversations: 5)
            let logs = CapturingLogHandlerStore()
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let appliance = try Appliance.build(configuration: configuration, database: database, httpClient: http, localizer: localizer,
                                                    logger: logs.logger(label: "fuzz", level: .info))
                let result = try await body(FuzzAppliance(appliance: appliance, database: database, databasePath: configuration.databasePath, bots: bots, logs: logs))
                try await http.shutdown()
                return result
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
    }

    static let billingSecret = "fuzz-billing-signing-secret"
}

/// Tallies of what a fuzz run's inputs came to.
final class FuzzTally: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func count(_ outcome: String) { counts.withLock { $0[outcome, default: 0] += 1 } }

    /// An input the handlers failed on: counted by the error's type, and printed so the run shows what to fix.
    func refused(_ error: any Error, input: Data) {
        print("fuzz-refusal: \(error) input: \(String(decoding: input.prefix(3000), as: UTF8.self))")
        count("refused:\(type(of: error))")
    }

    var total: Int { counts.withLock { $0.values.reduce(0, +) } }

    var summary: String { counts.withLock { $0.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") } }

    subscript(_ outcome: String) -> Int { counts.withLock { $0[outcome, default: 0] } }
}

/// The directory of this file: the corpus sits beside it (tests read it from the clone).
func corpusDirectory(_ file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Corpus")
}
