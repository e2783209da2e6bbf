import ArgumentParser
import AsyncHTTPClient
import BridgeOSApp
import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTestSupport
import BridgeOSTelegram
import BridgeOSTranslation
import Foundation
import Logging

/// What each piece of the relay's path costs on its own, in CPU per operation: the cost model behind the
/// `relay` benchmark's "CPU per relayed message" (docs/performance.md adds them up).
struct CostsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "costs",
        abstract: "CPU per operation of each piece of the relay's path: store transactions, one intake, Bot API and translator calls, JSON.")

    @Option(help: "Operations per measurement.")
    var operations = 2000

    @Flag(help: "Print JSON instead of text.")
    var json = false

    struct Cost: Codable {
        let name: String
        let microseconds: Double
    }

    func run() async throws {
        let fixtures = try FixturesProcess.launch()
        defer { fixtures.stop() }
        let ready = try await fixtures.ready()
        fixtures.send("PEOPLE 1 nowait")
        guard await fixtures.next() == "OK" else { throw ValidationError("the fixtures could not set up the people") }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = ready.configuration(dataDirectory: directory.path)
        let database = try AppDatabase.open(configuration)
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let http = HTTPClient.makeForBotAPI()
        do {
            let costs = try await measure(configuration, database, http, ready, logger)
            try await http.shutdown()
            report(costs)
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// CPU microseconds per call of `body`, over `operations` calls (after a warm-up).
    func cost(_ name: String, _ body: () async throws -> Void) async rethrows -> Cost {
        for _ in 0..<min(100, operations) { try await body() }
        let start = CPUTime.now()
        for _ in 0..<operations { try await body() }
        return Cost(name: name, microseconds: (CPUTime.now() - start) / Double(operations) * 1e6)
    }

    func measure(_ configuration: AppConfiguration, _ database: AppDatabase, _ http: HTTPClient, _ ready: RelayFixtures.Ready,
                 _ logger: Logger) async throws -> [Cost] {
        let localizer = try Localizer.embedded(logger: logger)
        let appliance = try Appliance.build(configuration: configuration, database: database, httpClient: http, localizer: localizer, logger: logger)
        // One conversation, as onboarding leaves it (the services do not run: the intake is called directly).
        try RelayPeople.seed(database, conversations: 1)
        let slot = BotSlot(1)!
        let (manager, worker) = (RelayPeople.manager(0), RelayPeople.worker(0))
        var costs: [Cost] = []
        costs.append(await cost("empty write transaction (sync)") { try? database.write { _ in } })
        costs.append(await cost("empty write transaction (async)") { try? await database.write { _ in } })
        costs.append(await cost("empty read transaction (sync)") { try? database.read { _ in } })
        costs.append(await cost("outbox read of a sender's pass") { _ = try? database.outbox.pending(slot: slot, afterID: Int64.max - 1) })
        costs.append(await cost("job queue read of the runner's pass") { _ = try? database.jobs.queueState() })

        var updateID: Int64 = 0
        let intake = appliance.runtime.intake
        costs.append(try await cost("intake of one worker message (one transaction: log, flows, relay, job)") {
            updateID += 1
            let update = try JSONDecoder().decode(Update.self, from: Data(Self.updateJSON(id: updateID, from: worker).utf8))
            _ = try intake.process(update, slot: slot)
        })
        costs.append(try await cost("decode one getUpdates answer with one message (JSONDecoder)") {
            _ = try BotAPIClient.decodeEnvelope([Update].self, status: 200, body: Data(("{\"ok\":true,\"result\":[" + Self.updateJSON(id: 1, from: worker) + "]}").utf8))
        })
        costs.append(try await cost("encode one sendMessage (JSONEncoder)") {
            _ = try JSONEncoder().encode(SendMessage(chatID: .id(manager), text: "Bring the ladder to site 7 before noon."))
        })

        let client = BotAPIClient(token: BotToken(ready.tokens[0])!, httpClient: http,
                                  configuration: BotAPIConfiguration(baseURL: ready.sandbox), logger: logger)
        costs.append(try await cost("Bot API call over loopback HTTP (getMe; client side)") { _ = try await client.call(GetMe()) })
        costs.append(try await cost("Bot API call with stored JSON (sendMessage; client side)") {
            _ = try await client.call(encoded: "sendMessage", parameters: Data(#"{"chat_id":\#(manager),"text":"[tr] Trae la escalera"}"#.utf8))
        })
        let translator = OpenAITranslator(
            configuration: OpenAIConfiguration(baseURL: ready.translator, apiKey: "bench", model: "bench"), httpClient: http, logger: logger)
        let request = TranslationRequest(text: "Trae la escalera al sitio 7", sourceLanguage: "es", targetLanguage: "en", context: [],
                                         speaker: .worker, speakerGender: "male", addresseeGender: "female", industry: "construction", placeholders: [])
        costs.append(try await cost("translation over loopback HTTP (client side)") { _ = try await translator.translate(request) })
        return costs
    }

    static func updateJSON(id: Int64, from user: Int64) -> String {
        """
        {"update_id":\(id),"message":{"message_id":\(id),"date":1796083199,"chat":{"id":\(user),"type":"private","first_name":"Worker"},\
        "from":{"id":\(user),"is_bot":false,"first_name":"Worker","language_code":"es"},"text":"Trae la escalera al sitio \(id) antes del mediodía"}}
        """
    }

    func report(_ costs: [Cost]) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: (try? encoder.encode(costs)) ?? Data(), as: UTF8.self))
            return
        }
        print("costs: CPU per operation, \(operations) operations each, SQLite \(AppDatabase.sqliteVersionText)")
        for cost in costs { print(String(format: "%9.1f µs  %@", cost.microseconds, cost.name)) }
    }
}
