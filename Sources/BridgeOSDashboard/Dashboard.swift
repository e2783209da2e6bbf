import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSWeb
import Foundation
import Hummingbird
import HummingbirdAuth
import Logging
import NIOCore
import Synchronization

/// What the dashboard needs to know of the appliance it shows.
public struct DashboardSettings: Sendable {
    /// The address people use (`BRIDGEOS_PUBLIC_URL`); https makes the session cookie Secure.
    public var publicURL: String
    public var databasePath: String
    public var backupDirectory: String
    public var dataDirectory: String
    public var slots: [BotSlot]
    public var started: Date
    public var sessionLifetime: Duration

    public init(publicURL: String, databasePath: String, backupDirectory: String, dataDirectory: String, slots: [BotSlot], started: Date,
                sessionLifetime: Duration = .seconds(12 * 3600)) {
        self.publicURL = publicURL
        self.databasePath = databasePath
        self.backupDirectory = backupDirectory
        self.dataDirectory = dataDirectory
        self.slots = slots
        self.started = started
        self.sessionLifetime = sessionLifetime
    }

    var secureCookies: Bool { publicURL.lowercased().hasPrefix("https://") }
}

/// The admin dashboard under `/admin`: server-rendered pages, signed in with hummingbird-auth's sessions.
public struct Dashboard: WebRoutes {
    let database: AppDatabase
    let status: SlotStatusBoard
    let health: ApplianceHealth
    let intake: Intake
    let settings: DashboardSettings
    let templates: DashboardTemplates
    let throttle: LoginThrottle
    let pastDays = PastDayCounts()
    let logger: Logger

    /// Routes anyone may open (the sign-in, the first account's setup, one-time links, the stylesheet).
    public static let publicPaths: Set<String> = ["/admin/login", "/admin/setup", "/admin/link", "/admin/style.css"]

    public init(database: AppDatabase, status: SlotStatusBoard, health: ApplianceHealth, intake: Intake, settings: DashboardSettings,
                throttle: LoginThrottle = LoginThrottle(), logger: Logger) throws {
        self.database = database
        self.status = status
        self.health = health
        self.intake = intake
        self.settings = settings
        self.templates = try DashboardTemplates.embedded()
        self.throttle = throttle
        self.logger = logger
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        let sessions = SessionMiddleware<DashboardContext>(
            storage: SessionStore(database: database),
            configuration: SessionMiddlewareConfiguration(
                sessionCookieParameters: SessionCookieParameters(name: "bridgeos_admin", path: "/admin", secure: settings.secureCookies,
                                                                 sameSite: .strict),
                keyPrefix: "admin.", defaultSessionExpiration: settings.sessionLifetime))
        let database = database
        let admin = router.group("/admin", context: DashboardContext.self)
            .add(middleware: SecurityHeaders<DashboardContext>())
            .add(middleware: sessions)
            .add(middleware: SessionAuthenticator<DashboardContext, UserSessionClosureRepository<DashboardSession, DashboardAdmin>>(
                context: DashboardContext.self,
                getUser: { session, _ in
                    try database.admin.account(id: session.account).map { DashboardAdmin(id: $0.id, username: $0.username) }
                }))
        // Public: the only routes without a signed-in admin (`publicPaths`).
        admin.get("style.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: self.templates.stylesheet)))
        }
        admin.get("login") { request, context in try await self.loginForm(request, context) }
        admin.post("login") { request, context in try await self.login(request, context) }
        admin.get("setup") { request, context in try await self.setupForm(request, context) }
        admin.post("setup") { request, context in try await self.setup(request, context) }
        admin.get("link") { request, context in try await self.link(request, context) }

        // Everything else: a signed-in admin, and the session's CSRF token on every form.
        let protected = admin.group().add(middleware: RequireAdmin()).add(middleware: RequireCSRF())
        protected.get("") { request, context in try self.overview(request, context) }
        protected.get("managers") { request, context in try self.managers(request, context) }
        protected.get("people/:id") { request, context in try self.person(request, context) }
        protected.post("people/:id/erase") { request, context in try await self.erase(request, context) }
        protected.get("conversations/:id") { request, context in try self.conversation(request, context) }
        protected.get("feedback") { request, context in try self.feedback(request, context) }
        protected.post("feedback/:id/answer") { request, context in try await self.answer(request, context) }
        protected.get("subscriptions") { request, context in try self.subscriptions(request, context) }
        protected.get("system") { request, context in try self.system(request, context) }
        protected.post("logout") { _, context in
            context.sessions.clearSession()
            return DashboardPage.redirect("/admin/login")
        }
    }

    func chrome(_ title: String, _ context: DashboardContext, notice: String? = nil) -> Chrome {
        var chrome = Chrome(title: title)
        chrome.signedIn = context.identity != nil
        chrome.username = context.identity?.username ?? ""
        chrome.csrf = context.sessions.session?.csrf ?? ""
        chrome.notice = notice
        return chrome
    }

    func render(_ view: Any, _ template: String, status: HTTPResponse.Status = .ok) -> Response {
        DashboardPage.html(templates.render(view, template), status: status)
    }

    /// A positive 64-bit id from the path, else 404.
    static func pathID(_ context: DashboardContext) throws -> Int64 {
        guard let raw = context.parameters.get("id"), let id = Int64(raw), id > 0 else { throw HTTPError(.notFound, message: "no such page") }
        return id
    }

    /// A keyset cursor from the query (`after`, `before`): a positive id or nothing.
    static func cursor(_ request: Request, _ name: String) throws -> Int64? {
        guard let raw = request.uri.queryParameters.get(name), !raw.isEmpty else { return nil }
        guard let value = Int64(raw), value > 0 else { throw HTTPError(.badRequest, message: "\(name) must be a positive number") }
        return value
    }
}

/// The overview's messages per day before today: counted once (an index pass over the month), then kept for
/// an hour — they change only as retention deletes old messages. Today is always counted afresh.
final class PastDayCounts: Sendable {
    private let cached = Mutex<(first: String, at: Date, counts: [String: Int])?>(nil)

    func counts(_ database: AppDatabase) throws -> [String: Int] {
        let days = database.dashboard.last30Days()
        let now = database.clock.now()
        if let cached = cached.withLock({ $0 }), cached.first == days[0], now.timeIntervalSince(cached.at) < 3600 { return cached.counts }
        let counts = try database.dashboard.messagesPerDay(from: days[0], before: days[29])
        cached.withLock { $0 = (days[0], now, counts) }
        return counts
    }
}
