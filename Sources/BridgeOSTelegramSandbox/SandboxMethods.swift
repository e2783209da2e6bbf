import BridgeOSTelegram
import Foundation

/// The Bot API methods the sandbox implements, with Telegram's rules and error answers.
extension SandboxState {
    static let implementedMethods: Set<String> = [
        "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo", "setMyCommands", "getMyCommands",
        "deleteMyCommands", "sendMessage", "editMessageText", "editMessageReplyMarkup", "deleteMessage",
        "answerCallbackQuery", "sendChatAction", "copyMessage", "copyMessages", "forwardMessage", "sendPhoto",
        "sendAudio", "sendDocument", "sendVideo", "sendAnimation", "sendVoice", "sendVideoNote", "sendSticker",
        "sendLocation", "sendContact", "sendMediaGroup", "getFile", "editMessageCaption", "setMessageReaction",
    ]

    /// The emoji a reaction may be (ReactionTypeEmoji in the spec).
    static let reactionEmoji: Set<String> = [
        "❤", "👍", "👎", "🔥", "🥰", "👏", "😁", "🤔", "🤯", "😱", "🤬", "😢", "🎉", "🤩", "🤮", "💩", "🙏", "👌", "🕊", "🤡",
        "🥱", "🥴", "😍", "🐳", "❤‍🔥", "🌚", "🌭", "💯", "🤣", "⚡", "🍌", "🏆", "💔", "🤨", "😐", "🍓", "🍾", "💋", "🖕", "😈",
        "😴", "😭", "🤓", "👻", "👨‍💻", "👀", "🎃", "🙈", "😇", "😨", "🤝", "✍", "🤗", "🫡", "🎅", "🎄", "☃", "💅", "🤪", "🗿",
        "🆒", "💘", "🙉", "🦄", "😘", "💊", "🙊", "😎", "👾", "🤷‍♂", "🤷", "🤷‍♀", "😡",
    ]

