import AsyncHTTPClient
import BridgeOSBilling
import BridgeOSTelegramSandbox
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A stand-in for LemonSqueezy on 127.0.0.1: the checkout API as documented (`POST /v1/checkouts`, JSON:API,
/// Bearer key), checking every request and recording what it was asked; and webhook deliveries in the
/// documented payload shapes, signed as LemonSqueezy signs them. Tests and the demo use it; nothing leaves
/// the machine.
public final class LemonSqueezySandbox: Sendable {
    public struct Checkout: Sendable, Equatable {
        public let id: String
        public let url: String
        /// `checkout_data.custom.telegram_id`.
        public let telegramID: String?
    }

    public let apiKey: String
    public let storeID: String
    public let variantID: String
    public let signingSecret: String
    /// Checkouts made, in order.
    public let checkouts = Mutex<[Checkout]>([])
    /// HTTP statuses to answer the next checkout requests with instead of making one (a scripted outage).
    public let failures = Mutex<[Int]>([])
    /// Requests that broke the documented contract.
    public let violations = Mutex<[String]>([])

    public init(apiKey: String = "ls_test_key", storeID: String = "4242", variantID: String = "7007", signingSecret: String = "whsec_demo_secret") {
        self.apiKey = apiKey
        self.storeID = storeID
        self.variantID = variantID
        self.signingSecret = signingSecret
    }

    /// Runs the API for `body`, giving it the base URL (what `LEMONSQUEEZY_API_URL` is set to).
    public func run<T>(_ body: (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/v1/checkouts") { request, _ -> Response in
            var request = request
            let data = Data(buffer: try await request.collectBody(upTo: 1 << 20))
            return self.checkout(headers: request.headers, body: data)
        }
        return try await LoopbackServer.run(router) { port in try await body("http://127.0.0.1:\(port)") }
    }

    func checkout(headers: HTTPFields, body: Data) -> Response {
        func problem(_ status: Int, _ detail: String) -> Response {
            let errors = ["errors": [["status": "\(status)", "title": "Error", "detail": detail]]]
            return Self.json(status, errors)
        }
        if headers[.authorization] != "Bearer \(apiKey)" { return problem(401, "Unauthenticated.") }
        if headers[.accept] != "application/vnd.api+json" || headers[.contentType] != "application/vnd.api+json" {
            violations.withLock { $0.append("checkout without the JSON:API Accept and Content-Type headers") }
            return problem(415, "Unsupported Media Type")
        }
        if let status = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return problem(status, "Scripted failure.") }
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let data = object["data"] as? [String: Any], data["type"] as? String == "checkouts",
              let relationships = data["relationships"] as? [String: Any],
              let store = ((relationships["store"] as? [String: Any])?["data"] as? [String: Any]),
              let variant = ((relationships["variant"] as? [String: Any])?["data"] as? [String: Any]),
              store["type"] as? String == "stores", variant["type"] as? String == "variants"
        else {
            violations.withLock { $0.append("a checkout body that is not the documented JSON:API shape") }
            return problem(422, "The data field is invalid.")
        }
        guard store["id"] as? String == storeID else { return problem(404, "Store not found.") }
        guard variant["id"] as? String == variantID else { return problem(404, "Variant not found.") }
        let attributes = data["attributes"] as? [String: Any]
        let custom = ((attributes?["checkout_data"] as? [String: Any])?["custom"] as? [String: Any])
        let id = UUID().uuidString.lowercased()
        let url = "https://bridgeos.lemonsqueezy.com/checkout/custom/\(id)?signature=\(WebhookSignature.digest(Data(id.utf8)))"
        checkouts.withLock { $0.append(Checkout(id: id, url: url, telegramID: custom?["telegram_id"] as? String)) }
        let now = Self.timestamp(Date())
        return Self.json(201, [
            "jsonapi": ["version": "1.0"],
            "links": ["self": "https://api.lemonsqueezy.com/v1/checkouts/\(id)"],
            "data": [
                "type": "checkouts", "id": id,
                "attributes": [
                    "store_id": Int(storeID) ?? 0, "variant_id": Int(variantID) ?? 0, "custom_price": NSNull(),
                    "checkout_data": ["custom": custom ?? [:]], "expires_at": NSNull(), "created_at": now, "updated_at": now,
                    "test_mode": true, "url": url,
                ] as [String: Any],
            ] as [String: Any],
        ])
    }

    static func json(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: .init(code: status), headers: [.contentType: "application/vnd.api+json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: Webhooks

    /// "2026-12-03T10:00:00.000000Z", as LemonSqueezy writes times.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let whole = formatter.string(from: date)
        let micro = Int((date.timeIntervalSince1970 - date.timeIntervalSince1970.rounded(.down)) * 1_000_000)
        return whole.dropLast() + "." + String(format: "%06d", micro) + "Z"
    }

    /// A subscription event body (`subscription_created`, `_updated`, `_cancelled`, …) in the documented shape.
    public func subscriptionEvent(_ name: String, id: String, status: String, telegramID: Int64?, updatedAt: Date,
                                  renewsAt: Date? = nil, endsAt: Date? = nil, plan: (product: String, variant: String) = ("BridgeOS Team", "Monthly")) -> Data {
        let created = Self.timestamp(updatedAt.addingTimeInterval(-60))
        let attributes: [String: Any] = [
            "store_id": Int(storeID) ?? 0, "customer_id": 90001, "order_id": 80001, "order_item_id": 70001, "product_id": 60001,
            "variant_id": Int(variantID) ?? 0, "product_name": plan.product, "variant_name": plan.variant,
            "user_name": "Manager", "user_email": "manager@example.com", "status": status, "status_formatted": status.capitalized,
            "card_brand": "visa", "card_last_four": "4242", "pause": NSNull(), "cancelled": status == "cancelled",
            "trial_ends_at": NSNull(), "billing_anchor": 3,
            "urls": [
                "update_payment_method": "https://bridgeos.lemonsqueezy.com/subscription/\(id)/payment-details?expires=1&signature=abc",
                "customer_portal": "https://bridgeos.lemonsqueezy.com/billing?expires=1&subscription=\(id)&signature=def",
            ],
            "renews_at": renewsAt.map(Self.timestamp) ?? NSNull(), "ends_at": endsAt.map(Self.timestamp) ?? NSNull(),
            "created_at": created, "updated_at": Self.timestamp(updatedAt), "test_mode": true,
        ]
        return body(name, telegramID: telegramID, data: [
            "type": "subscriptions", "id": id, "attributes": attributes,
            "relationships": ["store": ["links": ["related": "https://api.lemonsqueezy.com/v1/subscriptions/\(id)/store"]]],
            "links": ["self": "https://api.lemonsqueezy.com/v1/subscriptions/\(id)"],
        ])
    }

    /// A subscription invoice event body (`subscription_payment_success`, `_failed`, `_recovered`).
    public func invoiceEvent(_ name: String, id: String, subscriptionID: String, telegramID: Int64?, updatedAt: Date) -> Data {
        let status = name == "subscription_payment_failed" ? "pending" : "paid"
        let attributes: [String: Any] = [
            "store_id": Int(storeID) ?? 0, "subscription_id": Int(subscriptionID) ?? 0, "customer_id": 90001,
            "user_name": "Manager", "user_email": "manager@example.com", "billing_reason": "renewal", "card_brand": "visa",
            "card_last_four": "4242", "currency": "USD", "currency_rate": "1.00000000", "status": status,
            "status_formatted": status.capitalized, "refunded": false, "refunded_at": NSNull(), "subtotal": 1900, "discount_total": 0,
            "tax": 0, "total": 1900, "subtotal_usd": 1900, "discount_total_usd": 0, "tax_usd": 0, "total_usd": 1900,
            "subtotal_formatted": "$19.00", "discount_total_formatted": "$0.00", "tax_formatted": "$0.00", "total_formatted": "$19.00",
            "urls": ["invoice_url": "https://app.lemonsqueezy.com/my-orders/\(id)/subscription-invoice/\(id)?signature=ghi"],
            "created_at": Self.timestamp(updatedAt.addingTimeInterval(-5)), "updated_at": Self.timestamp(updatedAt), "test_mode": true,
        ]
        return body(name, telegramID: telegramID, data: [
            "type": "subscription-invoices", "id": id, "attributes": attributes,
            "links": ["self": "https://api.lemonsqueezy.com/v1/subscription-invoices/\(id)"],
        ])
    }

    func body(_ name: String, telegramID: Int64?, data: [String: Any]) -> Data {
        var meta: [String: Any] = ["test_mode": true, "event_name": name, "webhook_id": UUID().uuidString.lowercased()]
        if let telegramID { meta["custom_data"] = ["telegram_id": String(telegramID)] }
        return (try? JSONSerialization.data(withJSONObject: ["meta": meta, "data": data], options: [.sortedKeys])) ?? Data()
    }

    /// What the signature header carries for a delivery.
    public enum Signing: Sendable {
        case valid
        case missing
        case wrong
        case custom(String)
    }

    /// POSTs a webhook body to `url` as LemonSqueezy does (`X-Event-Name`, `X-Signature`); returns the HTTP status.
    public func deliver(_ body: Data, to url: String, signing: Signing = .valid, eventName: String? = nil, httpClient: HTTPClient) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "LemonSqueezy-Hookshot")
        if let name = eventName ?? (try? JSONSerialization.jsonObject(with: body) as? [String: Any])
            .flatMap({ ($0["meta"] as? [String: Any])?["event_name"] as? String }) {
            request.headers.add(name: "X-Event-Name", value: name)
        }
        switch signing {
        case .valid: request.headers.add(name: "X-Signature", value: WebhookSignature.sign(body, secret: signingSecret))
        case .missing: break
        case .wrong: request.headers.add(name: "X-Signature", value: WebhookSignature.sign(body, secret: signingSecret + "x"))
        case let .custom(value): request.headers.add(name: "X-Signature", value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await httpClient.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }
}
