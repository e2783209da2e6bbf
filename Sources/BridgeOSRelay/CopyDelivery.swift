import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// Where a message of the conversation is in one person's chat.
enum Landing: Equatable {
    /// A Telegram message id there.
    case message(Int64)
    /// Not there yet: the outbox row that will put it there.
    case row(Int64)

    /// `reply_parameters` for a reply to it, and the row whose message id fills it in when it is not sent yet.
    var reply: (parameters: ReplyParameters, dependency: (row: Int64, field: String)?) {
        switch self {
        case let .message(id): (ReplyParameters(messageID: id), nil)
        case let .row(row): (ReplyParameters(messageID: 0), (row, "reply_parameters.message_id"))
        }
    }

    /// The same, for a call that names the message itself (an edit, a deletion).
    var target: (messageID: Int64, dependency: (row: Int64, field: String)?) {
        switch self {
        case let .message(id): (id, nil)
        case let .row(row): (0, (row, "message_id"))
        }
    }

    /// Where conversation message `target` is in `person`'s chat: their own original, or the copy made for
    /// them (delivered, or the row still carrying it). Nil when it is in neither (never delivered, withdrawn).
    static func of(_ target: ConversationMessage, in person: Int64, _ tx: StoreTransaction) throws -> Landing? {
        guard target.withdrawnAt == nil else { return nil }
        if target.senderID == person { return target.sourceMessageID.map(Landing.message) }
        if let copy = try tx.copies(of: target.id).first { return .message(copy.chatMessageID) }
        let waiting = try tx.carryingRows(of: target.id).first { [.pending, .inFlight, .unreachable].contains($0.status) }
        return waiting.map { .row($0.id) }
    }
}

/// How a translated message reaches its recipient: a text (framed by its purpose), a copy of the media with
/// the translated caption, bare media followed by its translated text or label, or an album in one piece.
/// Every row reports where it landed (`CopyLedger`), and a reply goes as a reply to the right message.
struct CopyDelivery {
    let localizer: Localizer

    /// The translation as its recipient reads it: with the original under it when they asked for that.
    func decorated(_ translated: Translated, original: String, recipient: User) -> Translated {
        guard translated.isTranslation, recipient.showOriginal, !original.isEmpty else { return translated }
        let separator = translated.text.isEmpty ? "" : "\n\n"
        let offset = (translated.text + separator).utf16.count
        let quote = MessageEntity(type: .expandableBlockquote, offset: offset, length: original.utf16.count)
        return Translated(text: translated.text + separator + original, entities: (translated.entities ?? []) + [quote], isTranslation: true)
    }

    /// The 🔤 Original button row, for a translation whose recipient reads translations only.
    func originalRow(_ messageID: Int64, translated: Translated, recipient: User) -> [InlineKeyboardButton]? {
        guard translated.isTranslation, !recipient.showOriginal else { return nil }
        return [InlineKeyboardButton(text: localizer.text(.relayShowOriginal, recipient.language), callbackData: "orig:\(messageID)")]
    }

    func keyboard(_ rows: [[InlineKeyboardButton]]?, adding row: [InlineKeyboardButton]?) -> InlineKeyboardMarkup? {
        let all = (rows ?? []) + (row.map { [$0] } ?? [])
        return all.isEmpty ? nil : InlineKeyboardMarkup(all)
    }