    /// Runs a validated call (not getUpdates, which waits). Throws the Bot API error to answer with.
    func execute(botID: Int64, method: String, _ p: [String: JSONValue]) throws(SandboxError) -> JSONValue {
        switch method {
        case "getMe":
            guard let bot = state.withLock({ $0.bots[botID]?.bot }) else { throw .unauthorized }
            var info = BotInfo(id: botID, firstName: bot.firstName, username: bot.username)
            info.canJoinGroups = true
            info.canReadAllGroupMessages = false
            info.supportsInlineQueries = false
            return try encode(info)
        case "deleteWebhook":
            state.withLock { state in
                state.bots[botID]?.webhookURL = nil
                state.bots[botID]?.webhookSecret = nil
                state.bots[botID]?.webhookLastError = nil
                if p["drop_pending_updates"]?.bool == true { state.bots[botID]?.pending.removeAll() }
            }
            return .bool(true)
        case "setWebhook":
            return try setWebhook(botID: botID, p)
        case "getWebhookInfo":
            return state.withLock { state in
                guard let bot = state.bots[botID], let url = bot.webhookURL else {
                    return .object(["url": .string(""), "has_custom_certificate": .bool(false), "pending_update_count": .integer(Int64(state.bots[botID]?.pending.count ?? 0))])
                }
                var info: [String: JSONValue] = [
                    "url": .string(url), "has_custom_certificate": .bool(false),
                    "pending_update_count": .integer(Int64(SandboxState.deliverable(bot.pending, allowed: bot.allowedUpdates).count)),
                    "max_connections": .integer(Int64(bot.webhookMaxConnections ?? 40)),
                ]
                if let allowed = bot.allowedUpdates { info["allowed_updates"] = .array(allowed.map { .string($0) }) }
                if let error = bot.webhookLastError {
                    info["last_error_date"] = .integer(error.date)
                    info["last_error_message"] = .string(error.message)
                }
                return .object(info)
            }
        case "setMyCommands":
            let commands = try decodeParameter([BotCommand].self, p["commands"], name: "commands")
            guard commands.count <= 100 else { throw .badRequest("too many commands", violation: "setMyCommands takes at most 100 commands") }
            for command in commands {
                let valid = (1...32).contains(command.command.count)
                    && command.command.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
                guard valid else { throw .badRequest("BOT_COMMAND_INVALID", violation: "command '\(command.command)' must be 1-32 of a-z, 0-9, _") }
                guard (1...256).contains(command.description.count) else {
                    throw .badRequest("BOT_COMMAND_DESCRIPTION_INVALID", violation: "description of /\(command.command) must be 1-256 characters")
                }
            }
            let key = commandsKey(p)
            state.withLock { $0.bots[botID]?.commands[key] = commands }
            return .bool(true)
        case "getMyCommands":
            let key = commandsKey(p)
            return try encode(state.withLock { $0.bots[botID]?.commands[key] } ?? [])
        case "deleteMyCommands":
            let key = commandsKey(p)
            state.withLock { _ = $0.bots[botID]?.commands.removeValue(forKey: key) }
            return .bool(true)
        case "sendMessage":
            let chat = try writableChat(botID: botID, p["chat_id"])
            let text = p["text"]?.string ?? ""
            let entities = try decodeParameter([MessageEntity]?.self, p["entities"], name: "entities")
            try checkText(text, entities: entities, limit: 4096, empty: "message text is empty", tooLong: "message is too long", field: "text")
            let markup = try inlineMarkup(p["reply_markup"])
            let replied = repliedMessage(botID: botID, chatID: chat.id, p["reply_parameters"])
            return try encode(appendBotMessage(botID: botID, chat: chat) { id, date, bot in
                var message = Message(messageID: id, from: bot, date: date, chat: chat, text: text, entities: entities)
                message.replyMarkup = markup
                message.replyToMessage = replied
                return message
            })
        case "editMessageText", "editMessageReplyMarkup":
            let chat = try writableChat(botID: botID, p["chat_id"])
            guard let messageID = p["message_id"]?.int64 else { throw .badRequest("message identifier is not specified") }
            if method == "editMessageText", let existing = chatMessage(botID: botID, chatID: chat.id, messageID: messageID), existing.text == nil {
                throw .badRequest("there is no text in the message to edit", violation: "editMessageText on a message without text (use editMessageCaption)")
            }
            let newText = p["text"]?.string
            let entities = try decodeParameter([MessageEntity]?.self, p["entities"], name: "entities")
            if method == "editMessageText" {
                try checkText(newText ?? "", entities: entities, limit: 4096, empty: "message text is empty", tooLong: "MESSAGE_TOO_LONG", field: "text")
            }
            let markup = try inlineMarkup(p["reply_markup"])
            return try encode(editBotMessage(botID: botID, chatID: chat.id, messageID: messageID) { message in
                if method == "editMessageText" {
                    message.text = newText
                    message.entities = entities
                }
                message.replyMarkup = markup
                message.editDate = self.unixNow
            })
        case "editMessageCaption":
            let chat = try writableChat(botID: botID, p["chat_id"])
            guard let messageID = p["message_id"]?.int64 else { throw .badRequest("message identifier is not specified") }
            if let existing = chatMessage(botID: botID, chatID: chat.id, messageID: messageID), existing.text != nil || !Self.takesCaption(existing) {
                throw .badRequest("there is no caption in the message to edit", violation: "editMessageCaption on a message that cannot have a caption")
            }
            let (caption, entities) = try self.caption(p)
            let markup = try inlineMarkup(p["reply_markup"])
            return try encode(editBotMessage(botID: botID, chatID: chat.id, messageID: messageID) { message in
                message.caption = caption?.isEmpty == false ? caption : nil
                message.captionEntities = caption?.isEmpty == false ? entities : nil
                message.replyMarkup = markup
                message.editDate = self.unixNow
            })
        case "setMessageReaction":
            let chat = try knownChat(botID: botID, p["chat_id"])
            guard let messageID = p["message_id"]?.int64 else { throw .badRequest("message identifier is not specified") }
            let reactions = try decodeParameter([ReactionType]?.self, p["reaction"], name: "reaction") ?? []
            guard reactions.count <= 1 else {
                throw .badRequest("REACTIONS_TOO_MANY", violation: "bots can set at most one reaction per message")
            }
            for reaction in reactions {
                switch reaction {
                case let .emoji(emoji) where Self.reactionEmoji.contains(emoji): break
                case let .emoji(emoji): throw .badRequest("REACTION_INVALID", violation: "\(emoji) is not a reaction emoji")
                case .customEmoji, .other: throw .badRequest("REACTION_INVALID", violation: "a bot may only set emoji reactions here")
                }
            }
            guard chatMessage(botID: botID, chatID: chat.id, messageID: messageID) != nil else { throw .badRequest("message to react not found") }
            state.withLock { $0.botReactions[ChatKey(botID: botID, chatID: chat.id), default: [:]][messageID] = reactions }
            return .bool(true)
        case "deleteMessage":
            _ = try knownChat(botID: botID, p["chat_id"])
            guard let chatID = p["chat_id"]?.int64, let messageID = p["message_id"]?.int64 else {
                throw .badRequest("message identifier is not specified")
            }
            if let existing = chatMessage(botID: botID, chatID: chatID, messageID: messageID), unixNow - existing.date >= 48 * 3600 {
                throw .badRequest("message can't be deleted for everyone", violation: "deleteMessage of a message older than 48 hours")
            }
            let removed: Bool = state.withLock { state in
                let key = ChatKey(botID: botID, chatID: chatID)
                guard let index = state.chats[key]?.messages.firstIndex(where: { $0.message.messageID == messageID }) else { return false }
                state.chats[key]?.messages.remove(at: index)
                return true
            }
            guard removed else { throw .badRequest("message to delete not found") }
            return .bool(true)
        case "answerCallbackQuery":
            let text = p["text"]?.string ?? ""
            guard text.count <= 200 else {
                throw .badRequest("MESSAGE_TOO_LONG", violation: "answerCallbackQuery text is limited to 200 characters")
            }
            let id = p["callback_query_id"]?.string ?? ""
            let answered: Bool = state.withLock { state in
                guard var query = state.queries[id], query.botID == botID, !query.answered,
                      ContinuousClock.now - query.createdAt < .seconds(900)
                else { return false }
                query.answered = true
                state.queries[id] = query
                return true
            }
            guard answered else { throw .badRequest("query is too old and response timeout expired or query ID is invalid") }
            return .bool(true)
        case "sendChatAction":
            _ = try writableChat(botID: botID, p["chat_id"])
            return .bool(true)
        case "copyMessage", "forwardMessage":
            let chat = try writableChat(botID: botID, p["chat_id"])
            let source = try sourceMessage(botID: botID, p["from_chat_id"], p["message_id"])
            let caption = try self.caption(p)
            if caption.0?.isEmpty == false, !Self.takesCaption(source) {
                throw .badRequest("message caption can't be set", violation: "a caption for a message kind that takes none")
            }
            let replied = repliedMessage(botID: botID, chatID: chat.id, p["reply_parameters"])
            let markup = try inlineMarkup(p["reply_markup"])
            let copy = try appendCopy(botID: botID, of: source, to: chat, forwarded: method == "forwardMessage", caption: caption,
                                      reply: replied, markup: markup)
            return method == "copyMessage" ? .object(["message_id": .integer(copy.messageID)]) : try encode(copy)
        case "copyMessages":
            let chat = try writableChat(botID: botID, p["chat_id"])
            let ids = (p["message_ids"]?.array ?? []).compactMap(\.int64)
            guard (1...100).contains(ids.count), zip(ids, ids.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw .badRequest("message identifiers must be 1-100 and strictly increasing", violation: "copyMessages needs 1-100 strictly increasing ids")
            }
            var copies: [JSONValue] = []
            // Album grouping is kept: the copies of one album form a new album of their own.
            var groups: [String: String] = [:]
            let removeCaption = p["remove_caption"]?.bool == true
            for id in ids {
                var source = try sourceMessage(botID: botID, p["from_chat_id"], .integer(id))
                if let group = source.mediaGroupID {
                    source.mediaGroupID = groups[group] ?? { let new = "\(nextNumber())"; groups[group] = new; return new }()
                }
                let copy = try appendCopy(botID: botID, of: source, to: chat, forwarded: false, caption: removeCaption ? ("", nil) : (nil, nil))
                copies.append(.object(["message_id": .integer(copy.messageID)]))
            }
            return .array(copies)
        case let name where SendMedia.Kind.allCases.contains(where: { $0.methodName == name }):
            guard let kind = SendMedia.Kind.allCases.first(where: { $0.methodName == name }) else { throw .notFound }
            let chat = try writableChat(botID: botID, p["chat_id"])
            let file = try resolveFile(botID: botID, p[kind.rawValue], kind: kind)
            let (caption, captionEntities) = try self.caption(p)
            let markup = try inlineMarkup(p["reply_markup"])
            return try encode(appendBotMessage(botID: botID, chat: chat) { id, date, bot in
                var message = Message(messageID: id, from: bot, date: date, chat: chat)
                Self.attach(kind, fileID: file.id, uniqueID: file.uniqueID, size: file.size, to: &message)
                message.caption = caption
                message.captionEntities = captionEntities
                message.replyMarkup = markup
                return message
            })
        case "sendLocation":
            let chat = try writableChat(botID: botID, p["chat_id"])
            guard let latitude = p["latitude"].flatMap(Self.double), let longitude = p["longitude"].flatMap(Self.double),
                  (-90...90).contains(latitude), (-180...180).contains(longitude)
            else { throw .badRequest("wrong latitude or longitude", violation: "location out of range") }
            return try encode(appendBotMessage(botID: botID, chat: chat) { id, date, bot in
                var message = Message(messageID: id, from: bot, date: date, chat: chat)
                message.location = Location(latitude: latitude, longitude: longitude)
                return message
            })
        case "sendContact":
            let chat = try writableChat(botID: botID, p["chat_id"])
            let contact = Contact(phoneNumber: p["phone_number"]?.string ?? "", firstName: p["first_name"]?.string ?? "", lastName: p["last_name"]?.string)
            return try encode(appendBotMessage(botID: botID, chat: chat) { id, date, bot in
                var message = Message(messageID: id, from: bot, date: date, chat: chat)
                message.contact = contact
                return message
            })
        case "sendMediaGroup":
            let chat = try writableChat(botID: botID, p["chat_id"])
            let media = try decodeParameter([InputMedia].self, p["media"], name: "media")
            guard (2...10).contains(media.count) else {
                throw .badRequest("wrong number of media in the album", violation: "sendMediaGroup takes 2-10 items")
            }
            // Documents and audio files form albums only with their own kind.
            let kinds = Set(media.map(\.type))
            if kinds.count > 1, kinds.contains(.document) || kinds.contains(.audio) {
                throw .badRequest("document and audio can't be mixed with other media types", violation: "sendMediaGroup mixes documents or audio with other media")
            }
            let groupID = "\(nextNumber())"
            var sent: [Message] = []
            for item in media {
                let kind: SendMedia.Kind = switch item.type {
                case .photo: .photo
                case .video: .video
                case .audio: .audio
                case .document: .document
                }
                let file = try resolveFile(botID: botID, .string(item.media), kind: kind)
                try checkCaption(item.caption, entities: item.captionEntities)
                sent.append(try appendBotMessage(botID: botID, chat: chat) { id, date, bot in
                    var message = Message(messageID: id, from: bot, date: date, chat: chat)
                    Self.attach(kind, fileID: file.id, uniqueID: file.uniqueID, size: file.size, to: &message)
                    message.caption = item.caption
                    message.captionEntities = item.captionEntities
                    message.mediaGroupID = groupID
                    return message
                })
            }
            return try encode(sent)
        case "getFile":
            let id = p["file_id"]?.string ?? ""
            guard let file = state.withLock({ $0.files[id] }), file.botID == botID else {
                throw .badRequest("invalid file_id")
            }
            return .object([
                "file_id": .string(id), "file_unique_id": .string(file.fileUniqueID),
                "file_size": .integer(Int64(file.bytes.count)), "file_path": .string(file.path),
            ])
        default:
            throw SandboxError(status: 501, description: "Not Implemented: the sandbox does not implement \(method)", problems: ["method \(method) is not implemented by the sandbox"])
        }
    }

