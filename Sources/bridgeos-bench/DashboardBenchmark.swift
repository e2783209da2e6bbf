import ArgumentParser
import AsyncHTTPClient
import BridgeOSApp
import BridgeOSCore
import BridgeOSFlows
import BridgeOSStorage
import BridgeOSWeb
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// The dashboard on a large database: the server time (its `Server-Timing`) of the managers page and of a
/// conversation page, at 100,000 users and 1,000,000 messages by default. Target: 50 ms each on this machine.
struct DashboardBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Server time of the dashboard's pages at 100,000 users and 1,000,000 messages.",
        discussion: "Fills a temporary database, serves the appliance's HTTP routes on 127.0.0.1 and times each page. Build with -c release.")

    @Option(help: "Users (managers and workers, half each).")
    var users = 100_000

    @Option(help: "Messages, a fifth of them in one long conversation, the rest spread over the others.")
    var messages = 1_000_000

    @Option(help: "Requests per page.")
    var requests = 40

    func run() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = AppConfiguration(dataDirectory: directory.path)
        configuration.botTokens = [1: "123456789:AAEbenchbenchbenchbenchbenchbenchbenc"]
        configuration.telegramAPIURL = "http://127.0.0.1:9"
        configuration.httpPort = 0
        let database = try AppDatabase.open(configuration)
        let started = ContinuousClock.now
        let (longConversation, middle) = try seed(database)
        let size = (DiskSpace.fileSize(configuration.databasePath) ?? 0) + (DiskSpace.fileSize(configuration.databasePath + "-wal") ?? 0)
        print(String(format: "database: %d users, %d messages, %.0f MB, written in %.1f s", users, messages, Double(size) / 1_048_576,
                     (ContinuousClock.now - started).seconds))

        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: {
            var configuration = HTTPClient.Configuration()
            configuration.redirectConfiguration = .disallow
            return configuration
        }())
        let appliance = try Appliance.build(configuration: configuration, database: database, httpClient: http,
                                            localizer: try Localizer.embedded(logger: logger), logger: logger)
        // Only the HTTP side runs: the pages read the database as they would beside the relay.
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let web = WebServer.application(host: "127.0.0.1", port: 0, routes: appliance.routes, logger: logger,
                                        onListening: { continuation.yield($0); continuation.finish() })
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [web], gracefulShutdownSignals: [], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let base = "http://127.0.0.1:\(await iterator.next() ?? 0)"
            let cookie = try await signIn(database, http: http, base: base)
            let pages: [(String, String)] = [
                ("managers, first page", "/admin/managers"),
                ("managers, a page in the middle", "/admin/managers?after=\(users / 4)"),
                ("managers, search by name", "/admin/managers?q=manager%2012345"),
                ("conversation, newest page", "/admin/conversations/\(longConversation)"),
                ("conversation, a page deep in history", "/admin/conversations/\(longConversation)?before=\(middle)"),
                ("one manager", "/admin/people/\(1_000_001)"),
                ("overview", "/admin"),
            ]
            print("page                                      server p50   server p95   server max   (wall p50)   first request")
            for (name, path) in pages {
                var server: [Double] = []
                var wall: [Double] = []
                var first = Double.nan
                for index in 0..<(requests + 3) {
                    let start = ContinuousClock.now
                    var request = HTTPClientRequest(url: base + path)
                    request.headers.add(name: "Cookie", value: cookie)
                    let response = try await http.execute(request, timeout: .seconds(60))
                    _ = try await response.body.collect(upTo: 16 << 20)
                    guard response.status == .ok else { throw ValidationError("\(path) answered \(response.status)") }
                    let timing = response.headers.first(name: "server-timing")?.split(separator: "=").last.flatMap { Double($0) } ?? .nan
                    if index == 0 { first = timing }
                    guard index >= 3 else { continue }  // warm-up
                    wall.append((ContinuousClock.now - start).seconds * 1000)
                    server.append(timing)
                }
                server.sort()
                wall.sort()
                func at(_ values: [Double], _ q: Double) -> Double { values[min(values.count - 1, Int(Double(values.count) * q))] }
                print(name.padding(toLength: 42, withPad: " ", startingAt: 0)
                      + String(format: "%7.1f ms   %7.1f ms   %7.1f ms   (%5.1f ms)   %7.1f ms", at(server, 0.5), at(server, 0.95), server.last ?? 0,
                               at(wall, 0.5), first))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await http.shutdown()
    }

    /// Managers 1_000_001…, workers 2_000_001…; every worker connected to a manager; one long conversation.
    func seed(_ database: AppDatabase) throws -> (conversation: Int64, middle: Int64) {
        let managers = users / 2
        let workers = users - managers
        let now = Date()
        for start in stride(from: 0, to: managers, by: 5000) {
            try database.write { tx in
                for n in start..<min(managers, start + 5000) {
                    _ = try tx.registerManager(UserProfile(id: Int64(1_000_001 + n), displayName: "Manager \(n)", username: "manager_\(n)",
                                                           language: "en", gender: .unspecified), industry: "construction", homeSlot: nil, now: now)
                }
            }
        }
        var connections: [(id: Int64, worker: Int64)] = []
        for start in stride(from: 0, to: workers, by: 5000) {
            try database.write { tx in
                for n in start..<min(workers, start + 5000) {
                    let id = Int64(2_000_001 + n)
                    _ = try tx.registerWorker(UserProfile(id: id, displayName: "Worker \(n)", language: "es", gender: .unspecified), now: now)
                    // Up to five workers per manager, one per slot.
                    let manager = Int64(1_000_001 + (n / 5) % max(1, managers))
                    connections.append((try tx.connect(manager: manager, worker: id, slot: BotSlot(n % 5 + 1)!, now: now).id, id))
                }
            }
        }
        guard let long = connections.first else { throw ValidationError("no connections") }
        let text = "Bring the ladder to the third floor and check the wiring before noon."
        let translated = "Trae la escalera al tercer piso y revisa el cableado antes del mediodía."
        let inLong = messages / 5
        var written = 0
        var middle: Int64 = 0
        // Spread over the last 30 days, as a real month would be.
        while written < messages {
            let batch = min(10_000, messages - written)
            try database.write { tx in
                for i in 0..<batch {
                    let n = written + i
                    let connection = n < inLong ? long : connections[1 + n % (connections.count - 1)]
                    let at = now.addingTimeInterval(-Double(messages - n) * 30 * 86400 / Double(messages))
                    let message = try tx.appendMessage(NewMessage(connectionID: connection.id, senderID: connection.worker,
                                                                  originalText: text, translatedText: translated, sourceLanguage: "es", targetLanguage: "en"),
                                                       now: at)
                    if n == inLong / 2 { middle = message.id }
                }
            }
            written += batch
        }
        return (long.id, middle)
    }

    /// A session cookie, through a one-time sign-in link.
    func signIn(_ database: AppDatabase, http: HTTPClient, base: String) async throws -> String {
        let hash = "$2b$12$" + String(repeating: "b", count: 53)  // never verified: the link signs in
        let account = try database.admin.setPassword(username: "bench", passwordHash: hash).account
        let token = try database.admin.makeLink(account: account.id, validFor: 60)
        let response = try await http.execute(HTTPClientRequest(url: "\(base)/admin/link?token=\(token)"), timeout: .seconds(30))
        guard let cookie = response.headers["set-cookie"].first(where: { $0.hasPrefix("bridgeos_admin=") })?.split(separator: ";").first else {
            throw ValidationError("signing in failed: \(response.status)")
        }
        return String(cookie)
    }
}
