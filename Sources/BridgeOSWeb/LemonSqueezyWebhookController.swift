import BridgeOSBilling
import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import Foundation
import Hummingbird
import Logging
import HTTPTypes
import NIOCore

/// `POST /webhooks/lemonsqueezy`: LemonSqueezy's subscription events. Only served when a signing secret is
/// configured (otherwise the route does not exist: 404).
///
/// - 401, nothing changed: the `X-Signature` is missing or is not the HMAC-SHA256 of the raw body.
/// - 400, nothing changed: a body over 1 MB, or one that is not a LemonSqueezy event.
/// - 200: applied, stale (older than the state known), ignored (nobody BridgeOS knows) or a replay; in every
///   case the delivery is recorded by its body's SHA-256, so a replay changes nothing.
/// - 500: the store could not take it; LemonSqueezy delivers it again later.
public struct LemonSqueezyWebhookController: WebRoutes {
    public static let path = "/webhooks/lemonsqueezy"
    public static let maxBody = 1 << 20
    static let signatureHeader = HTTPField.Name("X-Signature")!
    let secret: String
    let events: BillingEvents
    let intake: Intake
    let logger: Logger

    public init(secret: String, events: BillingEvents, intake: Intake, logger: Logger) {
        self.secret = secret
        self.events = events
        self.intake = intake
        self.logger = logger
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.post(RouterPath(stringLiteral: Self.path)) { request, _ -> Response in
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: Self.maxBody)
            } catch {
                return Self.answer(400, "the body is unreadable or larger than \(Self.maxBody) bytes")
            }
            return await self.receive(Data(buffer: body), signature: request.headers[Self.signatureHeader])
        }
    }

    func receive(_ body: Data, signature: String?) async -> Response {
        guard WebhookSignature.isValid(signature, body: body, secret: secret) else {
            logger.warning("a LemonSqueezy webhook with a missing or wrong signature was refused")
            return Self.answer(401, "invalid signature")
        }
        let event: LemonSqueezyEvent
        do {
            event = try LemonSqueezyEvent(body: body)
        } catch {
            logger.warning("a signed LemonSqueezy webhook could not be read", metadata: ["reason": "\(error.description)"])
            return Self.answer(400, "malformed event: \(error.description)")
        }
        let digest = WebhookSignature.digest(body)
        let events = self.events
        do {
            let result = try await intake.external { context in try events.receive(event, digest: digest, context: context) }
            let outcome: String = switch result {
            case .applied: "applied"
            case .stale: "stale"
            case .ignored: "ignored"
            case .duplicate: "duplicate"
            }
            if case let .ignored(why) = result {
                // A subscription or payment about nobody known is money without a manager: an admin must look.
                // (Delivered again, for example from the LemonSqueezy dashboard, it is tried again.)
                if case .other = event.kind {
                    logger.notice("a LemonSqueezy webhook was ignored", metadata: ["event": "\(event.name)", "why": "\(why)"])
                } else {
                    logger.error("a LemonSqueezy subscription event matched no manager", metadata: ["event": "\(event.name)", "why": "\(why)"])
                }
            } else {
                logger.info("LemonSqueezy webhook", metadata: ["event": "\(event.name)", "outcome": "\(outcome)"])
            }
            return Self.answer(200, outcome)
        } catch let error as DomainError {
            // The event contradicts what is recorded (a subscription of another manager): retrying will not help.
            logger.error("a LemonSqueezy webhook was refused", metadata: ["event": "\(event.name)", "error": "\(error)"])
            return Self.answer(400, "refused: \(error)")
        } catch {
            logger.error("a LemonSqueezy webhook could not be stored", metadata: ["event": "\(event.name)", "error": "\(error)"])
            return Self.answer(500, "not stored; deliver it again")
        }
    }

    static func answer(_ status: Int, _ result: String) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: ["result": result], options: [.sortedKeys])) ?? Data()
        return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
