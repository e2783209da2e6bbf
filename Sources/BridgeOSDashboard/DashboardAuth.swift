import BridgeOSCore
import BridgeOSStorage
import Foundation
import Hummingbird
import HummingbirdAuth
import NIOCore

/// Signing in: the login form, one-time links, and the first account's setup. Before a session exists, forms
/// carry a token that must equal an HttpOnly, SameSite=Strict cookie set with the form (double submit), so
/// another site cannot post them; after, the session's own token (`RequireCSRF`).
extension Dashboard {
    static let loginCookie = "bridgeos_login"

    struct LoginView {
        var chrome: Chrome
        var csrf: String
        var next: String
        var username: String
        var error: String?
        var noAccount: Bool
    }

    struct SetupView {
        var chrome: Chrome
        var csrf: String
        var token: String
        var username: String
        var error: String?
    }

    /// A new form token, set as the cookie the form must match.
    func formToken(_ response: inout Response, token: String) {
        let cookie = Cookie(name: Self.loginCookie, value: token, path: "/admin", secure: settings.secureCookies, httpOnly: true, sameSite: .strict)
        response.headers[values: .setCookie].append(cookie.description)
    }

    func formTokenMatches(_ request: Request, _ form: DashboardForm) -> Bool {
        guard let cookie = request.cookies[Self.loginCookie]?.value, let given = form["csrf"] else { return false }
        return CSRF.matches(given, cookie)
    }

    /// Where to go after signing in: only a path of this dashboard (never another site).
    static func safeNext(_ raw: String?) -> String {
        guard let raw, raw.hasPrefix("/admin"), !raw.hasPrefix("//"), !raw.contains("\\"), !raw.contains("\r"), !raw.contains("\n"),
              raw.count <= 512
        else { return "/admin" }
        return raw
    }

    /// The client's address: a reverse proxy on this machine names it in X-Real-IP or X-Forwarded-For.
    static func client(_ request: Request, _ context: DashboardContext) -> String {
        let peer = context.remoteAddress?.ipAddress ?? "unknown"
        guard ["127.0.0.1", "::1"].contains(peer) else { return peer }
        // Behind the proxy on this machine: the address the proxy appended last is the one it saw (earlier
        // entries, and X-Real-IP when the proxy does not set it, are whatever the client sent).
        if let forwarded = request.headers[.init("X-Forwarded-For")!]?.split(separator: ",").last {
            let address = forwarded.trimmingCharacters(in: .whitespaces)
            if !address.isEmpty { return String(address.prefix(64)) }
        }
        if let real = request.headers[.init("X-Real-IP")!], !real.isEmpty { return String(real.prefix(64)) }
        return peer
    }

    func loginForm(_ request: Request, _ context: DashboardContext) async throws -> Response {
        if context.identity != nil { return DashboardPage.redirect(Self.safeNext(request.uri.queryParameters.get("next"))) }
        return try loginPage(next: Self.safeNext(request.uri.queryParameters.get("next")), username: "", error: nil, status: .ok, context)
    }

    func loginPage(next: String, username: String, error: String?, status: HTTPResponse.Status, _ context: DashboardContext) throws -> Response {
        let token = CSRF.token()
        let view = LoginView(chrome: chrome("Sign in", context), csrf: token, next: next, username: username, error: error,
                             noAccount: try database.admin.accountCount() == 0)
        var response = render(view, "login", status: status)
        formToken(&response, token: token)
        return response
    }

