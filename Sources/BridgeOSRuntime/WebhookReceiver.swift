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
        /// Not settled (the store fails, or shutdown): Telegram must deliver it again.
        case unsettled
    }

    /// The path Telegram posts `slot`'s updates to, behind `BRIDGEOS_PUBLIC_URL`.
    public static func path(_ slot: BotSlot) -> String { AppConfiguration.webhookPath(slot: slot.number) }

    /// 32 random bytes, base64url: 43 of the characters Telegram allows in a secret token (A-Z a-z 0-9 _ -).
    public static func makeSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    let database: AppDatabase
    let slots: Set<BotSlot>
    let settler: UpdateSettler
    let storePatience: Duration
    let logger: Logger
    private let secrets = Mutex<[BotSlot: String]>([:])
    private let lastDeliveries = Mutex<[BotSlot: Date]>([:])
    private let lastRefusalLogged = Mutex<[BotSlot: Date]>([:])

    init(database: AppDatabase, slots: Set<BotSlot>, settler: UpdateSettler, storePatience: Duration, logger: Logger) {
        self.database = database
        self.slots = slots
        self.settler = settler
        self.storePatience = storePatience
        self.logger = logger
    }

    /// The secret the slot's webhook is set with now.
    func remember(_ slot: BotSlot, secret: String) {
        secrets.withLock { $0[slot] = secret }
    }

    /// When the slot last received a delivery with its secret.
    func lastDelivery(_ slot: BotSlot) -> Date? { lastDeliveries.withLock { $0[slot] } }

    /// Whether a delivery to slot `number` with `secretToken` may be read: nil if so, else the refusal.
    /// Before the slot has set its webhook in this run, the secret kept from the last run is the one Telegram
    /// still uses.
    public func check(slot number: Int, secretToken: String?) -> Outcome? {
        guard let slot = BotSlot(number), slots.contains(slot) else { return .unknownSlot }
        let expected: String?
        if let known = secrets.withLock({ $0[slot] }) {
            expected = known
        } else {
            do {
                expected = try database.webhookSecrets.current(slot: slot)
            } catch {
                logger.error("cannot read the webhook's secret; the delivery is refused for now (Telegram delivers it again)",
                             metadata: ["slot": "\(slot.number)", "error": "\(error)"])
                return .unsettled
            }
            if let expected { secrets.withLock { if $0[slot] == nil { $0[slot] = expected } } }
        }
        guard let expected, let secretToken, Self.same(secretToken, expected) else {
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
        guard let slot = BotSlot(number), slots.contains(slot) else { return .unknownSlot }
        let update: Update
        do {
            update = try JSONDecoder().decode(Update.self, from: body)
        } catch {
            logger.error("a webhook delivery with the right secret is not an update; refused", metadata: [
                "slot": "\(slot.number)", "bytes": "\(body.count)", "error": "\(type(of: error))",
            ])
            return .malformed
        }
        lastDeliveries.withLock { $0[slot] = database.clock.now() }
        return await settler.settle(update, slot: slot, storePatience: storePatience) == .unsettled ? .unsettled : .accepted
    }

    /// Compares without stopping at the first difference (the time taken tells nothing about the secret).
    static func same(_ given: String, _ expected: String) -> Bool {
        let (a, b) = (Array(given.utf8), Array(expected.utf8))
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
