import BridgeOSCore
import Foundation
import GRDB

/// Where a user is in a multi-step flow, per bot slot.
public struct ConversationState: SnakeCaseRecord, Equatable {
    public static let databaseTableName = "conversation_states"
    public var botSlot: BotSlot
    public var userID: Int64
    public var flow: String
    public var step: String
    /// Flow-specific JSON (choices made so far).
    public var data: String
    public var updatedAt: Date
    public var expiresAt: Date

    public init(botSlot: BotSlot, userID: Int64, flow: String, step: String, data: String = "{}", updatedAt: Date, expiresAt: Date) {
        self.botSlot = botSlot
        self.userID = userID
        self.flow = flow
        self.step = step
        self.data = data
        self.updatedAt = updatedAt
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case botSlot, flow, step, data, updatedAt, expiresAt
        case userID = "userId"
    }
}

/// Conversation states, used inside the intake transaction.
public enum ConversationStates {
    /// How long a flow waits for the user before it is forgotten.
    public static let lifetime: TimeInterval = 24 * 3600

    /// The user's live state in this slot (an expired one counts as none).
    static func find(slot: BotSlot, userID: Int64, now: Date, _ db: Database) throws -> ConversationState? {
        guard let state = try ConversationState.fetchOne(
            cached: db, sql: "SELECT * FROM conversation_states WHERE bot_slot = ? AND user_id = ?", arguments: [slot.number, userID])
        else { return nil }
        return state.expiresAt > now ? state : nil
    }

    static func save(_ state: ConversationState, _ db: Database) throws {
        try state.save(db)
    }

    static func clear(slot: BotSlot, userID: Int64, _ db: Database) throws {
        try db.executeCached(sql: "DELETE FROM conversation_states WHERE bot_slot = ? AND user_id = ?", arguments: [slot.number, userID])
    }

    /// Forgets expired states (housekeeping; expired ones are already ignored).
    @discardableResult
    static func purgeExpired(now: Date, _ db: Database) throws -> Int {
        try db.executeCached(sql: "DELETE FROM conversation_states WHERE expires_at <= ?", arguments: [StoreDate(now)])
        return db.changesCount
    }
}

public enum InviteStatus: String, Codable, Sendable {
    case active, used, revoked
}

public struct Invite: SnakeCaseRecord, Equatable, Identifiable {
    public static let databaseTableName = "invites"
    public var id: Int64
    public var token: String
    public var managerID: Int64
    public var botSlot: BotSlot
    public var status: InviteStatus
    public var createdAt: Date
    public var expiresAt: Date
    public var usedBy: Int64?
    public var usedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, token, botSlot, status, createdAt, expiresAt, usedBy, usedAt
        case managerID = "managerId"
    }
}

/// Single-use invites into a manager's slot.
public enum Invites {
    public static let lifetime: TimeInterval = 7 * 24 * 3600
    /// [A-Za-z0-9]: 62 symbols; 16 of them are about 95 bits, not guessable.
    public static let tokenAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    public static let tokenLength = 16

    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<tokenLength).map { _ in tokenAlphabet.randomElement(using: &generator)! })
    }

    /// A fresh invite for the manager's slot; an unused one for the same slot is revoked.
    static func create(manager: Int64, slot: BotSlot, now: Date, token: String = randomToken(), _ db: Database) throws -> Invite {
        try db.executeCached(
            sql: "UPDATE invites SET status = 'revoked' WHERE manager_id = ? AND bot_slot = ? AND status = 'active'",
            arguments: [manager, slot.number])
        return try Invite.inserting(
            db,
            sql: """
                INSERT INTO invites (token, manager_id, bot_slot, status, created_at, expires_at)
                VALUES (?, ?, ?, 'active', ?, ?)
                RETURNING *
                """,
            arguments: [token, manager, slot.number, StoreDate(now), StoreDate(now.addingTimeInterval(lifetime))])
    }

    static func find(token: String, _ db: Database) throws -> Invite? {
        try Invite.filter(Column("token") == token).fetchOne(db)
    }

    /// The manager's unused invite for a slot, if still valid.
    static func active(manager: Int64, slot: BotSlot, now: Date, _ db: Database) throws -> Invite? {
        try Invite.filter(sql: "status = 'active'")
            .filter(Column("manager_id") == manager && Column("bot_slot") == slot.number && Column("expires_at") > now)
            .fetchOne(db)
    }

    /// Uses the invite up (inside the transaction that connects the worker).
    static func use(_ id: Int64, by worker: Int64, now: Date, _ db: Database) throws {
        try db.executeCached(
            sql: "UPDATE invites SET status = 'used', used_by = ?, used_at = ? WHERE id = ? AND status = 'active'",
            arguments: [worker, StoreDate(now), id])
        guard db.changesCount == 1 else { throw DomainError.invalidInput("invite \(id) is no longer active") }
    }
}

/// Which bots a user has a chat with: a bot can only write to users who started it.
public enum BotChats {
    static func record(slot: BotSlot, userID: Int64, now: Date, _ db: Database) throws {
        try db.executeCached(
            sql: "INSERT INTO bot_chats (bot_slot, user_id, started_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [slot.number, userID, StoreDate(now)])
    }

    static func exists(slot: BotSlot, userID: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(cached: db, sql: "SELECT EXISTS (SELECT 1 FROM bot_chats WHERE bot_slot = ? AND user_id = ?)", arguments: [slot.number, userID]) ?? false
    }
}
