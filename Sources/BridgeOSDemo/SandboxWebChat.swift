import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSWeb
import Foundation
import Hummingbird
import NIOCore

/// `/sandbox`: a small web chat over the Bot API sandbox, served by the appliance's own HTTP server in
/// `bridgeos demo --interactive`. Pick (or add) a simulated person, open their chat with any of the five
/// bots, send text and photos, press buttons, open invite links, block and unblock. Server-rendered HTML;
/// a few lines of JavaScript refresh the chat and upload photos. No CDN: it works offline.
struct SandboxWebChat: WebRoutes {
    let sandbox: BotAPISandbox

    struct Form: Decodable {
        var user: Int64?
        var bot: Int?
        var text: String?
        var message: Int64?
        var data: String?
        var name: String?
        var language: String?
        var link: String?
        var caption: String?
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/sandbox") { request, _ in
            let user = request.uri.queryParameters.get("user", as: Int64.self)
            let bot = min(max(request.uri.queryParameters.get("bot", as: Int.self) ?? 1, 1), sandbox.bots.count)
            let problem = request.uri.queryParameters.get("problem").map { String($0) }
            return html(SandboxPage(sandbox: sandbox, user: user, bot: bot, problem: problem).render())
        }
        router.get("/sandbox/chat") { request, _ in
            guard let user = request.uri.queryParameters.get("user", as: Int64.self),
                  let bot = botNumbered(request.uri.queryParameters.get("bot", as: Int.self))
            else { return Response(status: .badRequest) }
            return html(SandboxPage(sandbox: sandbox, user: user, bot: bot.number).chat(bot.bot))
        }
        router.post("/sandbox/people") { request, _ in
            let form = try await decodeForm(request)
            let name = (form.name ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty, name.count <= 64 else { return redirect(nil, 1, problem: "a person needs a name (up to 64 characters)") }
            let id = (sandbox.users.map(\.id).max() ?? 1000) + 1
            let language = form.language.flatMap { $0.isEmpty ? nil : $0 } ?? "en"
            sandbox.addUser(id: id, firstName: name, languageCode: language)
            return redirect(id, 1)
        }
        router.post("/sandbox/send") { request, _ in
            let form = try await decodeForm(request)
            guard let user = form.user, let bot = botNumbered(form.bot) else { return Response(status: .badRequest) }
            let text = (form.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { return redirect(user, bot.number, problem: "type a message first") }
            guard text.utf16.count <= 4096 else { return redirect(user, bot.number, problem: "Telegram allows 4096 characters per message") }
            sandbox.send(text, from: user, to: bot.bot)
            return redirect(user, bot.number)
        }
        router.post("/sandbox/press") { request, _ in
            let form = try await decodeForm(request)
            guard let user = form.user, let bot = botNumbered(form.bot), let id = form.message, let data = form.data,
                  let message = sandbox.message(id, bot: bot.bot, chatID: user)
            else { return Response(status: .badRequest) }
            if sandbox.press(data, on: message, by: user, bot: bot.bot) == nil {
                return redirect(user, bot.number, problem: "that button is no longer there")
            }
            return redirect(user, bot.number)
        }
        router.post("/sandbox/open") { request, _ in
            // Opening a t.me/<bot>?start=<payload> link: Telegram starts that bot with the payload.
            let form = try await decodeForm(request)
            guard let user = form.user, let link = form.link, let url = URLComponents(string: link),
                  let username = url.path.split(separator: "/").first,
                  let index = sandbox.bots.firstIndex(where: { $0.username == String(username) })
            else { return redirect(form.user, form.bot ?? 1, problem: "not a link to one of the sandbox's bots") }
            let payload = url.queryItems?.first { $0.name == "start" }?.value
            sandbox.send(payload.map { "/start \($0)" } ?? "/start", from: user, to: sandbox.bots[index])
            return redirect(user, index + 1)
        }
        router.post("/sandbox/block") { request, _ in
            let form = try await decodeForm(request)
            guard let user = form.user, let bot = botNumbered(form.bot) else { return Response(status: .badRequest) }
            if sandbox.hasBlocked(bot.bot, userID: user) { sandbox.unblock(bot.bot, by: user) } else { sandbox.block(bot.bot, by: user) }
            return redirect(user, bot.number)
        }
        router.post("/sandbox/photo") { request, context in
            var request = request
            guard let user = request.uri.queryParameters.get("user", as: Int64.self),
                  let bot = botNumbered(request.uri.queryParameters.get("bot", as: Int.self))
            else { return Response(status: .badRequest) }
            let bytes = try await request.collectBody(upTo: 10 << 20)
            guard bytes.readableBytes > 0 else { return Response(status: .badRequest) }
            let caption = request.uri.queryParameters.get("caption").flatMap { $0.isEmpty ? nil : String($0) }
            sandbox.sendMedia(.photo, from: user, to: bot.bot, caption: caption, bytes: Data(buffer: bytes))
            return Response(status: .noContent)
        }
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

    func redirect(_ user: Int64?, _ bot: Int, problem: String? = nil) -> Response {
        var location = "/sandbox?bot=\(bot)"
        if let user { location += "&user=\(user)" }
        if let problem, let escaped = problem.addingPercentEncoding(withAllowedCharacters: .alphanumerics) { location += "&problem=\(escaped)" }
        return Response(status: .seeOther, headers: [.location: location])
    }

    func html(_ body: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