    // MARK: Rules

    /// A chat this bot may send to: a user who started it and has not blocked it, or a group it is in.
    func writableChat(botID: Int64, _ value: JSONValue?) throws(SandboxError) -> Chat {
        let chat = try knownChat(botID: botID, value)
        guard chat.type == .private else { return chat }
        let user = state.withLock { $0.users[chat.id] }
        guard let user else { throw .chatNotFound }
        if user.deactivated { throw SandboxError(status: 403, description: "Forbidden: user is deactivated") }
        if user.blocked.contains(botID) { throw .blocked }
        if !user.started.contains(botID) { throw .cannotInitiate }
        return chat
    }

    /// A chat the bot has seen (a private chat with a known user, or a group it belongs to).
    func knownChat(botID: Int64, _ value: JSONValue?) throws(SandboxError) -> Chat {
        guard let chatID = value?.int64 else { throw .chatNotFound }
        return try state.withLock { state throws(SandboxError) -> Chat in
            if let user = state.users[chatID] {
                return Chat(id: chatID, type: .private, username: user.user.username, firstName: user.user.firstName, lastName: user.user.lastName)
            }
            if let group = state.groups[chatID], group.bots.contains(botID) { return group.chat }
            throw .chatNotFound
        }
    }

    func checkText(_ text: String, entities: [MessageEntity]?, limit: Int, empty: String?, tooLong: String, field: String) throws(SandboxError) {
        if let empty, text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw .badRequest(empty, violation: "\(field) is empty")
        }
        let length = text.utf16.count
        guard length <= limit else {
            throw .badRequest(tooLong, violation: "\(field) is \(length) UTF-16 units, the limit is \(limit)")
        }
        for entity in entities ?? [] where entity.offset < 0 || entity.length <= 0 || entity.offset + entity.length > length {
            throw .badRequest(
                "can't parse entities: entity beginning at UTF-16 offset \(entity.offset) is out of range",
                violation: "\(field) entity \(entity.type) at \(entity.offset)+\(entity.length) exceeds \(length) UTF-16 units")
        }
    }

    /// The `caption` and `caption_entities` parameters, checked against the 1024-unit limit.
    func caption(_ p: [String: JSONValue]) throws(SandboxError) -> (String?, [MessageEntity]?) {
        let caption = p["caption"]?.string
        let entities = try decodeParameter([MessageEntity]?.self, p["caption_entities"], name: "caption_entities")
        try checkCaption(caption, entities: entities)
        return (caption, entities)
    }

    func checkCaption(_ caption: String?, entities: [MessageEntity]?) throws(SandboxError) {
        guard let caption else { return }
        try checkText(caption, entities: entities, limit: 1024, empty: nil, tooLong: "message caption is too long", field: "caption")
    }

    /// Appends a copy (or a forward, which keeps the original sender) of `source` to `chat`.
    func appendCopy(botID: Int64, of source: Message, to chat: Chat, forwarded: Bool, caption: (String?, [MessageEntity]?),
                    reply: RepliedMessage? = nil, markup: InlineKeyboardMarkup? = nil) throws(SandboxError) -> Message {
        try appendBotMessage(botID: botID, chat: chat) { id, date, bot in
            var message = source
            message.messageID = id
            message.chat = chat
            message.date = date
            message.editDate = nil
            message.replyToMessage = reply
            message.replyMarkup = markup
            message.from = forwarded ? source.from : bot
            // copyMessage keeps the original caption unless one is given; an empty one removes it.
            if !forwarded, let text = caption.0 {
                message.caption = text.isEmpty ? nil : text
                message.captionEntities = text.isEmpty ? nil : caption.1
            }
            return message
        }
    }

    /// A message of a bot's chat, either direction.
    func chatMessage(botID: Int64, chatID: Int64, messageID: Int64) -> Message? {
        state.withLock { $0.chats[ChatKey(botID: botID, chatID: chatID)]?.messages.first { $0.message.messageID == messageID }?.message }
    }

    /// Whether a message of this kind can have a caption (photos, videos, animations, audio, documents, voice).
    static func takesCaption(_ message: Message) -> Bool {
        message.photo != nil || message.video != nil || message.animation != nil || message.audio != nil || message.document != nil
            || message.voice != nil
    }

    /// Parses an inline keyboard and enforces Telegram's button rules (callback data 1-64 bytes).
    func inlineMarkup(_ value: JSONValue?) throws(SandboxError) -> InlineKeyboardMarkup? {
        guard let object = value?.object, object["inline_keyboard"] != nil else { return nil }
        let markup = try decodeParameter(InlineKeyboardMarkup.self, value, name: "reply_markup")
        for button in markup.inlineKeyboard.joined() {
            guard !button.text.isEmpty else { throw .badRequest("BUTTON_TEXT_EMPTY", violation: "inline button without text") }
            if let data = button.callbackData, !(1...64).contains(data.utf8.count) {
                throw .badRequest("BUTTON_DATA_INVALID", violation: "callback_data is \(data.utf8.count) bytes, allowed 1-64")
            }
        }
        return markup
    }

    func decodeParameter<T: Decodable>(_ type: T.Type, _ value: JSONValue?, name: String) throws(SandboxError) -> T {
        do {
            return try (value ?? .null).decode(T.self)
        } catch {
            throw .badRequest("can't parse \(name) JSON object", violation: "\(name) does not decode: \(error)")
        }
    }

    private func commandsKey(_ p: [String: JSONValue]) -> String {
        let scope = p["scope"]?.object?["type"]?.string ?? "default"
        let chat = p["scope"]?.object?["chat_id"]?.int64.map { ":\($0)" } ?? ""
        return "\(scope)\(chat)|\(p["language_code"]?.string ?? "")"
    }

    private func repliedMessage(botID: Int64, chatID: Int64, _ value: JSONValue?) -> RepliedMessage? {
        guard let id = value?.object?["message_id"]?.int64 else { return nil }
        return state.withLock { state in
            guard let message = state.chats[ChatKey(botID: botID, chatID: chatID)]?.messages.first(where: { $0.message.messageID == id })?.message
            else { return nil }
            return try? JSONValue(encoding: message).decode(RepliedMessage.self)
        }
    }

    func sourceMessage(botID: Int64, _ chatValue: JSONValue?, _ idValue: JSONValue?) throws(SandboxError) -> Message {
        let chat = try knownChat(botID: botID, chatValue)
        guard let id = idValue?.int64,
              let message = state.withLock({ $0.chats[ChatKey(botID: botID, chatID: chat.id)]?.messages.first { $0.message.messageID == id }?.message })
        else { throw .badRequest("message to copy not found") }
        return message
    }

    /// A file_id this bot may use (file ids are per bot), or an HTTP URL the sandbox pretends to fetch.
    func resolveFile(botID: Int64, _ value: JSONValue?, kind: SendMedia.Kind) throws(SandboxError) -> (id: String, uniqueID: String, size: Int64) {
        guard let reference = value?.string, !reference.isEmpty else {
            throw .badRequest("there is no \(kind.rawValue) in the request", violation: "missing \(kind.rawValue)")
        }
        if reference.hasPrefix("http://") || reference.hasPrefix("https://") {
            return storeFile(botID: botID, kind: kind, bytes: Data("fetched from \(reference)".utf8))
        }
        guard let file = state.withLock({ $0.files[reference] }), file.botID == botID else {
            throw .badRequest("wrong file identifier/HTTP URL specified", violation: "file_id \(reference) is unknown to this bot")
        }
        return (reference, file.fileUniqueID, Int64(file.bytes.count))
    }

    func storeFile(botID: Int64, kind: SendMedia.Kind, bytes: Data) -> (id: String, uniqueID: String, size: Int64) {
        let number = nextNumber()
        let id = "SBX\(kind.rawValue.uppercased())-\(botID)-\(number)"
        let uniqueID = "U\(number)"
        let folder = kind == .photo ? "photos" : kind == .voice ? "voice" : "\(kind.rawValue)s"
        let path = "\(folder)/file_\(number).\(Self.fileExtension(kind))"
        state.withLock { $0.files[id] = StoredFile(botID: botID, fileUniqueID: uniqueID, path: path, bytes: bytes) }
        return (id, uniqueID, Int64(bytes.count))
    }

    func fileBytes(botID: Int64, path: String) -> Data? {
        state.withLock { state in state.files.values.first { $0.botID == botID && $0.path == path }?.bytes }
    }

    static func fileExtension(_ kind: SendMedia.Kind) -> String {
        switch kind {
        case .photo: "jpg"
        case .voice: "oga"
        case .audio: "mp3"
        case .video, .animation, .videoNote: "mp4"
        case .document: "bin"
        case .sticker: "webp"
        }
    }

    static func attach(_ kind: SendMedia.Kind, fileID: String, uniqueID: String, size: Int64, to message: inout Message) {
        let json: [String: JSONValue] = ["file_id": .string(fileID), "file_unique_id": .string(uniqueID), "file_size": .integer(size)]
        func with(_ extra: [String: JSONValue]) -> JSONValue { .object(json.merging(extra) { a, _ in a }) }
        switch kind {
        case .photo: message.photo = try? with(["width": .integer(1280), "height": .integer(960)]).decode([PhotoSize].self, wrappingInArray: true)
        case .voice: message.voice = try? with(["duration": .integer(3), "mime_type": .string("audio/ogg")]).decode(Voice.self)
        case .audio: message.audio = try? with(["duration": .integer(120)]).decode(Audio.self)
        case .video: message.video = try? with(["width": .integer(1280), "height": .integer(720), "duration": .integer(10)]).decode(Video.self)
        case .animation: message.animation = try? with(["width": .integer(320), "height": .integer(240), "duration": .integer(2)]).decode(Animation.self)
        case .videoNote: message.videoNote = try? with(["length": .integer(240), "duration": .integer(5)]).decode(VideoNote.self)
        case .document: message.document = try? with(["file_name": .string("file.bin")]).decode(Document.self)
        case .sticker: message.sticker = try? with([
            "type": .string("regular"), "width": .integer(512), "height": .integer(512),
            "is_animated": .bool(false), "is_video": .bool(false), "emoji": .string("👍"),
        ]).decode(Sticker.self)
        }
    }

    static func double(_ value: JSONValue) -> Double? {
        switch value {
        case let .double(number): number
        case let .integer(number): Double(number)
        case let .string(text): Double(text)
        default: nil
        }
    }

    // MARK: Chat logs

    /// Appends a message the bot sent; `build` gets the new message id, the date and the bot's user.
    func appendBotMessage(botID: Int64, chat: Chat, _ build: (Int64, Int64, TelegramUser) -> Message) throws(SandboxError) -> Message {
        let date = unixNow
        return try state.withLock { state throws(SandboxError) -> Message in
            guard let bot = state.bots[botID]?.bot else { throw .unauthorized }
            let key = ChatKey(botID: botID, chatID: chat.id)
            var log = state.chats[key] ?? ChatLog(chat: chat)
            let message = build(log.nextMessageID, date, bot.user)
            log.nextMessageID += 1
            log.messages.append(SandboxChatMessage(message: message, fromBot: true))
            state.chats[key] = log
            return message
        }
    }

    func editBotMessage(botID: Int64, chatID: Int64, messageID: Int64, _ change: (inout Message) -> Void) throws(SandboxError) -> Message {
        try state.withLock { state throws(SandboxError) -> Message in
            let key = ChatKey(botID: botID, chatID: chatID)
            guard let index = state.chats[key]?.messages.firstIndex(where: { $0.message.messageID == messageID }),
                  let entry = state.chats[key]?.messages[index]
            else { throw .badRequest("message to edit not found") }
            guard entry.fromBot else { throw .badRequest("message can't be edited", violation: "a bot can only edit its own messages") }
            var message = entry.message
            change(&message)
            if message.text == entry.message.text, message.entities == entry.message.entities, message.replyMarkup == entry.message.replyMarkup,
               message.caption == entry.message.caption, message.captionEntities == entry.message.captionEntities {
                throw .badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
            }
            state.chats[key]?.messages[index] = SandboxChatMessage(message: message, fromBot: true)
            return message
        }
    }

    func encode<T: Encodable>(_ value: T) throws(SandboxError) -> JSONValue {
        do { return try JSONValue(encoding: value) } catch {
            throw SandboxError(status: 500, description: "Internal Server Error: \(error)")
        }
    }
}

extension JSONValue {
    func decode<T: Decodable>(_ type: T.Type, wrappingInArray: Bool) throws -> T {
        try (wrappingInArray ? JSONValue.array([self]) : self).decode(T.self)
    }
}
