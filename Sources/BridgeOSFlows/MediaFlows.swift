import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// What people do to messages already relayed: edit them, withdraw them (/unsend), react to them, ask for a
/// translation's original; and the display settings that go with it (/settings).
extension Flow {
    /// The conversation `user` has on this update's bot, whichever side of it they are on.
    private func conversation(of userID: Int64) throws -> Connection? {
        try tx.activeConnection(slot: slot, user: userID)
    }

    // MARK: Edits and reactions

    /// An edited message: the relay updates the counterpart's copy. Edits of anything that was not relayed (a
    /// command, a refused message) change nothing, and need no answer.
    func edited(_ message: Message) throws {
        guard message.chat.type == .private, let from = message.from, !from.isBot,
              let user = try tx.user(from.id), let connection = try conversation(of: from.id)
        else { return }
        try router.relay.edited(message, connection: connection, sender: user, context: context, replies: replies)
    }

    /// A reaction set or removed on a message of the conversation.
    func reacted(_ reaction: MessageReactionUpdated) throws {
        guard reaction.chat.type == .private, let from = reaction.user, !from.isBot,
              let user = try tx.user(from.id), let connection = try conversation(of: from.id)
        else { return }
        try router.relay.reacted(reaction, connection: connection, user: user, context: context)
    }

    // MARK: /unsend

    func unsend(_ message: Message, user: User, language: String) throws {
        guard let connection = try conversation(of: user.id) else {
            let role = try tx.role(of: user.id)
            return try replies.tell(role == .manager ? .routeNoWorker : .routeUnregistered, to: user.id, language: language)
        }
        try router.relay.unsend(message, connection: connection, sender: user, context: context, replies: replies)
    }

    // MARK: /check

    /// How the counterpart reads one's message, translated back (a job: it calls the translator).
    func check(_ message: Message, user: User, language: String) throws {
        guard let connection = try conversation(of: user.id) else {
            let role = try tx.role(of: user.id)
            return try replies.tell(role == .manager ? .routeNoWorker : .routeUnregistered, to: user.id, language: language)
        }
        try router.relay.check(message, connection: connection, sender: user, context: context, replies: replies)
    }

    // MARK: The original of a translation

    /// `orig:<message>`: the original text of a translated message, for its recipient only: in an alert when
    /// it fits one, else as a reply to the translation.
    func showOriginal(_ idText: String, query: CallbackQuery, message: Message, language: String) throws {
        guard let id = Int64(idText), let stored = try tx.message(id), let connection = try tx.connection(stored.connectionID),
              connection.counterpart(of: stored.senderID) == query.from.id, stored.withdrawnAt == nil
        else {
            return try replies.answer(query, localizer.text(.relayOriginalGone, language))
        }
        let original = stored.originalText
        if original.utf16.count <= 200, !original.isEmpty {
            try context.send(AnswerCallbackQuery(callbackQueryID: query.id, text: original, showAlert: true), chatID: query.from.id, lane: .immediate)
            return
        }
        try replies.answer(query)
        let header = localizer.text(.relayOriginalHeader, language) + "\n"
        let quote = MessageEntity(type: .blockquote, offset: header.utf16.count, length: original.utf16.count)
        try context.send(
            SendMessage(chatID: .id(query.from.id), text: header + original, entities: original.isEmpty ? nil : [quote],
                        replyParameters: ReplyParameters(messageID: message.messageID)),
            chatID: query.from.id)
    }

    // MARK: /settings

    func settingsKeyboard(_ user: User, language: String) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup([
            [InlineKeyboardButton(text: localizer.text(user.showOriginal ? .settingsOriginalOn : .settingsOriginalOff, language), callbackData: "set:orig")],
            [InlineKeyboardButton(text: localizer.text(user.deliveryMarks ? .settingsMarksOn : .settingsMarksOff, language), callbackData: "set:marks")],
        ])
    }

    /// `set:orig`, `set:marks`: flips the setting and redraws the settings in place.
    func toggleSetting(_ name: String, user: User, query: CallbackQuery, message: Message, language: String) throws {
        var user = user
        switch name {
        case "orig":
            user.showOriginal.toggle()
            try tx.setShowOriginal(of: user.id, to: user.showOriginal, now: now)
        case "marks":
            user.deliveryMarks.toggle()
            try tx.setDeliveryMarks(of: user.id, to: user.deliveryMarks, now: now)
        default:
            return try replies.answer(query, localizer.text(.routeExpiredButton, language))
        }
        try replies.answer(query)
        try replies.edit(chat: message.chat.id, message: message.messageID, text: localizer.text(.settingsTitle, language),
                         keyboard: settingsKeyboard(user, language: language))
    }
}
