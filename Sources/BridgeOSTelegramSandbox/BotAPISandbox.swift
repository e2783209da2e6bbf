import AsyncHTTPClient
import BridgeOSTelegram
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A stand-in for the Telegram Bot API on 127.0.0.1, for tests, benchmarks and demos.
///
/// It serves up to five (or more) bots, keeps chats with simulated users, and checks **every** call against
/// the official Bot API spec and Telegram's limits, answering as Telegram would (same status codes and
/// error bodies) and recording each call a correct client would never make as a `SandboxViolation`.
///
/// ```swift
/// try await BotAPISandbox.run(bots: SandboxBot.make(5)) { sandbox in
///     let client = BotAPIClient(token: sandbox.bots[0].token, httpClient: http,
///                               configuration: .init(baseURL: sandbox.baseURL), logger: logger)
///     …
/// }
/// ```
public final class BotAPISandbox: Sendable {
    public let bots: [SandboxBot]
    /// `http://127.0.0.1:<port>`: give it to the client as its base URL.
    public let baseURL: String
    public let port: Int
    let state: SandboxState
    /// Delivers updates to webhooks (only ever to 127.0.0.1: see `routeWebhooks`).
    let webhookClient: HTTPClient

    init(bots: [SandboxBot], port: Int, state: SandboxState, webhookClient: HTTPClient) {
        self.webhookClient = webhookClient
        self.bots = bots
        self.port = port
        self.baseURL = "http://127.0.0.1:\(port)"
        self.state = state
    }

