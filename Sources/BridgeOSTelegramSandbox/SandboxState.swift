import BridgeOSTelegram
import Foundation
import Synchronization

/// Everything the sandbox knows, behind one lock. Methods are synchronous; waiting (long polls) is done
/// by the caller with continuations that the state resumes, so cancellation can resume them synchronously.
final class SandboxState: Sendable {
    enum WakeReason: Sendable { case updates, conflict, webhookSet, cancelled }

    struct Waiter {
        let id: UUID
        let continuation: CheckedContinuation<WakeReason, Never>
    }

    struct BotState {
        let bot: SandboxBot
        var pending: [Update] = []
        var nextUpdateID: Int64 = 100_000_001
        var allowedUpdates: [String]? = nil
        var waiter: Waiter?
        var webhookURL: String?
        var webhookSecret: String?
        var webhookMaxConnections: Int?
        /// Unix time and text of the last failed webhook delivery.
        var webhookLastError: (date: Int64, message: String)?
        /// Updates delivered by webhook, by id (for redeliveries).
        var delivered: [Int64: Update] = [:]
        var commands: [String: [BotCommand]] = [:]
    }

    struct SimulatedUser {
        var user: TelegramUser
        /// Bots whose Start the user pressed (a bot may write only to those).
        var started: Set<Int64> = []
        var blocked: Set<Int64> = []
        var deactivated = false
    }

    struct ChatKey: Hashable { let botID: Int64; let chatID: Int64 }

    struct ChatLog {
        var chat: Chat
        var messages: [SandboxChatMessage] = []
        var nextMessageID: Int64 = 1
    }

    struct StoredFile {
        let botID: Int64
        let fileUniqueID: String
        let path: String
        let bytes: Data
    }

    struct PendingQuery {
        let botID: Int64
        var answered: Bool
        let createdAt: ContinuousClock.Instant
    }

    struct State {
        var bots: [Int64: BotState] = [:]
        var botsByToken: [String: Int64] = [:]
        var users: [Int64: SimulatedUser] = [:]
        var groups: [Int64: (chat: Chat, bots: Set<Int64>)] = [:]
        var chats: [ChatKey: ChatLog] = [:]
        var files: [String: StoredFile] = [:]
        var queries: [String: PendingQuery] = [:]
        /// Reactions on messages, per chat and message: the bot's own, and the user's.
        var botReactions: [ChatKey: [Int64: [ReactionType]]] = [:]
        var userReactions: [ChatKey: [Int64: [ReactionType]]] = [:]
        var faults: [SandboxFault] = []
        /// Polls cancelled before their waiter was registered (the client went away at once): registering
        /// one of them later must end it at once, or its request would wait forever.
        var cancelledWaiters: Set<UUID> = []
        /// The server is stopping: no poll waits any more, so the graceful stop is not held by long polls.
        var closing = false
        var violations: [SandboxViolation] = []
        var calls: [RecordedCall] = []
        /// Calls recorded, then forgotten (`forgetHistory`).
        var forgottenCalls = 0
        var counter: Int64 = 0
        /// Webhook addresses as the tests' reverse proxy maps them: public origin → local origin.
        var webhookRoutes: [String: String] = [:]
        /// Bots whose updates the delivery loop holds back (a test delivers them itself, all at once).
        var heldWebhooks: Set<Int64> = []
        var webhookDeliveries: [WebhookDelivery] = []
    }

    let spec: BotAPISpec
    let state: Mutex<State>
    /// Wakes the webhook delivery loop: an update queued, a webhook set.
    let webhookSignals: AsyncStream<Void>
    let webhookSignal: AsyncStream<Void>.Continuation
    /// Unix time for `date` fields.
    let now: @Sendable () -> Date