    func login(_ request: Request, _ context: DashboardContext) async throws -> Response {
        var request = request
        let form = try await DashboardForm.read(&request, context: context)
        guard formTokenMatches(request, form) else { throw HTTPError(.forbidden, message: "this form has expired: reload the page and try again") }
        let next = Self.safeNext(form["next"])
        let typed = (form["username"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let password = form["password"] ?? ""
        let client = Self.client(request, context)
        let now = database.clock.now()
        // Counted by what the name means (the account), not how it was typed.
        let account = try database.admin.account(username: typed)
        let key: LoginThrottle.Account = account.map { .id($0.id) } ?? .unknown((try? AdminRepository.normalizedUsername(typed)) ?? typed)
        let username = String(typed.prefix(64))
        if let until = throttle.begin(client: client, account: key, now: now) {
            logger.warning("dashboard sign-in refused: too many attempts", metadata: ["client": "\(client)"])
            return try loginPage(next: next, username: username,
                                 error: "Too many attempts. Try again after \(Format.time(until)).", status: .tooManyRequests, context)
        }
        let valid = try await Passwords.verify(password, hash: account?.passwordHash)
        guard let account, valid else {
            logger.notice("dashboard sign-in failed", metadata: ["client": "\(client)"])
            return try loginPage(next: next, username: username, error: "Wrong account or password.", status: .unauthorized, context)
        }
        throttle.succeeded(client: client, account: key, now: now)
        try startSession(for: account, context)
        logger.notice("dashboard sign-in", metadata: ["account": "\(account.id)", "client": "\(client)"])
        return DashboardPage.redirect(next)
    }

    func startSession(for account: AdminAccount, _ context: DashboardContext) throws {
        try database.admin.recordLogin(account.id)
        // A new session id at every sign-in (no fixation).
        context.sessions.createSession(DashboardSession(account: account.id, csrf: CSRF.token()), expiresIn: settings.sessionLifetime)
    }

    /// A one-time link: signs its account in (the demo, `bridgeos admin login-link`), or opens the setup.
    func link(_ request: Request, _ context: DashboardContext) async throws -> Response {
        guard let token = request.uri.queryParameters.get("token").map({ String($0) }), !token.isEmpty, token.count <= 128,
              let target = try database.admin.link(token)
        else { throw HTTPError(.gone, message: "This link was used already or has expired. Ask for a new one.") }
        switch target {
        case .setup:
            return DashboardPage.redirect("/admin/setup?token=\(token)")
        case let .login(account):
            guard try database.admin.useLink(token) else { throw HTTPError(.gone, message: "This link was used already or has expired.") }
            try startSession(for: account, context)
            logger.notice("dashboard sign-in by one-time link", metadata: ["account": "\(account.id)"])
            return DashboardPage.redirect("/admin")
        }
    }

    func setupForm(_ request: Request, _ context: DashboardContext) async throws -> Response {
        guard let token = request.uri.queryParameters.get("token").map({ String($0) }), token.count <= 128,
              try database.admin.link(token) == .setup
        else { throw HTTPError(.gone, message: "This setup link was used already, has expired, or an account exists. Sign in instead.") }
        return setupPage(token: token, username: "admin", error: nil, status: .ok, context)
    }

    func setupPage(token: String, username: String, error: String?, status: HTTPResponse.Status, _ context: DashboardContext) -> Response {
        let csrf = CSRF.token()
        var response = render(SetupView(chrome: chrome("Set up", context), csrf: csrf, token: token, username: username, error: error),
                              "setup", status: status)
        formToken(&response, token: csrf)
        return response
    }

    func setup(_ request: Request, _ context: DashboardContext) async throws -> Response {
        var request = request
        let form = try await DashboardForm.read(&request, context: context)
        guard formTokenMatches(request, form) else { throw HTTPError(.forbidden, message: "this form has expired: reload the page and try again") }
        let token = form["token"] ?? ""
        let username = form["username"] ?? ""
        let password = form["password"] ?? ""
        guard token.count <= 128, try database.admin.link(token) == .setup else {
            throw HTTPError(.gone, message: "This setup link was used already, has expired, or an account exists. Sign in instead.")
        }
        let name: String
        do { name = try AdminRepository.normalizedUsername(username) } catch {
            return setupPage(token: token, username: String(username.prefix(64)), error: "An account name is 1 to 64 letters, digits or . _ @ -",
                             status: .badRequest, context)
        }
        if let problem = Passwords.problem(with: password) {
            return setupPage(token: token, username: name, error: "The password must be \(problem).", status: .badRequest, context)
        }
        guard password == form["repeat"] else {
            return setupPage(token: token, username: name, error: "The two passwords differ.", status: .badRequest, context)
        }
        let hash = try await Passwords.hash(password)
        guard let account = try database.admin.setUpFirstAccount(link: token, username: name, passwordHash: hash) else {
            throw HTTPError(.gone, message: "This setup link was used already, or an account exists. Sign in instead.")
        }
        try startSession(for: account, context)
        logger.notice("the first dashboard account was created through the setup link", metadata: ["account": "\(account.id)"])
        return DashboardPage.redirect("/admin")
    }
}
