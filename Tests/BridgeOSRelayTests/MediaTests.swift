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

@Suite("Media and albums")
struct MediaTests {
    @Test("every media kind is copied (no 'forwarded from'), its caption translated; a voice message and a video message say who sent them; a poll's question follows translated; a caption too long for Telegram follows as a reply")
    func everyKind() async throws {
        try await withMedia { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let before = h.count(2)
            h.sandbox.sendMedia(.photo, from: 1, to: bot, caption: "Crack in the wall")
            h.sandbox.sendMedia(.video, from: 1, to: bot, caption: "Watch the pump")
            h.sandbox.sendMedia(.animation, from: 1, to: bot)
            h.sandbox.sendMedia(.audio, from: 1, to: bot, caption: "The song")
            h.sandbox.sendMedia(.document, from: 1, to: bot, caption: "Plans for floor 2")
            h.sandbox.sendMedia(.voice, from: 1, to: bot)
            h.sandbox.sendMedia(.videoNote, from: 1, to: bot)
            h.sandbox.sendMedia(.sticker, from: 1, to: bot)
            h.sandbox.sendLocation(latitude: 40.41, longitude: -3.70, from: 1, to: bot)
            h.sandbox.sendVenue(title: "Site 4", address: "Calle Mayor 1", latitude: 40.41, longitude: -3.70, from: 1, to: bot)
            h.sandbox.sendContact(phone: "+34600000000", firstName: "Luis", from: 1, to: bot)
            h.sandbox.sendPoll(question: "Lunch at", options: ["12", "13"], from: 1, to: bot)
            let long = String(repeating: "Check the beam. ", count: 70)  // 1,120 characters
            h.sandbox.sendMedia(.photo, from: 1, to: bot, caption: long)
            // 13 messages: + the video message's label, the poll's question, the long caption's text.
            try await h.waitForCopies(2, count: before + 16)
            let copies = Array(h.sandbox.botMessages(bot, 2).suffix(16))
            #expect(copies.allSatisfy { $0.from?.isBot == true })
            #expect(copies[0].photo != nil && copies[0].caption == "[es] CRACK IN THE WALL")
            #expect(copies[1].video != nil && copies[1].caption == "[es] WATCH THE PUMP")
            #expect(copies[2].animation != nil && copies[2].caption == nil)
            #expect(copies[3].audio != nil && copies[3].caption == "[es] THE SONG")
            #expect(copies[4].document != nil && copies[4].caption == "[es] PLANS FOR FLOOR 2")
            #expect(copies[5].voice != nil && copies[5].caption == text(.relayVoiceUntranscribedLabel, "es", ["name": "Marta"]))
            #expect(copies[6].videoNote != nil)
            #expect(copies[7].text == text(.relayVideoNoteLabel, "es", ["name": "Marta"]) && copies[7].replyToMessage?.messageID == copies[6].messageID)
            #expect(copies[8].sticker != nil)
            #expect(copies[9].location != nil && copies[9].venue == nil)
            #expect(copies[10].venue?.title == "Site 4")
            #expect(copies[11].contact?.phoneNumber == "+34600000000")
            #expect(copies[12].poll?.question == "Lunch at")
            #expect(copies[13].text == "[es] LUNCH AT\n• 12\n• 13" && copies[13].replyToMessage?.messageID == copies[12].messageID)
            #expect(copies[14].photo != nil && copies[14].caption == nil)
            #expect(copies[15].text == "[es] " + long.uppercased() && copies[15].replyToMessage?.messageID == copies[14].messageID)
            // Translated captions carry the Original button; bare media do not.
            #expect(h.buttons(copies[0]).first?.hasPrefix("orig:") == true)
            #expect(h.buttons(copies[8]).isEmpty)
            #expect(h.sandbox.calls("forwardMessage").isEmpty)
        }
    }

