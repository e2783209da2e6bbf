import BridgeOSCore
import Foundation
import GRDB

// Records decoded straight from rows, by column name: the hot path reads these for every message, and
// Codable's generic decoding (a snake-case conversion and hashing of every key, per row) was a measured cost.

extension Row {
    /// A required column that must hold one of an enum's raw values.
    func decodeEnum<T: RawRepresentable>(_ column: String) throws -> T where T.RawValue == String {
        let raw: String = try decode(String.self, forColumn: column)
        guard let value = T(rawValue: raw) else { throw StoreError.unexpectedResult("\(column) holds an unknown value '\(raw)'") }
        return value
    }

    func decodeSlot(_ column: String) throws -> BotSlot {
        let number: Int = try decode(Int.self, forColumn: column)
        guard let slot = BotSlot(number) else { throw StoreError.unexpectedResult("\(column) holds slot \(number), outside 1...5") }
        return slot
    }
}

extension User {
    public init(row: Row) throws {
        self.init(id: try row.decode(forColumn: "id"), displayName: try row.decode(forColumn: "display_name"), username: row["username"],
                  language: try row.decode(forColumn: "language"), gender: try row.decodeEnum("gender"),
                  createdAt: try row.decode(forColumn: "created_at"), updatedAt: try row.decode(forColumn: "updated_at"),
                  showOriginal: row["show_original"] ?? false, deliveryMarks: row["delivery_marks"] ?? true)
    }
}

extension Manager {
    public init(row: Row) throws {
        let home: Int? = row["home_slot"]
        self.init(id: try row.decode(forColumn: "id"), code: try row.decode(forColumn: "code"), industry: try row.decode(forColumn: "industry"),
                  timeZone: try row.decode(forColumn: "time_zone"), createdAt: try row.decode(forColumn: "created_at"),
                  updatedAt: try row.decode(forColumn: "updated_at"), deletedAt: row["deleted_at"], homeSlot: home.flatMap(BotSlot.init))
    }
}

extension Worker {
    public init(row: Row) throws {
        self.init(id: try row.decode(forColumn: "id"), createdAt: try row.decode(forColumn: "created_at"),
                  updatedAt: try row.decode(forColumn: "updated_at"), deletedAt: row["deleted_at"])
    }
}

extension UsageRecord {
    public init(row: Row) throws {
        self.init(managerID: try row.decode(forColumn: "manager_id"), periodStart: try row.decode(forColumn: "period_start"),
                  messagesCount: try row.decode(forColumn: "messages_count"), isBlocked: try row.decode(forColumn: "is_blocked"),
                  updatedAt: try row.decode(forColumn: "updated_at"), bonusMessages: row["bonus_messages"] ?? 0)
    }
}

extension Subscription {
    public init(row: Row) throws {
        self.init(id: try row.decode(forColumn: "id"), managerID: try row.decode(forColumn: "manager_id"), externalID: row["external_id"],
                  status: try row.decodeEnum("status"), renewsAt: row["renews_at"], endsAt: row["ends_at"], portalURL: row["portal_url"],
                  createdAt: try row.decode(forColumn: "created_at"), updatedAt: try row.decode(forColumn: "updated_at"),
                  plan: row["plan"], providerUpdatedAt: row["provider_updated_at"],
                  paymentStatus: (row["payment_status"] as String?).flatMap(PaymentStatus.init(rawValue:)), paymentUpdatedAt: row["payment_updated_at"])
    }
}

extension Feedback {
    public init(row: Row) throws {
        let slot: Int? = row["bot_slot"]
        self.init(id: try row.decode(forColumn: "id"), userID: try row.decode(forColumn: "user_id"), message: try row.decode(forColumn: "message"),
                  status: try row.decodeEnum("status"), createdAt: try row.decode(forColumn: "created_at"), readAt: row["read_at"],
                  language: row["language"], botSlot: slot.flatMap(BotSlot.init), answer: row["answer"], answeredBy: row["answered_by"],
                  answeredAt: row["answered_at"])
    }
}

extension Connection {
    public init(row: Row) throws {
        self.init(id: try row.decode(forColumn: "id"), managerID: try row.decode(forColumn: "manager_id"), workerID: try row.decode(forColumn: "worker_id"),
                  slot: try row.decodeSlot("bot_slot"), status: try row.decodeEnum("status"), connectedAt: try row.decode(forColumn: "connected_at"),
                  disconnectedAt: row["disconnected_at"])
    }
}

