import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// What follows when Telegram has taken a row carrying a conversation message, in the same transaction:
/// where the copy landed is recorded (the map replies, edits, reactions and /unsend use, both ways); an
/// album's items get their translated captions; a copy of a message withdrawn meanwhile is deleted at once;
/// and once the last part is delivered, the sender's own message gets its 👌.
struct CopyLedger {
    let localizer: Localizer
    static let deliveredMark = "👌"

    /// Records `row`'s copies; returns the message when it is now wholly delivered.
    func delivered(_ row: OutboxRow, messageIDs: [Int64], context: IntakeContext) throws -> ConversationMessage? {
        let tx = context.tx
        guard let messageID = row.messageID, let message = try tx.message(messageID),
              let connection = try tx.connection(message.connectionID), let recipientID = connection.counterpart(of: message.senderID)
        else { return nil }
        if row.method == CopyMessages.name {
            try albumDelivered(row, first: message, copies: messageIDs, connection: connection, recipientID: recipientID, context: context)
        } else if let copyID = messageIDs.first {
            let kind: MessageCopy.Kind = row.method == SendMessage.name ? .text : message.kind == .caption ? .caption : .bare
            try tx.recordCopies(message: message.id, connection: connection.id, parts: [(copyID, kind)],
                                revision: message.translatedRevision ?? 0, now: context.now)
            if message.withdrawnAt != nil { try delete(copyID, in: recipientID, connection: connection, context: context) }
        }
        guard message.withdrawnAt == nil, try !tx.carryingRowsOpen(of: message.id, except: row.id) else { return nil }
        try mark(message, connection: connection, context: context)
        return message
    }

    /// The sender's own message gets 👌 (when they want delivery marks). An announcement's copies go out on
    /// every worker's line, but the manager wrote it in one chat: its 👌 goes there, once, when every copy is
    /// delivered (one still on its way, or not delivered, marks nothing; the summary shows each worker).
    func mark(_ message: ConversationMessage, connection: Connection, context: IntakeContext) throws {
        let tx = context.tx
        guard let source = message.sourceMessageID, let sender = try tx.user(message.senderID), sender.deliveryMarks else { return }
        var slot = connection.slot
        if let receipt = try tx.receipt(message: message.id), let announcementID = receipt.announcementID,
           let announcement = try tx.announcement(announcementID) {
            let others = try tx.receipts(announcement: announcementID).filter { $0.id != receipt.id }
            guard others.allSatisfy({ $0.state == .delivered }) else { return }
            slot = announcement.slot
        }
        try context.send(SetMessageReaction(chatID: .id(sender.id), messageID: source, reaction: [.emoji(Self.deliveredMark)]),
                         chatID: sender.id, slot: slot, lane: .immediate)
    }

    private func delete(_ copyID: Int64, in chat: Int64, connection: Connection, context: IntakeContext) throws {
        try context.send(DeleteMessage(chatID: .id(chat), messageID: copyID), chatID: chat, slot: connection.slot)
    }

    /// An album's copies, item by item (in the order of the ids copied); the captions go on afterwards.
    private func albumDelivered(_ row: OutboxRow, first: ConversationMessage, copies: [Int64], connection: Connection, recipientID: Int64,
                                context: IntakeContext) throws {
        let tx = context.tx
        struct Sources: Decodable {
            let messageIDs: [Int64]
            enum CodingKeys: String, CodingKey { case messageIDs = "message_ids" }
        }
        let sources = (try? JSONDecoder().decode(Sources.self, from: Data(row.payload.utf8)))?.messageIDs ?? []
        guard let recipient = try tx.user(recipientID) else { return }
        let delivery = CopyDelivery(localizer: localizer)
        for (source, copyID) in zip(sources, copies) {
            guard let item = try tx.message(connection: connection.id, sender: first.senderID, sourceMessageID: source) else { continue }
            try tx.recordCopies(message: item.id, connection: connection.id, parts: [(copyID, .caption)],
                                revision: item.translatedRevision ?? 0, now: context.now)
            if item.withdrawnAt != nil {
                try delete(copyID, in: recipientID, connection: connection, context: context)
                continue
            }
            guard let caption = item.translatedText, !caption.isEmpty else { continue }
            let translated = Translated(text: caption, entities: nil, isTranslation: caption != item.originalText)
            let shown = delivery.decorated(translated, original: item.originalText, recipient: recipient)
            let markup = delivery.keyboard(nil, adding: delivery.originalRow(item.id, translated: translated, recipient: recipient))
            if shown.text.utf16.count <= OutboxWriter.captionLimit {
                try context.send(EditMessageCaption(chatID: .id(recipientID), messageID: copyID, caption: shown.text,
                                                    captionEntities: shown.entities?.nilIfEmpty, replyMarkup: markup),
                                 chatID: recipientID, slot: connection.slot)
            } else {
                // Too long for a caption: the text goes right under the item, as a reply to it.
                try context.send(SendMessage(chatID: .id(recipientID), text: shown.text, entities: shown.entities?.nilIfEmpty,
                                             replyParameters: ReplyParameters(messageID: copyID), replyMarkup: markup.map { .inline($0) }),
                                 chatID: recipientID, slot: connection.slot, messageID: item.id, reportDelivery: true)
            }
        }
    }
}
