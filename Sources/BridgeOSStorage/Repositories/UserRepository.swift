import BridgeOSCore
import Foundation
import GRDB

/// The identity layer: one row per Telegram user who registered in any role.
public struct UserRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// Creates the user, or updates an existing user's profile (a returning user is restored, not duplicated).
    @discardableResult
    public func save(_ profile: UserProfile) throws -> User {
        let now = clock.now()
        return try writer.write { db in try Self.upsert(profile, now: now, db) }
    }

    public func find(_ id: Int64) throws -> User? {
        try writer.read { db in try User.find(cached: db, id: id) }
    }

    /// The user's current role: an active (not soft-deleted) manager or worker registration, if any.
    public func role(of id: Int64) throws -> Role? {
        try writer.read { db in try Self.role(of: id, db) }
    }

    @discardableResult
    public func setLanguage(_ id: Int64, to language: String) throws -> User {
        let now = clock.now()
        return try writer.write { db in try Self.setLanguage(id, to: language, now: now, db) }
    }

    /// `setLanguage`, inside the caller's transaction.
    @discardableResult
    static func setLanguage(_ id: Int64, to language: String, now: Date, _ db: Database) throws -> User {
        let language = try Validate.language(language)
        guard var user = try User.find(cached: db, id: id) else { throw DomainError.userNotFound(id) }
        user.language = language
        user.updatedAt = now
        try user.update(db)
        return user
    }

    static func upsert(_ profile: UserProfile, now: Date, _ db: Database) throws -> User {
        guard profile.id > 0 else { throw DomainError.invalidInput("Telegram user id must be positive") }
        let displayName = try Validate.text(profile.displayName, field: "display name", maxLength: 256)
        let language = try Validate.language(profile.language)
        let username = try profile.username.flatMap { name -> String? in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : try Validate.text(trimmed, field: "username", maxLength: 64)
        }
        if var user = try User.find(cached: db, id: profile.id) {
            user.displayName = displayName
            user.username = username
            user.language = language
            user.gender = profile.gender
            user.updatedAt = now
            try user.update(db)
            return user
        }
        let user = User(
            id: profile.id, displayName: displayName, username: username, language: language,
            gender: profile.gender, createdAt: now, updatedAt: now)
        try user.insert(db)
        return user
    }

    static func role(of id: Int64, _ db: Database) throws -> Role? {
        // One statement: a live manager row, else a live worker row.
        let role = try String.fetchOne(cached: db, sql: """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM managers WHERE id = ? AND deleted_at IS NULL) THEN 'manager'
                        WHEN EXISTS (SELECT 1 FROM workers WHERE id = ? AND deleted_at IS NULL) THEN 'worker' END
            """, arguments: [id, id])
        return role.flatMap(Role.init(rawValue:))
    }
}
