import BridgeOSCore
import Foundation
import GRDB

// Records mirror the tables in schema/ one to one. Column names are snake_case in SQL and camelCase here;
// `SnakeCaseRecord` does the mapping so no record repeats it.

/// Shared GRDB settings for every BridgeOS record.
public protocol SnakeCaseRecord: Codable, Sendable, FetchableRecord, PersistableRecord {}

extension SnakeCaseRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

/// The grammatical gender a person chose, used for agreement in translations.
public enum Gender: String, Codable, Sendable, CaseIterable {
    case female, male
    /// "Prefer not to say": translations use neutral forms.
    case unspecified
}

/// What a registered person is to BridgeOS.
public enum Role: String, Codable, Sendable {
    case manager, worker
}

public struct User: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "users"
    public var id: Int64
    public var displayName: String
    public var username: String?
    public var language: String
    public var gender: Gender
    public var createdAt: Date
    public var updatedAt: Date
    /// Translated messages to this person also show the original text.
    public var showOriginal: Bool = false
    /// The bot marks this person's messages 👌 once their translation was delivered.
    public var deliveryMarks: Bool = true
}

/// What registration knows about a person: the Telegram identity and the choices they made.
public struct UserProfile: Sendable, Equatable {
    public var id: Int64
    public var displayName: String
    public var username: String?
    public var language: String
    public var gender: Gender

    public init(id: Int64, displayName: String, username: String? = nil, language: String, gender: Gender) {
        self.id = id
        self.displayName = displayName
        self.username = username
        self.language = language
        self.gender = gender
    }
}

public struct Manager: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "managers"
    public var id: Int64
    /// Human-readable code, [A-Za-z0-9] only (referrals and support use it).
    public var code: String
    public var industry: String
    public var timeZone: String
    public var createdAt: Date
    public var updatedAt: Date
    public var deletedAt: Date?
    /// The bot slot where the manager registered (notices go there when another slot's bot cannot write).
    public var homeSlot: BotSlot?

    public var isDeleted: Bool { deletedAt != nil }
}

public struct Worker: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "workers"
    public var id: Int64
    public var createdAt: Date
    public var updatedAt: Date
    public var deletedAt: Date?

    public var isDeleted: Bool { deletedAt != nil }
}

public enum ConnectionStatus: String, Codable, Sendable {
    case active, disconnected
}

public struct Connection: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "connections"
    public var id: Int64
    public var managerID: Int64
    public var workerID: Int64
    public var slot: BotSlot
    public var status: ConnectionStatus
    public var connectedAt: Date
    public var disconnectedAt: Date?

    public var isActive: Bool { status == .active }

    enum CodingKeys: String, CodingKey {
        case id, status
        case managerID = "managerId"
        case workerID = "workerId"
        case slot = "botSlot"
        case connectedAt, disconnectedAt
    }

    /// The other party of the connection, seen from `userID`.
    public func counterpart(of userID: Int64) -> Int64? {
        switch userID {
        case managerID: workerID
        case workerID: managerID
        default: nil
        }
    }
}

public struct ConversationMessage: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "messages"
    public var id: Int64
    public var connectionID: Int64
    public var senderID: Int64
    public var originalText: String
    public var translatedText: String?
    public var sourceLanguage: String
    public var targetLanguage: String
    /// Telegram message id in the sender's chat.
    public var sourceMessageID: Int64?
    /// Telegram message id in the recipient's chat, once delivered.
    public var deliveredMessageID: Int64?
    public var createdAt: Date
    /// When the sender was told this message could not be delivered (at most once).
    public var undeliveredNoticeAt: Date?
    /// The Telegram media group (album) it belongs to.
    public var mediaGroupID: String?
    /// What its copy is: a text, media with the text as caption, or media without one.
    public var kind: MessageCopy.Kind = .text
    /// The conversation message it replies to.
    public var replyToID: Int64? = nil
    /// The text's entities as Telegram sent them (JSON).
    public var entities: String? = nil
    /// Edits received (0: as first sent).
    public var revision: Int = 0
    /// The edit whose translation went (or is going) to the counterpart; nil until the relay handled it.
    public var translatedRevision: Int? = nil
    public var editedAt: Date? = nil
    /// When its sender withdrew it (/unsend).
    public var withdrawnAt: Date? = nil
    /// The provider that translated it (nil: untranslated, or before 0011).
    public var translatedBy: String? = nil
    /// What a voice message says, as transcribed.
    public var transcript: String? = nil

    enum CodingKeys: String, CodingKey {
        case id
        case connectionID = "connectionId"
        case senderID = "senderId"
        case originalText, translatedText, sourceLanguage, targetLanguage
        case sourceMessageID = "sourceMessageId"
        case deliveredMessageID = "deliveredMessageId"
        case createdAt, undeliveredNoticeAt
        case mediaGroupID = "mediaGroupId"
        case replyToID = "replyToId"
        case kind, entities, revision, translatedRevision, editedAt, withdrawnAt, translatedBy, transcript
    }
}