extension ConversationMessage {
    public init(row: Row) throws {
        self.init(id: try row.decode(forColumn: "id"), connectionID: try row.decode(forColumn: "connection_id"), senderID: try row.decode(forColumn: "sender_id"),
                  originalText: try row.decode(forColumn: "original_text"), translatedText: row["translated_text"],
                  sourceLanguage: try row.decode(forColumn: "source_language"), targetLanguage: try row.decode(forColumn: "target_language"),
                  sourceMessageID: row["source_message_id"], deliveredMessageID: row["delivered_message_id"],
                  createdAt: try row.decode(forColumn: "created_at"), undeliveredNoticeAt: row["undelivered_notice_at"], mediaGroupID: row["media_group_id"],
                  kind: (row["kind"] as String?).flatMap { MessageCopy.Kind(rawValue: $0) } ?? .text, replyToID: row["reply_to_id"], entities: row["entities"], revision: row["revision"] ?? 0,
                  translatedRevision: row["translated_revision"], editedAt: row["edited_at"], withdrawnAt: row["withdrawn_at"],
                  translatedBy: row["translated_by"], transcript: row["transcript"])
    }
}

extension MessageCopy {
    init(row: Row) throws {
        self.init(messageID: try row.decode(forColumn: "message_id"), part: try row.decode(forColumn: "part"),
                  connectionID: try row.decode(forColumn: "connection_id"), chatMessageID: try row.decode(forColumn: "chat_message_id"),
                  kind: try row.decodeEnum("kind"), revision: try row.decode(forColumn: "revision"), createdAt: try row.decode(forColumn: "created_at"))
    }
}

extension OutboxRow {
    public init(row: Row) throws {
        self.init(id: try row.decode(forColumn: "id"), botSlot: try row.decodeSlot("bot_slot"), chatID: try row.decode(forColumn: "chat_id"),
                  method: try row.decode(forColumn: "method"), payload: try row.decode(forColumn: "payload"), lane: try row.decodeEnum("lane"),
                  isGroup: try row.decode(forColumn: "is_group"), dependsOn: row["depends_on"], dependsOnField: row["depends_on_field"],
                  status: try row.decodeEnum("status"), attempts: try row.decode(forColumn: "attempts"), notBefore: row["not_before"],
                  result: row["result"], resultMessageID: row["result_message_id"], lastError: row["last_error"],
                  createdAt: try row.decode(forColumn: "created_at"), updatedAt: try row.decode(forColumn: "updated_at"), sentAt: row["sent_at"],
                  messageID: row["message_id"], reportDelivery: row["report_delivery"] ?? false)
    }
}

extension JobRow {
    public init(row: Row) throws {
        self.init(id: try row.decode(forColumn: "id"), kind: try row.decode(forColumn: "kind"), queueKey: try row.decode(forColumn: "queue_key"),
                  payload: try row.decode(forColumn: "payload"), status: try row.decodeEnum("status"), attempts: try row.decode(forColumn: "attempts"),
                  notBefore: row["not_before"], lastError: row["last_error"], createdAt: try row.decode(forColumn: "created_at"),
                  updatedAt: try row.decode(forColumn: "updated_at"))
    }
}

extension UpdateRecord {
    public init(row: Row) throws {
        self.init(botSlot: try row.decodeSlot("bot_slot"), updateID: try row.decode(forColumn: "update_id"), status: try row.decodeEnum("status"),
                  kind: try row.decode(forColumn: "kind"), attempts: try row.decode(forColumn: "attempts"), lastError: row["last_error"],
                  receivedAt: try row.decode(forColumn: "received_at"), updatedAt: try row.decode(forColumn: "updated_at"))
    }
}

extension UnreachableChat {
    public init(row: Row) throws {
        self.init(botSlot: try row.decodeSlot("bot_slot"), chatID: try row.decode(forColumn: "chat_id"), reason: try row.decodeEnum("reason"),
                  since: try row.decode(forColumn: "since"))
    }
}

extension Database {
    /// Runs one statement from the connection's statement cache: prepared (and authorized) once, then reused.
    func executeCached(sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

// Fetches through the connection's statement cache (`cached:`): the SQL is prepared and authorized once.

extension FetchableRecord {
    static func fetchOne(cached db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> Self? {
        try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    static func fetchAll(cached db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Self] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }
}

extension FetchableRecord where Self: TableRecord {
    /// The record whose integer primary key `id` is `id`.
    static func find(cached db: Database, id: Int64) throws -> Self? {
        try fetchOne(cached: db, sql: "SELECT * FROM \(databaseTableName) WHERE id = ?", arguments: [id])
    }
}

extension DatabaseValueConvertible {
    static func fetchOne(cached db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> Self? {
        try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    static func fetchAll(cached db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Self] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }
}

extension Row {
    static func fetchOne(cached db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> Row? {
        try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    static func fetchAll(cached db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Row] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }
}
