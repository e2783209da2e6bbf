import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// What people are told when delivery stops or fails — once, plainly, in their language:
/// - one side blocks its bot: the other side is told (messages meanwhile are held, and delivered when
///   the bot can write again); when they come back, both are told the line works again;
/// - a manager has not opened a line's bot yet: they are told, through a bot they do use, that someone
///   wrote to them there (the message waits and arrives when they open it);
/// - a message fails for good: its sender is told which one (its first words) and why.
public struct CounterpartNotices: UpdateHandler, DeliveryObserver {
    let localizer: Localizer

    public init(localizer: Localizer) { self.localizer = localizer }

    /// `my_chat_member` in a private chat: blocked (kicked) or back (member).
    public func handle(_ update: Update, context: IntakeContext) throws {
        guard case let .myChatMember(change) = update.kind, change.chat.type == .private, let slot = context.slot else { return }
        if change.newChatMember.status == .kicked {
            try blocked(slot: slot, userID: change.chat.id, context: context)
        } else if change.newChatMember.status == .member {
            try restored(slot: slot, userID: change.chat.id, context: context)
        }
    }

    // MARK: DeliveryObserver

    public func chatBecameUnreachable(slot: BotSlot, chatID: Int64, reason: UnreachableReason, context: IntakeContext) throws {
        switch reason {
        case .notStarted: try notOpened(slot: slot, userID: chatID, context: context)
        case .blocked, .deactivated, .kicked: try blocked(slot: slot, userID: chatID, context: context)
        }
    }

    public func deliveryFailed(_ row: OutboxRow, reason: DeliveryFailure, context: IntakeContext) throws {
        guard let messageID = row.messageID else { return }
        let (key, values): (TextKey, [String: String]) = switch reason {
        case .refused: (.relayUndeliveredRefused, [:])
        case .gaveUp: (.relayUndeliveredFailed, [:])
        case .connectionEnded: (.relayUndeliveredEnded, [:])
        case let .expired(days): (.relayUndeliveredExpired, ["days": "\(days)"])
        }
        try Self.tellSender(of: messageID, key, values, localizer: localizer, context: context)
    }

    /// Telegram took a row carrying a conversation message: where it landed is recorded (`CopyLedger`). Once
    /// the whole message is delivered, a followed one (a confirmed instruction, an announcement) says so in
    /// the manager's status line or summary.
    public func delivered(_ row: OutboxRow, messageIDs: [Int64], context: IntakeContext) throws {
        if row.messageID == nil {
            // Not a conversation message: perhaps a feedback notice, which an admin answers by replying to it.
            if let first = messageIDs.first { try context.tx.feedbackNoticeDelivered(outbox: row.id, chatMessageID: first) }
            return
        }
        guard let message = try CopyLedger(localizer: localizer).delivered(row, messageIDs: messageIDs, context: context),
              let receipt = try context.tx.settleReceipt(message: message.id, to: .delivered, now: context.now)
        else { return }
        try WorkStatus(localizer: localizer).refresh(receipt, context: context)
    }

    /// Telegram has refused to take the message for a while (5xx, the network): its sender learns it is late.
    public func deliveryDelayed(_ row: OutboxRow, context: IntakeContext) throws {
        guard let messageID = row.messageID else { return }
        try Self.tellSender(of: messageID, .relayDeliveryDelayed, localizer: localizer, context: context, once: false)
    }

    /// Tells a message's sender, through the connection's bot, that it was not delivered (`key` says why):
    /// once per message (`once`). Nothing when the message or its sender is gone, or they were told already.
    static func tellSender(of messageID: Int64, _ key: TextKey, _ values: [String: String] = [:], localizer: Localizer,
                           context: IntakeContext, once: Bool = true) throws {
        let tx = context.tx
        guard let message = try tx.message(messageID),
              let connection = try tx.connection(message.connectionID),
              let sender = try tx.user(message.senderID)
        else { return }
        if once, !(try tx.claimUndeliveredNotice(message: messageID, now: context.now)) { return }
        if once, let receipt = try tx.settleReceipt(message: messageID, to: .failed, now: context.now) {
            // A followed message: the manager's status line or summary says so too.
            try WorkStatus(localizer: localizer).refresh(receipt, context: context)
        }
        let other = try connection.counterpart(of: sender.id).flatMap { try tx.user($0) }
        var values = values
        values["quote"] = quote(message.originalText)
        values["name"] = other?.displayName ?? "?"
        let text = localizer.text(key, sender.language, values)
        try context.send(SendMessage(chatID: .id(sender.id), text: text), chatID: sender.id, slot: connection.slot)
    }

