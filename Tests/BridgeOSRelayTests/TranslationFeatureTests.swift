import AsyncHTTPClient
import BridgeOSCore
import BridgeOSFlows
import BridgeOSRelay
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import BridgeOSTranslation
import Foundation
import Logging
import Testing

/// The relay with a real OpenAI-compatible translator and transcriber, both stand-ins on 127.0.0.1 (the
/// translator tags each text with its target language; the transcriber reads the words the test put in
/// the voice file), and voice files fetched from the sandbox over the Bot API.
func withVoiceRelay<T>(_ body: (Harness, FakeServer) async throws -> T) async throws -> T {
    let whisper = FakeServer(["POST /v1/audio/transcriptions": { request in
        // The test's "audio" is "OggS " and the words.
        let body = String(decoding: request.body, as: UTF8.self)
        let words = body.components(separatedBy: "OggS ").dropFirst().first?.components(separatedBy: "\r\n").first ?? ""
        return .json(["text": words])
    }])
    let llm = FakeProvider()
    llm.fallback.withLock { $0 = FakeProvider.taggedTranslation }
    return try await whisper.run { whisperBase in try await llm.run { llmBase in
        try await BotAPISandbox.run(bots: SandboxBot.make(2)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                try await withHTTPClient { http in
                    let logger = Logger(label: "relay")
                    let settings = RelaySettings(freeMessages: 100, hourlyCap: 300, contextMessages: 6)
                    let translator = OpenAITranslator(configuration: OpenAIConfiguration(baseURL: llmBase, apiKey: "sk-test"), httpClient: http, logger: logger)
                    let transcriber = OpenAITranscriber(configuration: TranscriberConfiguration(baseURL: whisperBase + "/v1", apiKey: "sk-whisper"),
                                                        httpClient: http, logger: logger)
                    var clients: [BotSlot: any TelegramBotAPI] = [:]
                    for (index, bot) in sandbox.bots.enumerated() {
                        clients[BotSlot(index + 1)!] = BotAPIClient(token: bot.token, httpClient: http, configuration: BotAPIConfiguration(baseURL: sandbox.baseURL),
                                                                   logger: logger)
                    }
                    let notices = CounterpartNotices(localizer: localizer)
                    let result = try await withRuntime(
                        handler: CompositeHandler([ConversationRouter(localizer: localizer, relay: TranslationRelay(settings: settings)), notices]),
                        makeJobHandlers: { database, signals in
                            RelayJobs.handlers(database: database, translator: translator, localizer: localizer, settings: settings, signals: signals,
                                               voice: VoiceTranscription(transcriber: transcriber, files: BotVoiceFiles(clients: clients), database: database,
                                                                         logger: logger),
                                               logger: logger)
                        },
                        observer: notices, existingDatabase: directory.appendingPathComponent("bridgeos.sqlite").path, sandbox: sandbox
                    ) { h in try await body(h, whisper) }
                    #expect(sandbox.violations.isEmpty, "spec violations: \(sandbox.violations)")
                    return result
                }
            }
        }
    } }
}

@Suite("Glossaries, back-translation and voice messages")
struct TranslationFeatureTests {
    @Test("a new construction manager starts with the trade's glossary: its terms reach the prompt, and the provider is stored with the message")
    func starterGlossary() async throws {
        try await withRelay { h, translator in
            try await h.connectedPair()
            let bot = h.bots[0]
            let before = h.count(2)
            h.sandbox.send("Bring the rebar and the scaffolding plan", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: before + 1)
            let request = try #require(translator.requests.withLock { $0.last })
            #expect(request.glossary.contains(GlossaryTerm(source: "rebar", target: "varilla corrugada")))
            #expect(request.glossaryInText.map(\.source) == ["rebar", "scaffolding"])
            let system = TranslationPrompt.messages(for: request)[0].content
            #expect(system.contains("\"rebar\" → \"varilla corrugada\"") && system.contains("\"scaffolding\" → \"andamio\"") && !system.contains("hormigón"))
            let stored = try h.database.read { tx in try tx.lastMessage(connection: 1, sender: 1) }
            #expect(stored?.translatedBy == "other")
        }
    }

