import AsyncHTTPClient
import BridgeOSCore
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat

/// Where LemonSqueezy is and who the appliance is there. Configured by `LEMONSQUEEZY_*`.
public struct LemonSqueezyConfiguration: Sendable, Equatable {
    /// The API's base URL (LemonSqueezy's, or a stand-in on 127.0.0.1 for tests and the demo).
    public var apiURL: String
    public var apiKey: String
    public var storeID: String
    public var variantID: String

    public init(apiURL: String = "https://api.lemonsqueezy.com", apiKey: String, storeID: String, variantID: String) {
        self.apiURL = apiURL.withoutTrailingSlash
        self.apiKey = apiKey
        self.storeID = storeID
        self.variantID = variantID
    }
}

/// Why no checkout link could be made.
public enum CheckoutError: Error, Equatable, CustomStringConvertible {
    /// Worth trying again (network, 429, 5xx).
    case temporary(String)
    /// Trying again will not help (a refused key, a store or variant that does not exist).
    case refused(String)

    public var description: String {
        switch self {
        case let .temporary(reason): "temporary: \(reason)"
        case let .refused(reason): "refused: \(reason)"
        }
    }
}

/// Makes checkout links: a page where a manager subscribes, carrying their Telegram id back in the webhooks.
public protocol CheckoutProvider: Sendable {
    func checkoutURL(manager: Int64, name: String) async throws(CheckoutError) -> String
}

/// The live provider: LemonSqueezy's `POST /v1/checkouts` (JSON:API), with the manager's Telegram id as
/// custom data (`meta.custom_data.telegram_id` in every webhook of the subscription).
public struct LemonSqueezyCheckouts: CheckoutProvider {
    let configuration: LemonSqueezyConfiguration
    let httpClient: HTTPClient
    let timeout: TimeAmount
    let logger: Logger

    public init(configuration: LemonSqueezyConfiguration, httpClient: HTTPClient, timeout: TimeAmount = .seconds(15), logger: Logger) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.timeout = timeout
        self.logger = logger
    }

    public func checkoutURL(manager: Int64, name: String) async throws(CheckoutError) -> String {
        let body: [String: Any] = [
            "data": [
                "type": "checkouts",
                "attributes": [
                    "checkout_data": ["name": name, "custom": ["telegram_id": String(manager)]],
                    "checkout_options": ["embed": false],
                ],
                "relationships": [
                    "store": ["data": ["type": "stores", "id": configuration.storeID]],
                    "variant": ["data": ["type": "variants", "id": configuration.variantID]],
                ],
            ] as [String: Any],
        ]
        var request = HTTPClientRequest(url: configuration.apiURL + "/v1/checkouts")
        request.method = .POST
        request.headers.add(name: "Accept", value: "application/vnd.api+json")
        request.headers.add(name: "Content-Type", value: "application/vnd.api+json")
        request.headers.add(name: "Authorization", value: "Bearer \(configuration.apiKey)")
        do {
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
        } catch {
            throw .refused("the request could not be encoded")
        }
        let status: Int
        let data: Data
        do {
            let response = try await httpClient.execute(request, timeout: timeout)
            status = Int(response.status.code)
            data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        } catch {
            throw .temporary("LemonSqueezy did not answer: \(type(of: error))")
        }
        guard (200..<300).contains(status) else {
            // The error body names the problem (JSON:API `errors[].detail`); the key is never logged.
            let detail = Self.errorDetail(data) ?? "HTTP \(status)"
            logger.warning("LemonSqueezy refused a checkout", metadata: ["status": "\(status)", "detail": "\(detail)"])
            if status == 429 || status >= 500 { throw .temporary("HTTP \(status)") }
            throw .refused("HTTP \(status): \(detail)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let attributes = (object["data"] as? [String: Any])?["attributes"] as? [String: Any],
              let url = attributes["url"] as? String, url.hasPrefix("https://")
        else { throw .refused("the answer has no https checkout URL") }
        return url
    }

    static func errorDetail(_ data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let errors = object["errors"] as? [[String: Any]], let first = errors.first
        else { return nil }
        return (first["detail"] as? String ?? first["title"] as? String).map { String($0.prefix(200)) }
    }
}
