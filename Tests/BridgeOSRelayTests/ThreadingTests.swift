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

@Suite("Replies, edits, withdrawals, reactions")
struct ThreadingTests {
    @Test("a reply lands as a reply on the other side, both ways, also to one's own message and to media; a reply to a bot notice goes without a reference")
    func replies() async throws {
        try await withMedia { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let question = try #require(h.sandbox.send("Where is the drill?", from: 1, to: bot))
            try await h.waitForCopies(2, count: h.count(2) + 1)
            let questionCopy = try #require(h.last(bot, 2))
            // The worker answers the copy: the manager sees the answer as a reply to their own question.
            let answer = try #require(h.sandbox.send("In the van", from: 2, to: bot, replyTo: questionCopy.messageID))
            try await h.waitForCopies(1, count: h.count(1) + 1)
            let answerCopy = try #require(h.last(bot, 1))
            #expect(answerCopy.text == "[en] IN THE VAN" && answerCopy.replyToMessage?.messageID == question.messageID)
            // The manager answers that copy: the worker sees it as a reply to their own answer.
            h.sandbox.send("Thanks", from: 1, to: bot, replyTo: answerCopy.messageID)
            try await h.waitForCopies(2, count: h.count(2) + 1)
            #expect(h.last(bot, 2)?.replyToMessage?.messageID == answer.messageID)
            // A reply to one's own earlier message points at that message's copy.
            h.sandbox.send("Also the charger", from: 1, to: bot, replyTo: question.messageID)
            try await h.waitForCopies(2, count: h.count(2) + 1)
            #expect(h.last(bot, 2)?.replyToMessage?.messageID == questionCopy.messageID)
            // Media replies too.
            h.sandbox.sendMedia(.photo, from: 2, to: bot, caption: "Here", replyTo: questionCopy.messageID)
            try await h.waitForCopies(1, count: h.count(1) + 1)
            #expect(h.last(bot, 1)?.photo != nil && h.last(bot, 1)?.replyToMessage?.messageID == question.messageID)
            // A reply to something that is no message of the conversation (a bot's notice) has nothing to point at.
            let notice = try #require(h.sandbox.botMessages(bot, 1).first)
            h.sandbox.send("About this", from: 1, to: bot, replyTo: notice.messageID)
            try await h.waitForCopies(2, count: h.count(2) + 1)
            #expect(h.last(bot, 2)?.text == "[es] ABOUT THIS" && h.last(bot, 2)?.replyToMessage == nil)
        }
    }

    @Test("an edit changes the other side's copy (text and caption); an edit of a message still waiting for translation sends only the new text")
    func edits() async throws {
        let translator = FakeTranslator()
        try await withMedia(translator: translator) { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let sent = try #require(h.sandbox.send("Bring nails", from: 1, to: bot))
            try await h.waitForCopies(2, count: h.count(2) + 1)
            let copy = try #require(h.last(bot, 2))
            h.sandbox.edit(messageID: sent.messageID, from: 1, to: bot, newText: "Bring screws")
            try await h.waitFor("edited copy") { _ in h.message(bot, 2, id: copy.messageID)?.text == "[es] BRING SCREWS" }
            let edited = try #require(h.message(bot, 2, id: copy.messageID))
            #expect(edited.editDate != nil && h.buttons(edited).first?.hasPrefix("orig:") == true)
            // Translated again with the same context (the messages before it).
            #expect(translator.requests.withLock { $0.last?.text } == "Bring screws")
            // A caption.
            let photo = try #require(h.sandbox.sendMedia(.photo, from: 2, to: bot, caption: "Broken tile"))
            try await h.waitForCopies(1, count: h.count(1) + 1)
            let photoCopy = try #require(h.last(bot, 1))
            h.sandbox.edit(messageID: photo.messageID, from: 2, to: bot, newText: "Two broken tiles")
            try await h.waitFor("edited caption") { _ in h.message(bot, 1, id: photoCopy.messageID)?.caption == "[en] TWO BROKEN TILES" }
            let countAfterEdits = h.count(2)

            // While the provider is down the message waits; the edit made meanwhile is what arrives, once.
            translator.down.withLock { $0 = true }
            let waiting = try #require(h.sandbox.send("Close the door", from: 1, to: bot))
            try await h.waitFor("the delay notice") { _ in h.texts(bot, 1).last == en(.relayDelayed) }
            h.sandbox.edit(messageID: waiting.messageID, from: 1, to: bot, newText: "Open the door")
            try await Task.sleep(for: .milliseconds(300))
            translator.down.withLock { $0 = false }
            try await h.waitForCopies(2, count: countAfterEdits + 1)
            try await Task.sleep(for: .milliseconds(500))
            let texts = h.texts(bot, 2)
            #expect(texts.last == "[es] OPEN THE DOOR")
            #expect(!texts.contains { $0.contains("CLOSE") })
            #expect(h.count(2) == countAfterEdits + 1)
        }
    }

