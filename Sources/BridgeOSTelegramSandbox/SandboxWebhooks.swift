import AsyncHTTPClient
import BridgeOSTelegram
import Foundation
import NIOCore
import NIOFoundationCompat

/// One webhook delivery the sandbox made, as Telegram would: the update, and the HTTP status it got
/// (nil: the address could not be reached).
public struct WebhookDelivery: Sendable {
    public let botID: Int64
    public let updateID: Int64
    public let status: Int?
}

// MARK: setWebhook

extension SandboxState {
    /// `setWebhook` as Telegram checks it: an https URL, a secret token of 1-256 of A-Z a-z 0-9 _ -, 1-100
    /// connections. An empty URL removes the webhook.
    func setWebhook(botID: Int64, _ p: [String: JSONValue]) throws(SandboxError) -> JSONValue {
        let url = p["url"]?.string ?? ""
        if url.isEmpty {
            state.withLock { $0.bots[botID]?.webhookURL = nil; $0.bots[botID]?.webhookSecret = nil }
            return .bool(true)
        }
        guard url.hasPrefix("https://"), let parsed = URL(string: url), parsed.host?.isEmpty == false else {
            throw .badRequest("bad webhook: An HTTPS URL must be provided for webhook")
        }
        guard [443, 80, 88, 8443].contains(parsed.port ?? 443) else {
            throw .badRequest("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        }
        let secret = p["secret_token"]?.string
        if let secret {
            let allowed = secret.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
            }
            guard (1...256).contains(secret.count), allowed else {
                throw .badRequest("secret token contains unallowed characters", violation: "secret_token must be 1-256 of A-Z, a-z, 0-9, _ and -")
            }
        }
        let connections = p["max_connections"]?.int64.map(Int.init)
        if let connections, !(1...100).contains(connections) {
            throw .badRequest("bad webhook: max_connections must be between 1 and 100", violation: "max_connections must be 1-100")
        }
        let allowed = p["allowed_updates"]?.array?.compactMap(\.string)
        // A poll waiting now ends as Telegram ends it.
        let poll: Waiter? = state.withLock { state in
            let waiter = state.bots[botID]?.waiter
            state.bots[botID]?.waiter = nil
            state.bots[botID]?.webhookURL = url
            state.bots[botID]?.webhookSecret = secret
            state.bots[botID]?.webhookMaxConnections = connections
            if let allowed { state.bots[botID]?.allowedUpdates = allowed }
            if p["drop_pending_updates"]?.bool == true { state.bots[botID]?.pending.removeAll() }
            return waiter
        }
        poll?.continuation.resume(returning: .webhookSet)
        webhookSignal.yield()
        return .bool(true)
    }

    /// The next update each bot with a webhook has to deliver, in order: (bot, URL, secret, update).
    func webhookWork() -> [(botID: Int64, url: String, secret: String?, update: Update)] {
        state.withLock { state in
            state.bots.values.compactMap { bot in
                guard !state.heldWebhooks.contains(bot.bot.token.botID), let url = bot.webhookURL, let update = Self.deliverable(bot.pending, allowed: bot.allowedUpdates).first else { return nil }
                return (bot.bot.token.botID, url, bot.webhookSecret, update)
            }
        }
    }

    /// Where the tests' reverse proxy sends `url` (nil: nowhere; the delivery fails as unreachable).
    func localAddress(for url: String) -> String? {
        state.withLock { state in
            for (origin, local) in state.webhookRoutes where url.hasPrefix(origin + "/") {
                return local + url.dropFirst(origin.count)
            }
            return nil
        }
    }

    /// A delivery got its answer: a 2xx confirms the update (Telegram forgets it); anything else is kept as
    /// the webhook's last error, and the update is delivered again later.
    func recordDelivery(botID: Int64, update: Update, status: Int?) {
        state.withLock { state in
            state.webhookDeliveries.append(WebhookDelivery(botID: botID, updateID: update.updateID, status: status))
            if let status, (200..<300).contains(status) {
                state.bots[botID]?.pending.removeAll { $0.updateID == update.updateID }
                state.bots[botID]?.delivered[update.updateID] = update
            } else {
                let message = status.map { "Wrong response from the webhook: \($0)" } ?? "Connection refused"
                state.bots[botID]?.webhookLastError = (Int64(now().timeIntervalSince1970), message)
            }
        }
    }
}

// MARK: Delivering

extension BotAPISandbox {
    /// Plays the reverse proxy for webhook tests: deliveries to `publicOrigin` (e.g. https://bridgeos.example.test)
    /// go to `localOrigin`, which must be on 127.0.0.1 (tests never leave the machine).
    public func routeWebhooks(from publicOrigin: String, to localOrigin: String) {
        precondition(localOrigin.hasPrefix("http://127.0.0.1:") || localOrigin.hasPrefix("http://localhost:"), "webhooks are delivered only to 127.0.0.1")
        state.state.withLock { $0.webhookRoutes[publicOrigin] = localOrigin }
        state.webhookSignal.yield()
    }

    /// The tests' reverse proxy stops forwarding `publicOrigin`: deliveries fail as unreachable.
    public func stopRoutingWebhooks(from publicOrigin: String) {
        state.state.withLock { _ = $0.webhookRoutes.removeValue(forKey: publicOrigin) }
    }

    /// Holds `bot`'s deliveries back: its updates wait, as behind a slow network, until `releaseWebhooks`
    /// or `deliverPendingAtOnce`.
    public func holdWebhooks(_ bot: SandboxBot) {
        state.state.withLock { _ = $0.heldWebhooks.insert(bot.token.botID) }
    }

