import BridgeOSCore
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A stand-in for a Whisper server (OpenAI's `/audio/transcriptions`) on 127.0.0.1, for the demo: the
/// demo's "voice notes" are files that hold their words after an `OggS ` mark, and it reads them back.
/// Nothing leaves the machine; a real server (BRIDGEOS_TRANSCRIBER_URL) hears real audio.
enum TranscriptionStandIn {
    static let mark = "OggS "

    /// The bytes of a demo voice note saying `words`.
    static func voiceNote(_ words: String) -> Data { Data((mark + words).utf8) }

    static func run<T>(_ body: (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/v1/audio/transcriptions") { request, _ -> Response in
            var request = request
            let upload = String(decoding: Data(buffer: try await request.collectBody(upTo: 25 << 20)), as: UTF8.self)
            let words = upload.components(separatedBy: mark).dropFirst().first?.components(separatedBy: "\r\n").first ?? ""
            let json = try JSONSerialization.data(withJSONObject: ["text": words])
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: json)))
        }
        return try await LoopbackServer.run(router) { port in try await body("http://127.0.0.1:\(port)/v1") }
    }
}

/// The story's voice scene: a voice note transcribed and translated, the team's glossary, and /check.
extension DemoStory {
    func voiceAndCheck() async throws {
        out.heading("6. A voice note, the team's glossary, and a check of how a message reads")
        let line1 = bots[0]
        driver.narrate("Iván's hands are full, so he records a voice note in Spanish. serve fetches it through the bot, a Whisper server transcribes it (here a stand-in on 127.0.0.1 that reads the words the demo put in the file), and Marta gets the voice with its words in English.")
        let before = driver.count(line1, marta)
        driver.sandbox.sendMedia(.voice, from: ivan.id, to: line1, bytes: TranscriptionStandIn.voiceNote(book.text("voiceBathroom", "es")))
        driver.screens.action(ivan, line1, "records a voice note: “\(book.text("voiceBathroom", "es"))”")
        let arrived = try await driver.wait("Marta gets the voice note") { $0.botMessages(line1, 1001).count > before }
        await driver.settle()
        driver.screens.show(marta, line1)
        let copy = driver.sandbox.botMessages(line1, marta.id).dropFirst(before).first
        let words = driver.phrasebook == nil ? nil : book.text("voiceBathroom", "en")
        driver.check(arrived && copy?.voice != nil && (copy?.caption ?? "").contains(words ?? ""),
                     "Marta got Iván's voice note with its words in English")

        driver.narrate("Marta's glossary started with construction terms when she registered (her trade's starter list, in all 14 languages; the list shows her team's); the translator is given those that occur in a message. /glossary shows and edits it.")
        try await driver.say(marta, line1, "/glossary")
        driver.check(driver.botTexts(line1, marta).last?.contains("concrete · es: hormigón · uk: бетон · +11") == true,
                     "Marta's glossary lists the construction starter terms (concrete, rebar, scaffolding …)")

        driver.narrate("Before Friday's pour Marta wants to be sure Iván reads her instruction right. She replies /check to it: what he received comes back translated into English.")
        let instruction = try await driver.say(marta, line1, book.text("pourConcrete", "en"), then: [(ivan, line1, 1)])
        let beforeCheck = driver.count(line1, marta)
        driver.sandbox.send("/check", from: marta.id, to: line1, replyTo: instruction?.messageID)
        driver.screens.action(marta, line1, "replies /check to her instruction")
        let checked = try await driver.wait("the check comes back") { $0.botMessages(line1, 1001).count > beforeCheck }
        await driver.settle()
        driver.screens.show(marta, line1)
        let answer = driver.sandbox.botMessages(line1, marta.id).dropFirst(beforeCheck).first
        driver.check(checked && answer?.replyToMessage?.messageID == instruction?.messageID
                     && (driver.phrasebook == nil || answer?.text?.contains(book.text("pourConcrete", "en")) == true),
                     "Marta sees how Iván reads her instruction, translated back into English, as a reply to it")
    }
}
