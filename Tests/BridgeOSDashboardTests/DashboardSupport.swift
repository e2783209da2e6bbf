import AsyncHTTPClient
import BridgeOSApp
import BridgeOSRuntime
import BridgeOSCore
import BridgeOSDashboard
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import BridgeOSWeb
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

/// The dashboard's suites, one test at a time: each runs a whole appliance and hashes passwords at bcrypt's
/// cost 12, and the machine has two cores to share with the other suites.
@Suite("Dashboard", .serialized)
enum DashboardTests {}

/// The appliance as `serve` builds it, against the Telegram sandbox and a fake translator, with its HTTP
/// server on 127.0.0.1 and a browser-like client (cookies kept, redirects not followed).
struct DashboardHarness {
    let flows: Harness
    let appliance: Appliance
    let port: Int
    let http: HTTPClient
    let configuration: AppConfiguration
    var sandbox: BotAPISandbox { flows.sandbox }
    var database: AppDatabase { flows.database }
    var bots: [SandboxBot] { flows.bots }
    var base: String { "http://127.0.0.1:\(port)" }

    func browser() -> Browser { Browser(http: http, base: base) }

    /// An account with this password (bcrypt, cost 12), and a browser signed in with it.
    func signedIn(_ username: String = "ada", password: String = "correct horse battery") async throws -> Browser {
        try database.admin.setPassword(username: username, passwordHash: try await Passwords.hash(password))
        let browser = browser()
        let response = try await browser.signIn(username, password)
        #expect(response.status == 303, "sign-in: \(response.status) \(response.body.prefix(300))")
        return browser
    }
}

/// What a request came back with.
struct Page {
    let status: Int
    let headers: HTTPHeaders
    let body: String
    var location: String? { headers.first(name: "location") }
}

/// A browser: keeps cookies by name, sends them back, never follows redirects.
final class Browser: Sendable {
    let http: HTTPClient
    let base: String
    let cookies = Mutex<[String: String]>([:])

    init(http: HTTPClient, base: String) {
        self.http = http
        self.base = base
    }

    func get(_ path: String, headers extra: [(String, String)] = []) async throws -> Page {
        try await request(path, method: .GET, body: nil, headers: extra)
    }

    func post(_ path: String, form: [String: String], headers extra: [(String, String)] = []) async throws -> Page {
        let body = form.map { key, value in
            "\(Self.encode(key))=\(Self.encode(value))"
        }.joined(separator: "&")
        return try await request(path, method: .POST, body: body, headers: [("Content-Type", "application/x-www-form-urlencoded")] + extra)
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    func request(_ path: String, method: HTTPMethod, body: String?, headers extra: [(String, String)]) async throws -> Page {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        let jar = cookies.withLock { $0 }
        if !jar.isEmpty { request.headers.add(name: "Cookie", value: jar.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 8 << 20)
        for header in response.headers[canonicalForm: "set-cookie"] {
            let pair = header.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let (name, value) = (String(pair[0]).trimmingCharacters(in: .whitespaces), String(pair[1]))
            // Only the attributes say whether the cookie is deleted (a random value may well contain "1970").
            let attributes = header.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            let expired = attributes.contains { $0 == "max-age=0" || ($0.hasPrefix("expires=") && $0.contains("1970")) }
            cookies.withLock { $0[name] = expired ? nil : value }
        }
        return Page(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
    }

    /// The hidden `csrf` field of a page's first form.
    static func csrf(in page: Page) -> String? {
        guard let range = page.body.range(of: #"name="csrf" value=""#) else { return nil }
        return String(page.body[range.upperBound...].prefix { $0 != "\"" })
    }

    func signIn(_ username: String, _ password: String) async throws -> Page {
        let form = try await get("/admin/login")
        return try await post("/admin/login", form: ["csrf": Self.csrf(in: form) ?? "", "username": username, "password": password, "next": "/admin"])
    }
}


/// - Parameter environment: settings added to the harness's own (webhook mode: its deliveries reach the
///   appliance's listener as through a reverse proxy at BRIDGEOS_PUBLIC_URL).
func withDashboard<T>(
    admins: Set<Int64> = [], alertProbes: AlertService.Probes? = nil, environment: [String: String] = [:],
    webhookTimings: WebhookTimings = WebhookTimings(), _ body: (DashboardHarness) async throws -> T
) async throws -> T {
    let provider = FakeProvider()
    provider.fallback.withLock { $0 = FakeProvider.taggedTranslation }
    return try await BotAPISandbox.run(bots: SandboxBot.make(2)) { sandbox in
        try await provider.run { translatorURL in
            try await withTemporaryDirectoryAsync { directory in
                var values = [
                    "BRIDGEOS_DATA_DIR": directory.path, "BRIDGEOS_TELEGRAM_API_URL": sandbox.baseURL,
                    "BRIDGEOS_HTTP_ADDRESS": "127.0.0.1:0", "BRIDGEOS_TRANSLATOR": "openai", "OPENAI_API_KEY": "test",
                    "OPENAI_BASE_URL": translatorURL, "BRIDGEOS_BACKUP_INTERVAL_HOURS": "0",
                    "BRIDGEOS_RATE_PER_CHAT": "100", "BRIDGEOS_POLL_TIMEOUT": "5",
                    "BRIDGEOS_ADMIN_IDS": admins.map(String.init).joined(separator: ","),
                ]
                for (index, bot) in sandbox.bots.enumerated() { values["BRIDGEOS_BOT\(index + 1)_TOKEN"] = bot.token.secret }
                values.merge(environment) { _, new in new }
                let configuration = try AppConfiguration.load(environment: values)
                let logs = CapturingLogHandlerStore()
                let logger = logs.logger(label: "dashboard.test", level: .debug)
                let database = try AppDatabase.open(configuration)
                let (ports, continuation) = AsyncStream<Int>.makeStream()
                var clientConfiguration = HTTPClient.Configuration()
                clientConfiguration.redirectConfiguration = .disallow
                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
                do {
                    let result = try await run(http)
                    try await http.shutdown()
                    return result
                } catch {
                    try? await http.shutdown()
                    throw error
                }
                func run(_ http: HTTPClient) async throws -> T {
                let appliance = try Appliance.build(configuration: configuration, database: database, httpClient: http, localizer: localizer,
                                                    alertProbes: alertProbes, logger: logger, webhookTimings: webhookTimings,
                                                    onListening: { port in
                                                        if configuration.webhook, let publicURL = configuration.publicURL {
                                                            sandbox.routeWebhooks(from: publicURL, to: "http://127.0.0.1:\(port)")
                                                        }
                                                        continuation.yield(port)
                                                        continuation.finish()
                                                    })
                let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: appliance.services, gracefulShutdownSignals: [], logger: logger))
                let flows = Harness(sandbox: sandbox, database: database, runtime: appliance.runtime, logs: logs, path: configuration.databasePath)
                return try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    var iterator = ports.makeAsyncIterator()
                    let port = await iterator.next() ?? 0
                    do {
                        let result = try await body(DashboardHarness(flows: flows, appliance: appliance, port: port, http: http, configuration: configuration))
                        await group.triggerGracefulShutdown()
                        try await tasks.waitForAll()
                        #expect(sandbox.violations.isEmpty, "spec violations: \(sandbox.violations)")
                        // Nothing secret or private in the logs: no password, no session id.
                        #expect(!logs.all.contains { $0.line.contains("correct horse") })
                        return result
                    } catch {
                        await group.triggerGracefulShutdown()
                        try? await tasks.waitForAll()
                        throw error
                    }
                }
                }
            }
        }
    }
}
