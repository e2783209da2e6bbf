import BridgeOSCore
import CoreMetrics
import Foundation

/// The runtime's metrics, made once from the appliance's factory (labels carry slot numbers and fixed words,
/// never tokens or text): updates handled, messages sent, Telegram's 429s, and how long writes take.
public struct RuntimeMetrics: Sendable {
    let updates: [BotSlot: Counter]
    let sent: [BotSlot: Counter]
    let pollFloods: [BotSlot: Counter]
    let sendFloods: [BotSlot: Counter]
    /// Webhook deliveries by slot and answer (accepted, unauthorized, malformed, unsettled, …).
    let webhookDeliveries: [BotSlot: [String: Counter]]
    let writes: [String: CoreMetrics.Timer]

    public static let writePaths = ["update", "external", "job"]

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        func perSlot(_ label: String, _ more: [(String, String)] = []) -> [BotSlot: Counter] {
            Dictionary(uniqueKeysWithValues: BotSlot.all.map { ($0, Counter(label: label, dimensions: [("slot", "\($0.number)")] + more, factory: factory)) })
        }
        updates = perSlot("bridgeos_updates_handled_total")
        sent = perSlot("bridgeos_messages_sent_total")
        pollFloods = perSlot("bridgeos_telegram_429_total", [("call", "poll")])
        sendFloods = perSlot("bridgeos_telegram_429_total", [("call", "send")])
        webhookDeliveries = Dictionary(uniqueKeysWithValues: BotSlot.all.map { slot in
            (slot, Dictionary(uniqueKeysWithValues: WebhookReceiver.Outcome.labels.map { outcome in
                (outcome, Counter(label: "bridgeos_webhook_deliveries_total", dimensions: [("slot", "\(slot.number)"), ("outcome", outcome)], factory: factory))
            }))
        })
        writes = Dictionary(uniqueKeysWithValues: Self.writePaths.map {
            ($0, CoreMetrics.Timer(label: "bridgeos_db_write_duration_seconds", dimensions: [("path", $0)], preferredDisplayUnit: .seconds, factory: factory))
        })
    }

    func updateHandled(_ slot: BotSlot) { updates[slot]?.increment() }
    func messageSent(_ slot: BotSlot) { sent[slot]?.increment() }
    func webhookDelivery(_ slot: BotSlot, _ outcome: WebhookReceiver.Outcome) { webhookDeliveries[slot]?[outcome.label]?.increment() }
    func flood(_ slot: BotSlot, polling: Bool) { (polling ? pollFloods : sendFloods)[slot]?.increment() }

    /// Runs a write and records how long it took (waiting for the writer included).
    public func timedWrite<T>(_ path: String, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer { writes[path]?.recordNanoseconds((ContinuousClock.now - start).nanoseconds) }
        return try body()
    }

    public func timedWrite<T>(_ path: String, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        defer { writes[path]?.recordNanoseconds((ContinuousClock.now - start).nanoseconds) }
        return try await body()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
