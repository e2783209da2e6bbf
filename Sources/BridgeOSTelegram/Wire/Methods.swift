import Foundation

/// A Bot API method: its parameters are the encoded fields, `Result` is what `result` decodes to.
public protocol TelegramMethod: Encodable, Sendable {
    associatedtype Result: Decodable & Sendable
    static var name: String { get }
    /// The name in the URL. `Self.name`, except for types that serve several methods (`SendMedia`).
    var methodName: String { get }
    /// How long the HTTP call may take, when it differs from the client's default (long polls).
    var requestTimeout: Duration? { get }
}

extension TelegramMethod {
    public var methodName: String { Self.name }
    public var requestTimeout: Duration? { nil }
}

/// A chat id or a public `@username`.
public enum ChatID: Encodable, Hashable, Sendable, ExpressibleByIntegerLiteral {
    case id(Int64)
    case username(String)

    public init(integerLiteral value: Int64) { self = .id(value) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .id(id): try container.encode(id)
        case let .username(name): try container.encode(name)
        }
    }
}

/// `editMessageText` and friends answer a `Message`, or `true` for inline messages.
public enum MessageOrTrue: Decodable, Hashable, Sendable {
    case message(Message)
    case `true`

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self), flag {
            self = .true
        } else {
            self = .message(try container.decode(Message.self))
        }
    }
}

// MARK: Bot set-up

public struct GetMe: TelegramMethod {
    public typealias Result = BotInfo
    public static let name = "getMe"
    public init() {}
}

public struct GetUpdates: TelegramMethod {
    public typealias Result = [Update]
    public static let name = "getUpdates"
    public var offset: Int64?
    public var limit: Int?
    /// Long-poll seconds (Telegram clamps to 50).
    public var timeout: Int?
    public var allowedUpdates: [String]?

    public init(offset: Int64? = nil, limit: Int? = nil, timeout: Int? = nil, allowedUpdates: [String]? = Update.allowedUpdates) {
        self.offset = offset
        self.limit = limit
        self.timeout = timeout
        self.allowedUpdates = allowedUpdates
    }

    /// The poll may legitimately take its whole timeout; allow a margin for the network on top.
    public var requestTimeout: Duration? { .seconds((timeout ?? 0) + 15) }

    enum CodingKeys: String, CodingKey {
        case offset, limit, timeout
        case allowedUpdates = "allowed_updates"
    }
}

public struct DeleteWebhook: TelegramMethod {
    public typealias Result = Bool
    public static let name = "deleteWebhook"
    public var dropPendingUpdates: Bool?

    public init(dropPendingUpdates: Bool? = nil) { self.dropPendingUpdates = dropPendingUpdates }

    enum CodingKeys: String, CodingKey { case dropPendingUpdates = "drop_pending_updates" }
}

public struct SetWebhook: TelegramMethod {
    public typealias Result = Bool
    public static let name = "setWebhook"
    public var url: String
    public var secretToken: String?
    public var allowedUpdates: [String]?
    public var maxConnections: Int?
    public var dropPendingUpdates: Bool?

    public init(url: String, secretToken: String? = nil, allowedUpdates: [String]? = Update.allowedUpdates) {
        self.url = url
        self.secretToken = secretToken
        self.allowedUpdates = allowedUpdates
    }

    enum CodingKeys: String, CodingKey {
        case url
        case secretToken = "secret_token"
        case allowedUpdates = "allowed_updates"
        case maxConnections = "max_connections"
        case dropPendingUpdates = "drop_pending_updates"
    }
}

public struct GetWebhookInfo: TelegramMethod {
    public typealias Result = WebhookInfo
    public static let name = "getWebhookInfo"
    public init() {}
}

public struct SetMyCommands: TelegramMethod {
    public typealias Result = Bool
    public static let name = "setMyCommands"
    public var commands: [BotCommand]
    public var scope: BotCommandScope?
    public var languageCode: String?

    public init(_ commands: [BotCommand], scope: BotCommandScope? = nil, languageCode: String? = nil) {
        self.commands = commands
        self.scope = scope
        self.languageCode = languageCode
    }

    enum CodingKeys: String, CodingKey {
        case commands, scope
        case languageCode = "language_code"
    }
}

