import AsyncHTTPClient
import BridgeOSCore
import BridgeOSTelegram
import BridgeOSTestSupport
@testable import BridgeOSTranslation
import Foundation
import Logging
import Synchronization
import Testing

/// The glossaries a DeepL stand-in holds.
final class Glossaries: Sendable {
    let list = Mutex<[(id: String, name: String)]>([])
}

@Suite("DeepL")
struct DeepLTests {
    static let key = "deepl-SECRET-key:fx"
    static let sources = FakeProvider.Answer.json(["DE", "EN", "ES", "FR", "PL", "PT", "RU", "UK"].map { ["language": $0, "name": $0] })
    static let targets = FakeProvider.Answer.json(["DE", "EN-GB", "EN-US", "ES", "FR", "PL", "PT-BR", "PT-PT", "RU", "UK"].map { ["language": $0, "name": $0] })

    static func server(translate: @escaping FakeServer.Handler = { _ in .json(["translations": [["detected_source_language": "ES", "text": "Bring the rebar to <x i=\"0\"/>"]]]) },
                       glossaries: Glossaries = Glossaries()) -> FakeServer {
        FakeServer([
            "GET /v2/languages": { request in request.query.contains("type=target") ? targets : sources },
            "POST /v2/translate": translate,
            "GET /v2/glossaries": { _ in .json(["glossaries": glossaries.list.withLock { $0.map { ["glossary_id": $0.id, "name": $0.name, "ready": true] } }]) },
            "POST /v2/glossaries": { request in
                let name = request.json?["name"] as? String ?? "?"
                let id = "g\(glossaries.list.withLock { $0.count } + 1)"
                glossaries.list.withLock { $0.append((id, name)) }
                return .json(["glossary_id": id, "name": name, "ready": true, "source_lang": "es", "target_lang": "en", "entry_count": 1], status: 201)
            },
            "DELETE /v2/glossaries/:id": { request in
                glossaries.list.withLock { $0.removeAll { request.path.hasSuffix("/" + $0.id) } }
                return FakeProvider.Answer(status: 204, body: "")
            },
        ])
    }

    func translator(_ base: String, _ http: HTTPClient) -> DeepLTranslator {
        DeepLTranslator(configuration: DeepLConfiguration(apiKey: Self.key, baseURL: base), httpClient: http, logger: Logger(label: "test"))
    }

    @Test("kept names are wrapped as whole words only, never inside a tag or an entity")
    func keepBoundaries() {
        let markup = DeepLMarkup(text: "TE latte ⟦1⟧ & te", placeholders: ["⟦1⟧"], keep: ["te", "amp"])
        #expect(markup.text == "<keep>TE</keep> latte <x i=\"0\"/> &amp; <keep>te</keep>")
        #expect(markup.restore("<keep>TE</keep> latte <x i=\"0\"/> &amp; <keep>te</keep>") == "TE latte ⟦1⟧ & te")
    }

    @Test("a free key uses api-free.deepl.com, a pro key api.deepl.com")
    func endpoints() {
        #expect(DeepLConfiguration(apiKey: "abc:fx").baseURL == "https://api-free.deepl.com")
        #expect(DeepLConfiguration(apiKey: "abc").baseURL == "https://api.deepl.com")
    }

