import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// What happens to a conversation message between a connected manager and worker. The relay issue plugs
/// translation in here; until then the sender is told that translation is not switched on.
public protocol RelayHandler: Sendable {
    /// Relays `message`; `purpose` (called once the message is stored, in the same transaction) says what
    /// else it is (a task, a confirmed instruction, an announcement), and travels with it. Returns the
    /// stored message, or nil when it was not accepted (the sender was told why).
    @discardableResult
    func relay(_ message: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies,
               purpose: (ConversationMessage) throws -> RelayPurpose?) throws -> ConversationMessage?
    /// The sender edited a message: its copy on the other side follows.
    func edited(_ message: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws
    /// `/unsend` (`command`, a reply to the sender's own message): the counterpart's copy is withdrawn.
    func unsend(_ command: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws
    /// `/check` (as a reply to one's own message, or alone for the last one): how the counterpart reads it,
    /// translated back.
    func check(_ command: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws
    /// A person changed their reaction on a message of the conversation: mirrored on the other side.
    func reacted(_ reaction: MessageReactionUpdated, connection: Connection, user: User, context: IntakeContext) throws
}

extension RelayHandler {
    public func edited(_ message: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws {}
    public func reacted(_ reaction: MessageReactionUpdated, connection: Connection, user: User, context: IntakeContext) throws {}
    public func unsend(_ command: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws {
        try replies.tell(.routeRelayUnavailable, to: command.chat.id, language: sender.language)
    }

    public func relay(_ message: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws {
        try relay(message, connection: connection, sender: sender, context: context, replies: replies, purpose: { _ in nil })
    }

    public func check(_ command: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws {
        try replies.tell(.routeRelayUnavailable, to: command.chat.id, language: sender.language)
    }
}

/// What a relayed message is besides conversation; it shapes how it is delivered.
public enum RelayPurpose: Codable, Sendable, Equatable {
    /// A task for the worker: delivered with its header, due time and Done / Can't buttons.
    case task(id: Int64)
    /// A manager's instruction the worker confirms with a button.
    case confirmation(receipt: Int64)
    /// One worker's copy of an announcement (confirmed with a button when it asks for it).
    case announcement(receipt: Int64)
    /// A worker's reason for not doing a task, relayed to the manager under the task's name.
    case taskDeclined(task: Int64)
}

public struct UnavailableRelay: RelayHandler {
    public init() {}
    public func relay(_ message: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies,
                      purpose: (ConversationMessage) throws -> RelayPurpose?) throws -> ConversationMessage? {
        try replies.send(.routeRelayUnavailable, to: message.chat.id, language: sender.language)
        return nil
    }
}

/// Settings of tasks, confirmations and summaries.
public struct WorkSettings: Sendable {
    /// An unconfirmed instruction: the worker is reminded after this long, the manager told after as long again.
    public var confirmationReminder: TimeInterval
    /// Whether an AI summary provider is configured (else /daily lists the open tasks and says why).
    public var summariesAvailable: Bool

    public init(confirmationReminder: TimeInterval = 3600, summariesAvailable: Bool = false) {
        self.confirmationReminder = max(60, confirmationReminder)
        self.summariesAvailable = summariesAvailable
    }
}

/// Localized replies through the outbox of the current transaction.
public struct Replies {
    let context: IntakeContext
    public let localizer: Localizer

    public func text(_ key: TextKey, _ language: String, _ values: [String: String] = [:]) -> String {
        localizer.text(key, language, values)
    }

    /// Sends a localized text (through `slot`'s bot, default: the bot of the update).
    @discardableResult
    public func send(_ key: TextKey, to chat: Int64, language: String, _ values: [String: String] = [:],
                     keyboard: InlineKeyboardMarkup? = nil, slot: BotSlot? = nil) throws -> [OutboxRow] {
        try context.send(
            SendMessage(chatID: .id(chat), text: text(key, language, values), replyMarkup: keyboard.map { .inline($0) }),
            chatID: chat, slot: slot)
    }

    /// `send`, for a flow that ends with it.
    public func tell(_ key: TextKey, to chat: Int64, language: String, _ values: [String: String] = [:],
                     keyboard: InlineKeyboardMarkup? = nil, slot: BotSlot? = nil) throws {
        try send(key, to: chat, language: language, values, keyboard: keyboard, slot: slot)
    }

    /// Replaces the text (and buttons) of the message a button was pressed on, in place.
    public func edit(chat: Int64, message: Int64, text: String, keyboard: InlineKeyboardMarkup? = nil) throws {
        try context.send(EditMessageText(chatID: .id(chat), messageID: message, text: text, replyMarkup: keyboard), chatID: chat, lane: .immediate)
    }

    /// Every button press gets an answer (Telegram shows a spinner until then).
    public func answer(_ query: CallbackQuery, _ text: String? = nil) throws {
        try context.send(AnswerCallbackQuery(callbackQueryID: query.id, text: text), chatID: query.from.id, lane: .immediate)
    }
}

/// Flow state payloads.
struct FlowData: Codable {
    var language: String?
    var gender: String?
    var inviteToken: String?
    var connectionID: Int64?
    var referral: String?
    var taskID: Int64?
}

extension ConversationState {
    var flowData: FlowData { (try? JSONDecoder().decode(FlowData.self, from: Data(data.utf8))) ?? FlowData() }
}

/// Deep-link payloads of `/start`: `i<slot>_<token>` invites, `r_<code>` referrals. [A-Za-z0-9_] only, ≤ 64.
public enum StartPayload: Equatable, Sendable {
    case invite(slot: BotSlot, token: String)
    case referral(code: String)
    case malformedInvite
    case none

    public init(_ text: String?) {
        guard let text, !text.isEmpty else { self = .none; return }
        guard text.count <= 64 else { self = text.hasPrefix("i") ? .malformedInvite : .none; return }
        if text.hasPrefix("r_") {
            let code = String(text.dropFirst(2))
            self = ManagerCode.isWellFormed(code) ? .referral(code: code.uppercased()) : .none
            return
        }
        guard text.hasPrefix("i") else { self = .none; return }
        let parts = text.dropFirst().split(separator: "_", maxSplits: 1)
        guard parts.count == 2, let number = Int(parts[0]), let slot = BotSlot(number),
              (12...48).contains(parts[1].count), parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        else { self = .malformedInvite; return }
        self = .invite(slot: slot, token: String(parts[1]))
    }

    public static func encodeInvite(slot: BotSlot, token: String) -> String { "i\(slot.number)_\(token)" }
}

/// The industries a manager picks from at registration.
public enum Industry {
    public static let all: [(id: String, key: TextKey)] = [
        ("construction", .industryConstruction), ("restaurant", .industryRestaurant), ("cleaning", .industryCleaning),
        ("hospitality", .industryHospitality), ("logistics", .industryLogistics), ("retail", .industryRetail),
        ("manufacturing", .industryManufacturing), ("agriculture", .industryAgriculture), ("healthcare", .industryHealthcare),
        ("other", .industryOther),
    ]
}

/// The commands shown in Telegram's menu, per language.
public enum BotCommands {
    public static func list(_ localizer: Localizer, language: String) -> [BotCommand] {
        [
            BotCommand("help", localizer.text(.commandHelp, language)),
            BotCommand("menu", localizer.text(.commandMenu, language)),
            BotCommand("workers", localizer.text(.commandWorkers, language)),
            BotCommand("addworker", localizer.text(.commandAddWorker, language)),
            BotCommand("disconnect", localizer.text(.commandDisconnect, language)),
            BotCommand("task", localizer.text(.commandTask, language)),
            BotCommand("tasks", localizer.text(.commandTasks, language)),
            BotCommand("all", localizer.text(.commandAll, language)),
            BotCommand("daily", localizer.text(.commandDaily, language)),
            BotCommand("timezone", localizer.text(.commandTimezone, language)),
            BotCommand("unsend", localizer.text(.commandUnsend, language)),
            BotCommand("check", localizer.text(.commandCheck, language)),
            BotCommand("glossary", localizer.text(.commandGlossary, language)),
            BotCommand("settings", localizer.text(.commandSettings, language)),
            BotCommand("subscription", localizer.text(.commandSubscription, language)),
            BotCommand("refer", localizer.text(.commandRefer, language)),
            BotCommand("feedback", localizer.text(.commandFeedback, language)),
            BotCommand("language", localizer.text(.commandLanguage, language)),
            BotCommand("reset", localizer.text(.commandReset, language)),
            BotCommand("cancel", localizer.text(.commandCancel, language)),
        ]
    }
}

extension Array {
    /// Rows of `size` for keyboards.
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
