import BridgeOSBilling
import BridgeOSBillingSandbox
import BridgeOSCore
import BridgeOSFlows
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

@Suite("Subscriptions with LemonSqueezy", .serialized)
struct SubscriptionTests {
    let manager: Int64 = 1
    let worker: Int64 = 2

    @Test("/subscription on the free plan: the month's usage and a checkout link made for this manager")
    func freePlanCheckout() async throws {
        try await withBilling { h in
            let bot = h.bots[0]
            try await h.flows.registerManager(manager, on: bot)
            try await h.flows.say("/subscription", from: manager, to: bot)
            let checkout = try #require(h.lemon.checkouts.withLock { $0.first })
            #expect(checkout.telegramID == "1")
            let text = try await h.waitForText(checkout.url, bot: bot, chat: manager)
            #expect(text.contains("0 of 3 free translated messages"))
            #expect(text.contains(en(.subscriptionCheckout, ["link": checkout.url])))
        }
    }

    @Test("LemonSqueezy failing: tried again after an outage; refused for good, the manager hears there is no link now")
    func checkoutFailure() async throws {
        let lemon = LemonSqueezySandbox()
        lemon.failures.withLock { $0 = [503, 422] }
        try await withBilling(lemon: lemon) { h in
            let bot = h.bots[0]
            try await h.flows.registerManager(manager, on: bot)
            h.sandbox.send("/subscription", from: manager, to: bot)
            let text = try await h.waitForText(en(.subscriptionCheckoutFailed), bot: bot, chat: manager, timeout: .seconds(20))
            #expect(text.contains("0 of 3"))
            #expect(h.lemon.checkouts.withLock { $0.isEmpty })
            #expect(h.lemon.failures.withLock { $0.isEmpty }, "both scripted failures were met: the outage was retried")
        }
    }

    @Test("without LemonSqueezy configured: /subscription says so, and the webhook route does not exist")
    func notConfigured() async throws {
        try await withBilling(webhookSecret: nil, checkout: false) { h in
            let bot = h.bots[0]
            try await h.flows.registerManager(manager, on: bot)
            let reply = try await h.flows.say("/subscription", from: manager, to: bot)
            #expect(reply?.text?.contains(en(.subscriptionUnavailable)) == true)
            let body = h.lemon.subscriptionEvent("subscription_created", id: "1", status: "active", telegramID: manager, updatedAt: Date())
            #expect(try await h.deliver(body) == 404)
            #expect(try h.subscription(manager) == nil)
        }
    }

    @Test("webhook signatures: missing, wrong or garbled are refused (401) and change nothing; a valid one applies once, a replay changes nothing")
    func signatures() async throws {
        try await withBilling { h in
            let bot = h.bots[0]
            try await h.flows.registerManager(manager, on: bot)
            let body = h.lemon.subscriptionEvent("subscription_created", id: "3001", status: "active", telegramID: manager,
                                                 updatedAt: Date(), renewsAt: Date().addingTimeInterval(30 * 86400))
            #expect(try await h.deliver(body, signing: .missing) == 401)
            #expect(try await h.deliver(body, signing: .wrong) == 401)
            #expect(try await h.deliver(body, signing: .custom("not-hex")) == 401)
            #expect(try await h.deliver(body, signing: .custom(String(repeating: "0", count: 64))) == 401)
            #expect(try h.subscription(manager) == nil)
            #expect(try h.webhookCount() == 0)

            #expect(try await h.deliver(body) == 200)
            let subscription = try #require(try h.subscription(manager))
            #expect(subscription.status == .active && subscription.externalID == "3001")
            #expect(subscription.plan == "BridgeOS Team – Monthly")
            #expect(subscription.portalURL?.hasPrefix("https://bridgeos.lemonsqueezy.com/billing") == true)
            let started = en(.billingStarted, ["plan": "BridgeOS Team – Monthly"])
            try await h.waitForText(started, bot: bot, chat: manager)

            // The same delivery again (LemonSqueezy retries): recorded once, told once.
            #expect(try await h.deliver(body) == 200)
            #expect(try h.webhookCount() == 1)
            let digest = WebhookSignature.digest(body)
            #expect(try h.database.read { try $0.webhookOutcome(digest: digest) } == .applied)
            // /subscription now shows the plan (and the queue drained: the notice is not repeated).
            let reply = try await h.flows.say("/subscription", from: manager, to: bot)
            #expect(reply?.text?.contains(en(.subscriptionActive, ["plan": "BridgeOS Team – Monthly"])) == true)
            #expect(h.texts(bot, manager).filter { $0 == started }.count == 1)
        }
    }