    /// Starts a sandbox on an ephemeral port, runs `body`, and stops the server, whatever happens.
    public static func run<T>(
        bots: [SandboxBot] = SandboxBot.make(5),
        logger: Logger = Logger(label: "bridgeos.sandbox", factory: { _ in SwiftLogNoOpLogHandler() }),
        _ body: (BotAPISandbox) async throws -> T
    ) async throws -> T {
        let state = SandboxState(bots: bots, spec: try BotAPISpec.embedded())
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: SandboxResponder(state: state),
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0), serverName: "BridgeOS Bot API sandbox"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let result = try await LoopbackServer.serve(app, ports: portStream, logger: logger, beforeStop: { state.close() }) { port in
                let sandbox = BotAPISandbox(bots: bots, port: port, state: state, webhookClient: http)
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await sandbox.deliverWebhooks() }
                    defer { group.cancelAll() }
                    return try await body(sandbox)
                }
            }
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    public var specVersion: String { state.spec.version }

    // MARK: Simulated people

    /// Registers a simulated Telegram user (idempotent; updates the profile).
    @discardableResult
    public func addUser(id: Int64, firstName: String, lastName: String? = nil, username: String? = nil, languageCode: String? = "en") -> TelegramUser {
        state.addUser(TelegramUser(id: id, firstName: firstName, lastName: lastName, username: username, languageCode: languageCode))
    }

    /// The simulated users, by id.
    public var users: [TelegramUser] { state.state.withLock { $0.users.values.map(\.user).sorted { $0.id < $1.id } } }

    /// Whether `userID` has blocked `bot`.
    public func hasBlocked(_ bot: SandboxBot, userID: Int64) -> Bool {
        state.state.withLock { $0.users[userID]?.blocked.contains(bot.token.botID) ?? false }
    }

    /// Adds a group chat that the given bots belong to (`id` negative, as Telegram's are).
    public func addGroup(id: Int64, title: String, bots: [SandboxBot]) {
        state.state.withLock { $0.groups[id] = (Chat(id: id, type: .group, title: title), Set(bots.map(\.token.botID))) }
    }

    /// The user sends text (commands, mentions, URLs get their entities as Telegram adds them).
    @discardableResult
    public func send(_ text: String, from userID: Int64, to bot: SandboxBot, inGroup groupID: Int64? = nil, entities: [MessageEntity]? = nil, replyTo: Int64? = nil) -> Message? {
        let replied = replyTo.flatMap { id in message(id, bot: bot, chatID: groupID ?? userID) }
        return state.userSends(from: userID, to: bot.token.botID, inGroup: groupID) { message in
            message.text = text
            message.entities = entities ?? SandboxState.detectEntities(in: text)
            message.replyToMessage = replied.flatMap { try? JSONValue(encoding: $0).decode(RepliedMessage.self) }
        }
    }

    /// The user sends a photo, voice note, video, document, … with an optional caption.
    @discardableResult
    public func sendMedia(_ kind: SendMedia.Kind, from userID: Int64, to bot: SandboxBot, caption: String? = nil, bytes: Data? = nil, mediaGroupID: String? = nil) -> Message? {
        let file = state.storeFile(botID: bot.token.botID, kind: kind, bytes: bytes ?? Data("sandbox \(kind.rawValue) from \(userID)".utf8))
        return state.userSends(from: userID, to: bot.token.botID) { message in
            SandboxState.attach(kind, fileID: file.id, uniqueID: file.uniqueID, size: file.size, to: &message)
            message.caption = caption
            message.captionEntities = caption.flatMap(SandboxState.detectEntities)
            message.mediaGroupID = mediaGroupID
        }
    }

    /// One item of an album the user sends (`mediaGroupID` shared by its items, as Telegram sends them).
    @discardableResult
    public func sendAlbumItem(_ kind: SendMedia.Kind, from userID: Int64, to bot: SandboxBot, mediaGroupID: String, caption: String? = nil) -> Message? {
        sendMedia(kind, from: userID, to: bot, caption: caption, mediaGroupID: mediaGroupID)
    }

    /// The user sends media as a reply to message `replyTo` of their chat.
    @discardableResult
    public func sendMedia(_ kind: SendMedia.Kind, from userID: Int64, to bot: SandboxBot, caption: String?, replyTo: Int64) -> Message? {
        let replied = message(replyTo, bot: bot, chatID: userID)
        let file = state.storeFile(botID: bot.token.botID, kind: kind, bytes: Data("sandbox \(kind.rawValue) from \(userID)".utf8))
        return state.userSends(from: userID, to: bot.token.botID) { message in
            SandboxState.attach(kind, fileID: file.id, uniqueID: file.uniqueID, size: file.size, to: &message)
            message.caption = caption
            message.captionEntities = caption.flatMap(SandboxState.detectEntities)
            message.replyToMessage = replied.flatMap { try? JSONValue(encoding: $0).decode(RepliedMessage.self) }
        }
    }

    @discardableResult
    public func sendPoll(question: String, options: [String], from userID: Int64, to bot: SandboxBot) -> Message? {
        let id = "\(state.nextNumber())"
        return state.userSends(from: userID, to: bot.token.botID) { $0.poll = Poll(id: id, question: question, options: options) }
    }

    @discardableResult
    public func sendVenue(title: String, address: String, latitude: Double, longitude: Double, from userID: Int64, to bot: SandboxBot) -> Message? {
        let location = Location(latitude: latitude, longitude: longitude)
        return state.userSends(from: userID, to: bot.token.botID) { message in
            message.venue = Venue(location: location, title: title, address: address)
            message.location = location
        }
    }

    /// A dice throw: something a bot cannot pass on.
    @discardableResult
    public func sendDice(from userID: Int64, to bot: SandboxBot) -> Message? {
        state.userSends(from: userID, to: bot.token.botID) { $0.dice = Dice(emoji: "🎲", value: 4) }
    }

    /// The user sets (`emoji`) or removes (nil) their reaction on message `messageID` of their chat with `bot`.
    @discardableResult
    public func react(_ emoji: String?, to messageID: Int64, by userID: Int64, bot: SandboxBot) -> Bool {
        state.userReacts(userID: userID, botID: bot.token.botID, messageID: messageID, emoji: emoji)
    }

    /// The bot's reaction on a message of a chat (empty when none).
    public func botReaction(_ bot: SandboxBot, chatID: Int64, messageID: Int64) -> [ReactionType] {
        state.state.withLock { $0.botReactions[SandboxState.ChatKey(botID: bot.token.botID, chatID: chatID)]?[messageID] ?? [] }
    }

    @discardableResult
    public func sendLocation(latitude: Double, longitude: Double, from userID: Int64, to bot: SandboxBot) -> Message? {
        state.userSends(from: userID, to: bot.token.botID) { $0.location = Location(latitude: latitude, longitude: longitude) }
    }

    @discardableResult
    public func sendContact(phone: String, firstName: String, from userID: Int64, to bot: SandboxBot) -> Message? {
        state.userSends(from: userID, to: bot.token.botID) { $0.contact = Contact(phoneNumber: phone, firstName: firstName) }
    }

    /// The user edits a message they sent earlier.
    @discardableResult
    public func edit(messageID: Int64, from userID: Int64, to bot: SandboxBot, newText: String) -> Message? {
        state.userEdits(botID: bot.token.botID, chatID: userID, messageID: messageID, newText: newText)
    }

    /// The user presses the inline button with `callbackData` (or, if nil, the one whose text is `buttonText`)
    /// on a bot message. Returns the callback query id, or nil if there is no such button.
    @discardableResult
    public func press(_ callbackData: String? = nil, buttonText: String? = nil, on message: Message, by userID: Int64, bot: SandboxBot) -> String? {
        let current = self.message(message.messageID, bot: bot, chatID: message.chat.id) ?? message
        let buttons = current.replyMarkup.map { Array($0.inlineKeyboard.joined()) } ?? []
        guard let button = buttons.first(where: { callbackData != nil ? $0.callbackData == callbackData : $0.text == buttonText }),
              let data = button.callbackData
        else { return nil }
        return state.userPresses(userID: userID, botID: bot.token.botID, chatID: message.chat.id, messageID: message.messageID, callbackData: data)
    }

    /// A press whose callback data no button of the message carries: what a modified client or a replayed
    /// request may send. Bots must treat callback data as untrusted; this lets tests prove it.
    public func pressForged(_ callbackData: String, on message: Message, by userID: Int64, bot: SandboxBot) -> String? {
        state.userPresses(userID: userID, botID: bot.token.botID, chatID: message.chat.id, messageID: message.messageID, callbackData: callbackData)
    }

    /// The user blocks the bot (Telegram sends `my_chat_member` with status `kicked`).
    public func block(_ bot: SandboxBot, by userID: Int64) { state.setBlocked(true, userID: userID, botID: bot.token.botID) }

    /// The user unblocks the bot (`my_chat_member` with status `member`).
    public func unblock(_ bot: SandboxBot, by userID: Int64) { state.setBlocked(false, userID: userID, botID: bot.token.botID) }

    /// The user deletes their account: every send to them fails with 403 "user is deactivated".
    public func deactivate(userID: Int64) { state.state.withLock { $0.users[userID]?.deactivated = true } }

    // MARK: Faults

    /// Makes matching calls fail (429, 5xx) or slow down, as Telegram sometimes does.
    public func inject(_ fault: SandboxFault) { state.state.withLock { $0.faults.append(fault) } }

    /// Injected faults not used up yet, with the number of calls each will still affect.
    public var remainingFaults: [SandboxFault] { state.state.withLock { $0.faults } }

    // MARK: Inspection

    /// Every message of a bot's chat, both directions, in order.
    public func chat(_ bot: SandboxBot, _ chatID: Int64) -> [SandboxChatMessage] {
        state.state.withLock { $0.chats[SandboxState.ChatKey(botID: bot.token.botID, chatID: chatID)]?.messages ?? [] }
    }

    /// What the bot sent to a chat, in order.
    public func botMessages(_ bot: SandboxBot, _ chatID: Int64) -> [Message] {
        chat(bot, chatID).filter(\.fromBot).map(\.message)
    }

    public func message(_ id: Int64, bot: SandboxBot, chatID: Int64) -> Message? {
        chat(bot, chatID).first { $0.message.messageID == id }?.message
    }

    public var violations: [SandboxViolation] { state.state.withLock { $0.violations } }

    public var calls: [RecordedCall] { state.state.withLock { $0.calls } }

    /// Long polls waiting for an update now.
    public var waitingPolls: Int { state.state.withLock { $0.bots.values.count { $0.waiter != nil } } }

    public func calls(_ method: String) -> [RecordedCall] { calls.filter { $0.method == method } }

    /// The calls recorded since `index` (a count of all calls ever recorded), and that count now: a reader
    /// that scans incrementally copies only what is new.
    public func calls(since index: Int) -> (calls: [RecordedCall], total: Int) {
        state.state.withLock { state in
            let total = state.forgottenCalls + state.calls.count
            let start = min(max(0, index - state.forgottenCalls), state.calls.count)
            return (Array(state.calls[start...]), total)
        }
    }

    /// Forgets the recorded calls and all but the last `keepingLast` messages of each chat, so a long
    /// benchmark's stand-in does not grow without end. (Counts for `calls(since:)` stay absolute.)
    public func forgetHistory(keepingLast: Int = 20) {
        state.state.withLock { state in
            state.forgottenCalls += state.calls.count
            state.calls.removeAll()
            for key in Array(state.chats.keys) where state.chats[key]!.messages.count > keepingLast {
                state.chats[key]!.messages.removeFirst(state.chats[key]!.messages.count - keepingLast)
            }
        }
    }

    /// Updates waiting to be confirmed by the bot's next `getUpdates`.
    /// The user has a chat with `bot` already (pressed Start some time ago): no update is sent for it.
    public func markStarted(_ bot: SandboxBot, by userID: Int64) {
        state.state.withLock { _ = $0.users[userID]?.started.insert(bot.token.botID) }
    }

    /// Whether a long poll of this bot is waiting for updates right now.
    public func isPolling(_ bot: SandboxBot) -> Bool { state.state.withLock { $0.bots[bot.token.botID]?.waiter != nil } }

    public func pendingUpdates(_ bot: SandboxBot) -> [Update] { state.state.withLock { $0.bots[bot.token.botID]?.pending ?? [] } }

    public func commands(_ bot: SandboxBot, scope: String = "default", languageCode: String = "") -> [BotCommand]? {
        state.state.withLock { $0.bots[bot.token.botID]?.commands["\(scope)|\(languageCode)"] }
    }

    public func webhookURL(_ bot: SandboxBot) -> String? { state.state.withLock { $0.bots[bot.token.botID]?.webhookURL } }

    public func isAnswered(callbackQuery id: String) -> Bool { state.state.withLock { $0.queries[id]?.answered ?? false } }

    /// Waits until `condition` holds (checked every few milliseconds), or fails after `timeout`.
    public func wait(
        timeout: Duration = .seconds(10), _ what: String = "condition",
        until condition: @Sendable (BotAPISandbox) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition(self) {
            guard ContinuousClock.now < deadline else { throw SandboxTimeout(what: what, timeout: timeout) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

public struct SandboxTimeout: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration

    public init(what: String, timeout: Duration) {
        self.what = what
        self.timeout = timeout
    }

    public var description: String { "sandbox: \(what) did not happen within \(timeout)" }
}
