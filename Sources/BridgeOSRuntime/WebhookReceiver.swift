import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging
import Synchronization

/// Webhook mode's intake side: checks that a delivery carries its slot's secret token, then settles the update
/// exactly as a poll would (the same intake, the same retries). The answer is given only once the update's
/// transaction has committed, so a crash before that makes Telegram deliver it again — and a delivery of an
/// update handled before changes nothing.
public final class WebhookReceiver: Sendable {
    public enum Outcome: Equatable, Sendable {
        /// Handled, recognised as handled before, or given up on (its sender told): Telegram may forget it.
        case accepted
        /// No slot with that number runs in webhook mode.
        case unknownSlot
        /// The secret token is missing or wrong: nothing was read or handled.
        case unauthorized
        /// Not an update (no update_id, not JSON).
        case malformed
        /// Not settled (the store fails, the slot has not started yet, or shutdown): Telegram must deliver it again.
        case unsettled
        /// A body over the limit.
        case tooLarge

        static let labels = ["accepted", "unknown_slot", "unauthorized", "malformed", "unsettled", "too_large"]
        var label: String {
            switch self {
            case .accepted: "accepted"
            case .unknownSlot: "unknown_slot"
            case .unauthorized: "unauthorized"
            case .malformed: "malformed"
            case .unsettled: "unsettled"
            case .tooLarge: "too_large"
            }
        }
    }

    /// The path Telegram posts `slot`'s updates to, behind `BRIDGEOS_PUBLIC_URL`.
    public static func path(_ slot: BotSlot) -> String { AppConfiguration.webhookPath(slot: slot.number) }

    /// 32 random bytes, base64url: 43 of the characters Telegram allows in a secret token (A-Z a-z 0-9 _ -).
    public static func makeSecret() -> String { SecretTokens.urlSafe() }

    let database: AppDatabase
    /// The bot each slot runs (the id in its token): a secret kept for another bot opens nothing.
    let botIDs: [BotSlot: Int64]
    let directory: BotDirectory
    let settler: UpdateSettler
    let storePatience: Duration
    let metrics: RuntimeMetrics
    let logger: Logger
    private let secrets = Mutex<[BotSlot: String]>([:])
    /// When the slot's webhook was set in this run, and when a delivery last reached it.
    private let lastContact = Mutex<[BotSlot: Date]>([:])
    private let lastRefusalLogged = Mutex<[BotSlot: Date]>([:])

    init(database: AppDatabase, botIDs: [BotSlot: Int64], directory: BotDirectory, settler: UpdateSettler, storePatience: Duration,
         metrics: RuntimeMetrics, logger: Logger) {
        self.database = database
        self.botIDs = botIDs
        self.directory = directory
        self.settler = settler
        self.storePatience = storePatience
        self.metrics = metrics
        self.logger = logger
    }

    /// The secret the slot's webhook was just set with.
    func remember(_ slot: BotSlot, secret: String) {
        secrets.withLock { $0[slot] = secret }
        lastContact.withLock { $0[slot] = database.clock.now() }
    }

    /// When the slot last heard from Telegram: its webhook set in this run, or a delivery with its secret.
    func lastContact(_ slot: BotSlot) -> Date? { lastContact.withLock { $0[slot] } }

    /// Whether a delivery to slot `number` with `secretToken` may be read: nil if so, else the refusal.
    /// Before the slot has set its webhook in this run, the secret kept from the last run is the one Telegram
    /// still uses.
    public func check(slot number: Int, secretToken: String?) -> Outcome? {
        let outcome = refusal(slot: number, secretToken: secretToken)
        if let outcome, let slot = BotSlot(number) { metrics.webhookDelivery(slot, outcome) }
        return outcome
    }

    private func refusal(slot number: Int, secretToken: String?) -> Outcome? {
        guard let slot = BotSlot(number), let botID = botIDs[slot] else { return .unknownSlot }
        let expected: String?
        if let known = secrets.withLock({ $0[slot] }) {
            expected = known
        } else {
            do {
                expected = try database.webhookSecrets.current(slot: slot, botID: botID)
            } catch {
                logger.error("cannot read the webhook's secret; the delivery is refused for now (Telegram delivers it again)",
                             metadata: ["slot": "\(slot.number)", "error": "\(error)"])
                return .unsettled
            }
            if let expected { secrets.withLock { if $0[slot] == nil { $0[slot] = expected } } }
        }
        guard let expected, let secretToken, SecretTokens.equal(secretToken, expected) else {
            let now = database.clock.now()
            let log = lastRefusalLogged.withLock { last in
                guard last[slot].map({ now.timeIntervalSince($0) >= 60 }) ?? true else { return false }
                last[slot] = now
                return true
            }
            if log {
                logger.warning("refused a delivery to the webhook without this slot's secret token (not from Telegram, or a stale webhook); logged at most once a minute",
                               metadata: ["slot": "\(slot.number)", "token": "\(secretToken == nil ? "missing" : "wrong")"])
            }
            return .unauthorized
        }
        return nil
    }

    /// Settles a delivery that passed `check`.
    public func deliver(slot number: Int, body: Data) async -> Outcome {
        guard let slot = BotSlot(number), botIDs[slot] != nil else { return .unknownSlot }
        let outcome = await settle(slot, body: body)
        metrics.webhookDelivery(slot, outcome)
        return outcome
    }

    /// A body over the size limit, after a passed `check`.
    public func refuseTooLarge(slot number: Int) -> Outcome {
        if let slot = BotSlot(number) { metrics.webhookDelivery(slot, .tooLarge) }
        logger.error("a webhook delivery with the right secret is larger than an update can be; refused", metadata: ["slot": "\(number)"])
        return .tooLarge
    }

    private func settle(_ slot: BotSlot, body: Data) async -> Outcome {
        // Deliveries Telegram kept while serve was down come as soon as it listens: they wait for the slot's
        // start (its bot known, as the handlers need), else Telegram delivers them again.
        let deadline = ContinuousClock.now + storePatience
        while directory.all[slot] == nil {
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return .unsettled }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let update: Update
        do {
            update = try JSONDecoder().decode(Update.self, from: body)
        } catch {
            logger.error("a webhook delivery with the right secret is not an update; refused", metadata: [
                "slot": "\(slot.number)", "bytes": "\(body.count)", "error": "\(type(of: error))",
            ])
            return .malformed
        }
        lastContact.withLock { $0[slot] = database.clock.now() }
        return await settler.settle(update, slot: slot, storePatience: storePatience) == .unsettled ? .unsettled : .accepted
    }
}
