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

    public init(freeMessages: Int = 50, unlimitedUsers: Set<Int64> = [], hourlyCap: Int = 300, contextMessages: Int = 6) {
        self.freeMessages = freeMessages
        self.unlimitedUsers = unlimitedUsers
        self.hourlyCap = max(1, hourlyCap)
        self.contextMessages = contextMessages
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
    let entities: [MessageEntity]?
    /// What the message is besides conversation (a task, a confirmed instruction, an announcement).
    var purpose: RelayPurpose?
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
        guard let text = message.text ?? message.caption ?? (message.content == .unsupported ? nil : "") else { return nil }
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
        guard let recipientID = connection.counterpart(of: sender.id), let recipient = try tx.user(recipientID) else { return nil }
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
        let stored = try tx.appendMessage(
            NewMessage(connectionID: connection.id, senderID: sender.id, originalText: text,
                       sourceLanguage: sender.language, targetLanguage: recipient.language, sourceMessageID: message.messageID,
                       mediaGroupID: message.mediaGroupID),
            now: context.now)
        try context.enqueueJob(
            kind: RelayJob.kind, queueKey: "connection:\(connection.id)",
            payload: RelayJob(messageID: stored.id, fromChatID: chat, sourceMessageID: message.messageID,
                              isMedia: message.text == nil, entities: message.text != nil ? message.entities : message.captionEntities,
                              purpose: try purpose(stored)))
        if usage.limitReached, !unlimited,
           try tx.claimPersonNotice(user: manager.id, kind: .upsell, period: month, now: context.now) {
            // The last free message went through: tell the manager before the next one bounces.
            try replies.send(.relayUpsell, to: manager.id, language: manager.language, values, slot: connection.slot)
        }
        return stored
    }

    static func monthPeriod(_ date: Date) -> String { UTCDate(date).monthText }

    static func hourPeriod(_ date: Date) -> String { UTCDate(date).hourText }

    /// When the sliding hour that refused this message has room again, at the latest (HH:MM, UTC).
    static func hourPeriodEnd(_ date: Date) -> String { UTCDate(date.addingTimeInterval(3600)).clockText }
}
