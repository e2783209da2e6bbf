import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import CoreMetrics
import Foundation
import Logging

/// The job that translates an edited message again and updates the counterpart's copy.
struct EditJob: Codable {
    static let kind = "relay-edit"
    let messageID: Int64
    /// The edit it was queued for: a later edit's job does the work instead.
    let revision: Int
}

/// Edits: the sender corrects a message, and the counterpart's copy follows, translated again with the
/// same context. An edit that comes before the message was translated is simply what gets translated (the
/// relay job reads the text when it runs); one that comes later edits the copy in place, or, where Telegram
/// cannot (a text split in parts, a caption grown too long), sends the correction as a reply to it.
struct MessageEdits {
    let localizer: Localizer

    /// `edited_message`, in the update's transaction: the new text is stored and its translation queued, in
    /// order with the conversation's other messages.
    func edited(_ edited: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws {
        let tx = context.tx
        guard let message = try tx.message(connection: connection.id, sender: sender.id, sourceMessageID: edited.messageID),
              message.withdrawnAt == nil
        else { return }
        let text: String
        let entities: [MessageEntity]?
        switch message.kind {
        case .text:
            guard let new = edited.text else { return }
            (text, entities) = (new, edited.entities)
        case .caption:
            (text, entities) = (edited.caption ?? "", edited.captionEntities)
        case .bare:
            return  // a live location moving, a poll closing: nothing of the text changed
        }
        if try tx.messageHasPurpose(message.id) {
            return try replies.tell(.relayEditNotRelayed, to: sender.id, language: sender.language)
        }
        let json = entities?.storedJSON
        guard text != message.originalText || json != message.entities,
              let revision = try tx.editMessage(message.id, text: text, entities: json, now: context.now)
        else { return }
        try context.enqueueJob(kind: EditJob.kind, queueKey: "connection:\(connection.id)",
                               payload: EditJob(messageID: message.id, revision: revision))
    }

    /// Puts `translated` (the message's latest edit) where the counterpart reads the message, in the job's
    /// completing transaction.
    func apply(_ message: ConversationMessage, translated: Translated, recipient: User, connection: Connection, context: IntakeContext) throws {
        let tx = context.tx
        // Erased by an admin meanwhile: nothing is written back or sent.
        guard try !tx.erasedSince(message) else { return }
        let previous = message.translatedText
        try tx.setTranslation(of: message.id, to: translated.text, revision: message.revision, provider: translated.provider)
        defer { _ = try? tx.setCopiesRevision(message: message.id, revision: message.revision) }
        guard translated.text != previous else { return }  // the translation did not change: nothing to show
        let delivery = CopyDelivery(localizer: localizer)
        var shown = delivery.decorated(translated, original: message.originalText, recipient: recipient)
        if translated.transcribed {
            let name = try tx.user(message.senderID)?.displayName ?? "?"
            shown = delivery.labelled(shown, localizer.text(.relayVoiceTranscribedLabel, recipient.language, ["name": name]))
        }
        let markup = delivery.keyboard(nil, adding: delivery.originalRow(message.id, translated: translated, recipient: recipient))
        let landing: Landing
        let kind: MessageCopy.Kind
        let parts: Int
        if let first = try tx.copies(of: message.id).first {
            landing = .message(first.chatMessageID)
            kind = first.kind
            parts = try tx.copies(of: message.id).count
        } else {
            // Not delivered yet: the edit follows the row that carries it, and applies once it is sent.
            let open = try tx.carryingRows(of: message.id).filter { [.pending, .inFlight, .unreachable].contains($0.status) }
            guard let first = open.first else { return }  // never delivered (its sender was told): nothing to correct
            landing = .row(first.id)
            kind = first.method == SendMessage.name ? .text : message.kind == .caption ? .caption : .bare
            parts = open.count
            // Not taken by Telegram yet: its content is replaced before it goes (one message, no edit after).
            if parts == 1, [.pending, .unreachable].contains(first.status),
               let payload = replaced(first.payload, kind: kind, with: shown, markup: markup),
               try tx.replaceWaitingPayload(first.id, payload: payload, now: context.now) {
                return
            }
        }
        let chat = ChatID.id(recipient.id)
        let target = landing.target
        if parts == 1, kind == .text, !shown.text.isEmpty, shown.text.utf16.count <= OutboxWriter.textLimit {
            try context.send(EditMessageText(chatID: chat, messageID: target.messageID, text: shown.text, entities: shown.entities?.nilIfEmpty,
                                             replyMarkup: markup),
                             chatID: recipient.id, slot: connection.slot, after: target.dependency)
        } else if parts == 1, kind == .caption, shown.text.utf16.count <= OutboxWriter.captionLimit {
            try context.send(EditMessageCaption(chatID: chat, messageID: target.messageID, caption: shown.text,
                                                captionEntities: shown.entities?.nilIfEmpty, replyMarkup: markup),
                             chatID: recipient.id, slot: connection.slot, after: target.dependency)
        } else {
            let corrected = delivery.labelled(shown, localizer.text(.relayCorrected, recipient.language))
            let reply = landing.reply
            try context.send(SendMessage(chatID: chat, text: corrected.text, entities: corrected.entities?.nilIfEmpty,
                                         replyParameters: reply.parameters, replyMarkup: markup.map { .inline($0) }),
                             chatID: recipient.id, slot: connection.slot, after: reply.dependency, messageID: message.id, reportDelivery: true)
        }
    }
}

extension MessageEdits {
    /// `payload` (a waiting row's) with the new text or caption, its other fields (the reply, the chat) kept;
    /// nil when it cannot take it (too long, a kind without text).
    func replaced(_ payload: String, kind: MessageCopy.Kind, with shown: Translated, markup: InlineKeyboardMarkup?) -> String? {
        guard case var .object(fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(payload.utf8)) else { return nil }
        let length = shown.text.utf16.count
        let entities = try? shown.entities?.nilIfEmpty.map { try JSONValue(encoding: $0) }
        switch kind {
        case .text:
            guard length > 0, length <= OutboxWriter.textLimit else { return nil }
            fields["text"] = .string(shown.text)
            fields["entities"] = entities ?? nil
        case .caption:
            guard length <= OutboxWriter.captionLimit else { return nil }
            fields["caption"] = .string(shown.text)
            fields["caption_entities"] = entities ?? nil
        case .bare:
            return nil
        }
        fields["reply_markup"] = try? markup.map { try JSONValue(encoding: $0) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(JSONValue.object(fields))).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Translates an edited message again (with the context it was first translated in) and updates the copy.
public struct RelayEditJobHandler: JobHandler {
    public let kind = EditJob.kind
    let database: AppDatabase
    let localizer: Localizer
    let settings: RelaySettings
    let translation: RelayTranslation

    public func run(_ job: JobRow) async throws -> JobCompletion {
        let payload = try JSONDecoder().decode(EditJob.self, from: Data(job.payload.utf8))
        guard let input = try TranslationInput.load(payload.messageID, contextMessages: settings.contextMessages, database: database) else {
            return .nothing  // retention took the message meanwhile
        }
        let message = input.message
        // Nothing to do: a later edit's job will do it, the relay job translated this very edit (it was still
        // waiting), the message was never relayed, or it was withdrawn or its conversation ended.
        guard payload.revision == message.revision, let done = message.translatedRevision, done < message.revision,
              message.withdrawnAt == nil, input.connection.isActive
        else { return .nothing }
        var translated: Translated
        if let transcript = message.transcript, !transcript.isEmpty {
            // A transcribed voice note: its words stay under the edited caption.
            translated = try await translation.translateVoice(message.spoken(transcript), input)
        } else {
            translated = try await translation.translate(message.originalText, entities: message.storedEntities, input)
        }
        let edits = MessageEdits(localizer: localizer)
        let (recipient, connection) = (input.recipient, input.connection)
        return JobCompletion { [translated] context in
            guard let current = try context.tx.message(message.id), current.revision == message.revision, current.withdrawnAt == nil,
                  (current.translatedRevision ?? .max) < current.revision
            else { return }
            try edits.apply(current, translated: translated, recipient: recipient, connection: connection, context: context)
        }
    }
}