    /// Queues one message (not an album) in the transaction that completes its translation job.
    func deliver(_ message: ConversationMessage, translated: Translated, purpose: RelayPurpose?, media: RelayMedia?, fromChatID: Int64,
                 sender: User, recipient: User, connection: Connection, context: IntakeContext) throws {
        let tx = context.tx
        try tx.setTranslation(of: message.id, to: translated.text, revision: message.revision, provider: translated.provider)
        let replyTo = try message.replyToID.flatMap { try tx.message($0) }.flatMap { try Landing.of($0, in: recipient.id, tx) }?.reply
        func send<M: TelegramMethod>(_ method: M, after dependency: (row: Int64, field: String)?) throws -> [OutboxRow] {
            try context.send(method, chatID: recipient.id, slot: connection.slot, after: dependency, messageID: message.id, reportDelivery: true)
        }
        switch message.kind {
        case .text:
            let composed = try WorkDelivery(localizer: localizer).compose(
                purpose, text: translated.text, entities: translated.entities, recipient: recipient, connection: connection, context: context)
            let shown = decorated(Translated(text: composed.text, entities: composed.entities, isTranslation: translated.isTranslation),
                                  original: message.originalText, recipient: recipient)
            let markup = keyboard(composed.keyboard?.inlineKeyboard, adding: originalRow(message.id, translated: translated, recipient: recipient))
            _ = try send(SendMessage(chatID: .id(recipient.id), text: shown.text, entities: shown.entities?.nilIfEmpty,
                                     replyParameters: replyTo?.parameters, replyMarkup: markup.map { .inline($0) }),
                         after: replyTo?.dependency)
        case .caption:
            var shown = decorated(translated, original: message.originalText, recipient: recipient)
            if media == .voice {
                let label: TextKey = translated.transcribed ? .relayVoiceTranscribedLabel : .relayVoiceUntranscribedLabel
                shown = labelled(shown, localizer.text(label, recipient.language, ["name": sender.displayName]))
            }
            let markup = keyboard(nil, adding: originalRow(message.id, translated: translated, recipient: recipient))
            _ = try send(CopyMessage(chatID: .id(recipient.id), fromChatID: .id(fromChatID), messageID: message.sourceMessageID ?? 0,
                                     caption: shown.text.isEmpty ? nil : shown.text, captionEntities: shown.text.isEmpty ? nil : shown.entities?.nilIfEmpty,
                                     replyParameters: replyTo?.parameters, replyMarkup: markup),
                         after: replyTo?.dependency)
        case .bare:
            let copy = try send(CopyMessage(chatID: .id(recipient.id), fromChatID: .id(fromChatID), messageID: message.sourceMessageID ?? 0,
                                            replyParameters: replyTo?.parameters),
                                after: replyTo?.dependency)
            // What the media cannot carry goes right under it, as a reply to it: a poll's question and
            // options translated, a video message's label.
            var follow: (Translated, InlineKeyboardMarkup?)?
            if !translated.text.isEmpty {
                follow = (decorated(translated, original: message.originalText, recipient: recipient),
                          keyboard(nil, adding: originalRow(message.id, translated: translated, recipient: recipient)))
            } else if media == .videoNote {
                follow = (Translated(text: localizer.text(.relayVideoNoteLabel, recipient.language, ["name": sender.displayName]), entities: nil,
                                     isTranslation: false), nil)
            }
            if let (text, markup) = follow, let first = copy.first {
                _ = try send(SendMessage(chatID: .id(recipient.id), text: text.text, entities: text.entities?.nilIfEmpty,
                                         replyParameters: ReplyParameters(messageID: 0), replyMarkup: markup.map { .inline($0) }),
                             after: (first.id, "reply_parameters.message_id"))
            }
        }
    }

    /// Queues an album as one `copyMessages` (without captions): once Telegram has taken it, `CopyLedger`
    /// puts each translated caption on its item.
    func deliverAlbum(_ items: [ConversationMessage], translations: [Int64: Translated], fromChatID: Int64, recipient: User,
                      connection: Connection, context: IntakeContext) throws {
        for item in items {
            try context.tx.setTranslation(of: item.id, to: translations[item.id]?.text ?? "", revision: item.revision,
                                             provider: translations[item.id]?.provider)
        }
        let sources = Array(Set(items.compactMap(\.sourceMessageID))).sorted()
        guard let first = items.first, !sources.isEmpty else { return }
        let captioned = items.contains { !$0.originalText.isEmpty }
        try context.send(CopyMessages(chatID: .id(recipient.id), fromChatID: .id(fromChatID), messageIDs: sources, removeCaption: captioned ? true : nil),
                         chatID: recipient.id, slot: connection.slot, messageID: first.id, reportDelivery: true)
    }

    /// `label` on its own line above the text, the entities moved along.
    func labelled(_ translated: Translated, _ label: String) -> Translated {
        guard !translated.text.isEmpty else { return Translated(text: label, entities: nil, isTranslation: translated.isTranslation) }
        let shift = (label + "\n").utf16.count
        let moved = translated.entities?.map { entity -> MessageEntity in
            var entity = entity
            entity.offset += shift
            return entity
        }
        return Translated(text: label + "\n" + translated.text, entities: moved, isTranslation: translated.isTranslation)
    }
}

/// What kind of media a relayed message is, where it changes how it is delivered.
enum RelayMedia: String, Codable, Sendable {
    case voice, videoNote, poll, other
}

extension Array {
    var nilIfEmpty: [Element]? { isEmpty ? nil : self }
}
