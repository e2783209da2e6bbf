import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSWeb
import Foundation
import Hummingbird
import NIOCore
import BridgeOSFlows

/// `/sandbox`: a small web chat over the Bot API sandbox, served by the appliance's own HTTP server in
/// `bridgeos demo --interactive`. Pick (or add) a simulated person, open their chat with any of the five
/// bots, send text and photos, press buttons, open invite links, block and unblock. Server-rendered HTML;
/// a few lines of JavaScript refresh the chat and upload photos. No CDN: it works offline.
struct SandboxWebChat: WebRoutes {
    let sandbox: BotAPISandbox
    /// Serialises adding people, so two at once never get the same id.
    let people = NSLock()

    /// What the banner may say: a fixed set, so a crafted link cannot put words on the page.
    enum Problem: String {
        case name, empty, tooLong, gone, link

        var text: String {
            switch self {
            case .name: "A person needs a name (up to 64 characters)."
            case .empty: "Type a message first."
            case .tooLong: "Telegram allows 4096 characters per message."
            case .gone: "That button is no longer there."
            case .link: "That is not a link to one of the sandbox's bots."
            }
        }
    }

    struct Form: Decodable {
        var user: Int64?
        var bot: Int?
        var text: String?
        var message: Int64?
        var data: String?
        var name: String?
        var language: String?
        var link: String?
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        let router = router.group().add(middleware: LocalOnly())
        router.get("/sandbox") { request, _ in
            let user = request.uri.queryParameters.get("user", as: Int64.self)
            let bot = min(max(request.uri.queryParameters.get("bot", as: Int.self) ?? 1, 1), sandbox.bots.count)
            let problem = request.uri.queryParameters.get("problem").flatMap { Problem(rawValue: String($0))?.text }
            return html(SandboxPage(sandbox: sandbox, user: user, bot: bot, problem: problem).render())
        }
        router.get("/sandbox/chat") { request, _ in
            guard let user = request.uri.queryParameters.get("user", as: Int64.self),
                  let bot = botNumbered(request.uri.queryParameters.get("bot", as: Int.self))
            else { return Response(status: .badRequest) }
            let chat = SandboxPage(sandbox: sandbox, user: user, bot: bot.number).chat(bot.bot)
            var response = html(chat)
            response.headers[SandboxPage.versionHeader] = SandboxPage.version(of: chat)
            return response
        }
        router.post("/sandbox/people") { request, _ in
            let form = try await decodeForm(request)
            let name = (form.name ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty, name.count <= 64 else { return redirect(nil, 1, problem: .name) }
            let language = Language.all.first { $0.code == form.language }?.code ?? "en"
            let id = people.withLock {
                let id = (sandbox.users.map(\.id).max() ?? 1000) + 1
                sandbox.addUser(id: id, firstName: name, languageCode: language)
                return id
            }
            return redirect(id, 1)
        }
        router.post("/sandbox/send") { request, _ in
            let form = try await decodeForm(request)
            guard let user = person(form.user), let bot = botNumbered(form.bot) else { return Response(status: .badRequest) }
            let text = (form.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { return redirect(user, bot.number, problem: .empty) }
            guard text.utf16.count <= 4096 else { return redirect(user, bot.number, problem: .tooLong) }
            sandbox.send(text, from: user, to: bot.bot)
            return redirect(user, bot.number)
        }
        router.post("/sandbox/press") { request, _ in
            let form = try await decodeForm(request)
            guard let user = person(form.user), let bot = botNumbered(form.bot), let id = form.message, let data = form.data,
                  let message = sandbox.message(id, bot: bot.bot, chatID: user)
            else { return Response(status: .badRequest) }
            if sandbox.press(data, on: message, by: user, bot: bot.bot) == nil {
                return redirect(user, bot.number, problem: .gone)
            }
            return redirect(user, bot.number)
        }
        router.post("/sandbox/open") { request, _ in
            // Opening a t.me/<bot>?start=<payload> link: Telegram starts that bot with the payload.
            let form = try await decodeForm(request)
            guard let user = person(form.user), let link = form.link, let url = URLComponents(string: link),
                  let username = url.path.split(separator: "/").first,
                  let index = sandbox.bots.firstIndex(where: { $0.username == String(username) })
            else { return redirect(person(form.user), botNumbered(form.bot)?.number ?? 1, problem: .link) }
            let payload = url.queryItems?.first { $0.name == "start" }?.value
            sandbox.send(payload.map { "/start \($0)" } ?? "/start", from: user, to: sandbox.bots[index])
            return redirect(user, index + 1)
        }
        router.post("/sandbox/block") { request, _ in
            let form = try await decodeForm(request)
            guard let user = person(form.user), let bot = botNumbered(form.bot) else { return Response(status: .badRequest) }
            if sandbox.hasBlocked(bot.bot, userID: user) { sandbox.unblock(bot.bot, by: user) } else { sandbox.block(bot.bot, by: user) }
            return redirect(user, bot.number)
        }
        router.post("/sandbox/photo") { request, context in
            var request = request
            guard let user = person(request.uri.queryParameters.get("user", as: Int64.self)),
                  let bot = botNumbered(request.uri.queryParameters.get("bot", as: Int.self))
            else { return Response(status: .badRequest) }
            let bytes = try await request.collectBody(upTo: 10 << 20)
            guard bytes.readableBytes > 0 else { return Response(status: .badRequest) }
            let caption = request.uri.queryParameters.get("caption").flatMap { $0.isEmpty ? nil : String($0) }
            sandbox.sendMedia(.photo, from: user, to: bot.bot, caption: caption, bytes: Data(buffer: bytes))
            return Response(status: .noContent)
        }
    }

    /// A simulated person's id, if there is such a person.
    func person(_ id: Int64?) -> Int64? {
        guard let id, sandbox.users.contains(where: { $0.id == id }) else { return nil }
        return id
    }

    func botNumbered(_ number: Int?) -> (number: Int, bot: SandboxBot)? {
        guard let number, (1...sandbox.bots.count).contains(number) else { return nil }
        return (number, sandbox.bots[number - 1])
    }

    func decodeForm(_ request: Request) async throws -> Form {
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        do {
            return try URLEncodedFormDecoder().decode(Form.self, from: String(buffer: body))
        } catch {
            throw HTTPError(.badRequest, message: "the form could not be read")
        }
    }

    func redirect(_ user: Int64?, _ bot: Int, problem: Problem? = nil) -> Response {
        var location = "/sandbox?bot=\(bot)"
        if let user { location += "&user=\(user)" }
        if let problem { location += "&problem=\(problem.rawValue)" }
        return Response(status: .seeOther, headers: [.location: location])
    }

    func html(_ body: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// The web chat drives the real appliance (and, with a provider, spends its key): it answers only requests
/// addressed to this machine by name or loopback address (no DNS rebinding), and takes forms only from its
/// own pages (another site's page cannot post to it).
struct LocalOnly: RouterMiddleware {
    typealias Context = AppRequestContext

    static func allowed(_ authority: Substring?) -> Bool {
        guard let authority else { return false }
        let host: Substring
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[authority.index(after: authority.startIndex)..<close]
        } else {
            host = authority.split(separator: ":", maxSplits: 1).first ?? ""
        }
        return ["127.0.0.1", "localhost", "::1"].contains(host.lowercased()) || host.allSatisfy { $0.isNumber || $0 == "." }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.allowed(request.head.authority.map { Substring($0) }) else {
            return Response(status: .forbidden)
        }
        if request.method == .post, let origin = request.headers[.origin] {
            let authority = URLComponents(string: origin).map { components -> Substring in
                Substring((components.host.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "") + (components.port.map { ":\($0)" } ?? ""))
            }
            guard Self.allowed(authority) else { return Response(status: .forbidden) }
        }
        return try await next(request, context)
    }
}
