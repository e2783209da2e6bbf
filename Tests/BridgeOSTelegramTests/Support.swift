import AsyncHTTPClient
import BridgeOSCore
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import Testing

/// ../shared/telegram, beside the repository (as in CI).
let sharedTelegram = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/telegram")

func sharedFile(_ relative: String) throws -> Data {
    let url = sharedTelegram.appendingPathComponent(relative)
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: url.path, NSLocalizedDescriptionKey: "reference data missing: \(url.path) (../shared must sit beside the repository)"])
    }
    return try Data(contentsOf: url)
}

/// A running sandbox, one HTTP client, and a Bot API client per sandbox bot; everything is shut down after.
func withSandbox<T>(
    bots: Int = 2,
    logs: CapturingLogHandlerStore = CapturingLogHandlerStore(),
    requestTimeout: Duration = .seconds(10),
    _ body: (BotAPISandbox, [BotAPIClient], HTTPClient) async throws -> T
) async throws -> T {
    try await BotAPISandbox.run(bots: SandboxBot.make(bots)) { sandbox in
        try await withHTTPClient { http in
            let configuration = BotAPIConfiguration(baseURL: sandbox.baseURL, requestTimeout: requestTimeout)
            let clients = sandbox.bots.map {
                BotAPIClient(token: $0.token, httpClient: http, configuration: configuration, logger: logs.logger(label: "test.telegram"))
            }
            return try await body(sandbox, clients, http)
        }
    }
}

/// A raw Bot API call with a hand-written body, for calls the typed client cannot produce.
func rawCall(_ sandbox: BotAPISandbox, _ http: HTTPClient, bot: SandboxBot, _ method: String, json: String? = nil, form: String? = nil) async throws -> (status: Int, body: JSONValue) {
    var request = HTTPClientRequest(url: "\(sandbox.baseURL)/bot\(bot.token.secret)/\(method)")
    request.method = .POST
    if let json {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
    } else if let form {
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: form))
    }
    let response = try await http.execute(request, timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 1 << 20)
    return (Int(response.status.code), try JSONDecoder().decode(JSONValue.self, from: Data(buffer: body)))
}

extension BotAPISandbox {
    /// A user who has pressed Start in `bot`'s chat (so the bot may write to them).
    @discardableResult
    func startedUser(_ id: Int64, _ name: String = "Ana", on bot: SandboxBot, language: String = "es") -> TelegramUser {
        let user = addUser(id: id, firstName: name, languageCode: language)
        send("/start", from: id, to: bot)
        return user
    }
}