// MARK: Messages

public struct SendMessage: TelegramMethod {
    public typealias Result = Message
    public static let name = "sendMessage"
    public var chatID: ChatID
    public var text: String
    public var parseMode: ParseMode?
    public var entities: [MessageEntity]?
    public var linkPreviewOptions: LinkPreviewOptions?
    public var disableNotification: Bool?
    public var replyParameters: ReplyParameters?
    public var replyMarkup: ReplyMarkup?

    public init(chatID: ChatID, text: String, entities: [MessageEntity]? = nil, parseMode: ParseMode? = nil,
                replyParameters: ReplyParameters? = nil, replyMarkup: ReplyMarkup? = nil) {
        self.chatID = chatID
        self.text = text
        self.entities = entities
        self.parseMode = parseMode
        self.replyParameters = replyParameters
        self.replyMarkup = replyMarkup
    }

    enum CodingKeys: String, CodingKey {
        case text, entities
        case chatID = "chat_id"
        case parseMode = "parse_mode"
        case linkPreviewOptions = "link_preview_options"
        case disableNotification = "disable_notification"
        case replyParameters = "reply_parameters"
        case replyMarkup = "reply_markup"
    }
}

public struct EditMessageText: TelegramMethod {
    public typealias Result = MessageOrTrue
    public static let name = "editMessageText"
    public var chatID: ChatID
    public var messageID: Int64
    public var text: String
    public var parseMode: ParseMode?
    public var entities: [MessageEntity]?
    public var replyMarkup: InlineKeyboardMarkup?

    public init(chatID: ChatID, messageID: Int64, text: String, entities: [MessageEntity]? = nil, replyMarkup: InlineKeyboardMarkup? = nil) {
        self.chatID = chatID
        self.messageID = messageID
        self.text = text
        self.entities = entities
        self.replyMarkup = replyMarkup
    }

    enum CodingKeys: String, CodingKey {
        case text, entities
        case chatID = "chat_id"
        case messageID = "message_id"
        case parseMode = "parse_mode"
        case replyMarkup = "reply_markup"
    }
}

public struct EditMessageReplyMarkup: TelegramMethod {
    public typealias Result = MessageOrTrue
    public static let name = "editMessageReplyMarkup"
    public var chatID: ChatID
    public var messageID: Int64
    public var replyMarkup: InlineKeyboardMarkup?

    public init(chatID: ChatID, messageID: Int64, replyMarkup: InlineKeyboardMarkup?) {
        self.chatID = chatID
        self.messageID = messageID
        self.replyMarkup = replyMarkup
    }

    enum CodingKeys: String, CodingKey {
        case chatID = "chat_id"
        case messageID = "message_id"
        case replyMarkup = "reply_markup"
    }
}

public struct DeleteMessage: TelegramMethod {
    public typealias Result = Bool
    public static let name = "deleteMessage"
    public var chatID: ChatID
    public var messageID: Int64

    public init(chatID: ChatID, messageID: Int64) {
        self.chatID = chatID
        self.messageID = messageID
    }

    enum CodingKeys: String, CodingKey {
        case chatID = "chat_id"
        case messageID = "message_id"
    }
}

public struct AnswerCallbackQuery: TelegramMethod {
    public typealias Result = Bool
    public static let name = "answerCallbackQuery"
    public var callbackQueryID: String
    /// 0–200 characters.
    public var text: String?
    public var showAlert: Bool?

    public init(callbackQueryID: String, text: String? = nil, showAlert: Bool? = nil) {
        self.callbackQueryID = callbackQueryID
        self.text = text
        self.showAlert = showAlert
    }

    enum CodingKeys: String, CodingKey {
        case text
        case callbackQueryID = "callback_query_id"
        case showAlert = "show_alert"
    }
}

public struct SendChatAction: TelegramMethod {
    public typealias Result = Bool
    public static let name = "sendChatAction"
    public var chatID: ChatID
    public var action: ChatAction

    public init(chatID: ChatID, action: ChatAction) {
        self.chatID = chatID
        self.action = action
    }

    enum CodingKeys: String, CodingKey {
        case action
        case chatID = "chat_id"
    }
}