    @Test("a dice cannot be passed on, and its sender is told; media with no worker in the slot, or past the free tier, get the same answers as text")
    func refusals() async throws {
        try await withMedia(freeMessages: 1) { h, _ in
            let bot = h.bots[0]
            try await h.registerManager(1, on: bot)
            h.sandbox.sendMedia(.photo, from: 1, to: bot, caption: "Anyone?")
            try await h.waitForCopies(1, count: h.count(1) + 1)
            #expect(h.last(bot, 1)?.text == en(.routeNoWorker))
            try await h.join(2, payload: try await h.invite(by: 1, on: bot), on: bot)
            let managerBefore = h.count(1)
            h.sandbox.sendDice(from: 1, to: bot)
            try await h.waitForCopies(1, count: managerBefore + 1)
            #expect(h.last(bot, 1)?.text == en(.relayUnsupportedKind, ["name": "Iván"]))
            // The one free message goes; the next photo is refused, and its sender told.
            h.sandbox.send("First", from: 1, to: bot)
            try await h.waitForCopies(2, count: h.count(2) + 1)
            let before = h.count(1)
            h.sandbox.sendMedia(.photo, from: 1, to: bot, caption: "Second")
            try await h.waitFor("refusal") { _ in h.texts(bot, 1).suffix(3).contains(en(.relayLimitReached, ["limit": "1"])) }
            #expect(h.count(1) > before)
            #expect(!h.sandbox.botMessages(bot, 2).contains { $0.photo != nil })
        }
    }

    @Test("a three-photo album arrives as one album with its caption translated once; a ten-photo album and a text sent right after lose nothing and keep their order")
    func albums() async throws {
        let translator = FakeTranslator()
        try await withMedia(translator: translator) { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let before = h.count(2)
            let requestsBefore = translator.requests.withLock { $0.count }
            h.sandbox.sendAlbumItem(.photo, from: 1, to: bot, mediaGroupID: "A1", caption: "Three angles of the leak")
            h.sandbox.sendAlbumItem(.photo, from: 1, to: bot, mediaGroupID: "A1")
            h.sandbox.sendAlbumItem(.photo, from: 1, to: bot, mediaGroupID: "A1")
            try await h.waitForCopies(2, count: before + 3)
            try await h.waitFor("caption") { _ in h.sandbox.botMessages(bot, 2).suffix(3).first?.caption == "[es] THREE ANGLES OF THE LEAK" }
            let album = Array(h.sandbox.botMessages(bot, 2).suffix(3))
            #expect(album.allSatisfy { $0.photo != nil })
            #expect(Set(album.compactMap(\.mediaGroupID)).count == 1 && album[0].mediaGroupID != nil)
            #expect(album[1].caption == nil && album[2].caption == nil)
            #expect(h.sandbox.calls("copyMessages").count == 1 && h.sandbox.calls("copyMessage").isEmpty)
            #expect(translator.requests.withLock { $0.count } == requestsBefore + 1)

            let start = h.count(2)
            for index in 1...10 {
                h.sandbox.sendAlbumItem(.photo, from: 1, to: bot, mediaGroupID: "A2", caption: index == 1 ? "Ten rooms done" : nil)
            }
            h.sandbox.send("And the hallway too", from: 1, to: bot)
            try await h.waitForCopies(2, count: start + 11)
            let after = Array(h.sandbox.botMessages(bot, 2).suffix(from: start))
            #expect(after.count == 11)
            #expect(after.prefix(10).allSatisfy { $0.photo != nil && $0.mediaGroupID == after[0].mediaGroupID })
            #expect(after[10].text == "[es] AND THE HALLWAY TOO")
            try await h.waitFor("caption of the second album") { _ in h.message(bot, 2, id: after[0].messageID)?.caption == "[es] TEN ROOMS DONE" }
            // Each item's copy is mapped (a reply to any of them finds its original).
            let mapped = try h.database.read { tx in try tx.messages(connection: 1, since: .distantPast, until: .distantFuture) }
                .filter { $0.mediaGroupID == "A2" }
            #expect(mapped.count == 10)
            #expect(try h.database.read { tx in try mapped.allSatisfy { try tx.copies(of: $0.id).count == 1 } })
        }
    }
}
