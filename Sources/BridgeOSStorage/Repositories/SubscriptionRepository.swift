import BridgeOSCore
import Foundation
import GRDB

/// Billing state per manager, as last reported by the payment provider.
public struct SubscriptionRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// Creates or replaces the manager's subscription state.
    ///
    /// - Throws: `DomainError.invalidInput` if the external id already belongs to another manager or the
    ///   portal URL is not https.
    @discardableResult
    public func record(_ update: SubscriptionUpdate) throws -> Subscription {
        if let url = update.portalURL, !(url.hasPrefix("https://") && url.count > "https://".count) {
            throw DomainError.invalidInput("the customer portal URL must start with https://")
        }
        if let externalID = update.externalID, !(1...128).contains(externalID.count) {
            throw DomainError.invalidInput("the external subscription id must be 1 to 128 characters")
        }
        let now = clock.now()
        return try writer.write { db in
            guard try Manager.exists(db, key: update.managerID) else {
                throw DomainError.managerNotFound(update.managerID)
            }
            if let externalID = update.externalID,
               let other = try Subscription.filter(Column("external_id") == externalID).fetchOne(db),
               other.managerID != update.managerID {
                throw DomainError.invalidInput(
                    "subscription \(externalID) already belongs to manager \(other.managerID)")
            }
            if var subscription = try Subscription.filter(Column("manager_id") == update.managerID).fetchOne(db) {
                subscription.externalID = update.externalID
                subscription.status = update.status
                subscription.renewsAt = update.renewsAt
                subscription.endsAt = update.endsAt
                subscription.portalURL = update.portalURL
                subscription.updatedAt = now
                try subscription.update(db)
                return subscription
            }
            return try Subscription.inserting(
                db,
                sql: """
                    INSERT INTO subscriptions (manager_id, external_id, status, renews_at, ends_at, portal_url,
                                               created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    RETURNING *
                    """,
                arguments: [
                    update.managerID, update.externalID, update.status.rawValue, update.renewsAt, update.endsAt,
                    update.portalURL, StoreDate(now), StoreDate(now),
                ])
        }
    }

    public func find(manager: Int64) throws -> Subscription? {
        try writer.read { db in try Subscription.filter(Column("manager_id") == manager).fetchOne(db) }
    }

    public func find(externalID: String) throws -> Subscription? {
        try writer.read { db in try Subscription.filter(Column("external_id") == externalID).fetchOne(db) }
    }

    /// Whether the manager has a subscription that lifts the free-tier limit right now.
    public func isActive(manager: Int64) throws -> Bool {
        try find(manager: manager)?.isActive(at: clock.now()) ?? false
    }
}