    @Test("/glossary: add a term, extend it with another language, keep a name, list, remove; clear refusals; workers are pointed to their manager")
    func glossaryCommand() async throws {
        try await withRelay { h, translator in
            try await h.connectedPair()
            let bot = h.bots[0]
            var reply = try await h.say("/glossary add es ladder = escalera", from: 1, to: bot)
            #expect(reply?.text == text(.glossaryAdded, "en", ["entry": "ladder · es: escalera"]))
            reply = try await h.say("/glossary add uk Ladder = драбина", from: 1, to: bot)
            #expect(reply?.text == text(.glossaryAdded, "en", ["entry": "ladder · es: escalera · uk: драбина"]))
            reply = try await h.say("/glossary keep Hilti TE-30", from: 1, to: bot)
            #expect(reply?.text == text(.glossaryKept, "en", ["term": "Hilti TE-30"]))
            reply = try await h.say("/glossary keep hilti te-30", from: 1, to: bot)
            #expect(reply?.text == text(.glossaryDuplicate, "en", ["term": "hilti te-30"]))
            reply = try await h.say("/glossary add xx door = puerta", from: 1, to: bot)
            #expect(reply?.text == text(.glossaryBadLanguage, "en", ["code": "xx"]))
            reply = try await h.say("/glossary add es door", from: 1, to: bot)
            #expect(reply?.text?.hasPrefix(text(.glossaryInvalid, "en")) == true)
            reply = try await h.say("/glossary", from: 1, to: bot)
            let list = try #require(reply?.text)
            #expect(list.contains("1. rebar · es: varilla corrugada · +12") && list.contains("🔒 Hilti TE-30") && list.contains(text(.glossaryHelp, "en")))
            let count = try h.database.read { tx in try tx.glossary(manager: 1).count }
            #expect(count == 5 + 2)  // five starter entries for construction, the ladder, the kept name
            reply = try await h.say("/glossary remove 1", from: 1, to: bot)
            #expect(reply?.text?.hasPrefix(text(.glossaryRemoved, "en", ["entry": "rebar"])) == true)
            reply = try await h.say("/glossary remove 99", from: 1, to: bot)
            #expect(reply?.text == text(.glossaryNotFound, "en", ["number": "99"]))
            reply = try await h.say("/glossary", from: 2, to: bot)
            #expect(reply?.text == text(.glossaryManagersOnly, "es"))
            // The terms reach the translation of the next message.
            let before = h.count(2)
            h.sandbox.send("Bring the ladder and the Hilti TE-30", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: before + 1)
            let request = try #require(translator.requests.withLock { $0.last })
            #expect(request.glossaryInText == [GlossaryTerm(source: "ladder", target: "escalera"), GlossaryTerm(keep: "Hilti TE-30")])
        }
    }

    @Test("/check answers with what the worker received, translated back, as a reply to the message; a translator outage is said at once")
    func backTranslation() async throws {
        try await withRelay { h, translator in
            try await h.connectedPair()
            let bot = h.bots[0]
            let workerBefore = h.count(2)
            let sent = try #require(h.sandbox.send("Bring the ladder", from: 1, to: bot))
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            let before = h.count(1)
            h.sandbox.send("/check", from: 1, to: bot, replyTo: sent.messageID)
            try await h.waitForTexts(bot, 1, count: before + 1)
            let answer = try #require(h.last(bot, 1))
            #expect(answer.text == text(.checkResult, "en", ["name": "Iván", "text": "[en] [ES] BRING THE LADDER"]))
            #expect(answer.replyToMessage?.messageID == sent.messageID)
            let back = try #require(translator.requests.withLock { $0.last })
            #expect(back.sourceLanguage == "es" && back.targetLanguage == "en" && back.text == "[es] BRING THE LADDER")
            // Without a reply: the last message. The translator down: told, not kept waiting.
            translator.down.withLock { $0 = true }
            try await h.say("/check", from: 1, to: bot)
            #expect(h.last(bot, 1)?.text == text(.checkFailed, "en"))
            // The worker's reply to a message that is not theirs.
            let workerMessage = try #require(h.sandbox.botMessages(bot, 2).last)
            h.sandbox.send("/check", from: 2, to: bot, replyTo: workerMessage.messageID)
            try await h.waitForTexts(bot, 2, count: workerBefore + 2)
            #expect(h.last(bot, 2)?.text == text(.checkNotYours, "es", ["name": "Marta"]))
        }
    }

    @Test("a voice note is fetched through its bot, transcribed, translated and delivered as the voice with the translated words")
    func voiceNote() async throws {
        try await withVoiceRelay { h, whisper in
            try await h.connectedPair()
            let bot = h.bots[0]
            let before = h.count(1)
            h.sandbox.sendMedia(.voice, from: 2, to: bot, bytes: Data("OggS Ya terminé el baño, mañana empiezo la cocina".utf8))
            try await h.sandbox.wait(timeout: .seconds(15), "the voice copy") { $0.botMessages(bot, 1).count > before }
            let copy = try #require(h.last(bot, 1))
            #expect(copy.voice != nil)
            #expect(copy.caption == text(.relayVoiceTranscribedLabel, "en", ["name": "Iván"]) + "\n[en] Ya terminé el baño, mañana empiezo la cocina")
            let sent = try #require(whisper.received("POST /v1/audio/transcriptions").first)
            #expect(String(decoding: sent.body, as: UTF8.self).contains("name=\"language\"\r\n\r\nes\r\n"))
            let stored = try h.database.read { tx in try tx.lastMessage(connection: 1, sender: 2) }
            #expect(stored?.transcript == "Ya terminé el baño, mañana empiezo la cocina" && stored?.translatedBy == "openai")
            // The sender can check how it reads, too.
            let workerBefore = h.count(2)
            h.sandbox.send("/check", from: 2, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            #expect(h.last(bot, 2)?.text == text(.checkResult, "es", ["name": "Marta", "text": "[es] [en] Ya terminé el baño, mañana empiezo la cocina"]))
        }
    }
}
