import BridgeOSBilling
import BridgeOSBillingSandbox
import BridgeOSStorage
import Foundation
import Testing

@Suite("LemonSqueezy webhook format")
struct WebhookFormatTests {
    let lemon = LemonSqueezySandbox()

    @Test("the signature is the hex HMAC-SHA256 of the raw body; any other value, case aside, is refused")
    func signature() {
        let body = Data(#"{"meta":{"event_name":"subscription_created"}}"#.utf8)
        let signature = WebhookSignature.sign(body, secret: "secret")
        #expect(signature.count == 64)
        #expect(WebhookSignature.isValid(signature, body: body, secret: "secret"))
        #expect(WebhookSignature.isValid(signature.uppercased(), body: body, secret: "secret"))
        #expect(!WebhookSignature.isValid(signature, body: body + Data(" ".utf8), secret: "secret"))
        #expect(!WebhookSignature.isValid(signature, body: body, secret: "other"))
        #expect(!WebhookSignature.isValid(nil, body: body, secret: "secret"))
        #expect(!WebhookSignature.isValid(String(signature.dropLast()), body: body, secret: "secret"))
        #expect(!WebhookSignature.isValid(signature + "00", body: body, secret: "secret"))
        #expect(!WebhookSignature.isValid(String(repeating: "g", count: 64), body: body, secret: "secret"))
        // Known answer (RFC 4231-style check against an independent implementation: python3 -c
        // "import hmac,hashlib;print(hmac.new(b'key',b'The quick brown fox jumps over the lazy dog',hashlib.sha256).hexdigest())").
        #expect(WebhookSignature.sign(Data("The quick brown fox jumps over the lazy dog".utf8), secret: "key")
                == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }

    @Test("found by fuzzing: an event name with a NUL, combining marks or over 64 code points, and ids SQLite would count past 128, are not events")
    func namesAndIDsAsSQLiteCountsThem() throws {
        for name in ["\u{0}subscription_created", "subscription_created\u{0}", String(repeating: "e\u{301}", count: 40), "subscription created", ""] {
            let body = lemon.subscriptionEvent(name, id: "1", status: "active", telegramID: 1, updatedAt: Date())
            #expect(throws: LemonSqueezyEvent.Malformed.self, "\(name.debugDescription)") { try LemonSqueezyEvent(body: body) }
        }
        for id in [String(repeating: "e\u{301}", count: 100), "1\u{0}", "\u{1B}[31m"] {
            let body = lemon.subscriptionEvent("subscription_created", id: id, status: "active", telegramID: 1, updatedAt: Date())
            #expect(throws: LemonSqueezyEvent.Malformed.self, "\(id.debugDescription)") { try LemonSqueezyEvent(body: body) }
        }
        let longest = lemon.subscriptionEvent("subscription_created", id: String(repeating: "é", count: 128), status: "active", telegramID: 1, updatedAt: Date())
        #expect(throws: Never.self) { try LemonSqueezyEvent(body: longest) }
    }

    @Test("subscription and invoice events read as documented: microsecond times, numeric or string ids, custom data")
    func parsing() throws {
        let updated = Date(timeIntervalSince1970: 1_796_000_000.25)
        let subscription = try LemonSqueezyEvent(body: lemon.subscriptionEvent(
            "subscription_cancelled", id: "123", status: "cancelled", telegramID: 5_000_000_001, updatedAt: updated,
            endsAt: updated.addingTimeInterval(86400)))
        #expect(subscription.name == "subscription_cancelled" && subscription.telegramID == 5_000_000_001)
        guard case let .subscription(state) = subscription.kind else { Issue.record("not a subscription event"); return }
        #expect(state.id == "123" && state.status == .cancelled && state.plan == "BridgeOS Team – Monthly")
        #expect(abs(state.updatedAt.timeIntervalSince(updated)) < 0.001)
        #expect(abs((state.endsAt ?? .distantPast).timeIntervalSince(updated.addingTimeInterval(86400))) < 0.001)

        let invoice = try LemonSqueezyEvent(body: lemon.invoiceEvent("subscription_payment_failed", id: "9", subscriptionID: "123",
                                                                      telegramID: nil, updatedAt: updated))
        guard case let .payment(payment) = invoice.kind else { Issue.record("not a payment event"); return }
        #expect(payment.subscriptionID == "123" && !payment.succeeded)
        #expect(invoice.telegramID == nil)
        #expect(abs((invoice.paymentTime ?? .distantPast).timeIntervalSince(updated)) < 0.001)

        let other = try LemonSqueezyEvent(body: Data(#"{"meta":{"event_name":"order_created"},"data":{}}"#.utf8))
        #expect(other.kind == .other)
        #expect(throws: LemonSqueezyEvent.Malformed.self) { try LemonSqueezyEvent(body: Data("[]".utf8)) }
        #expect(throws: LemonSqueezyEvent.Malformed.self) {
            try LemonSqueezyEvent(body: Data(#"{"meta":{"event_name":"subscription_updated"},"data":{"type":"subscriptions","id":"1","attributes":{"status":"active","updated_at":"yesterday"}}}"#.utf8))
        }
    }
}

extension LemonSqueezyEvent {
    var paymentTime: Date? { if case let .payment(payment) = kind { payment.updatedAt } else { nil } }
}
