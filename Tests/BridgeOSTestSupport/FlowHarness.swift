import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Logging
import Testing

/// The embedded locales, for tests that compare with the texts people see.
public let localizer: Localizer = {
    do { return try Localizer.embedded(logger: Logger(label: "test.locales")) } catch { fatalError("locales do not load: \(error)") }
}()

public func en(_ key: TextKey, _ values: [String: String] = [:]) -> String { localizer.text(key, "en", values) }
public func text(_ key: TextKey, _ language: String, _ values: [String: String] = [:]) -> String { localizer.text(key, language, values) }

/// The runtime with the conversation flows, against a sandbox with `bots` bots.
public func withFlows<T>(bots: Int = 5, existingDatabase: String? = nil, sandbox: BotAPISandbox? = nil,
                         webhook: (baseURL: String, timings: WebhookTimings)? = nil, _ body: (Harness) async throws -> T) async throws -> T {
    try await withRuntime(bots: bots, handler: ConversationRouter(localizer: localizer), existingDatabase: existingDatabase, sandbox: sandbox,
                          webhook: webhook, body)
}

extension Harness {
    /// The newest message a bot sent to a chat.
    public func last(_ bot: SandboxBot, _ chat: Int64) -> Message? { sandbox.botMessages(bot, chat).last }

    /// Sends text and waits until the bot has answered with `replies` more messages (or edited one).
    @discardableResult
    public func say(_ text: String, from user: Int64, to bot: SandboxBot, replies: Int = 1) async throws -> Message? {
        let before = sandbox.botMessages(bot, user).count
        sandbox.send(text, from: user, to: bot)
        try await waitForTexts(bot, user, count: before + replies)
        return last(bot, user)
    }

    /// Presses the button with `data` on the newest bot message that has it, waits for the answer and for the
    /// message to change (or a new message to arrive).
    public func press(_ data: String, by user: Int64, on bot: SandboxBot, newMessages: Int = 0) async throws {
        let messages = sandbox.botMessages(bot, user)
        let target = try #require(messages.last { $0.replyMarkup?.inlineKeyboard.joined().contains { $0.callbackData == data } == true },
                                  "no button \(data) in \(bot.username)'s chat with \(user)")
        let before = messages.count
        let query = try #require(sandbox.press(data, on: target, by: user, bot: bot))
        try await sandbox.wait(timeout: .seconds(10), "answer to \(data)") { $0.isAnswered(callbackQuery: query) }
        try await sandbox.wait(timeout: .seconds(10), "effect of \(data)") { sandbox in
            let now = sandbox.botMessages(bot, user)
            return now.count >= before + newMessages && (newMessages > 0 || now.first { $0.messageID == target.messageID } != target)
        }
    }

    /// Registers `user` as a manager through `bot` (language, gender, industry). Returns their code.
    @discardableResult
    public func registerManager(_ user: Int64, name: String = "Marta", on bot: SandboxBot, language: String = "en") async throws -> String {
        sandbox.addUser(id: user, firstName: name, languageCode: language)
        try await say("/start", from: user, to: bot)
        try await press("reg:lang:\(language)", by: user, on: bot)
        try await press("reg:gender:female", by: user, on: bot)
        try await press("reg:ind:construction", by: user, on: bot)
        let manager = try #require(try database.managers.find(user))
        return manager.code
    }

    /// Creates an invite with /addworker and returns the deep-link payload.
    public func invite(by manager: Int64, on bot: SandboxBot) async throws -> String {
        // Other notices may arrive meanwhile: wait for the reply that carries the link.
        let before = sandbox.botMessages(bot, manager).count
        let hasLink: @Sendable (Message) -> Bool = { $0.text?.contains("https://t.me/") == true }
        sandbox.send("/addworker", from: manager, to: bot)
        try await sandbox.wait(timeout: .seconds(10), "invite link") { $0.botMessages(bot, manager).dropFirst(before).contains(where: hasLink) }
        let reply = try #require(sandbox.botMessages(bot, manager).dropFirst(before).first(where: hasLink))
        let link = try #require(reply.text?.split(separator: "\n").first { $0.hasPrefix("https://t.me/") })
        return String(link.split(separator: "=").last!)
    }

    /// A worker opens an invite link in `bot` and completes language and gender.
    public func join(_ worker: Int64, name: String = "Iván", payload: String, on bot: SandboxBot, language: String = "es") async throws {
        sandbox.addUser(id: worker, firstName: name, languageCode: language)
        try await say("/start \(payload)", from: worker, to: bot)
        try await press("join:lang:\(language)", by: worker, on: bot)
        try await press("join:gender:male", by: worker, on: bot)
        // Wait for the manager's notice too, so it cannot land in the middle of the test's next step.
        guard let connection = try database.connections.active(worker: worker),
              let manager = try database.users.find(connection.managerID) else { return }
        let notice = text(.joinNotifyManager, manager.language, [
            "worker": name, "slot": "\(connection.slot.number)", "bot": bots[connection.slot.number - 1].username,
        ])
        let bots = self.bots
        try await sandbox.wait(timeout: .seconds(10), "manager told about \(name)") { sandbox in
            bots.contains { sandbox.botMessages($0, manager.id).contains { $0.text == notice } }
        }
    }
}
