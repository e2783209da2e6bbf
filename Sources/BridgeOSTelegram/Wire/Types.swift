import Foundation

// Bot API types BridgeOS reads or writes, as the Bot API 10.1 spec names them (`User` is `TelegramUser`
// here, to stay apart from the store's user record). Decoding is tolerant: unknown fields are ignored,
// open value sets are `OpenStringValue`s, and every id is an Int64 (ids may exceed 32 bits).

public struct TelegramUser: Codable, Hashable, Sendable {
    public var id: Int64
    public var isBot: Bool
    public var firstName: String
    public var lastName: String?
    public var username: String?
    public var languageCode: String?

    public init(id: Int64, isBot: Bool = false, firstName: String, lastName: String? = nil, username: String? = nil, languageCode: String? = nil) {
        self.id = id
        self.isBot = isBot
        self.firstName = firstName
        self.lastName = lastName
        self.username = username
        self.languageCode = languageCode
    }

    enum CodingKeys: String, CodingKey {
        case id, username
        case isBot = "is_bot"
        case firstName = "first_name"
        case lastName = "last_name"
        case languageCode = "language_code"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(Int64.self, forKey: .id)
        // Required since Bot API 3.x, missing from older payloads (and Telegram's own old samples).
        isBot = try container.decodeIfPresent(Bool.self, forKey: .isBot) ?? false
        firstName = try container.decode(String.self, forKey: .firstName)
        lastName = try container.decodeIfPresent(String.self, forKey: .lastName)
        username = try container.decodeIfPresent(String.self, forKey: .username)
        languageCode = try container.decodeIfPresent(String.self, forKey: .languageCode)
    }

    /// "First Last", as people see the name.
    public var fullName: String { [firstName, lastName].compactMap { $0 }.joined(separator: " ") }
}

/// `getMe`'s answer: a user plus bot capabilities.
public struct BotInfo: Codable, Hashable, Sendable {
    public var id: Int64
    public var isBot: Bool
    public var firstName: String
    public var username: String
    public var canJoinGroups: Bool?
    public var canReadAllGroupMessages: Bool?
    public var supportsInlineQueries: Bool?

    public init(id: Int64, firstName: String, username: String) {
        self.id = id
        self.isBot = true
        self.firstName = firstName
        self.username = username
    }

    enum CodingKeys: String, CodingKey {
        case id, username
        case isBot = "is_bot"
        case firstName = "first_name"
        case canJoinGroups = "can_join_groups"
        case canReadAllGroupMessages = "can_read_all_group_messages"
        case supportsInlineQueries = "supports_inline_queries"
    }
}

public struct Chat: Codable, Hashable, Sendable {
    public var id: Int64
    public var type: ChatType
    public var title: String?
    public var username: String?
    public var firstName: String?
    public var lastName: String?

    public init(id: Int64, type: ChatType, title: String? = nil, username: String? = nil, firstName: String? = nil, lastName: String? = nil) {
        self.id = id
        self.type = type
        self.title = title
        self.username = username
        self.firstName = firstName
        self.lastName = lastName
    }

    enum CodingKeys: String, CodingKey {
        case id, type, title, username
        case firstName = "first_name"
        case lastName = "last_name"
    }
}

/// A span of formatted or special text. `offset` and `length` count UTF-16 code units, as Telegram does.
public struct MessageEntity: Codable, Hashable, Sendable {
    public var type: MessageEntityType
    public var offset: Int
    public var length: Int
    public var url: String?
    public var user: TelegramUser?
    public var language: String?
    public var customEmojiID: String?

    public init(type: MessageEntityType, offset: Int, length: Int, url: String? = nil, user: TelegramUser? = nil, language: String? = nil) {
        self.type = type
        self.offset = offset
        self.length = length
        self.url = url
        self.user = user
        self.language = language
    }

    enum CodingKeys: String, CodingKey {
        case type, offset, length, url, user, language
        case customEmojiID = "custom_emoji_id"
    }

