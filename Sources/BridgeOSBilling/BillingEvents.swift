import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// Applies LemonSqueezy's webhook events to the store, in the transaction that logs the delivery: a replayed
/// delivery changes nothing, an older event never overwrites a newer state, and the manager is told, in the
/// same transaction, when a subscription starts, is cancelled, ends, or a payment fails or recovers.
public struct BillingEvents: Sendable {
    let localizer: Localizer
    /// The free plan's messages a month (told when a subscription ends).
    let freeMessages: Int

    public init(localizer: Localizer, freeMessages: Int) {
        self.localizer = localizer
        self.freeMessages = freeMessages
    }

    /// What a delivery came to.
    public enum Result: Equatable, Sendable {
        case applied
        /// Older than the state recorded: nothing changed.
        case stale
        /// About nobody BridgeOS knows, or an event it does not act on.
        case ignored(String)
        /// The same body came before.
        case duplicate
    }

    public func receive(_ event: LemonSqueezyEvent, digest: String, context: IntakeContext) throws -> Result {
        let tx = context.tx
        guard try tx.claimWebhookDelivery(digest: digest, provider: "lemonsqueezy", event: event.name, now: context.now) else { return .duplicate }
        let result = try apply(event, context: context)
        switch result {
        case .applied: try tx.settleWebhookDelivery(digest: digest, outcome: .applied, detail: nil)
        case .stale: try tx.settleWebhookDelivery(digest: digest, outcome: .stale, detail: nil)
        case let .ignored(why): try tx.settleWebhookDelivery(digest: digest, outcome: .ignored, detail: why)
        case .duplicate: break
        }
        return result
    }

    func apply(_ event: LemonSqueezyEvent, context: IntakeContext) throws -> Result {
        let tx = context.tx
        switch event.kind {
        case .other:
            return .ignored("not a subscription event")
        case let .subscription(state):
            // The subscription's owner as recorded wins over custom data (which a customer cannot change anyway).
            guard let managerID = try tx.subscription(externalID: state.id)?.managerID ?? event.telegramID,
                  let manager = try tx.manager(managerID)
            else { return .ignored("no manager for subscription \(state.id)") }
            let change = try tx.applySubscription(
                SubscriptionEvent(managerID: manager.id, externalID: state.id, status: state.status, plan: state.plan,
                                  renewsAt: state.renewsAt, endsAt: state.endsAt, portalURL: state.portalURL,
                                  providerUpdatedAt: state.updatedAt),
                now: context.now)
            guard case let .applied(before, after) = change else { return .stale }
            try tellChange(from: before, to: after, manager: manager, context: context)
            return .applied
        case let .payment(payment):
            guard let (subscription, fresh) = try tx.recordPayment(externalID: payment.subscriptionID, status: payment.succeeded ? .paid : .failed,
                                                                 at: payment.updatedAt)
            else { return .ignored("no subscription \(payment.subscriptionID)") }
            guard fresh else { return .stale }
            if !payment.succeeded {
                try tell(.billingPaymentFailed, manager: subscription.managerID, context: context)
            } else if event.name == "subscription_payment_recovered" {
                try tell(.billingPaymentRecovered, manager: subscription.managerID, context: context)
            }
            return .applied
        }
    }

    /// The transitions a manager hears of.
    func tellChange(from before: Subscription?, to after: Subscription, manager: Manager, context: IntakeContext) throws {
        let now = context.now
        let wasActive = before?.isActive(at: now) ?? false
        let stopped: Set<SubscriptionStatus> = [.expired, .paused, .unpaid]
        // Started, or running again: after nothing, after it stopped, or resumed after a cancellation.
        let resumed = before?.status == .cancelled && after.status != .cancelled
        if after.isActive(at: now), !wasActive || resumed {
            try tell(.billingStarted, manager: manager.id, ["plan": after.plan ?? "BridgeOS"], context: context)
        } else if after.status == .cancelled, before?.status != .cancelled, after.isActive(at: now), let end = after.endsAt {
            let language = try context.tx.user(manager.id)?.language ?? "en"
            let zone = TimeZone(identifier: manager.timeZone) ?? .gmt
            try tell(.billingCancelled, manager: manager.id, ["date": SubscriptionText.day(end, language: language, zone: zone)], context: context)
        } else if stopped.contains(after.status), let before, !stopped.contains(before.status) {
            try tell(.billingEnded, manager: manager.id, ["limit": "\(freeMessages)"], context: context)
        }
    }

    /// Tells the manager through their home bot (or another they use); held until they open one.
    func tell(_ key: TextKey, manager: Int64, _ values: [String: String] = [:], context: IntakeContext) throws {
        guard let user = try context.tx.user(manager), let slot = try Self.slot(for: manager, context: context) else { return }
        try context.send(SendMessage(chatID: .id(manager), text: localizer.text(key, user.language, values)), chatID: manager, slot: slot)
    }

    /// The bot to reach a manager through: their home bot if they use it, else the first running bot they do
    /// use, else their home bot (the message waits until they open it).
    public static func slot(for manager: Int64, context: IntakeContext) throws -> BotSlot? {
        let running = context.bots.keys.sorted()
        let home = try context.tx.manager(manager)?.homeSlot.flatMap { running.contains($0) ? $0 : nil }
        for slot in [home].compactMap({ $0 }) + running where try context.tx.hasBotChat(slot: slot, user: manager) {
            return slot
        }
        return home ?? running.first
    }
}
