import BridgeOSCore
import BridgeOSFlows
import BridgeOSRelay
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

@Suite("Confirmed instructions and announcements")
struct ConfirmationTests {
    @Test("! asks for confirmation: the worker gets Got it, the manager's status line goes sending → delivered → confirmed at a time")
    func confirmedInstruction() async throws {
        try await withWork { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let (managerBefore, workerBefore) = (h.count(1), h.count(2))
            let sent = try #require(h.sandbox.send("! Close the gas valve", from: 1, to: bot))
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            let receipt = try #require(try h.latestReceipt())
            let delivered = try #require(h.last(bot, 2))
            #expect(delivered.text == "[es] CLOSE THE GAS VALVE")
            #expect(h.buttons(delivered) == ["ack:\(receipt.id)", "orig:\(receipt.messageID ?? 0)"])
            let status = try #require(h.last(bot, 1))
            #expect(status.replyToMessage?.messageID == sent.messageID)
            try await h.waitFor("status: delivered") { _ in h.message(bot, 1, id: status.messageID)?.text == en(.confirmStatusDelivered, ["worker": "Iván"]) }

            #expect(try await h.tap("ack:\(receipt.id)", on: delivered, by: 2, bot: bot) == nil)
            let confirmed = try #require(try h.database.read { try $0.receipt(receipt.id) })
            let time = WorkClock.time(try #require(confirmed.confirmedAt), language: "en", timeZone: .gmt)
            try await h.waitFor("status: confirmed") { _ in
                h.message(bot, 1, id: status.messageID)?.text == en(.confirmStatusConfirmed, ["worker": "Iván", "time": time])
            }
            try await h.waitFor("Got it marked") { _ in h.message(bot, 2, id: delivered.messageID)?.replyMarkup != delivered.replyMarkup }
            #expect(try await h.tap("ack:\(receipt.id)", on: delivered, by: 2, bot: bot) == text(.confirmAlready, "es"))
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.count(1) == managerBefore + 1)  // one status line, edited in place
            #expect(try h.database.read { try $0.receipt(receipt.id) }?.confirmedAt == confirmed.confirmedAt)
            #expect(h.sandbox.calls("editMessageText").allSatisfy { $0.status == 200 })  // no edit that changes nothing
        }
    }