    /// The entity's text within `text`, or nil if the range does not fit (a malformed entity).
    public func text(in text: String) -> String? {
        let utf16 = text.utf16
        guard offset >= 0, length >= 0, offset + length <= utf16.count else { return nil }
        let start = utf16.index(utf16.startIndex, offsetBy: offset)
        let end = utf16.index(start, offsetBy: length)
        return String(utf16[start..<end])
    }
}

extension String {
    /// Length as Telegram counts it: UTF-16 code units.
    public var telegramLength: Int { utf16.count }
}

public struct PhotoSize: Codable, Hashable, Sendable {
    public var fileID: String
    /// Absent in some older payloads.
    public var fileUniqueID: String?
    public var width: Int
    public var height: Int
    public var fileSize: Int64?

    enum CodingKeys: String, CodingKey {
        case width, height
        case fileID = "file_id"
        case fileUniqueID = "file_unique_id"
        case fileSize = "file_size"
    }
}

/// The fields every downloadable file shares; each media type adds its own.
public struct Audio: Codable, Hashable, Sendable {
    public var fileID: String
    /// Absent in some older payloads.
    public var fileUniqueID: String?
    public var duration: Int
    public var performer: String?
    public var title: String?
    public var fileName: String?
    public var mimeType: String?
    public var fileSize: Int64?

    enum CodingKeys: String, CodingKey {
        case duration, performer, title
        case fileID = "file_id"
        case fileUniqueID = "file_unique_id"
        case fileName = "file_name"
        case mimeType = "mime_type"
        case fileSize = "file_size"
    }
}

public struct Document: Codable, Hashable, Sendable {
    public var fileID: String
    /// Absent in some older payloads.
    public var fileUniqueID: String?
    public var fileName: String?
    public var mimeType: String?
    public var fileSize: Int64?

    enum CodingKeys: String, CodingKey {
        case fileID = "file_id"
        case fileUniqueID = "file_unique_id"
        case fileName = "file_name"
        case mimeType = "mime_type"
        case fileSize = "file_size"
    }
}

public struct Video: Codable, Hashable, Sendable {
    public var fileID: String
    /// Absent in some older payloads.
    public var fileUniqueID: String?
    public var width: Int
    public var height: Int
    public var duration: Int
    public var fileName: String?
    public var mimeType: String?
    public var fileSize: Int64?

    enum CodingKeys: String, CodingKey {
        case width, height, duration
        case fileID = "file_id"
        case fileUniqueID = "file_unique_id"
        case fileName = "file_name"
        case mimeType = "mime_type"
        case fileSize = "file_size"
    }
}

public struct Animation: Codable, Hashable, Sendable {
    public var fileID: String
    /// Absent in some older payloads.
    public var fileUniqueID: String?
    public var width: Int
    public var height: Int
    public var duration: Int
    public var fileName: String?
    public var mimeType: String?
    public var fileSize: Int64?

    enum CodingKeys: String, CodingKey {
        case width, height, duration
        case fileID = "file_id"
        case fileUniqueID = "file_unique_id"
        case fileName = "file_name"
        case mimeType = "mime_type"
        case fileSize = "file_size"
    }
}

public struct VideoNote: Codable, Hashable, Sendable {
    public var fileID: String
    /// Absent in some older payloads.
    public var fileUniqueID: String?
    public var length: Int
    public var duration: Int
    public var fileSize: Int64?

    enum CodingKeys: String, CodingKey {
        case length, duration
        case fileID = "file_id"
        case fileUniqueID = "file_unique_id"
        case fileSize = "file_size"
    }
}

public struct Voice: Codable, Hashable, Sendable {
    public var fileID: String
    /// Absent in some older payloads.
    public var fileUniqueID: String?
    public var duration: Int
    public var mimeType: String?
    public var fileSize: Int64?

