import BridgeOSCore
import Foundation
import GRDB

/// A subscription's state as one provider event reports it.
public struct SubscriptionEvent: Sendable, Equatable {
    public var managerID: Int64
    public var externalID: String
    public var status: SubscriptionStatus
    public var plan: String?
    public var renewsAt: Date?
    public var endsAt: Date?
    public var portalURL: String?
    /// The provider's time of this state (`updated_at`): an older event never overwrites a newer state.
    public var providerUpdatedAt: Date

    /// Whether the subscription in this state gives its manager the paid plan at `date`.
    public func grantsAccess(at date: Date) -> Bool {
        status.grantsAccess(endsAt: endsAt, at: date)
    }

    public init(managerID: Int64, externalID: String, status: SubscriptionStatus, plan: String? = nil, renewsAt: Date? = nil,
                endsAt: Date? = nil, portalURL: String? = nil, providerUpdatedAt: Date) {
        self.managerID = managerID
        self.externalID = externalID
        self.status = status
        self.plan = plan
        self.renewsAt = renewsAt
        self.endsAt = endsAt
        self.portalURL = portalURL
        self.providerUpdatedAt = providerUpdatedAt
    }
}

/// What recording a provider event did.
public enum SubscriptionChange: Sendable, Equatable {
    /// Older than the state recorded: nothing changed.
    case stale
    case applied(before: Subscription?, after: Subscription)
}

/// What a webhook delivery came to.
public enum WebhookOutcome: String, Sendable {
    case applied, stale, ignored
}

/// Billing: the webhook log, subscriptions as the provider reports them, and the usage they lift.
extension StoreTransaction {
    /// Claims a webhook delivery by the SHA-256 of its body: true the first time, false for a replay.
    public func claimWebhookDelivery(digest: String, provider: String, event: String, now: Date) throws -> Bool {
        try db.executeCached(
            sql: """
                INSERT INTO webhook_deliveries (digest, provider, event, outcome, received_at) VALUES (?, ?, ?, 'ignored', ?)
                ON CONFLICT (digest) DO UPDATE SET received_at = excluded.received_at WHERE outcome = 'ignored'
                """,
            arguments: [digest, provider, String(event.prefix(64)), StoreDate(now)])
        return db.changesCount == 1
    }

    /// Records what a claimed delivery came to.
    public func settleWebhookDelivery(digest: String, outcome: WebhookOutcome, detail: String?) throws {
        try db.executeCached(sql: "UPDATE webhook_deliveries SET outcome = ?, detail = ? WHERE digest = ?",
                             arguments: [outcome.rawValue, detail.map { String($0.prefix(512)) }, digest])
    }

    /// What the delivery with this body digest came to (nil: never received).
    public func webhookOutcome(digest: String) throws -> WebhookOutcome? {
        try String.fetchOne(cached: db, sql: "SELECT outcome FROM webhook_deliveries WHERE digest = ?", arguments: [digest])
            .flatMap(WebhookOutcome.init(rawValue:))
    }

    /// How many webhook deliveries were received since `date`.
    public func webhookDeliveryCount(since date: Date) throws -> Int {
        try Int.fetchOne(cached: db, sql: "SELECT count(*) FROM webhook_deliveries WHERE received_at >= ?", arguments: [StoreDate(date)]) ?? 0
    }

    /// The subscription the provider knows by `externalID`.
    public func subscription(externalID: String) throws -> Subscription? {
        try Subscription.fetchOne(cached: db, sql: "SELECT * FROM subscriptions WHERE external_id = ?", arguments: [externalID])
    }

