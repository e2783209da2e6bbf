import BridgeOSCore
import Foundation
import GRDB

public struct ManagerRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock
    let makeCode: @Sendable () -> String

    /// Registers `profile` as a manager in one transaction: creates or updates the user, then creates the
    /// manager with a fresh unique code, or restores a soft-deleted manager (keeping their code, so links
    /// and referrals that carry it keep working).
    ///
    /// - Throws: `DomainError.roleConflict` if the user is an active worker.
    @discardableResult
    public func register(_ profile: UserProfile, industry: String, timeZone: String = "UTC", homeSlot: BotSlot? = nil) throws -> Manager {
        let now = clock.now()
        let makeCode = makeCode
        return try writer.write { db in
            try Self.register(profile, industry: industry, timeZone: timeZone, homeSlot: homeSlot, now: now, makeCode: makeCode, db)
        }
    }

    /// `register`, inside the caller's transaction (a conversation flow's).
    public static func register(
        _ profile: UserProfile, industry: String, timeZone: String = "UTC", homeSlot: BotSlot?, now: Date,
        makeCode: () -> String = { ManagerCode.random() }, _ db: Database
    ) throws -> Manager {
        guard (1...64).contains(industry.count),
              industry.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        else { throw DomainError.invalidInput("industry '\(industry)' must be a lower-case identifier") }
        guard TimeZone(identifier: timeZone) != nil else {
            throw DomainError.invalidInput("'\(timeZone)' is not a known time zone")
        }
        if try UserRepository.role(of: profile.id, db) == .worker {
            throw DomainError.roleConflict(userID: profile.id, existingRole: .worker)
        }
        _ = try UserRepository.upsert(profile, now: now, db)
        if var manager = try Manager.find(cached: db, id: profile.id) {
            manager.industry = industry
            manager.timeZone = timeZone
            manager.deletedAt = nil
            manager.homeSlot = manager.homeSlot ?? homeSlot
            manager.updatedAt = now
            try manager.update(db)
            return manager
        }
        let manager = Manager(
            id: profile.id, code: try uniqueCode(makeCode, db), industry: industry, timeZone: timeZone,
            createdAt: now, updatedAt: now, deletedAt: nil, homeSlot: homeSlot)
        try manager.insert(db)
        return manager
    }

    /// The manager with this id; soft-deleted managers only when `includeDeleted`.
    public func find(_ id: Int64, includeDeleted: Bool = false) throws -> Manager? {
        try writer.read { db in
            try Manager.find(cached: db, id: id).flatMap { includeDeleted || !$0.isDeleted ? $0 : nil }
        }
    }

    /// The active manager with this code (codes match case-insensitively).
    public func find(code: String) throws -> Manager? {
        guard ManagerCode.isWellFormed(code) else { return nil }
        return try writer.read { db in
            try Manager.filter(Column("code") == code.uppercased() && Column("deleted_at") == nil).fetchOne(db)
        }
    }

    @discardableResult
    public func setTimeZone(_ id: Int64, to timeZone: String) throws -> Manager {
        let now = clock.now()
        return try writer.write { db in try Self.setTimeZone(id, to: timeZone, now: now, db) }
    }

    /// `setTimeZone` inside the caller's transaction.
    @discardableResult
    static func setTimeZone(_ id: Int64, to timeZone: String, now: Date, _ db: Database) throws -> Manager {
        guard TimeZone(identifier: timeZone) != nil else {
            throw DomainError.invalidInput("'\(timeZone)' is not a known time zone")
        }
        guard var manager = try Manager.find(cached: db, id: id), !manager.isDeleted else {
            throw DomainError.managerNotFound(id)
        }
        manager.timeZone = timeZone
        manager.updatedAt = now
        try manager.update(db)
        return manager
    }

    /// Soft-deletes the manager and disconnects all their workers, in one transaction.
    /// History (connections, messages, tasks) stays. Idempotent: a deleted manager returns `[]`.
    ///
    /// - Returns: the connections this call ended, so callers can tell each worker.
    @discardableResult
    public func softDelete(_ id: Int64) throws -> [Connection] {
        let now = clock.now()
        return try writer.write { db in try Self.softDelete(id, now: now, db) }
    }

    /// `softDelete`, inside the caller's transaction. Also revokes the manager's unused invites.
    static func softDelete(_ id: Int64, now: Date, _ db: Database) throws -> [Connection] {
        guard var manager = try Manager.find(cached: db, id: id) else { throw DomainError.managerNotFound(id) }
        guard !manager.isDeleted else { return [] }
        manager.deletedAt = now
        manager.updatedAt = now
        try manager.update(db)
        try db.executeCached(sql: "UPDATE invites SET status = 'revoked' WHERE manager_id = ? AND status = 'active'", arguments: [id])
        return try ConnectionRepository.disconnectAll(Connection.filter(Column("manager_id") == id), now: now, db)
    }

    /// A code no manager (active or deleted) has. Draws until one is free; the UNIQUE constraint remains
    /// the final guard.
    private static func uniqueCode(_ makeCode: () -> String, _ db: Database) throws -> String {
        for _ in 0..<32 {
            let code = makeCode()
            guard ManagerCode.isWellFormed(code) else { continue }
            if try !Manager.filter(Column("code") == code).isEmpty(db) { continue }
            return code
        }
        throw DomainError.invalidInput("could not draw an unused manager code in 32 attempts")
    }
}
