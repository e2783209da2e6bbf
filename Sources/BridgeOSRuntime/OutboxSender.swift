import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

public struct SenderConfiguration: Sendable {
    public var limits: RateLimits
    /// Calls in flight at once per bot (each to a different chat, or immediate).
    public var maxConcurrent: Int
    /// Failed attempts (5xx, network) before a row is dead-lettered.
    public var maxAttempts: Int
    public var backoff: Backoff
    /// How often to look for rows written by other processes (the CLI), which do not wake the sender.
    public var sweepInterval: Duration

    public init(limits: RateLimits = .telegram, maxConcurrent: Int = 8, maxAttempts: Int = 15,
                backoff: Backoff = .network, sweepInterval: Duration = .seconds(30)) {
        self.limits = limits
        self.maxConcurrent = max(1, maxConcurrent)
        self.maxAttempts = max(1, maxAttempts)
        self.backoff = backoff
        self.sweepInterval = sweepInterval
    }
}

/// Delivers one bot's outbox: in id order per chat, within Telegram's rates, one row per chat in flight.
///
/// Woken by the transactions that queue rows (and by its own finished sends); a 429 pauses only its chat
/// (or the bot, when several chats are told to wait at once); 5xx and network failures retry with
/// backoff; a 400 is dead-lettered with its reason; a 403 marks the chat unreachable and its waiting rows
/// undelivered. A row may wait for an earlier one and use its message id.
public final class OutboxSender: Service, Sendable {
    let slot: BotSlot
    let api: any TelegramBotAPI
    let database: AppDatabase
    let wakeup: Wakeup
    let configuration: SenderConfiguration
    let logger: Logger
    let unreachableObserver: (any UnreachableObserver)?
    let state: Mutex<State>

    struct State {
        var rows: [Int64: OutboxRow] = [:]
        var chatQueues: [Int64: [Int64]] = [:]
        var immediate: [Int64] = []
        var inFlightChats: Set<Int64> = []
        var inFlightImmediate: Set<Int64> = []
        var lastLoadedID: Int64 = 0
        var limiter: RateLimiter
        /// Message ids of rows this sender sent, for rows that depend on them.
        var sentMessageIDs: [Int64: Int64] = [:]
        var recentFloods: [(chat: Int64, at: Date)] = []
        var stopped = false

        var inFlightCount: Int { inFlightChats.count + inFlightImmediate.count }
    }

