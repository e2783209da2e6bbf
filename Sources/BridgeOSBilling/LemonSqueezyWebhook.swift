import BridgeOSStorage
import Crypto
import Foundation

/// LemonSqueezy's webhook signature: `X-Signature` is the hex HMAC-SHA256 of the raw body with the signing secret.
public enum WebhookSignature {
    /// Whether `signature` signs `body` with `secret`. The comparison takes the same time wherever the bytes differ.
    public static func isValid(_ signature: String?, body: Data, secret: String) -> Bool {
        guard let signature, let given = hexBytes(signature.trimmingCharacters(in: .whitespaces)), given.count == 32 else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: body, using: SymmetricKey(data: Data(secret.utf8)))
    }

    /// The signature LemonSqueezy would send (for the stand-in server and tests).
    public static func sign(_ body: Data, secret: String) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))))
    }

    /// The delivery key: SHA-256 of the raw body, hex.
    public static func digest(_ body: Data) -> String { hex(SHA256.hash(data: body)) }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}

/// One LemonSqueezy webhook event, as far as BridgeOS acts on it.
public struct LemonSqueezyEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// subscription_created/updated/cancelled/resumed/expired/paused/unpaused: a subscription's state.
        case subscription(SubscriptionState)
        /// subscription_payment_success/failed/recovered: an invoice of a subscription.
        case payment(Payment)
        /// An event BridgeOS does not act on (orders, license keys…).
        case other
    }

    public struct SubscriptionState: Sendable, Equatable {
        public var id: String
        public var status: SubscriptionStatus
        public var plan: String?
        public var renewsAt: Date?
        public var endsAt: Date?
        public var portalURL: String?
        public var updatedAt: Date
    }

    public struct Payment: Sendable, Equatable {
        public var subscriptionID: String
        public var succeeded: Bool
        public var updatedAt: Date
    }

    public var name: String
    /// `meta.custom_data.telegram_id`: the manager, as the checkout named them.
    public var telegramID: Int64?
    public var kind: Kind

    public static let subscriptionEvents: Set<String> = [
        "subscription_created", "subscription_updated", "subscription_cancelled", "subscription_resumed",
        "subscription_expired", "subscription_paused", "subscription_unpaused",
    ]
    public static let paymentEvents: Set<String> = [
        "subscription_payment_success", "subscription_payment_failed", "subscription_payment_recovered",
    ]

    /// Why a body is not an event.
    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads an event from a webhook body (LemonSqueezy's documented shape: `meta.event_name`,
    /// `meta.custom_data`, and a JSON:API `data` object).
    public init(body: Data) throws(Malformed) {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { throw Malformed(description: "not a JSON object") }
        guard let meta = object["meta"] as? [String: Any], let name = meta["event_name"] as? String else {
            throw Malformed(description: "no meta.event_name")
        }
        // Event names are snake_case words; anything else (empty, too long, a NUL that SQLite's length()
        // stops at) is not an event, and is refused here rather than by the database's CHECK (a 500 that
        // LemonSqueezy would retry).
        guard (1...64).contains(name.unicodeScalars.count), name.unicodeScalars.allSatisfy(Self.isEventNameScalar) else {
            throw Malformed(description: "meta.event_name is not an event name")
        }
        self.name = name
        let custom = meta["custom_data"] as? [String: Any]
        telegramID = (custom?["telegram_id"]).flatMap(Self.int64)
        guard Self.subscriptionEvents.contains(name) || Self.paymentEvents.contains(name) else {
            kind = .other
            return
        }
        guard let data = object["data"] as? [String: Any], let attributes = data["attributes"] as? [String: Any] else {
            throw Malformed(description: "no data.attributes")
        }
        guard let updated = (attributes["updated_at"] as? String).flatMap(Self.date) else {
            throw Malformed(description: "no valid data.attributes.updated_at")
        }
        if Self.subscriptionEvents.contains(name) {
            guard data["type"] as? String == "subscriptions", let id = data["id"].flatMap(Self.identifier) else {
                throw Malformed(description: "a subscription event without a subscription")
            }
            guard let raw = attributes["status"] as? String, let status = SubscriptionStatus(rawValue: raw) else {
                throw Malformed(description: "unknown subscription status")
            }
            let product = (attributes["product_name"] as? String).flatMap { Self.text($0, limit: 120) }
            let variant = (attributes["variant_name"] as? String).flatMap { Self.text($0, limit: 120) }
            let plan = [product, variant].compactMap { $0 != "Default" ? $0 : nil }.joined(separator: " – ")
            let urls = attributes["urls"] as? [String: Any]
            kind = .subscription(SubscriptionState(
                id: id, status: status, plan: plan.isEmpty ? nil : plan,
                renewsAt: (attributes["renews_at"] as? String).flatMap(Self.date),
                endsAt: (attributes["ends_at"] as? String).flatMap(Self.date),
                portalURL: (urls?["customer_portal"] as? String).flatMap(Self.portal), updatedAt: updated))
        } else {
            guard let subscription = attributes["subscription_id"].flatMap(Self.identifier) else {
                throw Malformed(description: "an invoice without subscription_id")
            }
            kind = .payment(Payment(subscriptionID: subscription, succeeded: name != "subscription_payment_failed", updatedAt: updated))
        }
    }

    static func isEventNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "." || scalar == "-"
    }

    /// Text shown to people (a plan's name): control characters dropped, at most `limit` characters as
    /// SQLite counts them (code points); nil when nothing is left.
    static func text(_ value: String, limit: Int) -> String? {
        let kept = String(String.UnicodeScalarView(value.unicodeScalars.filter { !$0.properties.isNoncharacterCodePoint && $0.value >= 0x20 && $0.value != 0x7F }.prefix(limit)))
        let trimmed = kept.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The customer portal: an https URL without spaces or control characters, or none.
    static func portal(_ value: String) -> String? {
        guard value.hasPrefix("https://"), value.unicodeScalars.count > "https://".count, value.unicodeScalars.count <= 2048,
              value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else { return nil }
        return value
    }

    /// A subscription's id: 1 to 128 code points (as SQLite counts them), no control characters.
    static func identifier(_ value: Any) -> String? {
        if let text = value as? String, (1...128).contains(text.unicodeScalars.count), text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) {
            return text
        }
        if let number = value as? NSNumber, let id = Int64(exactly: number.doubleValue) { return String(id) }
        return nil
    }

    static func int64(_ value: Any) -> Int64? {
        if let text = value as? String { return Int64(text) }
        if let number = value as? NSNumber { return Int64(exactly: number.doubleValue) }
        return nil
    }

    /// "2026-12-03T10:00:00.000000Z" (LemonSqueezy writes microseconds) or without fractions.
    static func date(_ text: String) -> Date? {
        var whole = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            fraction = Double("0" + text[dot..<zone]) ?? 0
            whole = String(text[..<dot] + text[zone...])
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: whole)?.addingTimeInterval(fraction)
    }
}
