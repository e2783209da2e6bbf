import BridgeOSTelegram
import Foundation

/// What simulated people do: the sandbox's side of a conversation.
extension SandboxState {
    @discardableResult
    func addUser(_ user: TelegramUser) -> TelegramUser {
        state.withLock { state in
            if state.users[user.id] == nil { state.users[user.id] = SimulatedUser(user: user) } else { state.users[user.id]?.user = user }
        }
        return user
    }

    func user(_ id: Int64) -> TelegramUser? { state.withLock { $0.users[id]?.user } }

    /// A message from `userID` to `botID`: in their private chat, or in `groupID`.
    func userSends(from userID: Int64, to botID: Int64, inGroup groupID: Int64? = nil, _ build: (inout Message) -> Void) -> Message? {
        guard let user = user(userID) else { return nil }
        if groupID == nil, state.withLock({ $0.users[userID]?.blocked.contains(botID) == true }) {
            // Writing to a blocked bot means pressing "Restart": Telegram first reports the unblock.
            setBlocked(false, userID: userID, botID: botID)
        }
        let date = unixNow
        let message: Message? = state.withLock { state in
            let chat: Chat
            if let groupID {
                guard let group = state.groups[groupID], group.bots.contains(botID) else { return nil }
                chat = group.chat
            } else {
                state.users[userID]?.started.insert(botID)
                chat = Chat(id: userID, type: .private, username: user.username, firstName: user.firstName, lastName: user.lastName)
            }
            let key = ChatKey(botID: botID, chatID: chat.id)
            var log = state.chats[key] ?? ChatLog(chat: chat)
            var message = Message(messageID: log.nextMessageID, from: user, date: date, chat: chat)
            build(&message)
            log.nextMessageID += 1
            log.messages.append(SandboxChatMessage(message: message, fromBot: false))
            state.chats[key] = log
            return message
        }
        guard let message else { return nil }
        _ = enqueue(botID: botID) { _ in .message(message) }
        return message
    }

    func userEdits(botID: Int64, chatID: Int64, messageID: Int64, newText: String) -> Message? {
        let date = unixNow
        let edited: Message? = state.withLock { state in
            let key = ChatKey(botID: botID, chatID: chatID)
            guard let index = state.chats[key]?.messages.firstIndex(where: { $0.message.messageID == messageID && !$0.fromBot }),
                  var message = state.chats[key]?.messages[index].message
            else { return nil }
            if message.text != nil {
                message.text = newText
                message.entities = Self.detectEntities(in: newText)
            } else {
                message.caption = newText.isEmpty ? nil : newText
                message.captionEntities = Self.detectEntities(in: newText)
            }
            message.editDate = date
            state.chats[key]?.messages[index] = SandboxChatMessage(message: message, fromBot: false)
            return message
        }
        guard let edited else { return nil }
        _ = enqueue(botID: botID) { _ in .editedMessage(edited) }
        return edited
    }

    /// The user sets (`emoji`) or removes (nil) their reaction on a message of their private chat with the bot.
    func userReacts(userID: Int64, botID: Int64, messageID: Int64, emoji: String?) -> Bool {
        guard let user = user(userID) else { return false }
        let key = ChatKey(botID: botID, chatID: userID)
        let change: (Chat, [ReactionType], [ReactionType])? = state.withLock { state in
            guard let log = state.chats[key], log.messages.contains(where: { $0.message.messageID == messageID }) else { return nil }
            let old = state.userReactions[key]?[messageID] ?? []
            let new: [ReactionType] = emoji.map { [.emoji($0)] } ?? []
            state.userReactions[key, default: [:]][messageID] = new
            return (log.chat, old, new)
        }
        guard let (chat, old, new) = change else { return false }
        let update = MessageReactionUpdated(chat: chat, messageID: messageID, user: user, date: unixNow, oldReaction: old, newReaction: new)
        _ = enqueue(botID: botID) { _ in .messageReaction(update) }
        return true
    }

    /// The user presses an inline button of a bot message; returns the callback query id.
    func userPresses(userID: Int64, botID: Int64, chatID: Int64, messageID: Int64, callbackData: String) -> String? {
        guard let user = user(userID) else { return nil }
        let message: Message? = state.withLock { state in
            state.chats[ChatKey(botID: botID, chatID: chatID)]?.messages.first { $0.message.messageID == messageID && $0.fromBot }?.message
        }
        guard let message else { return nil }
        let queryID = "\(botID % 100_000)\(nextNumber())\(UInt32.random(in: 1000...9999))"
        state.withLock { $0.queries[queryID] = PendingQuery(botID: botID, answered: false, createdAt: .now) }
        let query = CallbackQueryPayload(id: queryID, from: user, message: message, chatInstance: "-\(botID)\(chatID)", data: callbackData)
        guard let decoded = try? JSONValue(encoding: query).decode(CallbackQuery.self) else { return nil }
        _ = enqueue(botID: botID) { _ in .callbackQuery(decoded) }
        return queryID
    }

    func setBlocked(_ blocked: Bool, userID: Int64, botID: Int64) {
        guard let user = user(userID), let bot = state.withLock({ $0.bots[botID]?.bot }) else { return }
        let changed: Bool = state.withLock { state in
            let was = state.users[userID]?.blocked.contains(botID) ?? false
            if blocked { state.users[userID]?.blocked.insert(botID) } else { state.users[userID]?.blocked.remove(botID) }
            return was != blocked
        }
        guard changed else { return }
        let chat = Chat(id: userID, type: .private, username: user.username, firstName: user.firstName, lastName: user.lastName)
        let update = ChatMemberUpdated(
            chat: chat, from: user, date: unixNow,
            oldChatMember: ChatMember(status: blocked ? .member : .kicked, user: bot.user),
            newChatMember: ChatMember(status: blocked ? .kicked : .member, user: bot.user))
        _ = enqueue(botID: botID) { _ in .myChatMember(update) }
    }

    /// Telegram's automatic entities: commands, mentions, URLs, e-mail addresses (UTF-16 offsets).
    static func detectEntities(in text: String) -> [MessageEntity]? {
        var entities: [MessageEntity] = []
        let punctuation = CharacterSet(charactersIn: ".,!?;:()\"'")
        for word in text.split(whereSeparator: \.isWhitespace) {
            let token = word.trimmingCharacters(in: punctuation)
            guard !token.isEmpty, let range = word.range(of: token) else { continue }
            let offset = text.utf16.distance(from: text.startIndex, to: range.lowerBound)
            let length = token.utf16.count
            if offset == 0, token.hasPrefix("/"), token.count > 1 {
                entities.append(MessageEntity(type: .botCommand, offset: 0, length: length))
            } else if token.hasPrefix("@"), token.count > 4 {
                entities.append(MessageEntity(type: .mention, offset: offset, length: length))
            } else if token.hasPrefix("http://") || token.hasPrefix("https://") {
                entities.append(MessageEntity(type: .url, offset: offset, length: length))
            } else if token.contains("@"), token.contains(".") {
                entities.append(MessageEntity(type: .email, offset: offset, length: length))
            }
        }
        return entities.isEmpty ? nil : entities
    }
}

/// A callback query as Telegram serialises it (the message is a full `Message`).
private struct CallbackQueryPayload: Encodable {
    let id: String
    let from: TelegramUser
    let message: Message
    let chatInstance: String
    let data: String

    enum CodingKeys: String, CodingKey {
        case id, from, message, data
        case chatInstance = "chat_instance"
    }
}