    @Test("the exact request: the key header, codes DeepL wants, the conversation as context, the team's glossary, placeholders and kept names as tags")
    func exactRequest() async throws {
        let glossaries = Glossaries()
        let fake = Self.server(glossaries: glossaries)
        var request = providerRequest
        request.text = "Trae la varilla Hilti a ⟦1⟧ & ya"
        let text = try await fake.run { base in try await withHTTPClient { http in try await translator(base, http).translate(request) } }
        #expect(text == "Bring the rebar to ⟦1⟧")
        let created = try #require(fake.received("POST /v2/glossaries").first?.json)
        #expect((created["name"] as? String)?.hasPrefix("bridgeos-m7-es-en-") == true)
        #expect(created["source_lang"] as? String == "es" && created["target_lang"] as? String == "en" && created["entries_format"] as? String == "tsv")
        #expect(created["entries"] as? String == "encofrado\tformwork\nvarilla\trebar")  // the whole pair's glossary, not the kept name
        let sent = try #require(fake.received("POST /v2/translate").first)
        #expect(sent.headers["authorization"] == "DeepL-Auth-Key \(Self.key)")
        let body = try #require(sent.json)
        #expect(body["text"] as? [String] == ["Trae la varilla <keep>Hilti</keep> a <x i=\"0\"/> &amp; ya"])
        #expect(body["source_lang"] as? String == "ES" && body["target_lang"] as? String == "EN-US")
        #expect(body["context"] as? String == "Where are you?")
        #expect(body["glossary_id"] as? String == "g1" && body["tag_handling"] as? String == "xml" && body["ignore_tags"] as? [String] == ["keep"])
        // The next request reuses the glossary; a changed glossary replaces it (the old one deleted).
        request.glossary.append(GlossaryTerm(source: "andamio", target: "scaffolding"))
        _ = try await fake.run { base in try await withHTTPClient { http in
            let deepl = translator(base, http)
            _ = try await deepl.translate(providerRequest)
            return try await deepl.translate(request)
        } }
        #expect(fake.received("POST /v2/glossaries").count == 2)
        #expect(fake.received("DELETE /v2/glossaries/:id").map(\.path) == ["/v2/glossaries/g1"])
        #expect(glossaries.list.withLock { $0.map { $0.id } } == ["g2"])
    }

    @Test("456 (quota used up) is final; 429 and 5xx are retried; a pair DeepL lacks is unsupported without a translate call")
    func errors() async throws {
        let script = Script([
            .json(["message": "Quota exceeded"], status: 456),
            .json(["message": "Too many requests"], status: 429, headers: ["retry-after": "3"]),
            FakeProvider.Answer(status: 503, body: ""),
            .json(["message": "Wrong endpoint"], status: 403),
        ], then: .json(["translations": [["text": "ok"]]]))
        let fake = Self.server(translate: { _ in script.next() })
        var plain = providerRequest
        plain.glossary = []
        plain.placeholders = []
        plain.text = "Hola"
        try await fake.run { base in
            try await withHTTPClient { http in
                let deepl = translator(base, http)
                await #expect(throws: TranslationError.final(reason: "HTTP 456: Quota exceeded", kind: .quotaExhausted)) { _ = try await deepl.translate(plain) }
                await #expect(throws: TranslationError.retryable(reason: "HTTP 429: Too many requests", retryAfter: .seconds(3))) { _ = try await deepl.translate(plain) }
                await #expect(throws: TranslationError.retryable(reason: "HTTP 503", retryAfter: nil)) { _ = try await deepl.translate(plain) }
                await #expect(throws: TranslationError.final(reason: "HTTP 403: Wrong endpoint", kind: .authentication)) { _ = try await deepl.translate(plain) }
                var vietnamese = plain
                vietnamese.targetLanguage = "vi"
                await #expect(throws: TranslationError.final(reason: "DeepL does not translate es to vi", kind: .unsupportedLanguage)) {
                    _ = try await deepl.translate(vietnamese)
                }
                let support = try await deepl.languageSupport()
                #expect(support.contains(LanguagePair("es", "pt")) && support.contains(LanguagePair("uk", "en")) && !support.contains(LanguagePair("es", "vi")))
            }
        }
        #expect(fake.received("POST /v2/translate").count == 4)
    }
}

@Suite("LibreTranslate")
struct LibreTranslateTests {
    static let languages = FakeProvider.Answer.json([
        ["code": "en", "name": "English", "targets": ["es", "uk"]], ["code": "es", "name": "Spanish", "targets": ["en"]],
        ["code": "uk", "name": "Ukrainian", "targets": ["en"]],
    ])