public struct CopyMessage: TelegramMethod {
    public typealias Result = MessageID
    public static let name = "copyMessage"
    public var chatID: ChatID
    public var fromChatID: ChatID
    public var messageID: Int64
    public var caption: String?
    public var captionEntities: [MessageEntity]?
    public var replyParameters: ReplyParameters?
    public var replyMarkup: InlineKeyboardMarkup?

    public init(chatID: ChatID, fromChatID: ChatID, messageID: Int64, caption: String? = nil, captionEntities: [MessageEntity]? = nil,
                replyParameters: ReplyParameters? = nil, replyMarkup: InlineKeyboardMarkup? = nil) {
        self.chatID = chatID
        self.fromChatID = fromChatID
        self.messageID = messageID
        self.caption = caption
        self.captionEntities = captionEntities
        self.replyParameters = replyParameters
        self.replyMarkup = replyMarkup
    }

    enum CodingKeys: String, CodingKey {
        case caption
        case chatID = "chat_id"
        case fromChatID = "from_chat_id"
        case messageID = "message_id"
        case captionEntities = "caption_entities"
        case replyParameters = "reply_parameters"
        case replyMarkup = "reply_markup"
    }
}

public struct CopyMessages: TelegramMethod {
    public typealias Result = [MessageID]
    public static let name = "copyMessages"
    public var chatID: ChatID
    public var fromChatID: ChatID
    /// 1–100 ids, strictly increasing (e.g. a media group).
    public var messageIDs: [Int64]
    /// Copies without their captions.
    public var removeCaption: Bool?

    public init(chatID: ChatID, fromChatID: ChatID, messageIDs: [Int64], removeCaption: Bool? = nil) {
        self.chatID = chatID
        self.fromChatID = fromChatID
        self.messageIDs = messageIDs
        self.removeCaption = removeCaption
    }

    enum CodingKeys: String, CodingKey {
        case chatID = "chat_id"
        case fromChatID = "from_chat_id"
        case messageIDs = "message_ids"
        case removeCaption = "remove_caption"
    }
}

public struct EditMessageCaption: TelegramMethod {
    public typealias Result = MessageOrTrue
    public static let name = "editMessageCaption"
    public var chatID: ChatID
    public var messageID: Int64
    /// 0–1024 UTF-16 units.
    public var caption: String
    public var captionEntities: [MessageEntity]?
    public var replyMarkup: InlineKeyboardMarkup?

    public init(chatID: ChatID, messageID: Int64, caption: String, captionEntities: [MessageEntity]? = nil, replyMarkup: InlineKeyboardMarkup? = nil) {
        self.chatID = chatID
        self.messageID = messageID
        self.caption = caption
        self.captionEntities = captionEntities
        self.replyMarkup = replyMarkup
    }

    enum CodingKeys: String, CodingKey {
        case caption
        case chatID = "chat_id"
        case messageID = "message_id"
        case captionEntities = "caption_entities"
        case replyMarkup = "reply_markup"
    }
}

/// Sets the bot's reaction on a message (bots set at most one; an empty list removes it).
public struct SetMessageReaction: TelegramMethod {
    public typealias Result = Bool
    public static let name = "setMessageReaction"
    public var chatID: ChatID
    public var messageID: Int64
    public var reaction: [ReactionType]

    public init(chatID: ChatID, messageID: Int64, reaction: [ReactionType]) {
        self.chatID = chatID
        self.messageID = messageID
        self.reaction = reaction
    }

    enum CodingKeys: String, CodingKey {
        case reaction
        case chatID = "chat_id"
        case messageID = "message_id"
    }
}

public struct ForwardMessage: TelegramMethod {
    public typealias Result = Message
    public static let name = "forwardMessage"
    public var chatID: ChatID
    public var fromChatID: ChatID
    public var messageID: Int64

    public init(chatID: ChatID, fromChatID: ChatID, messageID: Int64) {
        self.chatID = chatID
        self.fromChatID = fromChatID
        self.messageID = messageID
    }

    enum CodingKeys: String, CodingKey {
        case chatID = "chat_id"
        case fromChatID = "from_chat_id"
        case messageID = "message_id"
    }
}

