import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Synchronization

/// A two-way load over a world's conversations, and the ledger of what arrived: every message carries
/// `#serial#`, serials grow in the order the messages are written, and the sandbox's successful
/// `sendMessage` calls tell which arrived where, when, and how often.
final class RelayLoad: Sendable {
    /// In every message text (never in a log).
    static let marker = "fault-load-text"

    struct Sent: Sendable {
        let conversation: Int
        let fromManager: Bool
        let at: ContinuousClock.Instant
    }

    /// A chat a relayed copy arrives in: the bot and the recipient.
    struct Chat: Hashable, Sendable, CustomStringConvertible {
        let botID: Int64
        let chatID: Int64
        var description: String { "\(chatID)@\(botID)" }
    }

    struct Arrival: Sendable {
        let serial: Int
        let at: ContinuousClock.Instant
    }

    private struct State {
        var serial = 0
        var sent: [Int: Sent] = [:]
        /// Every successful copy, in the order the sandbox answered them, per chat.
        var arrivals: [Chat: [Arrival]] = [:]
        /// Every other text a chat got (notices, answers), in order.
        var others: [Chat: [String]] = [:]
        var scanned = 0
    }

    let world: FaultWorld
    private let state = Mutex(State())

    init(world: FaultWorld, startingAfter scanned: Int? = nil) {
        self.world = world
        let start = scanned ?? world.sandbox.calls(since: .max).total
        state.withLock { $0.scanned = start }
    }

    var sentCount: Int { state.withLock { $0.sent.count } }

    /// Writes one message: conversation `serial % conversations`, alternating direction per round.
    @discardableResult
    func sendNext() -> Int {
        let (serial, conversation, fromManager) = state.withLock { state -> (Int, Int, Bool) in
            state.serial += 1
            let conversation = state.serial % world.conversations
            return (state.serial, conversation, (state.serial / world.conversations) % 2 == 0)
        }
        send(serial: serial, conversation: conversation, fromManager: fromManager)
        return serial
    }

    /// Writes one message in `conversation`.
    @discardableResult
    func send(conversation: Int, fromManager: Bool) -> Int {
        let serial = state.withLock { state -> Int in
            state.serial += 1
            return state.serial
        }
        send(serial: serial, conversation: conversation, fromManager: fromManager)
        return serial
    }

    private func send(serial: Int, conversation: Int, fromManager: Bool) {
        let user = fromManager ? RelayPeople.manager(conversation) : RelayPeople.worker(conversation)
        state.withLock { $0.sent[serial] = Sent(conversation: conversation, fromManager: fromManager, at: .now) }
        _ = world.sandbox.send("\(Self.marker) #\(serial)#", from: user, to: world.bot(conversation))
    }

