import BridgeOSCore
import Foundation
import GRDB

public enum UpdateStatus: String, Codable, Sendable {
    case handled, failing, failed
}

/// One incoming update as the store remembers it: the exactly-once record.
public struct UpdateRecord: SnakeCaseRecord, Equatable {
    public static let databaseTableName = "updates"
    public var botSlot: BotSlot
    public var updateID: Int64
    public var status: UpdateStatus
    public var kind: String
    public var attempts: Int
    public var lastError: String?
    public var receivedAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case botSlot, status, kind, attempts, lastError, receivedAt, updatedAt
        case updateID = "updateId"
    }
}

public enum OutboxLane: String, Codable, Sendable {
    /// In order with the chat's other rows, within the per-chat rate.
    case chat
    /// Skips the chat queue: callback answers and in-place menu edits, which Telegram wants at once.
    case immediate
}

public enum OutboxStatus: String, Codable, Sendable {
    case pending, inFlight = "in_flight", sent, dead, unreachable
}

/// A call to Telegram waiting to be made, or made.
public struct OutboxRow: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "outbox"
    public var id: Int64
    public var botSlot: BotSlot
    public var chatID: Int64
    public var method: String
    /// The method's JSON parameters.
    public var payload: String
    public var lane: OutboxLane
    public var isGroup: Bool
    public var dependsOn: Int64?
    public var dependsOnField: String?
    public var status: OutboxStatus
    public var attempts: Int
    public var notBefore: Date?
    public var result: String?
    public var resultMessageID: Int64?
    public var lastError: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var sentAt: Date?
    /// The conversation message this row carries (nil for BridgeOS's own texts).
    public var messageID: Int64?
    /// Someone follows this row's delivery (a receipt): the sender reports when Telegram took it.
    public var reportDelivery: Bool = false

    enum CodingKeys: String, CodingKey {
        case id, botSlot, method, payload, lane, isGroup, dependsOn, dependsOnField, status, attempts, notBefore
        case result, lastError, createdAt, updatedAt, sentAt, reportDelivery
        case chatID = "chatId"
        case resultMessageID = "resultMessageId"
        case messageID = "messageId"
    }
}

/// A call to queue.
public struct NewOutboxRow: Sendable, Equatable {
    public var slot: BotSlot
    public var chatID: Int64
    public var method: String
    public var payload: String
    public var lane: OutboxLane
    public var isGroup: Bool
    /// Another row (by id) that must be sent first.
    public var dependsOn: Int64?
    /// Where that row's sent message id goes in this payload, as a dotted path (e.g. `reply_parameters.message_id`).
    public var dependsOnField: String?
    /// The conversation message this row carries (nil for BridgeOS's own texts).
    public var messageID: Int64?
    /// Queued held (`unreachable`): the chat cannot be written to now; delivered when it can.
    public var held: Bool = false
    /// The sender reports when Telegram took it (`DeliveryObserver.delivered`).
    public var reportDelivery: Bool = false

    public init(slot: BotSlot, chatID: Int64, method: String, payload: String, lane: OutboxLane = .chat, isGroup: Bool = false,
                dependsOn: Int64? = nil, dependsOnField: String? = nil, messageID: Int64? = nil) {
        self.messageID = messageID
        self.slot = slot
        self.chatID = chatID
        self.method = method
        self.payload = payload
        self.lane = lane
        self.isGroup = isGroup
        self.dependsOn = dependsOn
        self.dependsOnField = dependsOnField
    }
}

public enum JobStatus: String, Codable, Sendable {
    case pending, running, done, failed
}

public struct JobRow: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "jobs"
    public var id: Int64
    public var kind: String
    public var queueKey: String
    public var payload: String
    public var status: JobStatus
    public var attempts: Int
    public var notBefore: Date?
    public var lastError: String?
    public var createdAt: Date
    public var updatedAt: Date
}

public enum UnreachableReason: String, Codable, Sendable {
    case blocked, deactivated
    case notStarted = "not_started"
    case kicked
}

public struct UnreachableChat: SnakeCaseRecord, Equatable {
    public static let databaseTableName = "unreachable_chats"
    public var botSlot: BotSlot
    public var chatID: Int64
    public var reason: UnreachableReason
    public var since: Date

    enum CodingKeys: String, CodingKey {
        case botSlot, reason, since
        case chatID = "chatId"
    }
}
