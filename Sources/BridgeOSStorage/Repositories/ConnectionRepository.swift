import BridgeOSCore
import Foundation
import GRDB

/// Connections between managers and workers. The partial unique indexes in schema/ decide every race;
/// this repository turns their violations into `SlotOccupied` and `WorkerAlreadyConnected`.
public struct ConnectionRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// Connects `worker` to `manager` through `slot`.
    ///
    /// Idempotent for the exact same (manager, worker, slot): the existing active connection is returned.
    /// - Throws: `SlotOccupied`, `WorkerAlreadyConnected`, or `DomainError.managerNotFound` /
    ///   `.workerNotFound` when either side is not registered or was deleted.
    @discardableResult
    public func connect(manager: Int64, worker: Int64, slot: BotSlot) throws -> Connection {
        let now = clock.now()
        return try writer.write { db in try Self.connect(manager: manager, worker: worker, slot: slot, now: now, db) }
    }

    /// Ends a connection. Idempotent: an already-ended connection is returned unchanged.
    @discardableResult
    public func disconnect(_ id: Int64) throws -> Connection {
        let now = clock.now()
        return try writer.write { db in
            guard var connection = try Connection.find(cached: db, id: id) else {
                throw DomainError.connectionNotFound(id)
            }
            guard connection.isActive else { return connection }
            connection.status = .disconnected
            connection.disconnectedAt = now
            try connection.update(db)
            return connection
        }
    }

    /// Ends the active connection in `manager`'s `slot`, if there is one.
    @discardableResult
    public func disconnect(manager: Int64, slot: BotSlot) throws -> Connection? {
        let now = clock.now()
        return try writer.write { db in
            try Self.disconnectAll(Self.activeRequest(manager: manager, slot: slot), now: now, db).first
        }
    }

    public func find(_ id: Int64) throws -> Connection? {
        try writer.read { db in try Connection.find(cached: db, id: id) }
    }

    /// The active connection in `manager`'s `slot`.
    public func active(manager: Int64, slot: BotSlot) throws -> Connection? {
        try writer.read { db in try Self.active(manager: manager, slot: slot, db) }
    }

    /// The worker's active connection.
    public func active(worker: Int64) throws -> Connection? {
        try writer.read { db in try Self.active(worker: worker, db) }
    }

    /// The manager's active connections, ordered by slot.
    public func active(manager: Int64) throws -> [Connection] {
        try writer.read { db in
            try Self.active
                .filter(Column("manager_id") == manager)
                .order(Column("bot_slot"))
                .fetchAll(db)
        }
    }

    /// Every connection the manager ever had, newest first.
    public func history(manager: Int64) throws -> [Connection] {
        try writer.read { db in
            try Connection.filter(Column("manager_id") == manager)
                .order(Column("connected_at").desc, Column("id").desc)
                .fetchAll(db)
        }
    }

    /// Every connection the worker ever had, newest first.
    public func history(worker: Int64) throws -> [Connection] {
        try writer.read { db in
            try Connection.filter(Column("worker_id") == worker)
                .order(Column("connected_at").desc, Column("id").desc)
                .fetchAll(db)
        }
    }

    // MARK: Building blocks for transactions that do more than connect

    /// Active connections. The literal (not a bound parameter) lets SQLite use the partial unique indexes,
    /// whose `WHERE status = 'active'` a query must imply to use them.
    static let active = Connection.filter(sql: "status = 'active'")

    public static func activeRequest(manager: Int64, slot: BotSlot) -> QueryInterfaceRequest<Connection> {
        active.filter(Column("manager_id") == manager && Column("bot_slot") == slot.number)
    }

    /// The active connection of `manager`'s `slot` (inside the caller's transaction; a cached statement).
    static func active(manager: Int64, slot: BotSlot, _ db: Database) throws -> Connection? {
        try Connection.fetchOne(
            cached: db, sql: "SELECT * FROM connections WHERE manager_id = ? AND bot_slot = ? AND status = 'active'",
            arguments: [manager, slot.number])
    }

    /// The worker's active connection (inside the caller's transaction; a cached statement).
    static func active(worker: Int64, _ db: Database) throws -> Connection? {
        try Connection.fetchOne(cached: db, sql: "SELECT * FROM connections WHERE worker_id = ? AND status = 'active'", arguments: [worker])
    }

    public static func activeRequest(worker: Int64) -> QueryInterfaceRequest<Connection> {
        active.filter(Column("worker_id") == worker)
    }

    /// The worker's most recent connection, active or ended (inside the caller's transaction).
    static func latest(worker: Int64, _ db: Database) throws -> Connection? {
        try Connection.fetchOne(cached: db, sql: "SELECT * FROM connections WHERE worker_id = ? ORDER BY connected_at DESC, id DESC LIMIT 1", arguments: [worker])
    }

    /// `connect`, inside the caller's transaction (joining: register, connect and use the invite at once).
    static func connect(manager: Int64, worker: Int64, slot: BotSlot, now: Date, _ db: Database) throws -> Connection {
        guard try Manager.find(cached: db, id: manager).map({ !$0.isDeleted }) == true else {
            throw DomainError.managerNotFound(manager)
        }
        guard try Worker.find(cached: db, id: worker).map({ !$0.isDeleted }) == true else {
            throw DomainError.workerNotFound(worker)
        }
        do {
            // The INSERT is the test: the unique indexes refuse a second active row, in this process or any other.
            return try Connection.inserting(
                db,
                sql: """
                    INSERT INTO connections (manager_id, worker_id, bot_slot, status, connected_at)
                    VALUES (?, ?, ?, 'active', ?)
                    RETURNING *
                    """,
                arguments: [manager, worker, slot.number, StoreDate(now)])
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            if let occupant = try activeRequest(manager: manager, slot: slot).fetchOne(db) {
                if occupant.workerID == worker { return occupant }
                throw SlotOccupied(managerID: manager, slot: slot, occupant: occupant)
            }
            if let existing = try activeRequest(worker: worker).fetchOne(db) {
                throw WorkerAlreadyConnected(workerID: worker, existing: existing)
            }
            throw error
        }
    }

    /// Ends every active connection matched by `request`; returns them as they are now.
    public static func disconnectAll(
        _ request: QueryInterfaceRequest<Connection>, now: Date, _ db: Database
    ) throws -> [Connection] {
        var ended: [Connection] = []
        for var connection in try request.filter(sql: "status = 'active'").fetchAll(db) {
            connection.status = .disconnected
            connection.disconnectedAt = now
            try connection.update(db)
            ended.append(connection)
        }
        return ended
    }
}