    /// `count` messages at `rate` a second (cancellable); `during` runs beside it (kills, outages…).
    func run(count: Int, rate: Double) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        for n in 0..<count {
            try await Task.sleep(until: start + .seconds(Double(n) / rate), clock: clock)
            sendNext()
            if n % 50 == 0 { scan() }
        }
        scan()
    }

    /// Reads the sandbox's new calls: each successful `sendMessage` with a serial is an arrival.
    func scan() {
        let from = state.withLock { $0.scanned }
        let (calls, total) = world.sandbox.calls(since: from)
        var found: [(Chat, Arrival)] = []
        var others: [(Chat, String)] = []
        for call in calls where call.method == "sendMessage" && call.status == 200 {
            guard let text = call.parameters["text"]?.string, let chat = call.chatID else { continue }
            guard let serial = Self.serial(in: text) else {
                others.append((Chat(botID: call.botID, chatID: chat), text))
                continue
            }
            found.append((Chat(botID: call.botID, chatID: chat), Arrival(serial: serial, at: call.answeredAt)))
        }
        state.withLock { state in
            for (chat, text) in others { state.others[chat, default: []].append(text) }
            for (chat, arrival) in found where state.sent[arrival.serial] != nil { state.arrivals[chat, default: []].append(arrival) }
            state.scanned = max(state.scanned, total)
        }
        // What was counted is forgotten, so a long run's sandbox stays small.
        if calls.count > 5_000 { world.sandbox.forgetHistory() }
    }

    static func serial(in text: String) -> Int? {
        guard let open = text.firstIndex(of: "#") else { return nil }
        let rest = text[text.index(after: open)...]
        guard let close = rest.firstIndex(of: "#") else { return nil }
        return Int(rest[..<close])
    }

    /// The texts without a serial each chat got (notices), by chat.
    var otherTexts: [Chat: [String]] {
        scan()
        return state.withLock { $0.others }
    }

    /// The chat of `user` with the bot of `conversation`.
    func chat(of user: Int64, conversation: Int) -> Chat { Chat(botID: world.bot(conversation).token.botID, chatID: user) }

    /// The messages written so far, by serial.
    var sent: [Int: Sent] { state.withLock { $0.sent } }

    /// The latency (ms, to its first copy) of each arrived message that `include` picks.
    func latencies(_ include: (Int, Sent) -> Bool) -> [Double] {
        scan()
        return state.withLock { state in
            var first: [Int: ContinuousClock.Instant] = [:]
            for arrival in state.arrivals.values.joined() where first[arrival.serial].map({ arrival.at < $0 }) ?? true {
                first[arrival.serial] = arrival.at
            }
            return first.compactMap { serial, at in
                state.sent[serial].flatMap { include(serial, $0) ? (at - $0.at).milliseconds : nil }
            }
        }
    }

    /// How many distinct messages have arrived.
    var deliveredCount: Int {
        scan()
        return state.withLock { Set($0.arrivals.values.joined().map(\.serial)).count }
    }

    /// Waits until every message sent so far has arrived (or `timeout`).
    func waitForAll(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while deliveredCount < sentCount {
            guard ContinuousClock.now < deadline else {
                throw Failure("\(sentCount - deliveredCount) of \(sentCount) messages not delivered within \(timeout); first missing: \(verdict().lost.prefix(10))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        // Late duplicates (a copy sent again) would come right after.
        try await Task.sleep(for: .seconds(1))
        scan()
    }

    struct Verdict: Sendable {
        var lost: [Int] = []
        /// A second (or later) copy of a message in its chat: the chat, the serial, when the first came.
        var duplicates: [(chat: Chat, serial: Int, first: ContinuousClock.Instant)] = []
        /// A message that arrived before one written earlier by the same sender.
        var outOfOrder: [(chat: Chat, serial: Int, after: Int)] = []
        /// Copies that arrived in a chat the message was not for.
        var misdelivered: [Int] = []
        var latenciesMilliseconds: [Double] = []

        func percentile(_ p: Double) -> Double {
            let sorted = latenciesMilliseconds.sorted()
            return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
        }
    }

    func verdict() -> Verdict {
        scan()
        return state.withLock { state in
            var verdict = Verdict()
            var delivered = Set<Int>()
            for (chat, arrivals) in state.arrivals {
                var seen = Set<Int>()
                var firstAt: [Int: ContinuousClock.Instant] = [:]
                var highest = 0
                for arrival in arrivals {
                    guard let sent = state.sent[arrival.serial] else { continue }
                    let recipient = sent.fromManager ? RelayPeople.worker(sent.conversation) : RelayPeople.manager(sent.conversation)
                    guard recipient == chat.chatID, world.bot(sent.conversation).token.botID == chat.botID else {
                        verdict.misdelivered.append(arrival.serial)
                        continue
                    }
                    if seen.contains(arrival.serial) {
                        verdict.duplicates.append((chat, arrival.serial, firstAt[arrival.serial]!))
                        continue
                    }
                    seen.insert(arrival.serial)
                    firstAt[arrival.serial] = arrival.at
                    delivered.insert(arrival.serial)
                    verdict.latenciesMilliseconds.append((arrival.at - sent.at).milliseconds)
                    // One sender per chat: serials must come in increasing order.
                    if arrival.serial < highest { verdict.outOfOrder.append((chat, arrival.serial, highest)) }
                    highest = max(highest, arrival.serial)
                }
            }
            verdict.lost = state.sent.keys.filter { !delivered.contains($0) }.sorted()
            return verdict
        }
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
