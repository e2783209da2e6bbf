/// String values Telegram documents as a closed set but keeps extending (chat types, entity types,
/// member statuses). Modelled as open structs rather than enums so that a value added by a future Bot API
/// decodes instead of failing the whole update.
public protocol OpenStringValue: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible,
    ExpressibleByStringLiteral where RawValue == String
{
    init(rawValue: String)
}

extension OpenStringValue {
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public struct ChatType: OpenStringValue {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let `private`: ChatType = "private"
    public static let group: ChatType = "group"
    public static let supergroup: ChatType = "supergroup"
    public static let channel: ChatType = "channel"
}

public struct MessageEntityType: OpenStringValue {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let mention: MessageEntityType = "mention"
    public static let hashtag: MessageEntityType = "hashtag"
    public static let cashtag: MessageEntityType = "cashtag"
    public static let botCommand: MessageEntityType = "bot_command"
    public static let url: MessageEntityType = "url"
    public static let email: MessageEntityType = "email"
    public static let phoneNumber: MessageEntityType = "phone_number"
    public static let bold: MessageEntityType = "bold"
    public static let italic: MessageEntityType = "italic"
    public static let underline: MessageEntityType = "underline"
    public static let strikethrough: MessageEntityType = "strikethrough"
    public static let spoiler: MessageEntityType = "spoiler"
    public static let blockquote: MessageEntityType = "blockquote"
    public static let expandableBlockquote: MessageEntityType = "expandable_blockquote"
    public static let code: MessageEntityType = "code"
    public static let pre: MessageEntityType = "pre"
    public static let textLink: MessageEntityType = "text_link"
    public static let textMention: MessageEntityType = "text_mention"
    public static let customEmoji: MessageEntityType = "custom_emoji"
}

public struct ChatMemberStatus: OpenStringValue {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let creator: ChatMemberStatus = "creator"
    public static let administrator: ChatMemberStatus = "administrator"
    public static let member: ChatMemberStatus = "member"
    public static let restricted: ChatMemberStatus = "restricted"
    public static let left: ChatMemberStatus = "left"
    /// In a private chat: the user blocked the bot.
    public static let kicked: ChatMemberStatus = "kicked"
}

/// What `sendChatAction` shows ("typing…").
public struct ChatAction: OpenStringValue {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let typing: ChatAction = "typing"
    public static let uploadPhoto: ChatAction = "upload_photo"
    public static let recordVoice: ChatAction = "record_voice"
    public static let uploadDocument: ChatAction = "upload_document"
}

/// `parse_mode` values.
public struct ParseMode: OpenStringValue {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let html: ParseMode = "HTML"
    public static let markdownV2: ParseMode = "MarkdownV2"
}
