import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation

/// The story's media scene: a photo, a reply to it, an album, a corrected message.
extension DemoStory {
    func media() async throws {
        out.heading("5. A photo, a reply to it, an album, and a correction")
        let line2 = bots[1]
        try await relay(marta, oksana, line2, "windows")
        let before = driver.count(line2, marta)
        try await driver.sendPhoto(oksana, line2, caption: book.text("cracked", "uk"), then: [(marta, line2, 1)])
        let photo = driver.sandbox.botMessages(line2, marta.id).dropFirst(before).first
        driver.check(photo?.photo != nil && (driver.phrasebook == nil || photo?.caption == book.text("cracked", "en")),
                     "Marta got the photo, its caption in English")

        driver.narrate("Marta answers that very photo (Telegram's Reply). Oksana sees the translation as a reply to her own photo; Marta's message gets a 👌 from the bot once it was delivered.")
        let oksanaBefore = driver.count(line2, oksana)
        let answer = driver.sandbox.send(book.text("glazier", "en"), from: marta.id, to: line2, replyTo: photo?.messageID)
        driver.screens.show(marta, line2)
        _ = try await driver.wait("Oksana gets the answer") { $0.botMessages(line2, 1003).count > oksanaBefore }
        await driver.settle()
        driver.screens.show(oksana, line2)
        let ownPhoto = driver.sandbox.chat(line2, oksana.id).last { !$0.fromBot && $0.message.photo != nil }?.message.messageID
        let reply = driver.sandbox.botMessages(line2, oksana.id).dropFirst(oksanaBefore).first
        driver.check(reply?.replyToMessage?.messageID != nil && reply?.replyToMessage?.messageID == ownPhoto,
                     "Oksana sees Marta's answer as a reply to her own photo")
        let answerID = answer?.messageID ?? 0
        let marked = try await driver.wait("the delivery mark on Marta's message") { sandbox in
            sandbox.botReaction(line2, chatID: 1001, messageID: answerID) == [.emoji("👌")]
        }
        driver.screens.action(marta, line2, "sees 👌 on her message: delivered")
        driver.check(marked, "Marta's message shows 👌 once Oksana has it")

        driver.narrate("Oksana sends three photos at once with one caption. Telegram delivers them as three messages; Marta gets them as one album, the caption translated once.")
        let martaBefore = driver.count(line2, marta)
        for index in 0..<3 {
            driver.sandbox.sendAlbumItem(.photo, from: oksana.id, to: line2, mediaGroupID: "demo-album-1",
                                         caption: index == 0 ? book.text("moreCracks", "uk") : nil)
        }
        driver.screens.show(oksana, line2)
        let wanted = driver.phrasebook == nil ? nil : book.text("moreCracks", "en")
        let album = try await driver.wait("the album reaches Marta, captioned") { sandbox in
            let items = sandbox.botMessages(line2, 1001).dropFirst(martaBefore)
            return items.count >= 3 && items.first?.caption != nil && (wanted == nil || items.first?.caption == wanted)
        }
        await driver.settle()
        driver.screens.show(marta, line2)
        let items = Array(driver.sandbox.botMessages(line2, marta.id).dropFirst(martaBefore))
        driver.check(album && items.count == 3 && Set(items.compactMap(\.mediaGroupID)).count == 1 && items.allSatisfy { $0.photo != nil },
                     "Marta got the three photos as one album, its caption in English")

        driver.narrate("Marta writes a time, then notices it is wrong and edits her message. The edit is translated again, and Oksana's copy changes in place: no second message to puzzle over.")
        let wrong = try await driver.say(marta, line2, book.text("glazierNine", "en"), then: [(oksana, line2, 1)])
        let copyID = driver.sandbox.botMessages(line2, oksana.id).last?.messageID ?? 0
        let countBefore = driver.count(line2, oksana)
        driver.sandbox.edit(messageID: wrong?.messageID ?? 0, from: marta.id, to: line2, newText: book.text("glazierTen", "en"))
        driver.screens.action(marta, line2, "edits her message: “\(book.text("glazierTen", "en"))”")
        let corrected = driver.phrasebook == nil ? nil : book.text("glazierTen", "uk")
        let changed = try await driver.wait("Oksana's copy changes") { sandbox in
            let copy = sandbox.botMessages(line2, 1003).first { $0.messageID == copyID }
            return copy?.editDate != nil && (corrected == nil || copy?.text == corrected)
        }
        await driver.settle()
        driver.screens.show(oksana, line2)
        driver.check(changed && driver.count(line2, oksana) == countBefore, "Oksana's copy changed in place to the corrected time")
    }
}
