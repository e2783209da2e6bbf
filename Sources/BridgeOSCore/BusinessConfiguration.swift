import Foundation

/// Subscriptions (LemonSqueezy), referrals and feedback: the part of the configuration they read.
public struct BusinessConfiguration: Sendable, Equatable {
    public static let settings: [AppConfiguration.Setting] = [
        .init(name: "LEMONSQUEEZY_API_KEY", defaultValue: "(none)",
              summary: "LemonSqueezy API key: /subscription makes checkout links with it. Without it (or the store and variant ids) subscriptions are not offered."),
        .init(name: "LEMONSQUEEZY_STORE_ID", defaultValue: "(none)", summary: "The LemonSqueezy store that sells the subscription."),
        .init(name: "LEMONSQUEEZY_VARIANT_ID", defaultValue: "(none)", summary: "The subscription product's variant (the plan) in that store."),
        .init(name: "LEMONSQUEEZY_WEBHOOK_SECRET", defaultValue: "(none)",
              summary: "The webhook's signing secret; with it, POST /webhooks/lemonsqueezy takes subscription events (without it that route answers 404)."),
        .init(name: "LEMONSQUEEZY_API_URL", defaultValue: "https://api.lemonsqueezy.com", summary: "LemonSqueezy's API (tests and the demo point it at a stand-in)."),
        .init(name: "BRIDGEOS_ADMIN_IDS", defaultValue: "(none)",
              summary: "Comma-separated Telegram user ids of the admins: /feedback reaches them (in a bot they started), and they answer by replying."),
        .init(name: "BRIDGEOS_REFERRAL_REWARD", defaultValue: "50",
              summary: "Extra free translated messages a manager gets for each new manager who registers through their /refer link (0 turns rewards off)."),
    ]

    public var lemonSqueezyAPIKey: String = ""
    public var lemonSqueezyStoreID: String = ""
    public var lemonSqueezyVariantID: String = ""
    public var lemonSqueezyWebhookSecret: String = ""
    public var lemonSqueezyAPIURL: String = "https://api.lemonsqueezy.com"
    public var adminIDs: Set<Int64> = []
    public var referralReward: Int = 50

    public init() {}

    /// Whether checkout links can be made (key, store and variant are all set).
    public var checkoutConfigured: Bool {
        !lemonSqueezyAPIKey.isEmpty && !lemonSqueezyStoreID.isEmpty && !lemonSqueezyVariantID.isEmpty
    }

    init(value: (String) -> String?) throws(ConfigurationError) {
        if let key = value("LEMONSQUEEZY_API_KEY") { lemonSqueezyAPIKey = key }
        for (name, keyPath) in [("LEMONSQUEEZY_STORE_ID", \Self.lemonSqueezyStoreID), ("LEMONSQUEEZY_VARIANT_ID", \Self.lemonSqueezyVariantID)] {
            guard let raw = value(name) else { continue }
            guard let number = Int64(raw), number > 0 else { throw .invalidValue(variable: name, value: raw, expected: "a numeric LemonSqueezy id") }
            self[keyPath: keyPath] = String(number)
        }
        if let secret = value("LEMONSQUEEZY_WEBHOOK_SECRET") {
            guard (6...256).contains(secret.count) else {
                throw .invalidSecret(variable: "LEMONSQUEEZY_WEBHOOK_SECRET", expected: "the signing secret set on the webhook (6 to 256 characters)")
            }
            lemonSqueezyWebhookSecret = secret
        }
        if let raw = value("LEMONSQUEEZY_API_URL") {
            // The API key travels in a header: plain http only to this machine (a stand-in), never across a network.
            guard let url = URL(string: raw), let host = url.host, !host.isEmpty, url.query == nil,
                  url.scheme?.lowercased() == "https" || (url.scheme?.lowercased() == "http" && ["127.0.0.1", "localhost", "::1"].contains(host))
            else {
                throw .invalidValue(variable: "LEMONSQUEEZY_API_URL", value: raw,
                                    expected: "an https URL such as https://api.lemonsqueezy.com (http only to 127.0.0.1)")
            }
            lemonSqueezyAPIURL = raw.withoutTrailingSlash
        }
        if let raw = value("BRIDGEOS_ADMIN_IDS") { adminIDs = try AppConfiguration.telegramIDs(raw, variable: "BRIDGEOS_ADMIN_IDS") }
        if let raw = value("BRIDGEOS_REFERRAL_REWARD") {
            guard let reward = Int(raw), (0...1_000_000).contains(reward) else {
                throw .invalidValue(variable: "BRIDGEOS_REFERRAL_REWARD", value: raw, expected: "a whole number of messages from 0 to 1000000")
            }
            referralReward = reward
        }
        let partial = [lemonSqueezyAPIKey, lemonSqueezyStoreID, lemonSqueezyVariantID].filter { !$0.isEmpty }.count
        if partial != 0 && partial != 3 {
            throw .invalidValue(variable: "LEMONSQUEEZY_API_KEY, LEMONSQUEEZY_STORE_ID, LEMONSQUEEZY_VARIANT_ID", value: "(partly set)",
                                expected: "all three set (subscriptions offered) or none")
        }
        // Checkout links without the webhook: people would pay and their subscription would never be recorded.
        if checkoutConfigured && lemonSqueezyWebhookSecret.isEmpty {
            throw .invalidValue(variable: "LEMONSQUEEZY_WEBHOOK_SECRET", value: "(not set)",
                                expected: "the webhook's signing secret whenever LEMONSQUEEZY_API_KEY is set: without it payments are never recorded")
        }
    }
}
