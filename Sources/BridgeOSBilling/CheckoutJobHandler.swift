import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging

/// /subscription on the free plan: asks the payment provider for a checkout link (outside any transaction),
/// then sends the month's usage with the link, or, when the provider cannot make one, the usage with why
/// there is no link. A subscription that started meanwhile is shown as such.
public struct CheckoutJobHandler: JobHandler {
    public let kind = BusinessJobs.checkout
    let database: AppDatabase
    let checkouts: any CheckoutProvider
    let localizer: Localizer
    let freeMessages: Int
    /// Attempts at a provider that fails temporarily before the manager is told to try later.
    let attempts: Int
    let retryAfter: Duration
    let logger: Logger

    public init(database: AppDatabase, checkouts: any CheckoutProvider, localizer: Localizer, freeMessages: Int, attempts: Int = 3,
                retryAfter: Duration = .seconds(3), logger: Logger) {
        self.database = database
        self.checkouts = checkouts
        self.localizer = localizer
        self.freeMessages = freeMessages
        self.attempts = max(1, attempts)
        self.retryAfter = retryAfter
        self.logger = logger
    }

    public func run(_ job: JobRow) async throws -> JobCompletion {
        let payload = try JSONDecoder().decode(BusinessJobs.Checkout.self, from: Data(job.payload.utf8))
        guard let manager = try database.read({ tx in try tx.manager(payload.manager).flatMap { $0.isDeleted ? nil : try tx.user($0.id) } })
        else { return .nothing }
        var link: String?
        do {
            link = try await checkouts.checkoutURL(manager: manager.id, name: manager.displayName)
        } catch let error {
            if case .temporary = error, job.attempts < attempts {
                throw JobFailure.retryable("checkout: \(error)", after: retryAfter)
            }
            logger.error("no checkout link", metadata: ["manager": "\(manager.id)", "error": "\(error)"])
        }
        let (localizer, freeMessages) = (self.localizer, self.freeMessages)
        return JobCompletion { [link] context in
            try Self.send(manager: manager.id, link: link, slot: payload.slot, localizer: localizer, freeMessages: freeMessages, context: context)
        }
    }

    /// The job failed for good (its payload unreadable, the store refusing): the manager still gets an answer.
    public func failed(_ job: JobRow, reason: String, context: IntakeContext) throws {
        guard let payload = try? JSONDecoder().decode(BusinessJobs.Checkout.self, from: Data(job.payload.utf8)) else { return }
        try Self.send(manager: payload.manager, link: nil, slot: payload.slot, localizer: localizer, freeMessages: freeMessages, context: context)
    }

    static func send(manager id: Int64, link: String?, slot number: Int, localizer: Localizer, freeMessages: Int, context: IntakeContext) throws {
        let tx = context.tx
        guard let manager = try tx.user(id), let record = try tx.manager(id), !record.isDeleted else { return }
        let asked = BotSlot(number).flatMap { context.bots[$0] != nil ? $0 : nil }
        guard let slot = try asked ?? BillingEvents.slot(for: id, context: context) else { return }
        let zone = TimeZone(identifier: record.timeZone) ?? .gmt
        let text: String
        if let active = SubscriptionText.active(try tx.subscription(manager: id), language: manager.language, zone: zone, now: context.now,
                                                localizer: localizer) {
            text = active
        } else {
            let usage = SubscriptionText.free(try tx.usage(manager: id, now: context.now), limit: freeMessages, language: manager.language,
                                              localizer: localizer)
            let offer = link.map { localizer.text(.subscriptionCheckout, manager.language, ["link": $0]) }
                ?? localizer.text(.subscriptionCheckoutFailed, manager.language)
            text = usage + "\n\n" + offer
        }
        try context.send(SendMessage(chatID: .id(id), text: text), chatID: id, slot: slot)
    }
}