    enum CodingKeys: String, CodingKey {
        case duration
        case fileID = "file_id"
        case fileUniqueID = "file_unique_id"
        case mimeType = "mime_type"
        case fileSize = "file_size"
    }
}

public struct Sticker: Codable, Hashable, Sendable {
    public var fileID: String
    /// Absent in some older payloads.
    public var fileUniqueID: String?
    public var type: String
    public var width: Int
    public var height: Int
    public var isAnimated: Bool
    public var isVideo: Bool
    public var emoji: String?
    public var setName: String?
    public var fileSize: Int64?

    enum CodingKeys: String, CodingKey {
        case type, width, height, emoji
        case fileID = "file_id"
        case fileUniqueID = "file_unique_id"
        case isAnimated = "is_animated"
        case isVideo = "is_video"
        case setName = "set_name"
        case fileSize = "file_size"
    }
}

public struct Location: Codable, Hashable, Sendable {
    public var latitude: Double
    public var longitude: Double
    public var horizontalAccuracy: Double?
    public var livePeriod: Int?

    public init(latitude: Double, longitude: Double) {
        self.latitude = latitude
        self.longitude = longitude
    }

    enum CodingKeys: String, CodingKey {
        case latitude, longitude
        case horizontalAccuracy = "horizontal_accuracy"
        case livePeriod = "live_period"
    }
}

public struct Contact: Codable, Hashable, Sendable {
    public var phoneNumber: String
    public var firstName: String
    public var lastName: String?
    public var userID: Int64?
    public var vcard: String?

    public init(phoneNumber: String, firstName: String, lastName: String? = nil, userID: Int64? = nil) {
        self.phoneNumber = phoneNumber
        self.firstName = firstName
        self.lastName = lastName
        self.userID = userID
    }

    enum CodingKeys: String, CodingKey {
        case vcard
        case phoneNumber = "phone_number"
        case firstName = "first_name"
        case lastName = "last_name"
        case userID = "user_id"
    }
}

/// The message a message replies to. A reduced `Message` (Telegram sends it without its own reply), which
/// also keeps `Message` a plain value type.
public struct RepliedMessage: Codable, Hashable, Sendable {
    public var messageID: Int64
    public var from: TelegramUser?
    public var chat: Chat
    public var date: Int64
    public var text: String?
    public var caption: String?

    enum CodingKeys: String, CodingKey {
        case from, chat, date, text, caption
        case messageID = "message_id"
    }
}

public struct Message: Codable, Hashable, Sendable {
    public var messageID: Int64
    public var messageThreadID: Int64?
    public var from: TelegramUser?
    public var senderChat: Chat?
    /// Unix time. 0 marks an inaccessible message (e.g. in an old callback query).
    public var date: Int64
    public var chat: Chat
    public var editDate: Int64?
    public var mediaGroupID: String?
    public var replyToMessage: RepliedMessage?
    public var text: String?
    public var entities: [MessageEntity]?
    public var caption: String?
    public var captionEntities: [MessageEntity]?
    public var photo: [PhotoSize]?
    public var audio: Audio?
    public var document: Document?
    public var animation: Animation?
    public var video: Video?
    public var videoNote: VideoNote?
    public var voice: Voice?
    public var sticker: Sticker?
    public var location: Location?
    public var venue: Venue?
    public var contact: Contact?
    public var poll: Poll?
    public var dice: Dice?
    /// Kinds no bot can copy across; only their presence matters.
    public var story: JSONValue?
    public var game: JSONValue?
    public var paidMedia: JSONValue?
    public var replyMarkup: InlineKeyboardMarkup?

    public init(messageID: Int64, from: TelegramUser?, date: Int64, chat: Chat, text: String? = nil, entities: [MessageEntity]? = nil) {
        self.messageID = messageID
        self.from = from
        self.date = date
        self.chat = chat
        self.text = text
        self.entities = entities
    }