    /// The first words of a message, to say which one is meant.
    static func quote(_ text: String, limit: Int = 40) -> String { shortQuote(text, limit: limit) }

    // MARK: The situations

    /// The connection `slot`'s bot carries for `userID`, that user, and the other side.
    func parties(slot: BotSlot, userID: Int64, tx: StoreTransaction) throws -> (connection: Connection, user: User, other: User)? {
        guard let connection = try tx.activeConnection(slot: slot, user: userID),
              let user = try tx.user(userID),
              let otherID = connection.counterpart(of: userID), let other = try tx.user(otherID)
        else { return nil }
        return (connection, user, other)
    }

    func blocked(slot: BotSlot, userID: Int64, context: IntakeContext) throws {
        guard let (connection, blocker, other) = try parties(slot: slot, userID: userID, tx: context.tx),
              try context.tx.claimConnectionNotice(connection: connection.id, kind: .counterpartUnreachable, now: context.now)
        else { return }  // (or told already)
        try send(.relayCounterpartBlocked, to: other, about: blocker, slot: slot, context: context)
    }

    func restored(slot: BotSlot, userID: Int64, context: IntakeContext) throws {
        guard let (connection, returning, other) = try parties(slot: slot, userID: userID, tx: context.tx),
              try context.tx.clearConnectionNotice(connection: connection.id, kind: .counterpartUnreachable)
        else { return }  // (or nobody was told it was broken)
        try send(.relayLineRestored, to: other, about: returning, slot: slot, context: context)
        try send(.relayLineRestored, to: returning, about: other, slot: slot, context: context)
    }

    /// `userID` never opened `slot`'s bot, and something waits there for them: tell them through a bot they
    /// do use (their home bot first). The sender is told nothing: the message is not lost, only waiting.
    func notOpened(slot: BotSlot, userID: Int64, context: IntakeContext) throws {
        let tx = context.tx
        guard let (_, recipient, writer) = try parties(slot: slot, userID: userID, tx: tx) else { return }
        let home = try tx.manager(userID)?.homeSlot
        let candidates = (home.map { [$0] } ?? []) + BotSlot.all
        var via: BotSlot?
        for candidate in candidates where candidate != slot && context.bots[candidate] != nil {
            if try tx.hasBotChat(slot: candidate, user: userID), try tx.unreachableChat(slot: candidate, chatID: userID) == nil {
                via = candidate
                break
            }
        }
        guard let via, let bot = context.bots[slot] else {
            // The recipient cannot be told (no other bot of theirs): the writer learns what their messages wait for.
            let text = localizer.text(.relayWaitingForRecipient, writer.language, ["name": recipient.displayName, "slot": "\(slot.number)"])
            try context.send(SendMessage(chatID: .id(writer.id), text: text), chatID: writer.id, slot: slot)
            return
        }
        let text = localizer.text(.relayWaitingForOpen, recipient.language, [
            "name": writer.displayName, "slot": "\(slot.number)", "bot": bot.username,
        ])
        try context.send(SendMessage(chatID: .id(userID), text: text), chatID: userID, slot: via)
    }

    private func send(_ key: TextKey, to recipient: User, about person: User, slot: BotSlot, context: IntakeContext) throws {
        let text = localizer.text(key, recipient.language, ["name": person.displayName])
        try context.send(SendMessage(chatID: .id(recipient.id), text: text), chatID: recipient.id, slot: slot)
    }
}