// MARK: Media (re-sent by file_id or URL; BridgeOS never uploads)

/// `sendPhoto`, `sendVoice`, … : one method per media kind, same shape.
public struct SendMedia: TelegramMethod {
    public typealias Result = Message

    public enum Kind: String, Sendable, CaseIterable {
        case photo, audio, document, video, animation, voice
        case videoNote = "video_note"
        case sticker

        /// The method's name, e.g. `sendVideoNote`.
        public var methodName: String {
            "send" + rawValue.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        }

        /// Stickers and video notes take no caption.
        public var takesCaption: Bool { self != .sticker && self != .videoNote }
    }

    /// One type serves every `send<Media>` method: the real name is `methodName`.
    public static var name: String { "send<Media>" }
    public var methodName: String { kind.methodName }

    public var kind: Kind
    public var chatID: ChatID
    /// A file_id known to Telegram (or an HTTP URL).
    public var file: String
    public var caption: String?
    public var captionEntities: [MessageEntity]?
    public var replyParameters: ReplyParameters?
    public var replyMarkup: ReplyMarkup?

    public init(_ kind: Kind, chatID: ChatID, file: String, caption: String? = nil, captionEntities: [MessageEntity]? = nil) {
        self.kind = kind
        self.chatID = chatID
        self.file = file
        self.caption = caption
        self.captionEntities = captionEntities
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(chatID, forKey: Key("chat_id"))
        try container.encode(file, forKey: Key(kind.rawValue))
        if kind.takesCaption {
            try container.encodeIfPresent(caption, forKey: Key("caption"))
            try container.encodeIfPresent(captionEntities, forKey: Key("caption_entities"))
        }
        try container.encodeIfPresent(replyParameters, forKey: Key("reply_parameters"))
        try container.encodeIfPresent(replyMarkup, forKey: Key("reply_markup"))
    }
}

public struct SendLocation: TelegramMethod {
    public typealias Result = Message
    public static let name = "sendLocation"
    public var chatID: ChatID
    public var latitude: Double
    public var longitude: Double

    public init(chatID: ChatID, latitude: Double, longitude: Double) {
        self.chatID = chatID
        self.latitude = latitude
        self.longitude = longitude
    }

    enum CodingKeys: String, CodingKey {
        case latitude, longitude
        case chatID = "chat_id"
    }
}

public struct SendContact: TelegramMethod {
    public typealias Result = Message
    public static let name = "sendContact"
    public var chatID: ChatID
    public var phoneNumber: String
    public var firstName: String
    public var lastName: String?

    public init(chatID: ChatID, phoneNumber: String, firstName: String, lastName: String? = nil) {
        self.chatID = chatID
        self.phoneNumber = phoneNumber
        self.firstName = firstName
        self.lastName = lastName
    }

    enum CodingKeys: String, CodingKey {
        case chatID = "chat_id"
        case phoneNumber = "phone_number"
        case firstName = "first_name"
        case lastName = "last_name"
    }
}

public struct SendMediaGroup: TelegramMethod {
    public typealias Result = [Message]
    public static let name = "sendMediaGroup"
    public var chatID: ChatID
    /// 2–10 items.
    public var media: [InputMedia]

    public init(chatID: ChatID, media: [InputMedia]) {
        self.chatID = chatID
        self.media = media
    }

    enum CodingKeys: String, CodingKey {
        case media
        case chatID = "chat_id"
    }
}

public struct GetFile: TelegramMethod {
    public typealias Result = File
    public static let name = "getFile"
    public var fileID: String

    public init(fileID: String) { self.fileID = fileID }

    enum CodingKeys: String, CodingKey { case fileID = "file_id" }
}

// MARK: Stored calls

/// A call stored as a method name and JSON parameters (the outbox's form). Answers the raw `result`.
public struct RawMethod: TelegramMethod {
    public typealias Result = JSONValue
    public static let name = "<raw>"
    public let methodName: String
    public var parameters: [String: JSONValue]

    public init(name: String, parameters: [String: JSONValue]) {
        self.methodName = name
        self.parameters = parameters
    }

    public func encode(to encoder: any Encoder) throws {
        try parameters.encode(to: encoder)
    }
}
