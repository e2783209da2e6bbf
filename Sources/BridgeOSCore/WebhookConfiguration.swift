import Foundation

extension AppConfiguration {
    /// The ports Telegram delivers webhooks to.
    public static let webhookPorts: Set<Int> = [443, 80, 88, 8443]

    /// The path Telegram posts slot `number`'s updates to, behind `BRIDGEOS_PUBLIC_URL`.
    public static func webhookPath(slot number: Int) -> String { "/telegram/\(number)" }

    /// Where Telegram posts slot `number`'s updates in webhook mode (nil: polling).
    public func webhookURL(slot number: Int) -> String? {
        guard webhook, let publicURL else { return nil }
        return publicURL + Self.webhookPath(slot: number)
    }

    /// `BRIDGEOS_WEBHOOK`: 0/1 (also false/true, no/yes, off/on). Webhook mode needs an https public URL on a
    /// port Telegram delivers to.
    static func webhookMode(_ raw: String?, publicURL: String?) throws(ConfigurationError) -> Bool {
        guard let raw else { return false }
        switch raw.lowercased() {
        case "0", "false", "no", "off": return false
        case "1", "true", "yes", "on": break
        default: throw .invalidValue(variable: "BRIDGEOS_WEBHOOK", value: raw, expected: "0 (poll Telegram) or 1 (Telegram pushes to BRIDGEOS_PUBLIC_URL)")
        }
        let expected = "BRIDGEOS_PUBLIC_URL set to the https address of the reverse proxy in front of serve, e.g. https://bridgeos.example.com (port 443, 80, 88 or 8443: the ports Telegram delivers to)"
        guard let publicURL, let url = URL(string: publicURL), url.scheme?.lowercased() == "https" else {
            throw .invalidValue(variable: "BRIDGEOS_WEBHOOK", value: raw, expected: expected)
        }
        guard webhookPorts.contains(url.port ?? 443) else {
            throw .invalidValue(variable: "BRIDGEOS_WEBHOOK", value: raw, expected: expected)
        }
        return true
    }
}