    /// Records a subscription event, unless it is older than the state recorded: for the same subscription,
    /// by the provider's `updated_at`; a different (new) one replaces a subscription that no longer runs,
    /// or one whose state is older.
    public func applySubscription(_ event: SubscriptionEvent, now: Date) throws -> SubscriptionChange {
        guard (1...128).contains(event.externalID.count) else {
            throw DomainError.invalidInput("the subscription id must be 1 to 128 characters")
        }
        guard try Bool.fetchOne(cached: db, sql: "SELECT EXISTS (SELECT 1 FROM managers WHERE id = ?)", arguments: [event.managerID]) == true else {
            throw DomainError.managerNotFound(event.managerID)
        }
        if let owner = try subscription(externalID: event.externalID), owner.managerID != event.managerID {
            throw DomainError.invalidInput("subscription \(event.externalID) belongs to another manager")
        }
        let before = try subscription(manager: event.managerID)
        if let before {
            let older = before.providerUpdatedAt.map { event.providerUpdatedAt < $0 } ?? false
            if before.externalID == event.externalID {
                if older { return .stale }
            } else {
                // Another subscription of the same manager: it replaces the recorded one only when it is newer,
                // and never turns a running subscription into one that has ended (an old subscription's late
                // "expired" must not end the new one).
                if older { return .stale }
                if before.isActive(at: now), !event.grantsAccess(at: now) { return .stale }
            }
        }
        let portal = event.portalURL.flatMap { $0.hasPrefix("https://") && $0.count > 8 ? $0 : nil }
        let plan = event.plan.flatMap { $0.isEmpty ? nil : String($0.prefix(256)) }
        let after = try Subscription.fetchOne(
            cached: db,
            sql: """
                INSERT INTO subscriptions (manager_id, external_id, status, renews_at, ends_at, portal_url, created_at, updated_at,
                                           plan, provider_updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (manager_id) DO UPDATE SET
                    external_id = excluded.external_id, status = excluded.status, renews_at = excluded.renews_at,
                    ends_at = excluded.ends_at,
                    portal_url = CASE WHEN external_id IS excluded.external_id THEN coalesce(excluded.portal_url, portal_url)
                                      ELSE excluded.portal_url END,
                    updated_at = excluded.updated_at,
                    plan = CASE WHEN external_id IS excluded.external_id THEN coalesce(excluded.plan, plan) ELSE excluded.plan END,
                    provider_updated_at = excluded.provider_updated_at,
                    payment_status = CASE WHEN external_id IS excluded.external_id THEN payment_status END,
                    payment_updated_at = CASE WHEN external_id IS excluded.external_id THEN payment_updated_at END
                RETURNING *
                """,
            arguments: [event.managerID, event.externalID, event.status.rawValue, event.renewsAt.map(StoreDate.init),
                        event.endsAt.map(StoreDate.init), portal, StoreDate(now), StoreDate(now), plan, StoreDate(event.providerUpdatedAt)])
        guard let after else { throw StoreError.unexpectedResult("the subscription upsert returned no row") }
        if !after.isActive(at: now) { try PersonNotices.clearQuotaNotices(manager: event.managerID, db) }
        return .applied(before: before, after: after)
    }

    /// Records a payment's outcome on the subscription it belongs to. Returns the subscription, and whether
    /// the payment was news (false: an older payment event than the one recorded, which changes nothing).
    public func recordPayment(externalID: String, status: PaymentStatus, at providerTime: Date) throws -> (Subscription, fresh: Bool)? {
        guard let subscription = try subscription(externalID: externalID) else { return nil }
        if let known = subscription.paymentUpdatedAt, providerTime < known { return (subscription, false) }
        try db.executeCached(sql: "UPDATE subscriptions SET payment_status = ?, payment_updated_at = ? WHERE id = ?",
                             arguments: [status.rawValue, StoreDate(providerTime), subscription.id])
        var updated = subscription
        updated.paymentStatus = status
        updated.paymentUpdatedAt = providerTime
        return (updated, true)
    }

    /// The manager's usage this month (zero when nothing was counted yet), with the extra messages they have.
    public func usage(manager: Int64, now: Date) throws -> UsageRecord {
        try UsageRepository.current(manager: manager, now: now, db)
    }

    // MARK: Referrals

    /// Records that `referred`, a manager registering for the first time, came through the link of the
    /// manager whose code is `code`, and gives that manager `reward` extra free messages — in one step, once
    /// per referred manager, never for their own link. Returns the referrer, or nil when nothing was recorded.
    public func recordReferral(code: String, referred: Int64, reward: Int, now: Date) throws -> Manager? {
        guard ManagerCode.isWellFormed(code),
              let referrer = try Manager.fetchOne(cached: db, sql: "SELECT * FROM managers WHERE code = ? AND deleted_at IS NULL",
                                                  arguments: [code.uppercased()]),
              referrer.id != referred
        else { return nil }
        try db.executeCached(
            sql: "INSERT INTO referrals (referred_id, referrer_id, reward_messages, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [referred, referrer.id, max(0, reward), StoreDate(now)])
        guard db.changesCount == 1 else { return nil }
        if reward > 0 {
            try db.executeCached(
                sql: """
                    INSERT INTO usage_tracking (manager_id, period_start, messages_count, is_blocked, updated_at, bonus_messages)
                    VALUES (?, ?, 0, 0, ?, ?)
                    ON CONFLICT (manager_id) DO UPDATE SET bonus_messages = bonus_messages + excluded.bonus_messages,
                        is_blocked = 0, updated_at = excluded.updated_at
                    """,
                arguments: [referrer.id, StoreDate(UsageRepository.periodStart(for: now)), StoreDate(now), reward])
            try PersonNotices.clearQuotaNotices(manager: referrer.id, db)
        }
        return referrer
    }

    /// How many managers registered through `referrer`'s link, and the extra messages that earned them.
    public func referrals(referrer: Int64) throws -> (count: Int, rewardMessages: Int) {
        let row = try Row.fetchOne(cached: db, sql: "SELECT count(*), coalesce(sum(reward_messages), 0) FROM referrals WHERE referrer_id = ?",
                                   arguments: [referrer])
        return (row?[0] ?? 0, row?[1] ?? 0)
    }

    /// Who referred `manager`, if anyone.
    public func referrer(of manager: Int64) throws -> Int64? {
        try Int64.fetchOne(cached: db, sql: "SELECT referrer_id FROM referrals WHERE referred_id = ?", arguments: [manager])
    }
}
