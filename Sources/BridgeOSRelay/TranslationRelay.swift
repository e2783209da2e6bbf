import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import CoreMetrics
import Foundation
import Logging

/// Relay settings.
public struct RelaySettings: Sendable {
    /// Translated messages per calendar month (UTC) without a subscription.
    public var freeMessages: Int
    /// People never limited (testers, staff).
    public var unlimitedUsers: Set<Int64>
    /// Messages one person may relay per hour (an album counts as one). Below it a burst is only paced
    /// (by the outbox, at Telegram's per-chat rate); beyond it messages are refused, the sender told once.
    public var hourlyCap: Int
    /// Earlier messages given to the translator.
    public var contextMessages: Int
    /// How long an album's first item waits for the rest (Telegram sends an album as separate messages).
    public var albumWait: TimeInterval

    public init(freeMessages: Int = 50, unlimitedUsers: Set<Int64> = [], hourlyCap: Int = 300, contextMessages: Int = 6,
                albumWait: TimeInterval = 1.5) {
        self.freeMessages = freeMessages
        self.unlimitedUsers = unlimitedUsers
        self.hourlyCap = max(1, hourlyCap)
        self.contextMessages = contextMessages
        self.albumWait = max(0, albumWait)
    }
}

/// The job that translates and delivers one stored message.
struct RelayJob: Codable {
    static let kind = "relay"
    let messageID: Int64
    /// The sender's chat and message, for copying media.
    let fromChatID: Int64
    let sourceMessageID: Int64
    let isMedia: Bool
    /// The entities as they were when it was queued (jobs queued before 0008 stored them only here).
    let entities: [MessageEntity]?
    /// What the message is besides conversation (a task, a confirmed instruction, an announcement).
    var purpose: RelayPurpose?
    /// Media delivered in a way of its own (a voice message's label, a poll's translated question).
    var media: RelayMedia?
    /// A voice message's file (to transcribe).
    var voice: VoiceFile?
}

/// The intake side of the relay: in the update's transaction, it applies the hourly cap and the usage
/// quota, stores the message and queues its translation job (in order per conversation). A refusal is
/// explained to the sender once per period, never silently.
public struct TranslationRelay: RelayHandler {
    let settings: RelaySettings

    public init(settings: RelaySettings) { self.settings = settings }

    public func relay(_ message: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies,
                      purpose: (ConversationMessage) throws -> RelayPurpose?) throws -> ConversationMessage? {
        let tx = context.tx
        let chat = message.chat.id
        guard let recipientID = connection.counterpart(of: sender.id), let recipient = try tx.user(recipientID) else { return nil }
        guard let shape = RelayShape(message) else {
            // A dice, a game, a story…: nothing Telegram lets a bot copy across; the sender hears so. (A service
            // message, such as a pin, is nobody's message and needs no answer.)
            if message.isUnrelayableContent {
                try replies.send(.relayUnsupportedKind, to: chat, language: sender.language, ["name": recipient.displayName])
            }
            return nil
        }
        let text = shape.text
        // The hourly cap protects the quota from a runaway client; an album counts as one message.
        let hourAgo = context.now.addingTimeInterval(-3600)
        let inAlbumSeen = try message.mediaGroupID.map { try tx.albumSeen(sender: sender.id, mediaGroupID: $0, since: hourAgo) } ?? false
        if !inAlbumSeen, try tx.sentMessageCount(sender: sender.id, since: hourAgo) >= settings.hourlyCap {
            if try tx.claimPersonNotice(user: sender.id, kind: .hourlyCap, period: Self.hourPeriod(context.now), now: context.now) {
                let until = Self.hourPeriodEnd(context.now)
                try replies.send(.relayHourlyCap, to: chat, language: sender.language, [
                    "limit": "\(settings.hourlyCap)", "quote": CounterpartNotices.quote(text), "time": until,
                ])
            }
            return nil
        }
        // Usage: both directions count against the manager's quota.
        let subscribed = try tx.subscription(manager: connection.managerID)?.isActive(at: context.now) ?? false
        let unlimited = subscribed || settings.unlimitedUsers.contains(connection.managerID) || settings.unlimitedUsers.contains(sender.id)
        let usage = try tx.countUsage(manager: connection.managerID, limit: unlimited ? nil : settings.freeMessages, now: context.now)
        let month = Self.monthPeriod(context.now)
        let values = ["limit": "\(settings.freeMessages)"]
        let manager = sender.id == connection.managerID ? sender : recipient
        guard usage.accepted else {
            // Once per month per person: the first refusal says that this and the next ones are not delivered.
            if try tx.claimPersonNotice(user: sender.id, kind: .quotaRefused, period: month, now: context.now) {
                try replies.send(.relayLimitReached, to: chat, language: sender.language, values)
            }
            if try tx.claimPersonNotice(user: manager.id, kind: .upsell, period: month, now: context.now) {
                try replies.send(.relayUpsell, to: manager.id, language: manager.language, values, slot: connection.slot)
            }
            return nil
        }
        // A reply names the conversation message it answers (the map finds it from either side's message id).
        let repliedTo = try message.replyToMessage.flatMap {
            try tx.conversationMessage(connection: connection, chatOf: sender.id, telegramID: $0.messageID)
        }
        let stored = try tx.appendMessage(
            NewMessage(connectionID: connection.id, senderID: sender.id, originalText: text,
                       sourceLanguage: sender.language, targetLanguage: recipient.language, sourceMessageID: message.messageID,
                       mediaGroupID: message.mediaGroupID, replyToID: repliedTo?.id, entities: shape.entities?.storedJSON, kind: shape.kind),
            now: context.now)
        // An album's first item waits a moment for the rest, and holds back what follows it in the
        // conversation meanwhile (so a text sent after an album arrives after it).
        let albumStart = message.mediaGroupID != nil && !inAlbumSeen
        try context.enqueueJob(
            kind: RelayJob.kind, queueKey: "connection:\(connection.id)",
            payload: RelayJob(messageID: stored.id, fromChatID: chat, sourceMessageID: message.messageID,
                              isMedia: shape.kind != .text, entities: shape.entities, purpose: try purpose(stored), media: shape.media,
                              voice: shape.voice),
            notBefore: albumStart && settings.albumWait > 0 ? context.now.addingTimeInterval(settings.albumWait) : nil)
        // Translation is failing in this conversation: the message waits behind the ones that met the
        // outage, so its sender is told now (once per outage), not only the sender whose message met it.
        if try tx.hasConnectionNotice(connection: connection.id, kind: .delayed),
           try tx.claimConnectionNotice(connection: connection.id, kind: .delayed, user: sender.id, now: context.now) {
            try replies.send(.relayDelayed, to: chat, language: sender.language)
        }
        if usage.limitReached, !unlimited,
           try tx.claimPersonNotice(user: manager.id, kind: .upsell, period: month, now: context.now) {
            // The last free message went through: tell the manager before the next one bounces.
            try replies.send(.relayUpsell, to: manager.id, language: manager.language, values, slot: connection.slot)
        }
        return stored
    }

