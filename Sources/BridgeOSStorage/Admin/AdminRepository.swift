import BridgeOSCore
import Crypto
import Foundation
import GRDB

/// A dashboard account. Its password is kept only as a bcrypt hash.
public struct AdminAccount: Sendable, Equatable, Codable {
    public var id: Int64
    public var username: String
    public var passwordHash: String
    public var createdAt: Date
    public var lastLoginAt: Date?

    init(row: Row) {
        id = row["id"]
        username = row["username"]
        passwordHash = row["password_hash"]
        createdAt = row["created_at"]
        lastLoginAt = row["last_login_at"]
    }
}

/// What a one-time link opens: the setup of the first account, or a session for an account.
public enum AdminLinkTarget: Sendable, Equatable {
    case setup
    case login(AdminAccount)
}

/// Dashboard accounts, their sessions (hummingbird-auth's storage, keyed by the SHA-256 of the session id),
/// one-time links (by the SHA-256 of their token), and facts the appliance keeps about itself.
public struct AdminRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// Account names: lower-case letters, digits and . _ @ - (an e-mail address fits).
    public static func normalizedUsername(_ raw: String) throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._@-".contains($0)) }) else {
            throw DomainError.invalidInput("an account name is 1 to 64 letters, digits or . _ @ -")
        }
        return name
    }

    public func accountCount() throws -> Int {
        try writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM admin_accounts") ?? 0 }
    }

    public func account(username: String) throws -> AdminAccount? {
        guard let name = try? Self.normalizedUsername(username) else { return nil }
        return try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM admin_accounts WHERE username = ?", arguments: [name]).map(AdminAccount.init(row:))
        }
    }

    public func account(id: Int64) throws -> AdminAccount? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM admin_accounts WHERE id = ?", arguments: [id]).map(AdminAccount.init(row:))
        }
    }

    /// Creates the account, or sets a new password on it. `passwordHash` is bcrypt's output.
    @discardableResult
    public func setPassword(username: String, passwordHash: String) throws -> (account: AdminAccount, created: Bool) {
        let name = try Self.normalizedUsername(username)
        guard passwordHash.count == 60, passwordHash.hasPrefix("$2") else { throw DomainError.invalidInput("not a bcrypt hash") }
        let now = StoreDate(clock.now())
        return try writer.write { db in
            let existed = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM admin_accounts WHERE username = ?)", arguments: [name]) ?? false
            let row = try Row.fetchOne(db, sql: """
                INSERT INTO admin_accounts (username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at
                RETURNING *
                """, arguments: [name, passwordHash, now, now])
            guard let row else { throw StoreError.unexpectedResult("the account upsert returned no row") }
            let account = AdminAccount(row: row)
            // A new password ends the account's sessions elsewhere.
            if existed { try db.execute(sql: "DELETE FROM admin_sessions WHERE value LIKE ?", arguments: ["{\"account\":\(account.id),%"]) }
            return (account, !existed)
        }
    }

    public func recordLogin(_ account: Int64) throws {
        let now = StoreDate(clock.now())
        try writer.write { db in
            try db.execute(sql: "UPDATE admin_accounts SET last_login_at = ? WHERE id = ?", arguments: [now, account])
        }
    }

    // MARK: One-time links

    public static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A new random token (256 bits, URL-safe), recorded by its digest: a setup link when `account` is nil.
    public func makeLink(account: Int64?, validFor: TimeInterval) throws -> String {
        let token = SecretTokens.urlSafe()
        let now = clock.now()
        try writer.write { db in
            try db.execute(sql: "INSERT INTO admin_links (digest, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                           arguments: [Self.digest(token), account, StoreDate(now), StoreDate(now.addingTimeInterval(validFor))])
        }
        return token
    }

    /// What the link opens, if it is unused and in time (it is not used up by looking).
    public func link(_ token: String) throws -> AdminLinkTarget? {
        let now = StoreDate(clock.now())
        return try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT l.account_id, a.* FROM admin_links l LEFT JOIN admin_accounts a ON a.id = l.account_id
                WHERE l.digest = ? AND l.used_at IS NULL AND l.expires_at > ?
                """, arguments: [Self.digest(token), now])
            else { return nil }
            let accountID: Int64? = row["account_id"]
            if accountID == nil { return try Self.hasAccounts(db) ? nil : .setup }
            return row["id"] == nil ? nil : .login(AdminAccount(row: row))
        }
    }

    /// Uses the link up: true once, for an unused link in time. A setup link is refused once any account exists.
    public func useLink(_ token: String) throws -> Bool {
        let now = StoreDate(clock.now())
        return try writer.write { db in
            try db.execute(sql: "UPDATE admin_links SET used_at = ? WHERE digest = ? AND used_at IS NULL AND expires_at > ?",
                           arguments: [now, Self.digest(token), now])
            return db.changesCount == 1
        }
    }

    /// Creates the first account through a setup link, in one step: false when the link is spent or an account exists.
    public func setUpFirstAccount(link token: String, username: String, passwordHash: String) throws -> AdminAccount? {
        let name = try Self.normalizedUsername(username)
        let now = StoreDate(clock.now())
        return try writer.write { db in
            guard !(try Self.hasAccounts(db)) else { return nil }
            try db.execute(sql: "UPDATE admin_links SET used_at = ? WHERE digest = ? AND account_id IS NULL AND used_at IS NULL AND expires_at > ?",
                           arguments: [now, Self.digest(token), now])
            guard db.changesCount == 1 else { return nil }
            let row = try Row.fetchOne(db, sql: """
                INSERT INTO admin_accounts (username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING *
                """, arguments: [name, passwordHash, now, now])
            return row.map(AdminAccount.init(row:))
        }
    }

    static func hasAccounts(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM admin_accounts)") ?? false
    }

    // MARK: Sessions

    /// Stores a session's value (JSON) under the digest of its key; `create` refuses an existing key.
    public func putSession(key: String, value: String, expiresIn: TimeInterval?, create: Bool) throws -> Bool {
        let expires = expiresIn.map { StoreDate(clock.now().addingTimeInterval($0)) }
        return try writer.write { db in
            if create {
                try db.execute(sql: "INSERT INTO admin_sessions (key_digest, value, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                               arguments: [Self.digest(key), value, expires])
                return db.changesCount == 1
            }
            try db.execute(sql: """
                INSERT INTO admin_sessions (key_digest, value, expires_at) VALUES (?, ?, ?)
                ON CONFLICT (key_digest) DO UPDATE SET value = excluded.value, expires_at = coalesce(excluded.expires_at, admin_sessions.expires_at)
                """, arguments: [Self.digest(key), value, expires])
            return true
        }
    }

    /// A live session's value and how long it has left.
    public func session(key: String) throws -> (value: String, expiresIn: TimeInterval?)? {
        let now = clock.now()
        return try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT value, expires_at FROM admin_sessions WHERE key_digest = ?", arguments: [Self.digest(key)])
            else { return nil }
            let expires: Date? = row["expires_at"]
            if let expires, expires <= now { return nil }
            return (row["value"], expires.map { $0.timeIntervalSince(now) })
        }
    }

    public func removeSession(key: String) throws {
        try writer.write { db in try db.execute(sql: "DELETE FROM admin_sessions WHERE key_digest = ?", arguments: [Self.digest(key)]) }
    }

    /// Forgets expired sessions and spent or expired links.
    @discardableResult
    public func prune() throws -> Int {
        let now = StoreDate(clock.now())
        return try writer.write { db in
            try db.execute(sql: "DELETE FROM admin_sessions WHERE expires_at IS NOT NULL AND expires_at <= ?", arguments: [now])
            var removed = db.changesCount
            try db.execute(sql: "DELETE FROM admin_links WHERE expires_at <= ? OR used_at IS NOT NULL", arguments: [now])
            removed += db.changesCount
            return removed
        }
    }

    // MARK: Facts about the appliance

    public func setState(_ key: String, _ value: String) throws {
        let now = StoreDate(clock.now())
        try writer.write { db in
            try db.execute(sql: """
                INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """, arguments: [key, String(value.prefix(1024)), now])
        }
    }

    public func state(_ key: String) throws -> (value: String, updatedAt: Date)? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT value, updated_at FROM app_state WHERE key = ?", arguments: [key]).map { ($0["value"], $0["updated_at"]) }
        }
    }

    /// Proves the writer connection answers (no write: a full disk does not fail it), waiting behind any
    /// transaction in progress.
    public func probeWriter() throws {
        try writer.writeWithoutTransaction { db in _ = try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// Proves the database takes a write now (a `BEGIN IMMEDIATE` transaction that records the time).
    public func probeWrite() throws {
        try setState("ready.probe", "ok")
    }
}

extension AppDatabase {
    public var admin: AdminRepository { AdminRepository(writer: writer, clock: clock) }
}