    @Test("found by fuzzing: signed bodies whose event name or subscription id the database would refuse (a NUL, too long as SQLite counts, combining marks) get 400, not a 500 LemonSqueezy retries; a plan name or portal URL it would refuse is dropped, the event applied")
    func fuzzFindings() async throws {
        try await withBilling { h in
            try await h.flows.registerManager(manager, on: h.bots[0])
            func event(name: String = "subscription_created", id: String = "3001", mutate: (inout [String: Any]) -> Void = { _ in }) throws -> Data {
                let base = h.lemon.subscriptionEvent(name, id: id, status: "active", telegramID: manager, updatedAt: Date())
                var object = try #require(try JSONSerialization.jsonObject(with: base) as? [String: Any])
                mutate(&object)
                return try JSONSerialization.data(withJSONObject: object)
            }
            // (A NUL or combining marks cannot travel in the X-Event-Name header: WebhookFormatTests reads those bodies.)
            for name in ["", String(repeating: "x", count: 65), "order created"] {
                #expect(try await h.deliver(try event(name: name)) == 400, "event name \(name.debugDescription)")
            }
            for id in ["", String(repeating: "e\u{301}", count: 100), "12\u{0}3", String(repeating: "9", count: 129)] {
                #expect(try await h.deliver(try event(id: id)) == 400, "id \(id.debugDescription)")
            }
            #expect(try h.webhookCount() == 0)
            #expect(try h.subscription(manager) == nil)

            let odd = try event { object in
                var data = object["data"] as! [String: Any]
                var attributes = data["attributes"] as! [String: Any]
                attributes["product_name"] = "\u{0}" + String(repeating: "P", count: 300)
                attributes["variant_name"] = "\u{7}"
                attributes["urls"] = ["customer_portal": "http://not-tls.example.com/portal"]
                data["attributes"] = attributes
                object["data"] = data
            }
            #expect(try await h.deliver(odd) == 200)
            let subscription = try #require(try h.subscription(manager))
            #expect(subscription.status == .active && subscription.portalURL == nil)
            #expect(subscription.plan == String(repeating: "P", count: 120))
        }
    }

