import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import ServiceLifecycle

/// Webhook mode (`BRIDGEOS_WEBHOOK=1`): the slot sets its webhook at start, then only watches it; Telegram
/// posts the updates to `WebhookReceiver`.
extension SlotPoller {
    /// Where Telegram posts this slot's updates (nil: polling).
    var webhookURL: String? { configuration.webhookBaseURL.map { $0 + WebhookReceiver.path(slot) } }

    /// Sets the webhook with the slot's secret token (kept from earlier runs, or made for this bot), the
    /// kinds BridgeOS handles, and one delivery at a time, so a chat's updates are handled in order.
    func setWebhook(url: String, botID: Int64) async throws {
        let secret = try database.webhookSecrets.secret(slot: slot, botID: botID, now: database.clock.now(), make: WebhookReceiver.makeSecret)
        webhooks?.remember(slot, secret: secret)
        var method = SetWebhook(url: url, secretToken: secret)
        method.maxConnections = 1
        _ = try await api.call(method)
        status.webhookConfirmed(slot, at: database.clock.now())
        logger.info("webhook set: Telegram delivers this bot's updates to it", metadata: ["url": "\(url)"])
    }

    /// Asks Telegram every `webhookCheckInterval` whether the webhook still points here and delivers: a
    /// webhook deleted meanwhile is set again; one pointing elsewhere (another instance with this token) and
    /// deliveries Telegram reports failing make the slot not ready, with the reason.
    func watchWebhook(url: String) async {
        var failures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await pause(configuration.webhookTimings.checkInterval)
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            do {
                let info = try await cancelWhenGracefulShutdown { try await self.api.call(GetWebhookInfo()) }
                failures = 0
                let now = database.clock.now()
                if info.url == url {
                    let problem = deliveryProblem(info)
                    // Set with other settings (by another program), or Telegram's deliveries are refused (401: not
                    // our secret): set it again, as serve would at start.
                    let settings = info.maxConnections.map { $0 != 1 } ?? false || info.allowedUpdates.map { Set($0) != Set(Update.allowedUpdates) } ?? false
                    if settings || problem?.contains("401") == true, let botID = directory.all[slot]?.id {
                        logger.warning("this bot's webhook has other settings than serve set, or refuses Telegram's deliveries; setting it again")
                        try await setWebhook(url: url, botID: botID)
                    } else {
                        status.webhookConfirmed(slot, at: now, problem: problem)
                    }
                } else if info.url.isEmpty, let botID = directory.all[slot]?.id {
                    logger.warning("this bot's webhook was deleted (by another program using the token?); setting it again")
                    try await setWebhook(url: url, botID: botID)
                } else {
                    if status.all[slot]?.state != .conflict {
                        logger.warning("this bot's webhook points elsewhere: is another BridgeOS running with BRIDGEOS_BOT\(slot.number)_TOKEN? Not taking it back; the other slots keep running",
                                       metadata: ["elsewhere": "\(URL(string: info.url)?.host ?? "?")"])
                    }
                    status.set(slot, .conflict, error: "the webhook points to another address")
                }
            } catch is CancellationError {
                break
            } catch TelegramError.unauthorized {
                logger.error("Telegram refused BRIDGEOS_BOT\(slot.number)_TOKEN (401): this slot is off until the token is fixed and BridgeOS restarted")
                status.set(slot, .unauthorized, error: "token refused")
                return
            } catch {
                failures += 1
                // Deliveries may still arrive; the slot turns not ready once no check succeeded for a while.
                logger.warning("cannot check the webhook, retrying", metadata: ["error": "\(error)", "attempt": "\(failures)"])
            }
        }
        status.set(slot, .stopped)
    }

    /// What Telegram reports failing, if it failed after this slot last heard from Telegram (its webhook set in
    /// this run, a delivery) and updates are waiting: then the proxy or the address is wrong. (A failure from
    /// while serve was down does not count.)
    func deliveryProblem(_ info: WebhookInfo) -> String? {
        guard let message = info.lastErrorMessage, let date = info.lastErrorDate, info.pendingUpdateCount > 0 else { return nil }
        let failedAt = Date(timeIntervalSince1970: TimeInterval(date))
        if let contact = webhooks?.lastContact(slot), contact >= failedAt { return nil }
        return "Telegram cannot deliver to the webhook: \(message) (\(info.pendingUpdateCount) updates waiting)"
    }
}
