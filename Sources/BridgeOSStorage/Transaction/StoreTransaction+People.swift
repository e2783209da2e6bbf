import BridgeOSCore
import Foundation
import GRDB

/// People: users, their roles, managers and workers.
extension StoreTransaction {
    public func user(_ id: Int64) throws -> User? {
        try User.find(cached: db, id: id)
    }

    public func role(of id: Int64) throws -> Role? {
        try UserRepository.role(of: id, db)
    }

    public func manager(_ id: Int64) throws -> Manager? {
        try Manager.find(cached: db, id: id)
    }

    @discardableResult
    public func setLanguage(of id: Int64, to language: String, now: Date) throws -> User {
        try UserRepository.setLanguage(id, to: language, now: now, db)
    }

    /// Registers (or re-registers) a manager. Throws `DomainError.roleConflict` for a worker.
    public func registerManager(_ profile: UserProfile, industry: String, homeSlot: BotSlot?, now: Date) throws -> Manager {
        try ManagerRepository.register(profile, industry: industry, homeSlot: homeSlot, now: now, db)
    }

    /// Registers (or re-registers) a worker. Throws `DomainError.roleConflict` for a manager.
    @discardableResult
    public func registerWorker(_ profile: UserProfile, now: Date) throws -> Worker {
        try WorkerRepository.register(profile, now: now, db)
    }

    /// Deletes a manager (softly: history stays) and ends their connections; returns the connections ended.
    public func deleteManager(_ id: Int64, now: Date) throws -> [Connection] {
        try ManagerRepository.softDelete(id, now: now, db)
    }

    /// Deletes a worker (softly) and ends their connection; returns it, if there was one.
    public func deleteWorker(_ id: Int64, now: Date) throws -> Connection? {
        try WorkerRepository.softDelete(id, now: now, db)
    }
}