    enum CodingKeys: String, CodingKey {
        case from, date, chat, text, entities, caption, photo, audio, document, animation, video, voice, sticker
        case location, contact, venue, poll, dice, story, game
        case paidMedia = "paid_media"
        case messageID = "message_id"
        case messageThreadID = "message_thread_id"
        case senderChat = "sender_chat"
        case editDate = "edit_date"
        case mediaGroupID = "media_group_id"
        case replyToMessage = "reply_to_message"
        case captionEntities = "caption_entities"
        case videoNote = "video_note"
        case replyMarkup = "reply_markup"
    }

    /// What the message carries, for routing. Media wins over text: a captioned photo is a photo.
    public var content: MessageContent {
        if let photo, !photo.isEmpty { return .photo(photo) }
        if let voice { return .voice(voice) }
        if let video { return .video(video) }
        if let videoNote { return .videoNote(videoNote) }
        if let audio { return .audio(audio) }
        if let animation { return .animation(animation) }
        if let document { return .document(document) }
        if let sticker { return .sticker(sticker) }
        if let poll { return .poll(poll) }
        if let venue { return .venue(venue) }
        if let location { return .location(location) }
        if let contact { return .contact(contact) }
        if let text { return .text(text) }
        return .unsupported
    }

    /// Something a person sent that no bot can pass on (a dice, a game, a story, paid media), as opposed to a
    /// service message (a pin, a join), which needs no answer.
    public var isUnrelayableContent: Bool { dice != nil || story != nil || game != nil || paidMedia != nil }

    /// A `/command` at the very start of the text: the command (without `/` and `@bot`) and its argument.
    public var command: (name: String, argument: String?)? {
        guard let text, let entity = entities?.first(where: { $0.type == .botCommand && $0.offset == 0 }),
              let token = entity.text(in: text), token.hasPrefix("/")
        else { return nil }
        let name = String(token.dropFirst().split(separator: "@", maxSplits: 1).first ?? "")
        let end = text.utf16.index(text.utf16.startIndex, offsetBy: entity.length)
        let rest = text[end...].trimmingCharacters(in: .whitespacesAndNewlines)
        return (name, rest.isEmpty ? nil : rest)
    }
}

public enum MessageContent: Hashable, Sendable {
    case text(String)
    case photo([PhotoSize])
    case voice(Voice)
    case video(Video)
    case videoNote(VideoNote)
    case audio(Audio)
    case animation(Animation)
    case document(Document)
    case sticker(Sticker)
    case location(Location)
    case venue(Venue)
    case contact(Contact)
    case poll(Poll)
    /// Something BridgeOS does not relay (a dice, a game, a story, a service message…).
    case unsupported
}

public struct Venue: Codable, Hashable, Sendable {
    public var location: Location
    public var title: String
    public var address: String

    public init(location: Location, title: String, address: String) {
        self.location = location
        self.title = title
        self.address = address
    }
}

public struct PollOption: Codable, Hashable, Sendable {
    public var text: String
    public var voterCount: Int

    public init(text: String, voterCount: Int = 0) {
        self.text = text
        self.voterCount = voterCount
    }

    enum CodingKeys: String, CodingKey {
        case text
        case voterCount = "voter_count"
    }
}

public struct Poll: Codable, Hashable, Sendable {
    public var id: String
    public var question: String
    public var options: [PollOption]
    public var totalVoterCount: Int
    public var isClosed: Bool
    public var isAnonymous: Bool
    /// "regular" or "quiz".
    public var type: String
    public var allowsMultipleAnswers: Bool

    public init(id: String, question: String, options: [String]) {
        self.id = id
        self.question = question
        self.options = options.map { PollOption(text: $0) }
        totalVoterCount = 0
        isClosed = false
        isAnonymous = true
        type = "regular"
        allowsMultipleAnswers = false
    }

    enum CodingKeys: String, CodingKey {
        case id, question, options, type
        case totalVoterCount = "total_voter_count"
        case isClosed = "is_closed"
        case isAnonymous = "is_anonymous"
        case allowsMultipleAnswers = "allows_multiple_answers"
    }
}

