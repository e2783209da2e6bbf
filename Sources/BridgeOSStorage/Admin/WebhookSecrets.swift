import BridgeOSCore
import Foundation
import GRDB

/// The secret token Telegram sends with each webhook delivery of a slot (`X-Telegram-Bot-Api-Secret-Token`),
/// kept in `app_state` so a restart keeps accepting deliveries made with it. A new bot in the slot (another
/// token) gets a new secret.
public struct WebhookSecrets: Sendable {
    let writer: any DatabaseWriter

    static func key(_ slot: BotSlot) -> String { "webhook.secret.\(slot.number)" }

    /// The slot's secret for `botID`, made with `make` (and kept) if there is none for this bot yet.
    public func secret(slot: BotSlot, botID: Int64, now: Date, make: () -> String) throws -> String {
        try writer.write { db in
            let key = Self.key(slot)
            if let kept = Self.secret(in: try String.fetchOne(db, sql: "SELECT value FROM app_state WHERE key = ?", arguments: [key]), for: botID) {
                return kept
            }
            let secret = make()
            try db.execute(sql: """
                INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """, arguments: [key, "\(botID):\(secret)", StoreDate(now)])
            return secret
        }
    }

    /// The secret the slot's webhook was set with for `botID` (nil: none kept for that bot).
    public func current(slot: BotSlot, botID: Int64) throws -> String? {
        try writer.read { db in
            Self.secret(in: try String.fetchOne(db, sql: "SELECT value FROM app_state WHERE key = ?", arguments: [Self.key(slot)]), for: botID)
        }
    }

    /// The secret in a kept "<bot id>:<secret>" value, if it was made for `botID`.
    static func secret(in stored: String?, for botID: Int64) -> String? {
        guard let parts = stored?.split(separator: ":", maxSplits: 1), parts.count == 2, parts[0] == "\(botID)", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }
}

extension AppDatabase {
    public var webhookSecrets: WebhookSecrets { WebhookSecrets(writer: writer) }
}
