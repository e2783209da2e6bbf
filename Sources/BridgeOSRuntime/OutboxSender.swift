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
    /// Failed attempts before a row is dead-lettered, for failures that are not Telegram's 5xx or the
    /// network (those are retried for as long as they last, with the backoff's cap between attempts).
    public var maxAttempts: Int
    public var backoff: Backoff
    /// How often to look for rows written by other processes (the CLI), which do not wake the sender.
    public var sweepInterval: Duration
    /// After this many transient failures of one row (Telegram's 5xx, the network), its message's sender
    /// is told it is late (it is still retried, for as long as it takes).
    public var delayNoticeAfterAttempts: Int

    public init(limits: RateLimits = .telegram, maxConcurrent: Int = 8, maxAttempts: Int = 15,
                backoff: Backoff = .network, sweepInterval: Duration = .seconds(30), delayNoticeAfterAttempts: Int = 8) {
        self.delayNoticeAfterAttempts = max(1, delayNoticeAfterAttempts)
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
/// backoff for as long as they last; a final 400 is dead-lettered with its reason and its message's sender
/// is told; a 403 holds the chat's rows until the chat can be written to again. A row may wait for an
/// earlier one and use its message id. A result that cannot be written yet (the database is busy or full)
/// is retried; the row stays in flight meanwhile.
public final class OutboxSender: Service, Sendable {
    let slot: BotSlot
    let metrics: RuntimeMetrics
    let api: any TelegramBotAPI
    let database: AppDatabase
    let wakeup: Wakeup
    let configuration: SenderConfiguration
    let logger: Logger
    let observer: (any DeliveryObserver)?
    let directory: BotDirectory
    /// Wakes every sender and the job runner, and tells this sender when held rows were queued again.
    let signals: RuntimeSignals
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
        /// Rows finished while a full reload was reading (so the reload does not bring them back).
        var finishedDuringReload: Set<Int64>?
        var stopped = false

        var inFlightCount: Int { inFlightChats.count + inFlightImmediate.count }
    }

    public init(slot: BotSlot, api: any TelegramBotAPI, database: AppDatabase, signals: RuntimeSignals,
                configuration: SenderConfiguration = SenderConfiguration(), observer: (any DeliveryObserver)? = nil,
                directory: BotDirectory = BotDirectory(), metrics: RuntimeMetrics = RuntimeMetrics(), logger: Logger) {
        self.metrics = metrics
        self.observer = observer
        self.directory = directory
        self.signals = signals
        let wakeup = signals.outbox(slot)
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
            await withDiscardingTaskGroup { group in
                var nextSweep = ContinuousClock.now + configuration.sweepInterval
                var mustRead = true
                while !Task.isShuttingDownGracefully, !Task.isCancelled, !state.withLock({ $0.stopped }) {
                    let now = database.clock.now()
                    // A full read after held rows were queued again, and on every sweep (rows written or
                    // queued again by other processes); otherwise only rows newer than the last seen.
                    let sweep = ContinuousClock.now >= nextSweep
                    if sweep { nextSweep = ContinuousClock.now + configuration.sweepInterval }
                    // Passes woken only by this sender's own finished calls read nothing: what they freed is in
                    // memory already. A read that failed is tried again on the next pass.
                    let reload = signals.takeReload(slot) || sweep
                    if signals.takeArrivals(slot) { mustRead = true }
                    if reload || mustRead {
                        do {
                            // A full page: the rest is read on the next pass, which comes at once.
                            mustRead = try loadRows(all: reload)
                            if mustRead { wakeup.signal() }
                        } catch {
                            mustRead = true
                            logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
                        }
                    }
                    let (batch, nextAt, dead) = schedule(now: now)
                    for (row, reason) in dead {
                        group.addTask {
                            await self.fail(row, reason: .refused(reason))
                            self.finish(row)
                        }
                    }
                    for item in batch {
                        group.addTask { await self.deliver(item.row, dependencyMessageID: item.dependencyMessageID, dropReply: item.dropReply) }
                    }
                    var timeout = min(configuration.sweepInterval, max(.zero, nextSweep - ContinuousClock.now))
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

    /// Reads pending rows into the queues: those above the last id seen, or (`all`) every pending row, for
    /// rows that became pending again (held rows queued again). Rows in flight are this sender's own.
    /// Returns whether the read filled its page (more rows may wait: the next pass reads on).
    @discardableResult
    func loadRows(all: Bool) throws -> Bool {
        let after = all ? 0 : state.withLock { state in
            state.lastLoadedID
        }
        let limit = all ? 100_000 : 2000
        if all { state.withLock { $0.finishedDuringReload = [] } }
        let rows: [OutboxRow]
        do {
            rows = try database.outbox.pending(slot: slot, afterID: after, limit: limit)
        } catch {
            state.withLock { $0.finishedDuringReload = nil }
            if all { signals.requestReload(slot) }  // not lost: the next pass reads everything again
            throw error
        }
        state.withLock { state in
            let finished = state.finishedDuringReload ?? []
            state.finishedDuringReload = nil
            // Rows queued again (held rows, a group's rows moved to its supergroup) can be older than rows
            // already waiting: every queue stays in id order.
            var unsortedChats: Set<Int64> = []
            var immediateUnsorted = false
            for row in rows where state.rows[row.id] == nil && !finished.contains(row.id) {
                state.rows[row.id] = row
                if row.lane == .immediate {
                    if let last = state.immediate.last, last > row.id { immediateUnsorted = true }
                    state.immediate.append(row.id)
                } else {
                    if let last = state.chatQueues[row.chatID]?.last, last > row.id { unsortedChats.insert(row.chatID) }
                    state.chatQueues[row.chatID, default: []].append(row.id)
                }
            }
            for chat in unsortedChats { state.chatQueues[chat]?.sort() }
            if immediateUnsorted { state.immediate.sort() }
            state.lastLoadedID = max(state.lastLoadedID, rows.last?.id ?? 0)
        }
        return rows.count >= limit
    }

    struct Delivery {
        let row: OutboxRow
        let dependencyMessageID: Int64?
        /// The row replies to one that was never delivered: send it without the reply.
        var dropReply = false
    }

    /// Picks the rows to send now, the rows that can never be sent, and when to look again.
    func schedule(now: Date) -> (batch: [Delivery], nextAt: Date?, dead: [(OutboxRow, String)]) {
        state.withLock { state in
            var batch: [Delivery] = []
            var dead: [(OutboxRow, String)] = []
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
                var dropReply = false
                if let dependency = row.dependsOn {
                    switch dependencyState(dependency, state: &state) {
                    case let .sent(messageID): dependencyMessageID = messageID
                    case .waiting: continue
                    case let .failed(reason):
                        if row.dependsOnField?.hasPrefix("reply_parameters.") == true {
                            // A reply to a message that never arrived still goes, without the reference.
                            dropReply = true
                        } else {
                            // In flight until its failure is recorded (so a reload cannot bring it back meanwhile).
                            dead.append((row, "depends on row \(dependency), which \(reason)"))
                            if row.lane == .immediate { state.inFlightImmediate.insert(row.id) } else { state.inFlightChats.insert(row.chatID) }
                            continue
                        }
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
                batch.append(Delivery(row: row, dependencyMessageID: dependencyMessageID, dropReply: dropReply))
            }
            return (batch, nextAt, dead)
        }
    }

    enum DependencyState { case sent(Int64?), waiting, failed(String) }

    private func dependencyState(_ id: Int64, state: inout State) -> DependencyState {
        if let messageID = state.sentMessageIDs[id] { return .sent(messageID) }
        if state.rows[id] != nil { return .waiting }
        // Sent before this process started, or by another bot's sender.
        let found: OutboxRow?
        do { found = try database.outbox.find(id) } catch { return .waiting }  // a store error says nothing about the row
        guard let row = found else { return .failed("does not exist") }
        switch row.status {
        case .sent:
            if let messageID = row.resultMessageID { state.sentMessageIDs[id] = messageID }
            return .sent(row.resultMessageID)
        case .pending, .inFlight, .unreachable: return .waiting
        case .dead: return .failed("could not be sent")
        }
    }

    func remove(_ row: OutboxRow, from state: inout State) {
        state.rows[row.id] = nil
        state.finishedDuringReload?.insert(row.id)
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

    /// What the last look at the store before a call decided.
    enum Preparation: Sendable { case send(payload: String), held, olderFirst, dropped, retry }

    func deliver(_ row: OutboxRow, dependencyMessageID: Int64?, dropReply: Bool) async {
        defer { wakeup.signal() }
        let outcome: Preparation = await persist("mark a row in flight") {
            let now = database.clock.now()
            return try database.write { tx -> Preparation in
                switch try tx.prepareToSend(row, now: now) {
                case let .send(payload): return .send(payload: payload)
                case .held: return .held
                case .olderFirst: return .olderFirst
                case .gone: return .dropped
                case let .connectionEnded(dead):
                    if let dead {
                        try queueNotices(tx, now: now) { try $0.deliveryFailed(dead, reason: .connectionEnded) }
                    }
                    return .dropped
                }
            }
        } ?? .retry
        let payload: String
        switch outcome {
        case let .send(current):
            payload = current
        case .held:
            forgetHeldChat(of: row)
            return
        case .olderFirst:
            // The reload puts the older rows first; the short pause bounds the cost of any case it cannot.
            release(row, notBefore: database.clock.now().addingTimeInterval(0.25))
            state.withLock { $0.chatQueues[row.chatID]?.sort() }
            signals.requestReload(slot)
            return
        case .dropped:
            logger.debug("a row was not sent: it was no longer open, or its conversation ended", metadata: ["row": "\(row.id)"])
            finish(row)
            signals.wakeAll()
            return
        case .retry:
            release(row, notBefore: database.clock.now().adding(.seconds(1)))
            return
        }
        // The payload goes as stored; only a row that names another's message id is rewritten.
        var parameters = Data(payload.utf8)
        if dropReply || (row.dependsOnField != nil && dependencyMessageID != nil) {
            do {
                guard case var .object(fields) = try JSONDecoder().decode(JSONValue.self, from: parameters) else {
                    throw DomainError.invalidInput("payload is not a JSON object")
                }
                if dropReply {
                    fields["reply_parameters"] = nil
                } else if let field = row.dependsOnField, let dependencyMessageID {
                    fields.setValue(.integer(dependencyMessageID), atPath: field)
                }
                parameters = try JSONEncoder().encode(JSONValue.object(fields))
            } catch {
                await fail(row, reason: .gaveUp("unreadable payload: \(error)"))
                finish(row)
                return
            }
        }
        let callStart = database.clock.now()
        do {
            let result = try await api.call(encoded: row.method, parameters: parameters)
            metrics.messageSent(slot)
            let messageID = result.messageID
            if row.reportDelivery {
                // Someone follows this row: what it delivered is recorded with the row, in one transaction.
                let now = database.clock.now()
                _ = await persist("record a sent row") {
                    try database.write { tx in
                        try tx.markSent(row.id, result: result.answer, messageID: messageID, now: now)
                        let ids = row.method == CopyMessages.name ? Self.copiedIDs(result.answer) : messageID.map { [$0] } ?? []
                        try queueNotices(tx, now: now) { try $0.delivered(row, messageIDs: ids) }
                    }
                }
            } else {
                _ = await persist("record a sent row") { try database.outbox.markSent(row.id, result: result.answer, messageID: messageID) }
            }
            state.withLock { state in
                if let messageID { state.sentMessageIDs[row.id] = messageID }
                // A dependent row is queued with the row it names and follows it closely; an older id is read
                // from the store (`dependencyState`). Bounded, so memory does not grow with traffic.
                if state.sentMessageIDs.count > 1000 { state.sentMessageIDs.removeAll(keepingCapacity: true) }
            }
            finish(row)
        } catch let error as TelegramError {
            await handle(error, for: row, callStart: callStart)
        } catch is CancellationError {
            release(row, notBefore: nil)
        } catch {
            await retryLater(row, error: "\(error)", transient: false)
        }
    }

    /// The message ids a `copyMessages` answer names, in order.
    static func copiedIDs(_ answer: String) -> [Int64] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(answer.utf8)) else { return [] }
        return (value.object?["result"]?.array ?? []).compactMap { $0.object?["message_id"]?.int64 }
    }

    /// The row is done (sent, dead or held): the chat's next row may go.
    func finish(_ row: OutboxRow) {
        state.withLock { state in remove(row, from: &state) }
    }

    /// The row stays first in its chat's queue, to be tried again at `notBefore`.
    func release(_ row: OutboxRow, notBefore: Date?) {
        state.withLock { state in
            state.rows[row.id]?.notBefore = notBefore
            if row.lane == .immediate { state.inFlightImmediate.remove(row.id) } else { state.inFlightChats.remove(row.chatID) }
        }
    }

    /// Notices queued from the sender's own transactions (to a message's sender, to a counterpart): the
    /// senders they go through are woken once the transaction commits; what could not be queued is logged.
    func queueNotices(_ tx: StoreTransaction, now: Date, _ body: (IntakeContext) throws -> Void) throws {
        let context = IntakeContext(tx: tx, now: now, slot: slot, bots: directory.all, observer: observer)
        try body(context)
        context.finish(signals: signals, logger: logger)
    }

    /// The chat's rows are held in the store now: none of them (nor `also`) is this sender's to send. If the
    /// chat reopened meanwhile, they are pending again, so the next pass reads everything.
    func forgetHeldChat(of row: OutboxRow, also ids: [Int64] = []) {
        state.withLock { state in
            for id in (state.chatQueues[row.chatID] ?? []) + ids + [row.id] {
                if let held = state.rows[id] { remove(held, from: &state) }
            }
        }
        signals.requestReload(slot)
    }

    /// A store write that must not be lost (what was just learned from Telegram): retried while the
    /// database is busy or full. Nil when it gave up (on shutdown: the row is then in flight and sent again
    /// after a restart, at most one duplicate; or on an error that retrying cannot fix).
    func persist<T>(_ what: String, _ write: () throws -> T) async -> T? {
        await persistThroughStoreFailures(what, logger: logger, write)
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