public struct Dice: Codable, Hashable, Sendable {
    public var emoji: String
    public var value: Int

    public init(emoji: String, value: Int) {
        self.emoji = emoji
        self.value = value
    }
}

/// A reaction: an emoji from Telegram's fixed list, a custom emoji, or a paid star (kept by its type name).
public enum ReactionType: Codable, Hashable, Sendable {
    case emoji(String)
    case customEmoji(String)
    case other(String)

    private enum Keys: String, CodingKey {
        case type, emoji
        case customEmojiID = "custom_emoji_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        switch try container.decode(String.self, forKey: .type) {
        case "emoji": self = .emoji(try container.decode(String.self, forKey: .emoji))
        case "custom_emoji": self = .customEmoji(try container.decode(String.self, forKey: .customEmojiID))
        case let other: self = .other(other)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch self {
        case let .emoji(emoji):
            try container.encode("emoji", forKey: .type)
            try container.encode(emoji, forKey: .emoji)
        case let .customEmoji(id):
            try container.encode("custom_emoji", forKey: .type)
            try container.encode(id, forKey: .customEmojiID)
        case let .other(type):
            try container.encode(type, forKey: .type)
        }
    }
}

/// A user changed their reactions on a message (`message_reaction`; never sent for a bot's own reactions).
public struct MessageReactionUpdated: Codable, Hashable, Sendable {
    public var chat: Chat
    public var messageID: Int64
    public var user: TelegramUser?
    public var date: Int64
    public var oldReaction: [ReactionType]
    public var newReaction: [ReactionType]

    public init(chat: Chat, messageID: Int64, user: TelegramUser?, date: Int64, oldReaction: [ReactionType], newReaction: [ReactionType]) {
        self.chat = chat
        self.messageID = messageID
        self.user = user
        self.date = date
        self.oldReaction = oldReaction
        self.newReaction = newReaction
    }

    enum CodingKeys: String, CodingKey {
        case chat, user, date
        case messageID = "message_id"
        case oldReaction = "old_reaction"
        case newReaction = "new_reaction"
    }
}

public struct CallbackQuery: Codable, Hashable, Sendable {
    public var id: String
    public var from: TelegramUser
    /// The message with the button; `date == 0` when Telegram no longer gives access to it.
    public var message: Message?
    public var inlineMessageID: String?
    /// Absent in some older payloads.
    public var chatInstance: String?
    public var data: String?

    enum CodingKeys: String, CodingKey {
        case id, from, message, data
        case inlineMessageID = "inline_message_id"
        case chatInstance = "chat_instance"
    }
}

/// A member's state in a chat. In a private chat with the bot, `kicked` means the user blocked the bot.
public struct ChatMember: Codable, Hashable, Sendable {
    public var status: ChatMemberStatus
    public var user: TelegramUser
    public var untilDate: Int64?

    public init(status: ChatMemberStatus, user: TelegramUser) {
        self.status = status
        self.user = user
    }

    enum CodingKeys: String, CodingKey {
        case status, user
        case untilDate = "until_date"
    }
}

public struct ChatMemberUpdated: Codable, Hashable, Sendable {
    public var chat: Chat
    public var from: TelegramUser
    public var date: Int64
    public var oldChatMember: ChatMember
    public var newChatMember: ChatMember

    public init(chat: Chat, from: TelegramUser, date: Int64, oldChatMember: ChatMember, newChatMember: ChatMember) {
        self.chat = chat
        self.from = from
        self.date = date
        self.oldChatMember = oldChatMember
        self.newChatMember = newChatMember
    }

    enum CodingKeys: String, CodingKey {
        case chat, from, date
        case oldChatMember = "old_chat_member"
        case newChatMember = "new_chat_member"
    }
}