/// Where part of a relayed message landed in its recipient's chat.
public struct MessageCopy: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// A text message (edited with editMessageText).
        case text
        /// Media whose caption carries the text (editMessageCaption).
        case caption
        /// Media without a text of its own (a sticker, a location, an album item without the caption).
        case bare
    }

    public var messageID: Int64
    public var part: Int
    public var connectionID: Int64
    public var chatMessageID: Int64
    public var kind: Kind
    /// Which edit of the message it shows.
    public var revision: Int
    public var createdAt: Date

    public init(messageID: Int64, part: Int, connectionID: Int64, chatMessageID: Int64, kind: Kind, revision: Int, createdAt: Date) {
        self.messageID = messageID
        self.part = part
        self.connectionID = connectionID
        self.chatMessageID = chatMessageID
        self.kind = kind
        self.revision = revision
        self.createdAt = createdAt
    }
}

/// A message to append to a conversation.
public struct NewMessage: Sendable, Equatable {
    public var connectionID: Int64
    public var senderID: Int64
    public var originalText: String
    public var translatedText: String?
    public var sourceLanguage: String
    public var targetLanguage: String
    public var sourceMessageID: Int64?
    public var mediaGroupID: String?
    public var replyToID: Int64?
    /// Entities as JSON.
    public var entities: String?
    public var kind: MessageCopy.Kind

    public init(
        connectionID: Int64, senderID: Int64, originalText: String, translatedText: String? = nil,
        sourceLanguage: String, targetLanguage: String, sourceMessageID: Int64? = nil, mediaGroupID: String? = nil,
        replyToID: Int64? = nil, entities: String? = nil, kind: MessageCopy.Kind = .text
    ) {
        self.kind = kind
        self.mediaGroupID = mediaGroupID
        self.replyToID = replyToID
        self.entities = entities
        self.connectionID = connectionID
        self.senderID = senderID
        self.originalText = originalText
        self.translatedText = translatedText
        self.sourceLanguage = sourceLanguage
        self.targetLanguage = targetLanguage
        self.sourceMessageID = sourceMessageID
    }
}

public enum TaskStatus: String, Codable, Sendable {
    case open, done
}

/// A task a manager gave a worker, attached to their connection.
public struct WorkerTask: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "tasks"
    public var id: Int64
    public var connectionID: Int64
    public var description: String
    /// The description in the worker's language.
    public var descriptionTranslated: String?
    public var status: TaskStatus
    public var createdAt: Date
    public var completedAt: Date?
    /// The conversation message that carried it to the worker.
    public var messageID: Int64?
    public var dueAt: Date?
    /// When the worker was reminded of it (once, when it was overdue).
    public var remindedAt: Date?
    /// When the worker last said they cannot do it, and why (it stays open: the manager decides).
    public var declinedAt: Date?
    public var declineReason: String?

    public var isOpen: Bool { status == .open }

    public func isOverdue(at now: Date) -> Bool { isOpen && (dueAt.map { $0 <= now } ?? false) }

    enum CodingKeys: String, CodingKey {
        case id
        case connectionID = "connectionId"
        case description, descriptionTranslated, status, createdAt, completedAt
        case messageID = "messageId"
        case dueAt, remindedAt, declinedAt, declineReason
    }
}

/// A task with the worker it was given to, for a manager's list.
public struct ManagerTaskEntry: Sendable, Equatable {
    public var task: WorkerTask
    public var workerID: Int64
    public var workerName: String
}

/// What became of one message the manager follows.
public enum ReceiptState: String, Codable, Sendable {
    case sending, delivered, failed, refused
}

public struct Receipt: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "receipts"
    public var id: Int64
    public var messageID: Int64?
    public var connectionID: Int64
    public var announcementID: Int64?
    public var needsConfirmation: Bool
    public var state: ReceiptState
    /// The manager's status line (a single confirmed instruction): the outbox row that sends it, and the
    /// `TextDigest` of the text it shows.
    public var statusOutboxID: Int64?
    public var statusDigest: String?
    public var deliveredAt: Date?
    public var confirmedAt: Date?
    public var remindedAt: Date?
    public var escalatedAt: Date?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case messageID = "messageId"
        case connectionID = "connectionId"
        case announcementID = "announcementId"
        case statusOutboxID = "statusOutboxId"
        case needsConfirmation, state, statusDigest, deliveredAt, confirmedAt, remindedAt, escalatedAt, createdAt
    }
}

/// One message to every connected worker of a manager.
public struct Announcement: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "announcements"
    public var id: Int64
    public var managerID: Int64
    /// The bot whose chat shows the manager's summary.
    public var slot: BotSlot
    public var needsConfirmation: Bool
    public var summaryOutboxID: Int64?
    /// The `TextDigest` of the summary's text as shown.
    public var summaryDigest: String?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case managerID = "managerId"
        case slot = "botSlot"
        case summaryOutboxID = "summaryOutboxId"
        case needsConfirmation, summaryDigest, createdAt
    }
}

