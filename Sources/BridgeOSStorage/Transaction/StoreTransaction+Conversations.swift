import BridgeOSCore
import Foundation
import GRDB

/// Conversations: connections, invites, flow states, which bots a user opened, and the messages.
extension StoreTransaction {
    // MARK: Connections

    public func connection(_ id: Int64) throws -> Connection? {
        try Connection.find(cached: db, id: id)
    }

    /// The active connection in `manager`'s `slot`.
    public func activeConnection(manager: Int64, slot: BotSlot) throws -> Connection? {
        try ConnectionRepository.active(manager: manager, slot: slot, db)
    }

    /// The worker's active connection (a worker has at most one).
    public func activeConnection(worker: Int64) throws -> Connection? {
        try ConnectionRepository.active(worker: worker, db)
    }

    /// The connection `slot`'s bot carries for `userID`, whichever side of it they are on.
    public func activeConnection(slot: BotSlot, user userID: Int64) throws -> Connection? {
        if let connection = try activeConnection(manager: userID, slot: slot) { return connection }
        return try activeConnection(worker: userID).flatMap { $0.slot == slot ? $0 : nil }
    }

    /// The worker's most recent connection, active or ended.
    public func latestConnection(worker: Int64) throws -> Connection? {
        try ConnectionRepository.latest(worker: worker, db)
    }

    /// The manager's active connections, by slot.
    public func activeConnections(manager: Int64) throws -> [BotSlot: Connection] {
        let connections = try Connection.fetchAll(
            cached: db, sql: "SELECT * FROM connections WHERE manager_id = ? AND status = 'active'", arguments: [manager])
        return Dictionary(connections.map { ($0.slot, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Connects a worker to a manager's slot. Throws `SlotOccupied`, `WorkerAlreadyConnected`.
    @discardableResult
    public func connect(manager: Int64, worker: Int64, slot: BotSlot, now: Date) throws -> Connection {
        try ConnectionRepository.connect(manager: manager, worker: worker, slot: slot, now: now, db)
    }

    /// Ends the connection if it is active; returns it as it is now, or nil when it was not active.
    @discardableResult
    public func disconnect(_ id: Int64, now: Date) throws -> Connection? {
        try ConnectionRepository.disconnectAll(Connection.filter(key: id), now: now, db).first
    }

    // MARK: Invites

    /// A fresh invite to the manager's slot (an unused one for that slot is revoked).
    public func createInvite(manager: Int64, slot: BotSlot, now: Date) throws -> Invite {
        try Invites.create(manager: manager, slot: slot, now: now, db)
    }

    public func invite(token: String) throws -> Invite? {
        try Invites.find(token: token, db)
    }

    /// Uses the invite up; throws when it is no longer active.
    public func useInvite(_ id: Int64, by worker: Int64, now: Date) throws {
        try Invites.use(id, by: worker, now: now, db)
    }

    // MARK: Flow states

    /// The user's live flow state in this slot (an expired one counts as none).
    public func conversationState(slot: BotSlot, user: Int64, now: Date) throws -> ConversationState? {
        try ConversationStates.find(slot: slot, userID: user, now: now, db)
    }

    public func saveConversationState(_ state: ConversationState) throws {
        try ConversationStates.save(state, db)
    }

    public func clearConversationState(slot: BotSlot, user: Int64) throws {
        try ConversationStates.clear(slot: slot, userID: user, db)
    }

    /// Forgets the user's flow states in every slot.
    public func clearConversationStates(user: Int64) throws {
        try db.executeCached(sql: "DELETE FROM conversation_states WHERE user_id = ?", arguments: [user])
    }

    // MARK: Bot chats

    /// Records that the user has a chat with `slot`'s bot (they wrote to it or pressed its buttons).
    public func recordBotChat(slot: BotSlot, user: Int64, now: Date) throws {
        try BotChats.record(slot: slot, userID: user, now: now, db)
    }

    /// Whether the user ever started `slot`'s bot (a bot may not write first).
    public func hasBotChat(slot: BotSlot, user: Int64) throws -> Bool {
        try BotChats.exists(slot: slot, userID: user, db)
    }

    // MARK: Messages

    public func message(_ id: Int64) throws -> ConversationMessage? {
        try ConversationMessage.find(cached: db, id: id)
    }

    /// Stores a conversation message (validated).
    public func appendMessage(_ message: NewMessage, now: Date) throws -> ConversationMessage {
        try MessageRepository.append(message, now: now, db)
    }

    /// The `limit` messages of the connection before `message`, oldest first (the translation's context).
    public func messages(connection: Int64, before message: Int64, limit: Int) throws -> [ConversationMessage] {
        try ConversationMessage.fetchAll(
            cached: db, sql: "SELECT * FROM messages WHERE connection_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            arguments: [connection, message, limit]).reversed()
    }

    /// The latest message `sender` sent in the connection (for /check without a reply).
    public func lastMessage(connection: Int64, sender: Int64) throws -> ConversationMessage? {
        try ConversationMessage.fetchOne(
            cached: db, sql: "SELECT * FROM messages WHERE connection_id = ? AND sender_id = ? ORDER BY id DESC LIMIT 1",
            arguments: [connection, sender])
    }

    public func setTranslation(of message: Int64, to text: String) throws {
        try db.executeCached(sql: "UPDATE messages SET translated_text = ? WHERE id = ?", arguments: [text, message])
    }

    /// Messages `sender` sent since `since`, an album counting as one.
    public func sentMessageCount(sender: Int64, since: Date) throws -> Int {
        try MessageDelivery.sentCount(sender: sender, since: since, db)
    }

    /// Whether a message of this album was stored since `since` (the album counts once).
    public func albumSeen(sender: Int64, mediaGroupID: String, since: Date) throws -> Bool {
        try MessageDelivery.albumSeen(sender: sender, mediaGroupID: mediaGroupID, since: since, db)
    }

    // MARK: Usage

    /// The manager's subscription, if they ever had one.
    public func subscription(manager: Int64) throws -> Subscription? {
        try Subscription.fetchOne(cached: db, sql: "SELECT * FROM subscriptions WHERE manager_id = ?", arguments: [manager])
    }

    /// Counts one message against the manager's quota for this month (`limit` nil: unlimited).
    public func countUsage(manager: Int64, limit: Int?, now: Date) throws -> UsageIncrement {
        try UsageRepository.increment(manager: manager, limit: limit, now: now, db)
    }
}