public struct InlineKeyboardButton: Codable, Hashable, Sendable {
    public var text: String
    public var url: String?
    /// 1–64 bytes (UTF-8).
    public var callbackData: String?

    public init(text: String, callbackData: String) {
        self.text = text
        self.callbackData = callbackData
    }

    public init(text: String, url: String) {
        self.text = text
        self.url = url
    }

    enum CodingKeys: String, CodingKey {
        case text, url
        case callbackData = "callback_data"
    }
}

public struct InlineKeyboardMarkup: Codable, Hashable, Sendable {
    public var inlineKeyboard: [[InlineKeyboardButton]]

    public init(_ rows: [[InlineKeyboardButton]]) { inlineKeyboard = rows }

    enum CodingKeys: String, CodingKey {
        case inlineKeyboard = "inline_keyboard"
    }
}

public struct KeyboardButton: Codable, Hashable, Sendable {
    public var text: String
    public var requestContact: Bool?
    public var requestLocation: Bool?

    public init(_ text: String) { self.text = text }

    enum CodingKeys: String, CodingKey {
        case text
        case requestContact = "request_contact"
        case requestLocation = "request_location"
    }
}

public struct ReplyKeyboardMarkup: Codable, Hashable, Sendable {
    public var keyboard: [[KeyboardButton]]
    public var isPersistent: Bool?
    public var resizeKeyboard: Bool?
    public var oneTimeKeyboard: Bool?
    public var inputFieldPlaceholder: String?

    public init(_ keyboard: [[KeyboardButton]], resize: Bool = true, oneTime: Bool = false) {
        self.keyboard = keyboard
        self.resizeKeyboard = resize
        self.oneTimeKeyboard = oneTime
    }

    enum CodingKeys: String, CodingKey {
        case keyboard
        case isPersistent = "is_persistent"
        case resizeKeyboard = "resize_keyboard"
        case oneTimeKeyboard = "one_time_keyboard"
        case inputFieldPlaceholder = "input_field_placeholder"
    }
}

/// `reply_markup` of a send method: one of four object types.
public enum ReplyMarkup: Encodable, Hashable, Sendable {
    case inline(InlineKeyboardMarkup)
    case keyboard(ReplyKeyboardMarkup)
    case removeKeyboard
    case forceReply(placeholder: String?)

    private enum Keys: String, CodingKey {
        case removeKeyboard = "remove_keyboard"
        case forceReply = "force_reply"
        case inputFieldPlaceholder = "input_field_placeholder"
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .inline(markup): try markup.encode(to: encoder)
        case let .keyboard(markup): try markup.encode(to: encoder)
        case .removeKeyboard:
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(true, forKey: .removeKeyboard)
        case let .forceReply(placeholder):
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(true, forKey: .forceReply)
            try container.encodeIfPresent(placeholder, forKey: .inputFieldPlaceholder)
        }
    }
}

/// Extra information in an error answer.
public struct ResponseParameters: Codable, Hashable, Sendable {
    public var migrateToChatID: Int64?
    public var retryAfter: Int?

    public init(migrateToChatID: Int64? = nil, retryAfter: Int? = nil) {
        self.migrateToChatID = migrateToChatID
        self.retryAfter = retryAfter
    }

    enum CodingKeys: String, CodingKey {
        case migrateToChatID = "migrate_to_chat_id"
        case retryAfter = "retry_after"
    }
}

public struct BotCommand: Codable, Hashable, Sendable {
    /// 1–32 characters, a-z, 0-9 and underscore.
    public var command: String
    /// 1–256 characters.
    public var description: String

    public init(_ command: String, _ description: String) {
        self.command = command
        self.description = description
    }
}

/// Which chats a command list applies to.
public enum BotCommandScope: Codable, Hashable, Sendable {
    case `default`
    case allPrivateChats
    case chat(Int64)

