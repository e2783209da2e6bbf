extension Update {
    /// Why Telegram could not have sent this update, or nil. Telegram's user ids are positive, and a private
    /// chat's id is its user's id; an update that breaks this is forged or corrupted (found by fuzzing: the
    /// database refuses such ids, so the update failed again and again instead of being set aside). The
    /// intake records it without handling it.
    public var implausibility: String? {
        func user(_ user: TelegramUser?, in chat: Chat?) -> String? {
            if let user, user.id <= 0 { return "a user id that is not positive" }
            guard let chat, chat.type == .private else { return nil }
            if chat.id <= 0 { return "a private chat id that is not positive" }
            if let user, !user.isBot, user.id != chat.id { return "a private chat that is not its sender's" }
            return nil
        }
        switch kind {
        case let .message(message), let .editedMessage(message):
            return user(message.from, in: message.chat)
        case let .callbackQuery(query):
            return user(query.from, in: query.message?.chat)
        case let .myChatMember(change):
            return user(change.from, in: change.chat)
        case let .messageReaction(reaction):
            return user(reaction.user, in: reaction.chat)
        case .unsupported, .undecodable:
            return nil
        }
    }
}