    @Test("the exact request with its key; the pairs it has; one it lacks is unsupported; rate limits are retried")
    func request() async throws {
        let script = Script([.json(["error": "Slowdown: 30 per 1 minute"], status: 429), .json(["error": "Invalid API key"], status: 403)],
                            then: .json(["translatedText": "Bring the rebar to ⟦1⟧"]))
        let fake = FakeServer(["GET /languages": { _ in Self.languages }, "POST /translate": { _ in script.next() }])
        try await fake.run { base in
            try await withHTTPClient { http in
                let libre = LibreTranslateTranslator(baseURL: base, apiKey: "lt-SECRET", httpClient: http, logger: Logger(label: "test"))
                await #expect(throws: TranslationError.retryable(reason: "HTTP 429: Slowdown: 30 per 1 minute", retryAfter: nil)) { _ = try await libre.translate(providerRequest) }
                await #expect(throws: TranslationError.final(reason: "HTTP 403: Invalid API key", kind: .authentication)) { _ = try await libre.translate(providerRequest) }
                let translated = try await libre.translate(providerRequest)
                #expect(translated == "Bring the rebar to ⟦1⟧")
                var toSpanish = providerRequest
                (toSpanish.sourceLanguage, toSpanish.targetLanguage) = ("uk", "es")
                await #expect(throws: TranslationError.final(reason: "LibreTranslate here does not translate uk to es", kind: .unsupportedLanguage)) {
                    _ = try await libre.translate(toSpanish)
                }
                let support = try await libre.languageSupport()
                #expect(support == .pairs([LanguagePair("en", "es"), LanguagePair("en", "uk"), LanguagePair("es", "en"), LanguagePair("uk", "en")]))
            }
        }
        let body = try #require(fake.received("POST /translate").last?.json)
        #expect(body["q"] as? String == "Trae la varilla a ⟦1⟧" && body["source"] as? String == "es" && body["target"] as? String == "en")
        #expect(body["format"] as? String == "text" && body["api_key"] as? String == "lt-SECRET")
        #expect(fake.received("POST /translate").count == 3)
        #expect(fake.received("GET /languages").count == 1)  // cached
    }
}

@Suite("Apertium APy")
struct ApertiumTests {
    static let pairs = FakeProvider.Answer.json(["responseData": [
        ["sourceLanguage": "spa", "targetLanguage": "eng"], ["sourceLanguage": "eng", "targetLanguage": "spa"],
        ["sourceLanguage": "por_BR", "targetLanguage": "spa"], ["sourceLanguage": "cat", "targetLanguage": "spa"],
    ], "responseDetails": NSNull(), "responseStatus": 200])

    @Test("langpair in ISO 639-3, the text as a form; the installed pairs; a pair it lacks is reported, never guessed")
    func request() async throws {
        let script = Script([.json(["status": "error", "code": 400, "message": "Bad Request", "explanation": "That pair is not installed"], status: 400)],
                            then: .json(["responseData": ["translatedText": "Bring the rebar to ⟦1⟧"], "responseDetails": NSNull(), "responseStatus": 200]))
        let fake = FakeServer(["GET /listPairs": { _ in Self.pairs }, "POST /translate": { _ in script.next() }])
        try await fake.run { base in
            try await withHTTPClient { http in
                let apertium = ApertiumTranslator(baseURL: base, httpClient: http, logger: Logger(label: "test"))
                // Listed but refused (removed since the listing): reported as unsupported.
                await #expect(throws: TranslationError.final(reason: "HTTP 400: That pair is not installed", kind: .unsupportedLanguage)) {
                    _ = try await apertium.translate(providerRequest)
                }
                let translated = try await apertium.translate(providerRequest)
                #expect(translated == "Bring the rebar to ⟦1⟧")
                var toVietnamese = providerRequest
                toVietnamese.targetLanguage = "vi"
                await #expect(throws: TranslationError.final(reason: "Apertium here has no spa-vie pair installed", kind: .unsupportedLanguage)) {
                    _ = try await apertium.translate(toVietnamese)
                }
                let support = try await apertium.languageSupport()
                #expect(support == .pairs([LanguagePair("es", "en"), LanguagePair("en", "es"), LanguagePair("pt", "es")]))
            }
        }
        let form = try #require(fake.received("POST /translate").last?.form)
        #expect(form == ["langpair": "spa|eng", "q": "Trae la varilla a ⟦1⟧", "markUnknown": "no"])
        #expect(fake.received("POST /translate").count == 2)
    }
}
