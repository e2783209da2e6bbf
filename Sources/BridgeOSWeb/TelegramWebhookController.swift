import BridgeOSCore
import BridgeOSRuntime
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore

/// `POST /telegram/<slot>` in webhook mode (`BRIDGEOS_WEBHOOK=1`): Telegram's deliveries of a slot's updates,
/// through the reverse proxy at `BRIDGEOS_PUBLIC_URL`.
///
/// - 401, nothing read or handled: the `X-Telegram-Bot-Api-Secret-Token` header is missing or wrong.
/// - 404: no slot with that number runs in webhook mode.
/// - 400: a body that is not an update; 413: one over 1 MB.
/// - 200: only after the update's transaction committed (or it was handled before: a redelivery changes
///   nothing); the body is empty.
/// - 503: not settled (the database fails, or serve is stopping); Telegram delivers it again.
public struct TelegramWebhookController: WebRoutes {
    public static let maxBody = 1 << 20
    static let secretHeader = HTTPField.Name("X-Telegram-Bot-Api-Secret-Token")!
    let receiver: WebhookReceiver

    public init(receiver: WebhookReceiver) { self.receiver = receiver }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/telegram/:slot") { request, context -> Response in
            let slot = context.parameters.get("slot", as: Int.self) ?? 0
            if let refusal = receiver.check(slot: slot, secretToken: request.headers[Self.secretHeader]) {
                return Self.answer(refusal)
            }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: Self.maxBody)
            } catch {
                return Self.answer(receiver.refuseTooLarge(slot: slot))
            }
            return Self.answer(await receiver.deliver(slot: slot, body: Data(buffer: body)))
        }
    }

    static func answer(_ outcome: WebhookReceiver.Outcome) -> Response {
        let (status, text): (HTTPResponse.Status, String) = switch outcome {
        case .accepted: (.ok, "")
        case .unknownSlot: (.notFound, "no such webhook")
        case .unauthorized: (.unauthorized, "wrong secret token")
        case .malformed: (.badRequest, "not an update")
        case .unsettled: (.serviceUnavailable, "not handled yet; deliver it again")
        case .tooLarge: (.contentTooLarge, "larger than an update can be")
        }
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"]
        if outcome == .unsettled { headers[.retryAfter] = "5" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