    @Test("webhook bodies: malformed or over 1 MB get 400 and change nothing; an event about nobody is recorded as ignored")
    func malformedBodies() async throws {
        try await withBilling { h in
            try await h.flows.registerManager(manager, on: h.bots[0])
            #expect(try await h.deliver(Data("{not json".utf8)) == 400)
            #expect(try await h.deliver(Data(#"{"meta":{"event_name":"subscription_created"}}"#.utf8)) == 400)
            #expect(try await h.deliver(Data(#"{"meta":{"event_name":"subscription_updated"},"data":{"type":"subscriptions","id":"1","attributes":{"status":"bogus","updated_at":"2026-12-03T10:00:00.000000Z"}}}"#.utf8)) == 400)
            var large = Data(#"{"meta":{"event_name":"subscription_created"},"pad":""#.utf8)
            large.append(Data(repeating: UInt8(ascii: "x"), count: 1 << 20))
            large.append(Data(#""}"#.utf8))
            #expect(try await h.deliver(large) == 400)
            #expect(try h.webhookCount() == 0)
            #expect(try h.subscription(manager) == nil)

            // Just under the limit, signed, well-formed: taken (an event BridgeOS does not act on).
            var padded = Data(#"{"meta":{"event_name":"order_created"},"data":{"type":"orders","id":"5","attributes":{}},"pad":""#.utf8)
            padded.append(Data(repeating: UInt8(ascii: "y"), count: (1 << 20) - padded.count - 2))
            padded.append(Data(#""}"#.utf8))
            #expect(padded.count == 1 << 20)
            #expect(try await h.deliver(padded) == 200)

            let stranger = h.lemon.subscriptionEvent("subscription_created", id: "77", status: "active", telegramID: 424242, updatedAt: Date())
            #expect(try await h.deliver(stranger) == 200)
            #expect(try h.database.read { try $0.webhookOutcome(digest: WebhookSignature.digest(stranger)) } == .ignored)
            #expect(try h.subscription(424242) == nil)
            #expect(try h.webhookCount() == 2)

            // Once that person registers, the same delivery sent again (from LemonSqueezy's dashboard) applies.
            try await h.flows.registerManager(424242, on: h.bots[0])
            #expect(try await h.deliver(stranger) == 200)
            #expect(try h.database.read { try $0.webhookOutcome(digest: WebhookSignature.digest(stranger)) } == .applied)
            #expect(try h.subscription(424242)?.externalID == "77")
            #expect(try h.webhookCount() == 2)
        }
    }

    @Test("the free tier lifts on subscription_created, a cancelled subscription counts until ends_at, an older event never overwrites a newer one, and the limit returns after expiry")
    func lifecycle() async throws {
        try await withBilling(freeMessages: 1) { h in
            let bot = h.bots[0]
            try await h.flows.registerManager(manager, on: bot)
            try await h.flows.join(worker, payload: try await h.flows.invite(by: manager, on: bot), on: bot)
            let t0 = Date()
            func relayed(_ text: String) async throws {
                h.sandbox.send(text, from: manager, to: bot)
                try await h.waitForText("[es] \(text)", bot: bot, chat: worker)
            }
            func refused(_ text: String) async throws {
                h.sandbox.send(text, from: manager, to: bot)
                // The refusal is processed before the /subscription after it (one chat, in order).
                try await h.flows.say("/subscription", from: manager, to: bot)
                #expect(!h.texts(bot, worker).contains { $0.contains(text) }, "\(text) must not be relayed")
            }
            try await relayed("first")
            try await refused("second")
            #expect(h.texts(bot, manager).contains(en(.relayLimitReached, ["limit": "1"])))

            let id = "4100"
            #expect(try await h.deliver(h.lemon.subscriptionEvent("subscription_created", id: id, status: "active", telegramID: manager,
                                                                   updatedAt: t0, renewsAt: t0.addingTimeInterval(30 * 86400))) == 200)
            try await h.waitForText(en(.billingStarted, ["plan": "BridgeOS Team – Monthly"]), bot: bot, chat: manager)
            try await relayed("third")

            // Cancelled: active until ends_at, and the manager is told until when.
            let ends = t0.addingTimeInterval(3 * 86400)
            #expect(try await h.deliver(h.lemon.subscriptionEvent("subscription_cancelled", id: id, status: "cancelled", telegramID: manager,
                                                                   updatedAt: t0.addingTimeInterval(20), endsAt: ends)) == 200)
            try await h.waitForText("It stays active until", bot: bot, chat: manager)
            try await relayed("fourth")

            // An older update arriving late changes nothing.
            let late = h.lemon.subscriptionEvent("subscription_updated", id: id, status: "active", telegramID: manager,
                                                 updatedAt: t0.addingTimeInterval(10), renewsAt: t0.addingTimeInterval(30 * 86400))
            #expect(try await h.deliver(late) == 200)
            #expect(try h.database.read { try $0.webhookOutcome(digest: WebhookSignature.digest(late)) } == .stale)
            #expect(try h.subscription(manager)?.status == .cancelled)

            // Resumed, then cancelled again: told each time.
            let started = en(.billingStarted, ["plan": "BridgeOS Team – Monthly"])
            #expect(try await h.deliver(h.lemon.subscriptionEvent("subscription_resumed", id: id, status: "active", telegramID: manager,
                                                                   updatedAt: t0.addingTimeInterval(22), renewsAt: ends)) == 200)
            try await h.sandbox.wait(timeout: .seconds(10), "told it runs again") { $0.botMessages(bot, 1).filter { $0.text == started }.count == 2 }
            #expect(try await h.deliver(h.lemon.subscriptionEvent("subscription_cancelled", id: id, status: "cancelled", telegramID: manager,
                                                                   updatedAt: t0.addingTimeInterval(24), endsAt: ends)) == 200)
            try await h.sandbox.wait(timeout: .seconds(10), "told it is cancelled again") {
                $0.botMessages(bot, 1).filter { $0.text?.contains("It stays active until") == true }.count == 2
            }

            // Expired: the free tier is back (its one message was used this month), and the manager is told.
            #expect(try await h.deliver(h.lemon.subscriptionEvent("subscription_expired", id: id, status: "expired", telegramID: manager,
                                                                   updatedAt: t0.addingTimeInterval(30), endsAt: ends)) == 200)
            try await h.waitForText(en(.billingEnded, ["limit": "1"]), bot: bot, chat: manager)
            try await refused("fifth")
            #expect(try h.subscription(manager)?.status == .expired)
        }
    }

    @Test("payments: a failure tells the manager and shows in /subscription; a recovery says so; an older failure arriving late says nothing")
    func payments() async throws {
        try await withBilling { h in
            let bot = h.bots[0]
            try await h.flows.registerManager(manager, on: bot)
            let t0 = Date()
            let id = "5200"
            #expect(try await h.deliver(h.lemon.subscriptionEvent("subscription_created", id: id, status: "active", telegramID: manager,
                                                                   updatedAt: t0, renewsAt: t0.addingTimeInterval(86400))) == 200)
            try await h.waitForText(en(.billingStarted, ["plan": "BridgeOS Team – Monthly"]), bot: bot, chat: manager)
            #expect(try await h.deliver(h.lemon.invoiceEvent("subscription_payment_failed", id: "9002", subscriptionID: id, telegramID: manager,
                                                              updatedAt: t0.addingTimeInterval(60))) == 200)
            try await h.waitForText(en(.billingPaymentFailed), bot: bot, chat: manager)
            let status = try await h.flows.say("/subscription", from: manager, to: bot)
            #expect(status?.text?.contains(en(.subscriptionPastDue)) == true)

            #expect(try await h.deliver(h.lemon.invoiceEvent("subscription_payment_recovered", id: "9003", subscriptionID: id, telegramID: manager,
                                                              updatedAt: t0.addingTimeInterval(120))) == 200)
            try await h.waitForText(en(.billingPaymentRecovered), bot: bot, chat: manager)
            let stale = h.lemon.invoiceEvent("subscription_payment_failed", id: "9001", subscriptionID: id, telegramID: manager,
                                             updatedAt: t0.addingTimeInterval(30))
            #expect(try await h.deliver(stale) == 200)
            #expect(try h.database.read { try $0.webhookOutcome(digest: WebhookSignature.digest(stale)) } == .stale)
            #expect(try h.subscription(manager)?.paymentStatus == .paid)
            let after = try await h.flows.say("/subscription", from: manager, to: bot)
            #expect(after?.text?.contains(en(.subscriptionPastDue)) == false)
            #expect(h.texts(bot, manager).filter { $0 == en(.billingPaymentFailed) }.count == 1)
        }
    }

    @Test("a second subscription: the first one's late events neither end it nor lend it their plan or portal")
    func secondSubscription() async throws {
        try await withBilling(freeMessages: 1) { h in
            let bot = h.bots[0]
            try await h.flows.registerManager(manager, on: bot)
            let t0 = Date()
            let started = en(.billingStarted, ["plan": "BridgeOS Team – Monthly"])
            #expect(try await h.deliver(h.lemon.subscriptionEvent("subscription_created", id: "A1", status: "active", telegramID: manager,
                                                                   updatedAt: t0, renewsAt: t0.addingTimeInterval(86400))) == 200)
            try await h.waitForText(started, bot: bot, chat: manager)
            #expect(try await h.deliver(h.lemon.subscriptionEvent("subscription_expired", id: "A1", status: "expired", telegramID: manager,
                                                                   updatedAt: t0.addingTimeInterval(10))) == 200)
            try await h.waitForText(en(.billingEnded, ["limit": "1"]), bot: bot, chat: manager)

            // A new subscription, on another plan.
            let yearly = en(.billingStarted, ["plan": "BridgeOS Team – Yearly"])
            #expect(try await h.deliver(h.lemon.subscriptionEvent("subscription_created", id: "B2", status: "active", telegramID: manager,
                                                                   updatedAt: t0.addingTimeInterval(20), renewsAt: t0.addingTimeInterval(365 * 86400),
                                                                   plan: ("BridgeOS Team", "Yearly"))) == 200)
            try await h.waitForText(yearly, bot: bot, chat: manager)
            let b = try #require(try h.subscription(manager))
            #expect(b.externalID == "B2" && b.plan == "BridgeOS Team – Yearly" && b.portalURL?.contains("subscription=B2") == true)

            // The first subscription's late events, newer and older: recorded as stale, B stays as it is.
            for (name, status, offset) in [("subscription_expired", "expired", 30.0), ("subscription_updated", "active", 5.0),
                                           ("subscription_cancelled", "cancelled", 40.0)] {
                let late = h.lemon.subscriptionEvent(name, id: "A1", status: status, telegramID: manager,
                                                     updatedAt: t0.addingTimeInterval(offset), endsAt: t0.addingTimeInterval(-1))
                #expect(try await h.deliver(late) == 200)
                #expect(try h.database.read { try $0.webhookOutcome(digest: WebhookSignature.digest(late)) } == .stale, "\(name)")
            }
            #expect(try h.subscription(manager) == b)
            let status = try await h.flows.say("/subscription", from: manager, to: bot)
            #expect(status?.text?.contains("Yearly") == true)
            #expect(h.texts(bot, manager).filter { $0 == en(.billingEnded, ["limit": "1"]) }.count == 1, "told once that A ended, never that B did")
        }
    }
}
