/// One incoming update. BridgeOS asks for five kinds (`allowedUpdates`); anything else decodes as
/// `.unsupported` so it can be confirmed and skipped, never crash the poller.
public struct Update: Codable, Hashable, Sendable {
    public var updateID: Int64
    public var kind: Kind

    public enum Kind: Hashable, Sendable {
        case message(Message)
        case editedMessage(Message)
        case callbackQuery(CallbackQuery)
        case myChatMember(ChatMemberUpdated)
        case messageReaction(MessageReactionUpdated)
        /// An update kind BridgeOS does not handle, named by its field (e.g. "poll", "message_reaction").
        case unsupported(String)
        /// A kind BridgeOS handles whose payload did not decode (a Bot API change, a malformed field).
        /// Kept so the update can be logged and confirmed instead of stalling its bot's poller.
        case undecodable(kind: String, reason: String)
    }

    /// The update kinds BridgeOS subscribes to with `allowed_updates`.
    public static let allowedUpdates = ["message", "edited_message", "callback_query", "my_chat_member", "message_reaction"]

    public init(updateID: Int64, kind: Kind) {
        self.updateID = updateID
        self.kind = kind
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        updateID = try container.decode(Int64.self, forKey: AnyKey("update_id"))
        let key: String
        do {
            if container.contains(AnyKey("message")) {
                key = "message"
                kind = .message(try container.decode(Message.self, forKey: AnyKey(key)))
            } else if container.contains(AnyKey("edited_message")) {
                key = "edited_message"
                kind = .editedMessage(try container.decode(Message.self, forKey: AnyKey(key)))
            } else if container.contains(AnyKey("callback_query")) {
                key = "callback_query"
                kind = .callbackQuery(try container.decode(CallbackQuery.self, forKey: AnyKey(key)))
            } else if container.contains(AnyKey("my_chat_member")) {
                key = "my_chat_member"
                kind = .myChatMember(try container.decode(ChatMemberUpdated.self, forKey: AnyKey(key)))
            } else if container.contains(AnyKey("message_reaction")) {
                key = "message_reaction"
                kind = .messageReaction(try container.decode(MessageReactionUpdated.self, forKey: AnyKey(key)))
            } else {
                let other = container.allKeys.map(\.stringValue).filter { $0 != "update_id" }.sorted()
                kind = .unsupported(other.first ?? "empty")
                return
            }
        } catch let error as DecodingError {
            kind = .undecodable(kind: Self.kindName(of: container), reason: Self.describe(error))
        }
    }

    private static func kindName(of container: KeyedDecodingContainer<AnyKey>) -> String {
        container.allKeys.map(\.stringValue).filter { $0 != "update_id" }.sorted().first ?? "empty"
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, context): return "missing \(key.stringValue) at \(path(context))"
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            return "\(context.debugDescription) at \(path(context))"
        @unknown default: return "\(error)"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(updateID, forKey: AnyKey("update_id"))
        switch kind {
        case let .message(message): try container.encode(message, forKey: AnyKey("message"))
        case let .editedMessage(message): try container.encode(message, forKey: AnyKey("edited_message"))
        case let .callbackQuery(query): try container.encode(query, forKey: AnyKey("callback_query"))
        case let .myChatMember(member): try container.encode(member, forKey: AnyKey("my_chat_member"))
        case let .messageReaction(reaction): try container.encode(reaction, forKey: AnyKey("message_reaction"))
        case .unsupported, .undecodable: break
        }
    }

    /// The user the update comes from, when there is one.
    public var sender: TelegramUser? {
        switch kind {
        case let .message(message), let .editedMessage(message): message.from
        case let .callbackQuery(query): query.from
        case let .myChatMember(member): member.from
        case let .messageReaction(reaction): reaction.user
        case .unsupported, .undecodable: nil
        }
    }
}