    public init(slot: BotSlot, api: any TelegramBotAPI, database: AppDatabase, wakeup: Wakeup,
                configuration: SenderConfiguration = SenderConfiguration(), unreachableObserver: (any UnreachableObserver)? = nil, logger: Logger) {
        self.unreachableObserver = unreachableObserver
        self.slot = slot
        self.api = api
        self.database = database
        self.wakeup = wakeup
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "slot"] = "\(slot.number)"
        self.logger = logger
        self.state = Mutex(State(limiter: RateLimiter(limits: configuration.limits, now: database.clock.now())))
    }

    public func run() async throws {
        let reset = try database.outbox.resetInFlight(slot: slot)
        if reset > 0 { logger.notice("resending rows that were in flight when BridgeOS stopped", metadata: ["rows": "\(reset)"]) }
        let wakeup = wakeup
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                while !Task.isShuttingDownGracefully, !Task.isCancelled, !state.withLock({ $0.stopped }) {
                    let now = database.clock.now()
                    do { try loadNewRows() } catch { logger.error("cannot read the outbox", metadata: ["error": "\(error)"]) }
                    let (batch, nextAt) = schedule(now: now)
                    for item in batch {
                        group.addTask { await self.deliver(item.row, dependencyMessageID: item.dependencyMessageID) }
                    }
                    var timeout = configuration.sweepInterval
                    if let nextAt { timeout = min(timeout, .milliseconds(Int64(max(0, nextAt.timeIntervalSince(now)) * 1000) + 1)) }
                    await wakeup.wait(timeout: timeout)
                }
                // Graceful shutdown: sends already started finish (the group waits for them).
            }
        } onGracefulShutdown: {
            wakeup.signal()
        }
    }

    // MARK: Loading and scheduling

    func loadNewRows() throws {
        let after = state.withLock { $0.lastLoadedID }
        let rows = try database.outbox.open(slot: slot, afterID: after, limit: 2000)
        guard !rows.isEmpty else { return }
        state.withLock { state in
            for row in rows where state.rows[row.id] == nil {
                state.rows[row.id] = row
                if row.lane == .immediate { state.immediate.append(row.id) } else { state.chatQueues[row.chatID, default: []].append(row.id) }
            }
            state.lastLoadedID = max(state.lastLoadedID, rows.last?.id ?? 0)
        }
    }

    struct Delivery {
        let row: OutboxRow
        let dependencyMessageID: Int64?
    }

    /// Picks the rows to send now, and when to look again.
    func schedule(now: Date) -> (batch: [Delivery], nextAt: Date?) {
        var dead: [(Int64, String)] = []
        let result: ([Delivery], Date?) = state.withLock { state in
            var batch: [Delivery] = []
            var nextAt: Date?
            func later(_ date: Date) { nextAt = min(nextAt ?? date, date) }

            let heads = state.immediate.filter { !state.inFlightImmediate.contains($0) }
                + state.chatQueues.compactMap { chat, ids in state.inFlightChats.contains(chat) ? nil : ids.first }
            for id in heads.sorted() {
                guard state.inFlightCount < configuration.maxConcurrent, let row = state.rows[id] else { break }
                if let notBefore = row.notBefore, notBefore > now {
                    later(notBefore)
                    continue
                }
                var dependencyMessageID: Int64?
                if let dependency = row.dependsOn {
                    switch dependencyState(dependency, state: &state) {
                    case let .sent(messageID): dependencyMessageID = messageID
                    case .waiting: continue
                    case let .failed(reason):
                        dead.append((row.id, "depends on row \(dependency), which \(reason)"))
                        remove(row, from: &state)
                        continue
                    }
                }
                let immediate = row.lane == .immediate
                let at = state.limiter.earliestSend(chat: row.chatID, isGroup: row.isGroup, perChat: !immediate, now: now)
                if at > now {
                    later(at)
                    continue
                }
                state.limiter.record(chat: row.chatID, isGroup: row.isGroup, perChat: !immediate, now: now)
                if immediate { state.inFlightImmediate.insert(row.id) } else { state.inFlightChats.insert(row.chatID) }
                batch.append(Delivery(row: row, dependencyMessageID: dependencyMessageID))
            }
            return (batch, nextAt)
        }
        for (id, reason) in dead { record { try database.outbox.markDead(id, error: reason) } }
        if !dead.isEmpty { wakeup.signal() }
        return result
    }

    enum DependencyState { case sent(Int64?), waiting, failed(String) }

    private func dependencyState(_ id: Int64, state: inout State) -> DependencyState {
        if let messageID = state.sentMessageIDs[id] { return .sent(messageID) }
        if state.rows[id] != nil { return .waiting }
        // Sent before this process started, or by another bot's sender.
        guard let row = try? database.outbox.find(id) else { return .failed("does not exist") }
        switch row.status {
        case .sent:
            if let messageID = row.resultMessageID { state.sentMessageIDs[id] = messageID }
            return .sent(row.resultMessageID)
        case .pending, .inFlight: return .waiting
        case .dead: return .failed("could not be sent")
        case .unreachable: return .failed("could not be delivered")
        }
    }

    private func remove(_ row: OutboxRow, from state: inout State) {
        state.rows[row.id] = nil
        if row.lane == .immediate {
            state.immediate.removeAll { $0 == row.id }
            state.inFlightImmediate.remove(row.id)
        } else {
            state.chatQueues[row.chatID]?.removeAll { $0 == row.id }
            if state.chatQueues[row.chatID]?.isEmpty == true { state.chatQueues[row.chatID] = nil }
            state.inFlightChats.remove(row.chatID)
        }
    }

    // MARK: Delivery

    func deliver(_ row: OutboxRow, dependencyMessageID: Int64?) async {
        defer { wakeup.signal() }
        do {
            if let unreachable = try database.outbox.unreachable(slot: slot, chatID: row.chatID) {
                try database.outbox.markUndelivered(row.id, reason: "chat unreachable (\(unreachable.reason.rawValue))")
                finish(row)
                return
            }
            try database.outbox.markInFlight(row.id)
        } catch {
            logger.error("cannot update the outbox", metadata: ["row": "\(row.id)", "error": "\(error)"])
            release(row, notBefore: database.clock.now().adding(.seconds(1)))
            return
        }
        var method: RawMethod
        do {
            guard case let .object(parameters) = try JSONDecoder().decode(JSONValue.self, from: Data(row.payload.utf8)) else {
                throw DomainError.invalidInput("payload is not a JSON object")
            }
            method = RawMethod(name: row.method, parameters: parameters)
            if let field = row.dependsOnField, let dependencyMessageID {
                method.parameters.setValue(.integer(dependencyMessageID), atPath: field)
            }
        } catch {
            record { try database.outbox.markDead(row.id, error: "unreadable payload: \(error)") }
            finish(row)
            return
        }
        do {
            let result = try await api.call(method)
            let messageID = result.object?["message_id"]?.int64 ?? result.array?.first?.object?["message_id"]?.int64
            let text = (try? JSONEncoder().encode(result)).map { String(decoding: $0, as: UTF8.self) }
            record { try database.outbox.markSent(row.id, result: text, messageID: messageID) }
            state.withLock { state in
                if let messageID { state.sentMessageIDs[row.id] = messageID }
                if state.sentMessageIDs.count > 50_000 { state.sentMessageIDs.removeAll() }
            }
            finish(row)
        } catch let error as TelegramError {
            handle(error, for: row)
        } catch is CancellationError {
            release(row, notBefore: nil)
        } catch {
            retryLater(row, error: "\(error)")
        }
    }

    private func handle(_ error: TelegramError, for row: OutboxRow) {
        let now = database.clock.now()
        switch error {
        case let .flood(seconds, _):
            let until = now.addingTimeInterval(TimeInterval(seconds))
            let botWide: Bool = state.withLock { state in
                state.recentFloods.append((row.chatID, now))
                state.recentFloods.removeAll { now.timeIntervalSince($0.at) > 2 }
                let chats = Set(state.recentFloods.map(\.chat))
                if chats.count >= 3 { state.limiter.pauseBot(until: until) } else { state.limiter.pause(chat: row.chatID, until: until) }
                return chats.count >= 3
            }
            logger.warning("Telegram asked to slow down", metadata: [
                "chat": "\(row.chatID)", "retry_after": "\(seconds)", "scope": "\(botWide ? "bot" : "chat")",
            ])
            record { try database.outbox.reschedule(row.id, notBefore: until, countAttempt: false, error: error.description) }
            release(row, notBefore: until)
        case .server, .transport, .timeout:
            retryLater(row, error: error.description)
        case let .forbidden(reason, _):
            let unreachable: UnreachableReason = switch reason {
            case .blocked: .blocked
            case .userDeactivated: .deactivated
            case .cannotInitiate: .notStarted
            case .other: .kicked
            }
            logger.notice("chat unreachable", metadata: ["chat": "\(row.chatID)", "reason": "\(unreachable.rawValue)"])
            var marked: [Int64] = []
            record { marked = try database.outbox.markUnreachable(slot: slot, chatID: row.chatID, reason: unreachable, error: error.description) }
            if let unreachableObserver {
                let (slot, chat, now) = (slot, row.chatID, database.clock.now())
                record { try database.writer.write { try unreachableObserver.chatBecameUnreachable(slot: slot, chatID: chat, now: now, db: $0) } }
            }
            state.withLock { state in
                for id in Set(marked + [row.id]) {
                    if let marked = state.rows[id] { remove(marked, from: &state) }
                }
            }
        case let .badRequest(_, migrateTo?):
            logger.notice("group moved to a supergroup", metadata: ["chat": "\(row.chatID)", "new_chat": "\(migrateTo)"])
            record { try database.outbox.retarget(row.id, to: migrateTo) }
            finish(row)
            state.withLock { $0.lastLoadedID = min($0.lastLoadedID, row.id - 1) }
        case .unauthorized:
            logger.error("the bot token was refused (revoked?): this slot stops sending; fix BRIDGEOS_BOT\(slot.number)_TOKEN and restart")
            record { try database.outbox.reschedule(row.id, notBefore: now, countAttempt: false, error: error.description) }
            state.withLock { $0.stopped = true }
        case .badRequest, .conflict, .notFound, .other, .invalidResponse:
            logger.error("Telegram refused a call for good", metadata: ["row": "\(row.id)", "method": "\(row.method)", "error": "\(error)"])
            record { try database.outbox.markDead(row.id, error: error.description) }
            finish(row)
        }
    }

    private func retryLater(_ row: OutboxRow, error: String) {
        let attempts = row.attempts + 1
        guard attempts < configuration.maxAttempts else {
            logger.error("giving up on a row after repeated failures", metadata: ["row": "\(row.id)", "attempts": "\(attempts)", "error": "\(error)"])
            record { try database.outbox.markDead(row.id, error: "gave up after \(attempts) attempts: \(error)") }
            finish(row)
            return
        }
        let notBefore = database.clock.now().adding(configuration.backoff.delay(afterAttempt: attempts))
        logger.debug("will retry", metadata: ["row": "\(row.id)", "attempt": "\(attempts)", "error": "\(error)"])
        record { try database.outbox.reschedule(row.id, notBefore: notBefore, countAttempt: true, error: error) }
        state.withLock { state in
            state.rows[row.id]?.attempts = attempts
        }
        release(row, notBefore: notBefore)
    }

    /// The row is done (sent, dead or undelivered): the chat's next row may go.
    private func finish(_ row: OutboxRow) {
        state.withLock { state in remove(row, from: &state) }
    }

    /// The row stays first in its chat's queue, to be tried again at `notBefore`.
    private func release(_ row: OutboxRow, notBefore: Date?) {
        state.withLock { state in
            state.rows[row.id]?.notBefore = notBefore
            if row.lane == .immediate { state.inFlightImmediate.remove(row.id) } else { state.inFlightChats.remove(row.chatID) }
        }
    }

    /// Store writes after a send: a failure here is logged; the row is then retried after a restart.
    private func record(_ write: () throws -> Void) {
        do { try write() } catch { logger.error("cannot record an outbox result", metadata: ["error": "\(error)"]) }
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// Sets a value at a dotted path (`reply_parameters.message_id`), creating objects on the way.
    mutating func setValue(_ value: JSONValue, atPath path: String) {
        let keys = path.split(separator: ".").map(String.init)
        guard let first = keys.first else { return }
        if keys.count == 1 {
            self[first] = value
            return
        }
        var nested = self[first]?.object ?? [:]
        nested.setValue(value, atPath: keys.dropFirst().joined(separator: "."))
        self[first] = .object(nested)
    }
}
