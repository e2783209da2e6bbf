import BridgeOSCore
import Foundation
import GRDB

public struct WorkerRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// Registers `profile` as a worker in one transaction (creating or updating the user); restores a
    /// soft-deleted worker.
    ///
    /// - Throws: `DomainError.roleConflict` if the user is an active manager.
    @discardableResult
    public func register(_ profile: UserProfile) throws -> Worker {
        let now = clock.now()
        return try writer.write { db in try Self.register(profile, now: now, db) }
    }

    public func find(_ id: Int64, includeDeleted: Bool = false) throws -> Worker? {
        try writer.read { db in
            try Worker.find(cached: db, id: id).flatMap { includeDeleted || !$0.isDeleted ? $0 : nil }
        }
    }

    /// Soft-deletes the worker and ends their connection, in one transaction. Idempotent.
    ///
    /// - Returns: the connection this call ended, if any, so the manager can be told.
    @discardableResult
    public func softDelete(_ id: Int64) throws -> Connection? {
        let now = clock.now()
        return try writer.write { db in try Self.softDelete(id, now: now, db) }
    }

    /// `softDelete`, inside the caller's transaction.
    static func softDelete(_ id: Int64, now: Date, _ db: Database) throws -> Connection? {
        guard var worker = try Worker.find(cached: db, id: id) else { throw DomainError.workerNotFound(id) }
        guard !worker.isDeleted else { return nil }
        worker.deletedAt = now
        worker.updatedAt = now
        try worker.update(db)
        return try ConnectionRepository.disconnectAll(Connection.filter(Column("worker_id") == id), now: now, db).first
    }

    /// `register`, inside the caller's transaction.
    static func register(_ profile: UserProfile, now: Date, _ db: Database) throws -> Worker {
        if try UserRepository.role(of: profile.id, db) == .manager {
            throw DomainError.roleConflict(userID: profile.id, existingRole: .manager)
        }
        _ = try UserRepository.upsert(profile, now: now, db)
        if var worker = try Worker.find(cached: db, id: profile.id) {
            worker.deletedAt = nil
            worker.updatedAt = now
            try worker.update(db)
            return worker
        }
        let worker = Worker(id: profile.id, createdAt: now, updatedAt: now, deletedAt: nil)
        try worker.insert(db)
        return worker
    }
}
