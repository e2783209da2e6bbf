import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging

/// What the sender does with Telegram's answer when a call failed.
extension OutboxSender {
    /// What recording a 403 decided.
    enum Holding: Sendable { case held([Int64]), stale, notRecorded }

    func handle(_ error: TelegramError, for row: OutboxRow, callStart: Date) async {
        let now = database.clock.now()
        switch error {
        case let .flood(seconds, _):
            metrics.flood(slot, polling: false)
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
            _ = await persist("reschedule a row") {
                try database.outbox.reschedule(row.id, notBefore: until, countAttempt: false, error: error.description)
            }
            release(row, notBefore: until)
        case .server, .transport, .timeout:
            await retryLater(row, error: error.description, transient: true)
        case let .forbidden(reason, _):
            guard row.lane == .chat else {
                // A callback answer or menu edit is worthless later: not held.
                await fail(row, reason: .refused(error.description))
                finish(row)
                return
            }
            let unreachable: UnreachableReason = switch reason {
            case .blocked: .blocked
            case .userDeactivated: .deactivated
            case .cannotInitiate: .notStarted
            case .other: .kicked
            }
            let holding: Holding = await persist("hold an unreachable chat's rows") {
                try database.write { tx -> Holding in
                    // The chat became reachable again while this call was on its way: the 403 is stale.
                    if let reopened = try tx.reopenedAt(slot: slot, chatID: row.chatID), reopened >= callStart {
                        return .stale
                    }
                    let first = try tx.unreachableChat(slot: slot, chatID: row.chatID) == nil
                    let held = try tx.holdChat(slot: slot, chatID: row.chatID, reason: unreachable, error: error.description,
                                               inFlight: row.id, now: now)
                    if first, row.chatID > 0 {
                        try queueNotices(tx, now: now) { try $0.chatBecameUnreachable(slot: slot, chatID: row.chatID, reason: unreachable) }
                    }
                    return .held(held)
                }
            } ?? .notRecorded
            let held: [Int64]
            switch holding {
            case let .held(ids):
                held = ids
            case .notRecorded:
                // The store would not take it: the row stays first in its queue and is tried again.
                release(row, notBefore: now.addingTimeInterval(1))
                return
            case .stale:
                logger.notice("a 403 answered a call made before the chat was reachable again; sending again", metadata: ["chat": "\(row.chatID)"])
                _ = await persist("reschedule a row") {
                    try database.outbox.reschedule(row.id, notBefore: now, countAttempt: false, error: error.description)
                }
                release(row, notBefore: nil)
                return
            }
            logger.notice("chat unreachable; its rows are held until it can be written to", metadata: [
                "chat": "\(row.chatID)", "reason": "\(unreachable.rawValue)",
            ])
            forgetHeldChat(of: row, also: held)
            signals.wakeAll()
        case let .badRequest(_, migrateTo?):
            logger.notice("group moved to a supergroup", metadata: ["chat": "\(row.chatID)", "new_chat": "\(migrateTo)"])
            _ = await persist("retarget a row") { try database.outbox.retarget(row.id, to: migrateTo) }
            finish(row)
            // Pending again, under an id older than those seen: the next pass reads every open row.
            signals.requestReload(slot)
        case .unauthorized:
            logger.error("the bot token was refused (revoked?): this slot stops sending; fix BRIDGEOS_BOT\(slot.number)_TOKEN and restart")
            _ = await persist("reschedule a row") {
                try database.outbox.reschedule(row.id, notBefore: now, countAttempt: false, error: error.description)
            }
            state.withLock { $0.stopped = true }
        case .badRequest, .conflict, .notFound, .other, .invalidResponse:
            logger.error("Telegram refused a call for good", metadata: ["row": "\(row.id)", "method": "\(row.method)", "error": "\(error)"])
            await fail(row, reason: .refused(error.description))
            finish(row)
        }
    }

    /// Tries the row again later. Telegram's 5xx and network failures (`transient`) are retried for as
    /// long as they last, at most `backoff.cap` apart; other failures give up after `maxAttempts`.
    func retryLater(_ row: OutboxRow, error: String, transient: Bool) async {
        let attempts = row.attempts + 1
        guard transient || attempts < configuration.maxAttempts else {
            logger.error("giving up on a row after repeated failures", metadata: ["row": "\(row.id)", "attempts": "\(attempts)", "error": "\(error)"])
            await fail(row, reason: .gaveUp("gave up after \(attempts) attempts: \(error)"))
            finish(row)
            return
        }
        let now = database.clock.now()
        let notBefore = now.adding(configuration.backoff.delay(afterAttempt: attempts))
        if attempts == 1 || attempts % 10 == 0 {
            logger.warning("will retry", metadata: ["row": "\(row.id)", "attempt": "\(attempts)", "error": "\(error)"])
        }
        _ = await persist("reschedule a row") {
            try database.write { tx in
                try tx.reschedule(row.id, notBefore: notBefore, countAttempt: true, error: error, now: now)
                // Failing for a while (about 4 minutes with the default backoff): its sender learns it is late.
                guard transient, attempts == configuration.delayNoticeAfterAttempts else { return }
                try queueNotices(tx, now: now) { try $0.deliveryDelayed(row) }
            }
        }
        state.withLock { state in
            state.rows[row.id]?.attempts = attempts
        }
        release(row, notBefore: notBefore)
    }

    /// Dead-letters a row and, in the same transaction, tells its message's sender (through the observer).
    func fail(_ row: OutboxRow, reason: DeliveryFailure) async {
        let error = reason.description
        let now = database.clock.now()
        // (Notices may go through another bot: `queueNotices` wakes the senders they were queued for.)
        _ = await persist("record a failed row") {
            try database.write { tx in
                guard let dead = try tx.markDead(row.id, error: error, now: now) else { return }
                try queueNotices(tx, now: now) { try $0.deliveryFailed(dead, reason: reason) }
            }
        }
    }
}