    private enum Keys: String, CodingKey { case type, chatID = "chat_id" }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch self {
        case .default: try container.encode("default", forKey: .type)
        case .allPrivateChats: try container.encode("all_private_chats", forKey: .type)
        case let .chat(id):
            try container.encode("chat", forKey: .type)
            try container.encode(id, forKey: .chatID)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        switch try container.decode(String.self, forKey: .type) {
        case "all_private_chats": self = .allPrivateChats
        case "chat": self = .chat(try container.decode(Int64.self, forKey: .chatID))
        default: self = .default
        }
    }
}

/// A file ready to download with `getFile`'s `file_path`.
public struct File: Codable, Hashable, Sendable {
    public var fileID: String
    /// Absent in some older payloads.
    public var fileUniqueID: String?
    public var fileSize: Int64?
    public var filePath: String?

    enum CodingKeys: String, CodingKey {
        case fileID = "file_id"
        case fileUniqueID = "file_unique_id"
        case fileSize = "file_size"
        case filePath = "file_path"
    }
}

/// The id of a copied message.
public struct MessageID: Codable, Hashable, Sendable {
    public var messageID: Int64

    enum CodingKeys: String, CodingKey { case messageID = "message_id" }
}

public struct LinkPreviewOptions: Codable, Hashable, Sendable {
    public var isDisabled: Bool?

    public init(isDisabled: Bool) { self.isDisabled = isDisabled }

    enum CodingKeys: String, CodingKey { case isDisabled = "is_disabled" }
}

/// Which message a sent message replies to (threading).
public struct ReplyParameters: Codable, Hashable, Sendable {
    public var messageID: Int64
    public var chatID: Int64?
    public var allowSendingWithoutReply: Bool?

    public init(messageID: Int64, allowSendingWithoutReply: Bool = true) {
        self.messageID = messageID
        self.allowSendingWithoutReply = allowSendingWithoutReply
    }

    enum CodingKeys: String, CodingKey {
        case messageID = "message_id"
        case chatID = "chat_id"
        case allowSendingWithoutReply = "allow_sending_without_reply"
    }
}

public struct WebhookInfo: Codable, Hashable, Sendable {
    public var url: String
    public var hasCustomCertificate: Bool
    public var pendingUpdateCount: Int
    /// Unix time of the last failed delivery, and why it failed.
    public var lastErrorDate: Int64?
    public var lastErrorMessage: String?
    public var maxConnections: Int?
    public var allowedUpdates: [String]?

    public init(url: String, hasCustomCertificate: Bool = false, pendingUpdateCount: Int = 0, lastErrorDate: Int64? = nil,
                lastErrorMessage: String? = nil, maxConnections: Int? = nil, allowedUpdates: [String]? = nil) {
        self.url = url
        self.hasCustomCertificate = hasCustomCertificate
        self.pendingUpdateCount = pendingUpdateCount
        self.lastErrorDate = lastErrorDate
        self.lastErrorMessage = lastErrorMessage
        self.maxConnections = maxConnections
        self.allowedUpdates = allowedUpdates
    }

    enum CodingKeys: String, CodingKey {
        case url
        case hasCustomCertificate = "has_custom_certificate"
        case pendingUpdateCount = "pending_update_count"
        case lastErrorDate = "last_error_date"
        case lastErrorMessage = "last_error_message"
        case maxConnections = "max_connections"
        case allowedUpdates = "allowed_updates"
    }
}

/// One item of `sendMediaGroup`, re-sent by file id.
public struct InputMedia: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable { case photo, video, audio, document }
    public var type: Kind
    /// A file_id (or an HTTP URL).
    public var media: String
    public var caption: String?
    public var captionEntities: [MessageEntity]?

    public init(_ type: Kind, media: String, caption: String? = nil, captionEntities: [MessageEntity]? = nil) {
        self.type = type
        self.media = media
        self.caption = caption
        self.captionEntities = captionEntities
    }

    enum CodingKeys: String, CodingKey {
        case type, media, caption
        case captionEntities = "caption_entities"
    }
}