    @Test("an edit of a message translated but not delivered yet (the worker blocked the bot) replaces its content before it goes: one message, no edit")
    func editBeforeDelivery() async throws {
        try await withMedia { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            h.sandbox.block(bot, by: 2)
            try await h.waitFor("the manager is told") { _ in h.texts(bot, 1).last == en(.relayCounterpartBlocked, ["name": "Iván"]) }
            let workerBefore = h.count(2)
            let editsBefore = h.sandbox.calls("editMessageText").count
            let sent = try #require(h.sandbox.send("Meet at gate 3", from: 1, to: bot))
            let database = h.database
            try await h.waitFor("translated and held") { _ in
                (try? database.read { try $0.message(connection: 1, sender: 1, sourceMessageID: sent.messageID)?.translatedRevision }) == 0
            }
            h.sandbox.edit(messageID: sent.messageID, from: 1, to: bot, newText: "Meet at gate 5")
            try await h.waitFor("the edit translated") { _ in
                (try? database.read { try $0.message(connection: 1, sender: 1, sourceMessageID: sent.messageID)?.translatedRevision }) == 1
            }
            h.sandbox.unblock(bot, by: 2)
            try await h.waitFor("delivered") { _ in h.texts(bot, 2).contains("[es] MEET AT GATE 5") }
            try await Task.sleep(for: .milliseconds(300))
            #expect(!h.texts(bot, 2).contains { $0.contains("GATE 3") })
            #expect(h.sandbox.calls("editMessageText").count == editsBefore)
            #expect(h.count(2) >= workerBefore + 1)
        }
    }

    @Test("/unsend deletes the counterpart's copy and marks the sender's message; after 48 hours the copy says it was withdrawn; misuse is explained")
    func unsend() async throws {
        try await withMedia { h, clock in
            try await h.connectedPair()
            let bot = h.bots[0]
            let wrong = try #require(h.sandbox.send("Pay is 500", from: 1, to: bot))
            try await h.waitForCopies(2, count: h.count(2) + 1)
            let copy = try #require(h.last(bot, 2))
            let before = h.count(1)
            h.sandbox.send("/unsend", from: 1, to: bot, replyTo: wrong.messageID)
            try await h.waitForCopies(1, count: before + 1)
            #expect(h.last(bot, 1)?.text == en(.unsendDone, ["name": "Iván", "quote": "Pay is 500"]))
            try await h.waitFor("copy deleted") { _ in h.message(bot, 2, id: copy.messageID) == nil }
            try await h.waitForReaction(1, wrong.messageID, "🕊")
            // Again: already withdrawn. Without a reply: how to. On the worker's message: not theirs.
            try await h.say("/unsend", from: 1, to: bot)
            #expect(h.last(bot, 1)?.text == en(.unsendUsage))
            h.sandbox.send("/unsend", from: 1, to: bot, replyTo: wrong.messageID)
            try await h.waitForCopies(1, count: h.count(1) + 1)
            #expect(h.last(bot, 1)?.text == en(.unsendAlready, ["quote": "Pay is 500"]))
            h.sandbox.send("Ok", from: 2, to: bot)
            try await h.waitForCopies(1, count: h.count(1) + 1)
            let theirs = try #require(h.last(bot, 1))
            h.sandbox.send("/unsend", from: 1, to: bot, replyTo: theirs.messageID)
            try await h.waitForCopies(1, count: h.count(1) + 1)
            #expect(h.last(bot, 1)?.text == en(.unsendNotYours, ["name": "Iván"]))

            // Two days later Telegram no longer deletes it: the copy is edited instead.
            let old = try #require(h.sandbox.send("Start at 6", from: 1, to: bot))
            try await h.waitForCopies(2, count: h.count(2) + 1)
            let oldCopy = try #require(h.last(bot, 2))
            // (Telegram has answered; the copy is recorded in the transaction that follows.)
            let database = h.database
            try await h.waitFor("copy recorded") { _ in
                (try? database.read { tx in try tx.messages(connection: 1, since: .distantPast, until: .distantFuture).last.map { try tx.copies(of: $0.id) } })??.isEmpty == false
            }
            clock.advance(by: 49 * 3600)
            h.sandbox.send("/unsend", from: 1, to: bot, replyTo: old.messageID)
            try await h.waitForCopies(1, count: h.count(1) + 1)
            #expect(h.last(bot, 1)?.text == en(.unsendDoneLate, ["name": "Iván", "quote": "Start at 6"]))
            try await h.waitFor("copy edited") { _ in h.message(bot, 2, id: oldCopy.messageID)?.text == text(.relayWithdrawnCopy, "es", ["name": "Marta"]) }
            #expect(h.sandbox.calls("deleteMessage").count == 1)
        }
    }