    init(bots: [SandboxBot], spec: BotAPISpec, now: @escaping @Sendable () -> Date = { Date() }) {
        self.spec = spec
        self.now = now
        (webhookSignals, webhookSignal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        var initial = State()
        for bot in bots {
            initial.bots[bot.token.botID] = BotState(bot: bot)
            initial.botsByToken[bot.token.secret] = bot.token.botID
        }
        state = Mutex(initial)
    }

    var unixNow: Int64 { Int64(now().timeIntervalSince1970) }

    func botID(forToken token: String) -> Int64? { state.withLock { $0.botsByToken[token] } }

    // MARK: Updates and long polling

    /// Queues an update for a bot and wakes its waiting poll.
    func enqueue(botID: Int64, _ makeKind: (Int64) -> Update.Kind) -> Update? {
        let (update, waiter): (Update?, Waiter?) = state.withLock { state in
            guard var bot = state.bots[botID] else { return (nil, nil) }
            let update = Update(updateID: bot.nextUpdateID, kind: makeKind(bot.nextUpdateID))
            bot.nextUpdateID += 1
            bot.pending.append(update)
            let waiter = bot.waiter
            bot.waiter = nil
            state.bots[botID] = bot
            return (update, waiter)
        }
        waiter?.continuation.resume(returning: .updates)
        webhookSignal.yield()
        return update
    }

    enum PollStart {
        case ready([Update])
        case wait
        case failure(SandboxError)
    }

    /// Confirms updates below `offset`, and returns those ready to deliver (or `.wait`).
    func beginPoll(botID: Int64, offset: Int64?, limit: Int, allowedUpdates: [String]?) -> PollStart {
        state.withLock { state in
            guard var bot = state.bots[botID] else { return .failure(.unauthorized) }
            if bot.webhookURL != nil {
                return .failure(SandboxError(status: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"))
            }
            if let allowedUpdates { bot.allowedUpdates = allowedUpdates }
            if let offset {
                if offset < 0 {
                    bot.pending = Array(bot.pending.suffix(Int(-offset)))
                } else {
                    bot.pending.removeAll { $0.updateID < offset }
                }
            }
            let ready = Self.deliverable(bot.pending, allowed: bot.allowedUpdates)
            state.bots[botID] = bot
            return ready.isEmpty ? .wait : .ready(Array(ready.prefix(limit)))
        }
    }

    /// Registers a waiting poll; an earlier waiting poll of the same bot is ended with a conflict, as
    /// Telegram does when two processes poll one token.
    func registerWaiter(botID: Int64, id: UUID, continuation: CheckedContinuation<WakeReason, Never>) {
        let (previous, readyNow): (Waiter?, Bool) = state.withLock { state in
            if state.cancelledWaiters.remove(id) != nil || state.closing { return (nil, true) }
            let previous = state.bots[botID]?.waiter
            state.bots[botID]?.waiter = nil
            guard let bot = state.bots[botID] else { return (previous, true) }
            // Updates may have arrived between beginPoll and now: then answer at once.
            let ready = !Self.deliverable(bot.pending, allowed: bot.allowedUpdates).isEmpty
            if !ready { state.bots[botID]?.waiter = Waiter(id: id, continuation: continuation) }
            return (previous, ready)
        }
        previous?.continuation.resume(returning: .conflict)
        if readyNow { continuation.resume(returning: .updates) }
    }

    /// Ends a waiting poll (timeout or client gone), if it is still waiting.
    func cancelWaiter(botID: Int64, id: UUID) {
        let waiter: Waiter? = state.withLock { state in
            guard let waiter = state.bots[botID]?.waiter, waiter.id == id else {
                // Not registered yet (or answered already): a registration still to come ends at once.
                state.cancelledWaiters.insert(id)
                return nil
            }
            state.bots[botID]?.waiter = nil
            return waiter
        }
        waiter?.continuation.resume(returning: .cancelled)
    }

    /// The server is stopping: every waiting poll is answered now (with what is ready), and none waits again.
    func close() {
        let waiters: [Waiter] = state.withLock { state in
            state.closing = true
            var waiters: [Waiter] = []
            for botID in state.bots.keys {
                if let waiter = state.bots[botID]?.waiter { waiters.append(waiter) }
                state.bots[botID]?.waiter = nil
            }
            return waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: .cancelled) }
    }

    /// A poll is over: its id is not kept as cancelled any longer.
    func forgetWaiter(id: UUID) {
        state.withLock { _ = $0.cancelledWaiters.remove(id) }
    }

    func readyUpdates(botID: Int64, limit: Int) -> [Update] {
        state.withLock { state in
            guard let bot = state.bots[botID] else { return [] }
            return Array(Self.deliverable(bot.pending, allowed: bot.allowedUpdates).prefix(limit))
        }
    }

    static func deliverable(_ pending: [Update], allowed: [String]?) -> [Update] {
        guard let allowed, !allowed.isEmpty else { return pending }
        return pending.filter { update in
            switch update.kind {
            case .message: allowed.contains("message")
            case .editedMessage: allowed.contains("edited_message")
            case .callbackQuery: allowed.contains("callback_query")
            case .myChatMember: allowed.contains("my_chat_member")
            case .messageReaction: allowed.contains("message_reaction")
            case let .unsupported(kind), let .undecodable(kind, _): allowed.contains(kind)
            }
        }
    }

    // MARK: Faults, violations, calls

    func takeFault(botID: Int64, method: String, chatID: Int64?) -> SandboxFault.Effect? {
        state.withLock { state in
            guard let index = state.faults.firstIndex(where: { fault in
                fault.count > 0 && (fault.method == nil || fault.method == method)
                    && (fault.botID == nil || fault.botID == botID)
                    && (fault.chatID == nil || fault.chatID == chatID)
            }) else { return nil }
            state.faults[index].count -= 1
            let effect = state.faults[index].effect
            if state.faults[index].count == 0 { state.faults.remove(at: index) }
            return effect
        }
    }

    func record(_ call: RecordedCall, violation: SandboxViolation?) {
        state.withLock { state in
            state.calls.append(call)
            if let violation { state.violations.append(violation) }
        }
    }

    func nextNumber() -> Int64 {
        state.withLock { state in
            state.counter += 1
            return state.counter
        }
    }
}
