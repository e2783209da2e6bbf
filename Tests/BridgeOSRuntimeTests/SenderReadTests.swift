import BridgeOSCore
@testable import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

/// A sender reads the store only when told that rows were queued (or on a reload or sweep): these pin down
/// that nothing told to it waits for the sweep.
@Suite("Sender reads")
struct SenderReadTests {
    @Test("rows written without telling the sender wait (for the sweep); told, they go at once")
    func readsWhenTold() async throws {
        try await withRuntime(bots: 1) { h in
            let bot = h.bots[0]
            let slot = BotSlot(1)!
            // A first exchange: the sender has made its start-up read and answered (and so is idle, told nothing).
            try await h.startedChat(1, bot)
            try await h.database.write { tx in
                _ = try OutboxWriter.queue(SendMessage(chatID: .id(1), text: "written quietly"), slot: slot, chatID: 1, now: h.database.clock.now(), tx)
            }
            // The sender's own passes (a finished call, a timeout) do not read: nothing goes out yet.
            h.runtime.signals.outbox(slot).signal()
            try await Task.sleep(for: .milliseconds(500))
            #expect(h.texts(bot, 1) == ["welcome"])
            h.runtime.signals.rowsQueued(slot)
            try await h.waitForTexts(bot, 1, count: 2, timeout: .seconds(5))
            #expect(h.texts(bot, 1) == ["welcome", "written quietly"])
            #expect(h.sandbox.violations.isEmpty, "\(h.sandbox.violations)")
        }
    }

    @Test("a backlog larger than one read (2,000 rows) all goes out on one signal, in order per chat")
    func backlogLargerThanAPage() async throws {
        // No sweep within the test's wait: only the one signal can have sent everything. So the wait can be long
        // enough for a loaded machine (it ran out at 25 s twice under the full suite) and still prove the point.
        try await withRuntime(bots: 1, sweepInterval: .seconds(3600)) { h in
            let bot = h.bots[0]
            let slot = BotSlot(1)!
            let chats = (1...30).map { Int64(100 + $0) }
            for chat in chats {
                h.sandbox.addUser(id: chat, firstName: "User \(chat)")
                h.sandbox.markStarted(bot, by: chat)
            }
            let perChat = 72  // 2,160 rows
            try await h.database.write { tx in
                for chat in chats { try tx.recordBotChat(slot: slot, user: chat, now: h.database.clock.now()) }
                for n in 0..<perChat {
                    for chat in chats {
                        _ = try OutboxWriter.queue(SendMessage(chatID: .id(chat), text: "\(n)"), slot: slot, chatID: chat, now: h.database.clock.now(), tx)
                    }
                }
            }
            h.runtime.signals.rowsQueued(slot)
            for chat in chats { try await h.waitForTexts(bot, chat, count: perChat, timeout: .seconds(90)) }
            for chat in chats { #expect(h.texts(bot, chat) == (0..<perChat).map { "\($0)" }) }
            #expect(h.sandbox.violations.isEmpty, "\(h.sandbox.violations)")
        }
    }

    @Test("the job queue's state: due now, the next delayed job, and the backlog only when asked")
    func jobQueueState() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let clock = ManualWallClock()
            let database = try AppDatabase.openFile(at: directory.appendingPathComponent("q.sqlite").path, clock: clock)
            let empty = try database.jobs.queueState()
            #expect(!empty.dueNow && empty.waiting == 0 && empty.oldest == nil && empty.nextDue == nil)
            let first = try database.jobs.enqueue(kind: "k", queueKey: "a", payload: "{}")
            let second = try database.jobs.enqueue(kind: "k", queueKey: "b", payload: "{}")
            try database.jobs.reschedule(second.id, notBefore: clock.now().addingTimeInterval(60), error: "later")
            let state = try database.jobs.queueState()
            #expect(state.dueNow && state.waiting == 2 && state.oldest == first.createdAt)
            #expect(state.nextDue.map { abs($0.timeIntervalSince(clock.now().addingTimeInterval(60))) < 0.002 } == true)
            #expect(try database.jobs.queueState(backlog: false).waiting == nil)
            _ = try database.jobs.claim(limit: 4)  // only the due one
            #expect(try database.jobs.queueState().dueNow == false)
            clock.advance(by: 61)
            #expect(try database.jobs.queueState().dueNow == true)
        }
    }
}