/// A manager's tasks for one worker.
public struct WorkerTaskGroup: Sendable, Equatable {
    public var workerID: Int64
    public var workerName: String
    /// The slot of the worker's most recent connection with this manager.
    public var slot: BotSlot
    public var tasks: [WorkerTask]
}

/// Subscription states as billing providers (e.g. Lemon Squeezy) report them.
public enum SubscriptionStatus: String, Codable, Sendable, CaseIterable {
    case onTrial = "on_trial"
    case active
    case pastDue = "past_due"
    case paused
    case unpaid
    case cancelled
    case expired

    /// Whether a subscription in this state, ending at `endsAt`, gives the paid plan at `date`.
    public func grantsAccess(endsAt: Date?, at date: Date) -> Bool {
        switch self {
        case .onTrial, .active, .pastDue: true
        case .cancelled: endsAt.map { $0 > date } ?? false
        case .paused, .unpaid, .expired: false
        }
    }
}

public struct Subscription: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "subscriptions"
    public var id: Int64
    public var managerID: Int64
    public var externalID: String?
    public var status: SubscriptionStatus
    public var renewsAt: Date?
    public var endsAt: Date?
    public var portalURL: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// The plan's name as the provider calls it (product and variant).
    public var plan: String?
    /// The provider's time of the state recorded (an older event does not overwrite it).
    public var providerUpdatedAt: Date?
    /// The last payment's outcome, and the provider's time of it.
    public var paymentStatus: PaymentStatus?
    public var paymentUpdatedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id
        case managerID = "managerId"
        case externalID = "externalId"
        case status, renewsAt, endsAt
        case portalURL = "portalUrl"
        case createdAt, updatedAt, plan, providerUpdatedAt, paymentStatus, paymentUpdatedAt
    }

    /// Whether the subscription lifts the free-tier limit at `date`.
    ///
    /// Trials and active subscriptions do; so does a past-due one while the provider retries the payment.
    /// A cancelled subscription stays paid up until it ends.
    public func isActive(at date: Date) -> Bool {
        status.grantsAccess(endsAt: endsAt, at: date)
    }
}

/// The billing state to record for a manager.
/// How a subscription's last payment went.
public enum PaymentStatus: String, Codable, Sendable {
    case paid, failed
}

public struct SubscriptionUpdate: Sendable, Equatable {
    public var managerID: Int64
    public var externalID: String?
    public var status: SubscriptionStatus
    public var renewsAt: Date?
    public var endsAt: Date?
    public var portalURL: String?

    public init(
        managerID: Int64, externalID: String?, status: SubscriptionStatus,
        renewsAt: Date? = nil, endsAt: Date? = nil, portalURL: String? = nil
    ) {
        self.managerID = managerID
        self.externalID = externalID
        self.status = status
        self.renewsAt = renewsAt
        self.endsAt = endsAt
        self.portalURL = portalURL
    }
}

public struct UsageRecord: SnakeCaseRecord, Equatable {
    public static let databaseTableName = "usage_tracking"
    public var managerID: Int64
    public var periodStart: Date
    public var messagesCount: Int
    public var isBlocked: Bool
    public var updatedAt: Date
    /// Extra free messages (referral rewards), spent after the month's free ones; they do not expire.
    public var bonusMessages: Int = 0

    enum CodingKeys: String, CodingKey {
        case managerID = "managerId"
        case periodStart, messagesCount, isBlocked, updatedAt, bonusMessages
    }
}

public enum FeedbackStatus: String, Codable, Sendable {
    case new, read
}

public struct Feedback: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "feedback"
    public var id: Int64
    public var userID: Int64
    public var message: String
    public var status: FeedbackStatus
    public var createdAt: Date
    public var readAt: Date?
    /// The writer's language when they wrote it, and the bot they wrote through (the answer comes back there).
    public var language: String?
    public var botSlot: BotSlot?
    /// An admin's answer (the feedback is then read too).
    public var answer: String?
    public var answeredBy: Int64?
    public var answeredAt: Date?

    public var isAnswered: Bool { answeredAt != nil }

    enum CodingKeys: String, CodingKey {
        case id
        case userID = "userId"
        case message, status, createdAt, readAt, language, botSlot, answer, answeredBy, answeredAt
    }
}

extension FetchableRecord {
    /// Runs an `INSERT … RETURNING *` and decodes the row it inserted (ids and defaults filled in by SQLite).
    static func inserting(_ db: Database, sql: String, arguments: StatementArguments) throws -> Self {
        guard let inserted = try fetchOne(db.cachedStatement(sql: sql), arguments: arguments) else {
            throw StoreError.unexpectedResult("INSERT … RETURNING gave no row")
        }
        return inserted
    }
}