    /// Delivery of `bot`'s updates goes on, one at a time.
    public func releaseWebhooks(_ bot: SandboxBot) {
        state.state.withLock { _ = $0.heldWebhooks.remove(bot.token.botID) }
        state.webhookSignal.yield()
    }

    /// Delivers every update `bot` has waiting, all at once over as many connections (a race: Telegram
    /// with `max_connections` up to 100, or a proxy replaying). Each answer is recorded as a delivery;
    /// returns the statuses by update id (nil: unreachable). The bot's webhooks must be held
    /// (`holdWebhooks`), so the usual one-at-a-time delivery cannot post one of them as well.
    public func deliverPendingAtOnce(_ bot: SandboxBot) async -> [Int64: Int?] {
        let botID = bot.token.botID
        let work: [Update] = state.state.withLock { state in
            precondition(state.heldWebhooks.contains(botID), "deliverPendingAtOnce needs holdWebhooks first")
            return state.bots[botID].map { SandboxState.deliverable($0.pending, allowed: $0.allowedUpdates) } ?? []
        }
        guard let (url, secret) = webhook(bot) else { return [:] }
        // A client of its own: the usual one keeps at most 8 connections to a host.
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, work.count)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let answers = await withTaskGroup(of: (Update, Int?).self) { group in
            for update in work {
                group.addTask { (update, await self.post(update, url: url, secretToken: secret, http: http)) }
            }
            return await group.reduce(into: [(Update, Int?)]()) { $0.append($1) }
        }
        try? await http.shutdown()
        for (update, status) in answers { state.recordDelivery(botID: botID, update: update, status: status) }
        return Dictionary(answers.map { ($0.0.updateID, $0.1) }, uniquingKeysWith: { first, _ in first })
    }

    /// Every webhook delivery made so far.
    public var webhookDeliveries: [WebhookDelivery] { state.state.withLock { $0.webhookDeliveries } }

    /// The webhook `bot` has now (nil: none) and its secret token.
    public func webhook(_ bot: SandboxBot) -> (url: String, secretToken: String?)? {
        state.state.withLock { state in state.bots[bot.token.botID].flatMap { bot in bot.webhookURL.map { ($0, bot.webhookSecret) } } }
    }

    /// Delivers an update that was delivered and confirmed before once more, as Telegram does when it did
    /// not get the answer (a timeout, a lost connection). Returns the HTTP status.
    public func deliverAgain(_ bot: SandboxBot, updateID: Int64) async throws -> Int? {
        let found = state.state.withLock { $0.bots[bot.token.botID]?.delivered[updateID] }
        guard let update = found, let (url, secret) = webhook(bot) else { throw SandboxTimeout(what: "a delivered update \(updateID) with a webhook set", timeout: .zero) }
        let status = await post(update, url: url, secretToken: secret, http: webhookClient)
        state.recordDelivery(botID: bot.token.botID, update: update, status: status)
        return status
    }

    /// Posts `body` to `bot`'s webhook with `secretToken` (a forged or broken delivery). Returns the status.
    public func postToWebhook(_ bot: SandboxBot, body: Data, secretToken: String?) async -> Int? {
        guard let (url, _) = webhook(bot) else { return nil }
        return await post(body: body, url: url, secretToken: secretToken, http: webhookClient)
    }

    /// Telegram's delivery loop: for each bot with a webhook, its oldest deliverable update, one at a time
    /// (in order); an update that got no 2xx is delivered again after a pause that grows to 1 s.
    func deliverWebhooks() async {
        var failures: [Int64: Int] = [:]
        var retryAt: [Int64: ContinuousClock.Instant] = [:]
        var signals = state.webhookSignals.makeAsyncIterator()
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let due = state.webhookWork()
            let work = due.filter { retryAt[$0.botID].map { $0 <= now } ?? true }
            if work.isEmpty {
                if let next = due.compactMap({ retryAt[$0.botID] }).min() {
                    try? await Task.sleep(until: next)
                } else if await signals.next() == nil {
                    return  // cancelled
                }
                continue
            }
            // Each bot's next update at once (one bot's slow answer does not hold the others), in order per bot.
            let answers = await withTaskGroup(of: (Int64, Int?).self) { group in
                for item in work {
                    group.addTask { (item.botID, await self.post(item.update, url: item.url, secretToken: item.secret, http: self.webhookClient)) }
                }
                return await group.reduce(into: [Int64: Int?]()) { $0[$1.0] = $1.1 }
            }
            if Task.isCancelled { return }
            for item in work {
                let status = answers[item.botID] ?? nil
                state.recordDelivery(botID: item.botID, update: item.update, status: status)
                if let status, (200..<300).contains(status) {
                    failures[item.botID] = nil
                    retryAt[item.botID] = nil
                } else {
                    let count = (failures[item.botID] ?? 0) + 1
                    failures[item.botID] = count
                    retryAt[item.botID] = .now + min(.milliseconds(25) * (1 << min(count, 6)), .seconds(1))
                }
            }
        }
    }

    private func post(_ update: Update, url: String, secretToken: String?, http: HTTPClient) async -> Int? {
        guard let body = try? JSONEncoder().encode(update) else { return nil }
        return await post(body: body, url: url, secretToken: secretToken, http: http)
    }

    private func post(body: Data, url: String, secretToken: String?, http: HTTPClient) async -> Int? {
        guard let local = state.localAddress(for: url) else { return nil }
        var request = HTTPClientRequest(url: local)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let secretToken { request.headers.add(name: "X-Telegram-Bot-Api-Secret-Token", value: secretToken) }
        request.body = .bytes(ByteBuffer(data: body))
        do {
            let response = try await http.execute(request, timeout: .seconds(60))
            _ = try? await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        } catch {
            return nil
        }
    }
}
