import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// `/unsend` as a reply to one's own message. Telegram does not tell bots when someone deletes a message in
/// a private chat, so this is how a sender takes one back: the counterpart's copy is deleted (Telegram allows
/// that for 48 hours; after that the copy is edited to say it was withdrawn), what was not delivered yet
/// never goes, and the sender's message is marked 🕊.
struct Withdrawals {
    let localizer: Localizer
    static let withdrawnMark = "🕊"
    /// A little under Telegram's 48 hours, so a deletion queued now is not refused for age.
    static let deleteWindow: TimeInterval = 47 * 3600

    func unsend(_ command: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws {
        let tx = context.tx
        let chat = command.chat.id
        let other = try connection.counterpart(of: sender.id).flatMap { try tx.user($0) }
        let name = other?.displayName ?? "?"
        guard let replied = command.replyToMessage else {
            return try replies.tell(.unsendUsage, to: chat, language: sender.language)
        }
        guard let message = try tx.message(connection: connection.id, sender: sender.id, sourceMessageID: replied.messageID) else {
            return try replies.tell(.unsendNotYours, to: chat, language: sender.language, ["name": name])
        }
        let quote = CounterpartNotices.quote(message.originalText)
        if try tx.messageHasPurpose(message.id) {
            return try replies.tell(.unsendNotForWork, to: chat, language: sender.language)
        }
        guard try tx.withdraw(message.id, now: context.now) else {
            return try replies.tell(.unsendAlready, to: chat, language: sender.language, ["quote": quote])
        }
        var late = false
        if let other {
            let notice = localizer.text(.relayWithdrawnCopy, other.language, ["name": sender.displayName])
            for copy in try tx.copies(of: message.id) {
                let target = ChatID.id(other.id)
                if context.now.timeIntervalSince(copy.createdAt) < Self.deleteWindow {
                    try context.send(DeleteMessage(chatID: target, messageID: copy.chatMessageID), chatID: other.id, slot: connection.slot)
                    continue
                }
                late = true
                switch copy.kind {
                case .text:
                    try context.send(EditMessageText(chatID: target, messageID: copy.chatMessageID, text: notice), chatID: other.id, slot: connection.slot)
                case .caption:
                    try context.send(EditMessageCaption(chatID: target, messageID: copy.chatMessageID, caption: notice), chatID: other.id, slot: connection.slot)
                case .bare where copy.part == 0:
                    try context.send(SendMessage(chatID: target, text: notice, replyParameters: ReplyParameters(messageID: copy.chatMessageID)),
                                     chatID: other.id, slot: connection.slot)
                case .bare:
                    break
                }
            }
        }
        // (A copy in flight right now is deleted as soon as Telegram reports it: `CopyLedger`.)
        try context.send(SetMessageReaction(chatID: .id(sender.id), messageID: replied.messageID, reaction: [.emoji(Self.withdrawnMark)]),
                         chatID: sender.id, lane: .immediate)
        try replies.tell(late ? .unsendDoneLate : .unsendDone, to: chat, language: sender.language, ["name": name, "quote": quote])
    }
}

/// Reactions, mirrored: Telegram reports a person's reaction change to the bot (`message_reaction`, asked for
/// in `allowed_updates`; never for the bot's own reactions, so mirroring cannot loop), and the bot sets the
/// same emoji on the other side's message. Bots set one reaction per message, from Telegram's emoji list:
/// a custom emoji or a paid star cannot be mirrored. Removing one's reaction removes the mirror, and brings
/// back the 👌 delivery mark where it stood.
enum Reactions {
    static func mirror(_ reaction: MessageReactionUpdated, connection: Connection, user: User, context: IntakeContext) throws {
        let tx = context.tx
        guard let message = try tx.conversationMessage(connection: connection, chatOf: user.id, telegramID: reaction.messageID),
              message.withdrawnAt == nil,
              let otherID = connection.counterpart(of: user.id), let other = try tx.user(otherID),
              case let .message(target)? = try Landing.of(message, in: otherID, tx)
        else { return }
        let emoji = reaction.newReaction.compactMap { type -> String? in if case let .emoji(emoji) = type { emoji } else { nil } }.first
        let mirrored: [ReactionType]
        if let emoji {
            mirrored = [.emoji(emoji)]
        } else if !reaction.newReaction.isEmpty {
            return  // only reactions a bot cannot set
        } else if message.senderID == otherID, other.deliveryMarks {
            mirrored = [.emoji(CopyLedger.deliveredMark)]
        } else {
            mirrored = []
        }
        try context.send(SetMessageReaction(chatID: .id(otherID), messageID: target, reaction: mirrored), chatID: otherID, slot: connection.slot)
    }
}