    @Test("a delivered message gets 👌 (unless switched off in /settings); a reaction is mirrored to the other side, and removing it brings the 👌 back")
    func marksAndReactions() async throws {
        try await withMedia { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let sent = try #require(h.sandbox.send("Concrete arrives at 9", from: 1, to: bot))
            try await h.waitForCopies(2, count: h.count(2) + 1)
            let copy = try #require(h.last(bot, 2))
            try await h.waitForReaction(1, sent.messageID, "👌")
            // The worker reacts on the copy: the manager's original shows it; taken back, the 👌 returns.
            h.sandbox.react("🔥", to: copy.messageID, by: 2, bot: bot)
            try await h.waitForReaction(1, sent.messageID, "🔥")
            h.sandbox.react(nil, to: copy.messageID, by: 2, bot: bot)
            try await h.waitForReaction(1, sent.messageID, "👌")
            // The manager reacts on the worker's message: the worker's original shows it.
            let reply = try #require(h.sandbox.send("Ok", from: 2, to: bot))
            try await h.waitForCopies(1, count: h.count(1) + 1)
            h.sandbox.react("👍", to: try #require(h.last(bot, 1)).messageID, by: 1, bot: bot)
            try await h.waitForReaction(2, reply.messageID, "👍")

            // /settings: delivery marks off.
            try await h.say("/settings", from: 1, to: bot)
            let settings = try #require(h.last(bot, 1))
            #expect(h.buttons(settings) == ["set:orig", "set:marks"])
            #expect(try await h.tap("set:marks", on: settings, by: 1, bot: bot) == nil)
            try await h.waitFor("redrawn") { _ in h.message(bot, 1, id: settings.messageID)?.replyMarkup?.inlineKeyboard.last?.first?.text == en(.settingsMarksOff) }
            let unmarked = try #require(h.sandbox.send("No mark please", from: 1, to: bot))
            try await h.waitForCopies(2, count: h.count(2) + 1)
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.reaction(1, unmarked.messageID) == nil)
        }
    }

    @Test("the original is revealed on request: in an alert, or as a reply when too long for one; /settings can show it under every translation")
    func original() async throws {
        try await withMedia { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            h.sandbox.send("Mix the mortar", from: 1, to: bot)
            try await h.waitForCopies(2, count: h.count(2) + 1)
            let copy = try #require(h.last(bot, 2))
            let button = try #require(h.buttons(copy).first { $0.hasPrefix("orig:") })
            #expect(try await h.tap(button, on: copy, by: 2, bot: bot) == "Mix the mortar")
            #expect(h.sandbox.calls("answerCallbackQuery").last?.parameters["show_alert"] == .bool(true))
            let long = String(repeating: "Mix the mortar slowly. ", count: 12)
            h.sandbox.send(long, from: 1, to: bot)
            try await h.waitForCopies(2, count: h.count(2) + 1)
            let longCopy = try #require(h.last(bot, 2))
            let before = h.count(2)
            _ = try await h.tap(try #require(h.buttons(longCopy).first), on: longCopy, by: 2, bot: bot)
            try await h.waitForCopies(2, count: before + 1)
            #expect(h.last(bot, 2)?.text == text(.relayOriginalHeader, "es") + "\n" + long)
            #expect(h.last(bot, 2)?.replyToMessage?.messageID == longCopy.messageID)

            // The worker chooses to see originals under translations.
            try await h.say("/settings", from: 2, to: bot)
            let settings = try #require(h.last(bot, 2))
            _ = try await h.tap("set:orig", on: settings, by: 2, bot: bot)
            h.sandbox.send("Clean the tools", from: 1, to: bot)
            try await h.waitFor("translation with its original") { _ in h.last(bot, 2)?.text == "[es] CLEAN THE TOOLS\n\nClean the tools" }
            let both = try #require(h.last(bot, 2))
            #expect(h.buttons(both).isEmpty)
            #expect(both.entities?.last?.type == .expandableBlockquote)
        }
    }

    @Test("the message id map survives a restart: a reply to a copy made before it still lands as a reply")
    func mapSurvivesRestart() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(2)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let path = directory.appendingPathComponent("bridgeos.sqlite").path
                let (question, copy) = try await withMedia(sandbox: sandbox, database: path) { h, _ in
                    try await h.connectedPair()
                    let question = try #require(h.sandbox.send("Is the crane free?", from: 1, to: h.bots[0]))
                    try await h.waitForCopies(2, count: h.count(2) + 1)
                    return (question, try #require(h.last(h.bots[0], 2)))
                }
                try await withMedia(sandbox: sandbox, database: path) { h, _ in
                    h.sandbox.send("Yes, after lunch", from: 2, to: h.bots[0], replyTo: copy.messageID)
                    try await h.waitFor("reply after restart") { _ in h.last(h.bots[0], 1)?.text == "[en] YES, AFTER LUNCH" }
                    #expect(h.last(h.bots[0], 1)?.replyToMessage?.messageID == question.messageID)
                }
                #expect(sandbox.violations.isEmpty, "spec violations: \(sandbox.violations)")
            }
        }
    }
}