    @Test("a confirmation after retention removed the status line's row: the status comes as a new message, nothing is lost")
    func confirmationAfterRetention() async throws {
        try await withWork { h, clock in
            try await h.connectedPair()
            let bot = h.bots[0]
            let workerBefore = h.count(2)
            h.sandbox.send("!Lock the container", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            try await h.waitFor("delivered") { _ in h.last(bot, 1)?.text == en(.confirmStatusDelivered, ["worker": "Iván"]) }
            let managerBefore = h.count(1)
            try await Task.sleep(for: .milliseconds(300))  // (the sender records the edit as sent after Telegram answered it)
            clock.advance(by: 8 * 86400)
            let purged = try h.database.outbox.purgeFinished([.sent], updatedBefore: clock.now())
            let receiptRow = try #require(try h.latestReceipt()?.statusOutboxID)
            let kept = try h.database.read { try $0.outboxRowExists(receiptRow) }
            #expect(purged > 0 && !kept)
            let delivered = try #require(h.last(bot, 2))
            #expect(try await h.tap(h.buttons(delivered)[0], on: delivered, by: 2, bot: bot) == nil)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            #expect(h.last(bot, 1)?.text?.hasPrefix("✅ Iván") == true)
            #expect(try h.latestReceipt()?.confirmedAt != nil)
        }
    }

    @Test("unconfirmed: one reminder to the worker after the set time, then the manager is told; confirming stops it")
    func reminderThenManagerTold() async throws {
        try await withWork(confirmationReminder: 600) { h, clock in
            try await h.connectedPair()
            let bot = h.bots[0]
            let (managerBefore, workerBefore) = (h.count(1), h.count(2))
            h.sandbox.send("!Bring the permit", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            try await h.waitFor("delivered") { _ in h.last(bot, 1)?.text == en(.confirmStatusDelivered, ["worker": "Iván"]) }
            let receipt = try #require(try h.latestReceipt())
            clock.advance(by: 590)
            h.runtime.signals.wakeAll()
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.count(2) == workerBefore + 1)  // not yet
            clock.advance(by: 20)
            h.runtime.signals.wakeAll()
            try await h.waitForTexts(bot, 2, count: workerBefore + 2)
            let reminder = try #require(h.last(bot, 2))
            #expect(reminder.text == text(.confirmReminder, "es") + "\n[es] BRING THE PERMIT")
            #expect(h.buttons(reminder) == ["ack:\(receipt.id)"])
            clock.advance(by: 610)
            h.runtime.signals.wakeAll()
            try await h.waitForTexts(bot, 1, count: managerBefore + 2)
            #expect(h.last(bot, 1)?.text == en(.confirmEscalate, ["worker": "Iván", "quote": "“Bring the permit”"]))
            clock.advance(by: 3600)
            h.runtime.signals.wakeAll()
            try await Task.sleep(for: .milliseconds(300))
            #expect((h.count(1), h.count(2)) == (managerBefore + 2, workerBefore + 2))  // once each

            // Confirmed in time: no reminder at all.
            h.sandbox.send("!Wear a helmet", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 3)
            let second = try #require(h.last(bot, 2))
            _ = try await h.tap(h.buttons(second)[0], on: second, by: 2, bot: bot)
            clock.advance(by: 1300)
            h.runtime.signals.wakeAll()
            try await Task.sleep(for: .milliseconds(500))
            #expect(h.count(2) == workerBefore + 3)
        }
    }

    @Test("/all: three workers in three languages, each through their own bot; one summary edited as they get and confirm it")
    func announcementToThree() async throws {
        try await withWork(bots: 3) { h, _ in
            try await h.connectedPair()
            try await h.connectWorker(3, name: "Olena", language: "uk", slot: 2)
            try await h.connectWorker(4, name: "Piotr", language: "pl", slot: 3)
            let (home, line2, line3) = (h.bots[0], h.bots[1], h.bots[2])
            let managerBefore = h.count(1)
            let before = (h.sandbox.botMessages(line2, 3).count, h.sandbox.botMessages(line3, 4).count, h.count(2))
            let sent = try #require(h.sandbox.send("/all ! Meeting at 8 tomorrow", from: 1, to: home))
            try await h.waitForTexts(home, 2, count: before.2 + 1)
            try await h.waitForTexts(line2, 3, count: before.0 + 1)
            try await h.waitForTexts(line3, 4, count: before.1 + 1)
            let copies = [(home, Int64(2), "es"), (line2, Int64(3), "uk"), (line3, Int64(4), "pl")].map { bot, worker, language in
                (bot, worker, language, h.last(bot, worker)!)
            }
            for (_, _, language, message) in copies {
                #expect(message.text == text(.announceHeader, language) + "\n[\(language)] MEETING AT 8 TOMORROW")
                #expect(h.buttons(message).first?.hasPrefix("ack:") == true)
            }
            try await h.waitForTexts(home, 1, count: managerBefore + 1)
            let summary = try #require(h.last(home, 1))
            let header = en(.announceSummary, ["count": "3", "quote": "“Meeting at 8 tomorrow”"])
            let waiting = ["Iván", "Olena", "Piotr"].map { en(.announceLineWaiting, ["worker": $0]) }
            try await h.waitFor("summary: all delivered") { _ in
                h.message(home, 1, id: summary.messageID)?.text == ([header] + waiting).joined(separator: "\n")
            }
            // The manager's /all gets its 👌 once, in the chat she wrote it in, when the last copy is delivered
            // (not through the other lines' bots, whose chats do not hold her message).
            try await h.sandbox.wait(timeout: .seconds(15), "👌 on the announcement") { sandbox in
                if case .emoji("👌")? = sandbox.botReaction(home, chatID: 1, messageID: sent.messageID).first { true } else { false }
            }
            let marks = h.sandbox.calls("setMessageReaction").filter { $0.chatID == 1 }
            #expect(marks.count == 1 && marks.allSatisfy { $0.status == 200 && $0.botID == home.token.botID }, "\(marks.map { ($0.botID, $0.status) })")
            var confirmedLines = waiting
            for (index, (bot, worker, _, message)) in copies.enumerated() {
                _ = try await h.tap(h.buttons(message)[0], on: message, by: worker, bot: bot)
                let id = try #require(Int64(h.buttons(message)[0].dropFirst(4)))
                let receipt = try #require(try h.database.read { try $0.receipt(id) })
                let time = WorkClock.time(try #require(receipt.confirmedAt), language: "en", timeZone: .gmt)
                confirmedLines[index] = en(.announceLineConfirmed, ["worker": ["Iván", "Olena", "Piotr"][index], "time": time])
                let expected = ([header] + confirmedLines).joined(separator: "\n")
                try await h.waitFor("summary after confirmation \(index + 1)") { _ in h.message(home, 1, id: summary.messageID)?.text == expected }
            }
            #expect(h.count(1) == managerBefore + 1)  // one summary, edited in place
            #expect(h.sandbox.calls("editMessageText").allSatisfy { $0.status == 200 })
        }
    }

    @Test("/all with nobody connected says so; /all alone asks for the text, and the next message goes to everyone")
    func announcementFlow() async throws {
        try await withWork { h, _ in
            let bot = h.bots[0]
            try await h.registerManager(1, on: bot)
            try await h.say("/all Hello", from: 1, to: bot)
            #expect(h.last(bot, 1)?.text == en(.announceNoWorkers))
            try await h.join(2, payload: try await h.invite(by: 1, on: bot), on: bot)
            try await h.say("/all", from: 1, to: bot)
            #expect(h.last(bot, 1)?.text == en(.announceAsk))
            let workerBefore = h.count(2)
            try await h.say("Payday is Friday", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            #expect(h.last(bot, 2)?.text == text(.announceHeader, "es") + "\n[es] PAYDAY IS FRIDAY")
            #expect(h.buttons(h.last(bot, 2)).allSatisfy { $0.hasPrefix("orig:") })  // no confirmation asked (the original is there)
            try await h.waitFor("delivered") { _ in
                h.last(bot, 1)?.text == [en(.announceSummary, ["count": "1", "quote": "“Payday is Friday”"]), en(.announceLineDelivered, ["worker": "Iván"])].joined(separator: "\n")
            }
        }
    }
}