    public func edited(_ message: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws {
        try MessageEdits(localizer: replies.localizer).edited(message, connection: connection, sender: sender, context: context, replies: replies)
    }

    public func unsend(_ command: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws {
        try Withdrawals(localizer: replies.localizer).unsend(command, connection: connection, sender: sender, context: context, replies: replies)
    }

    public func check(_ command: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws {
        try BackTranslationIntake().check(command, connection: connection, sender: sender, context: context, replies: replies)
    }

    public func reacted(_ reaction: MessageReactionUpdated, connection: Connection, user: User, context: IntakeContext) throws {
        try Reactions.mirror(reaction, connection: connection, user: user, context: context)
    }

    static func monthPeriod(_ date: Date) -> String { UTCDate(date).monthText }

    static func hourPeriod(_ date: Date) -> String { UTCDate(date).hourText }

    /// When the sliding hour that refused this message has room again, at the latest (HH:MM, UTC).
    static func hourPeriodEnd(_ date: Date) -> String { UTCDate(date.addingTimeInterval(3600)).clockText }
}

/// What of a Telegram message the relay carries: the text to translate (a caption, a poll's question and
/// options), its entities, and what its copy is.
struct RelayShape {
    var text: String
    var entities: [MessageEntity]?
    var kind: MessageCopy.Kind
    var media: RelayMedia?
    var voice: VoiceFile?

    init?(_ message: Message) {
        switch message.content {
        case let .text(text):
            self.init(text: text, entities: message.entities, kind: .text, media: nil)
        case .photo, .video, .animation, .audio, .document:
            self.init(text: message.caption ?? "", entities: message.captionEntities, kind: .caption, media: .other)
        case let .voice(voice):
            self.init(text: message.caption ?? "", entities: message.captionEntities, kind: .caption, media: .voice)
            self.voice = VoiceFile(fileID: voice.fileID, mimeType: voice.mimeType, fileSize: voice.fileSize)
        case .videoNote:
            self.init(text: "", entities: nil, kind: .bare, media: .videoNote)
        case let .poll(poll):
            let text = ([poll.question] + poll.options.map { "• " + $0.text }).joined(separator: "\n")
            self.init(text: text, entities: nil, kind: .bare, media: .poll)
        case .sticker, .location, .venue, .contact:
            self.init(text: "", entities: nil, kind: .bare, media: .other)
        case .unsupported:
            return nil
        }
    }

    init(text: String, entities: [MessageEntity]?, kind: MessageCopy.Kind, media: RelayMedia?) {
        self.text = text
        self.entities = entities?.isEmpty == true ? nil : entities
        self.kind = kind
        self.media = media
    }
}
