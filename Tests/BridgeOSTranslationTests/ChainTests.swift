import BridgeOSTranslation
import CoreMetrics
import Foundation
import MetricsTestKit
import Synchronization
import Testing

/// A provider that answers, fails, or lacks pairs, as a test says.
final class ScriptedProvider: Translator {
    let provider: String
    let failure: Mutex<TranslationError?>
    let calls = Mutex(0)

    init(_ provider: String, failing failure: TranslationError? = nil) {
        self.provider = provider
        self.failure = Mutex(failure)
    }

    func translate(_ request: TranslationRequest) async throws -> String {
        calls.withLock { $0 += 1 }
        if let failure = failure.withLock({ $0 }) { throw failure }
        return "[\(provider)] \(request.text)"
    }
}

@Suite("Fallback chain")
struct ChainTests {
    let request = TranslationRequest(text: "Hola", sourceLanguage: "es", targetLanguage: "en", speaker: .worker)

    @Test("an outage of the first provider moves to the next, which is recorded as the translator; each one's errors are counted")
    func outage() async throws {
        let metrics = TestMetrics()
        let anthropic = ScriptedProvider("anthropic", failing: .retryable(reason: "HTTP 529: Overloaded", retryAfter: nil))
        let deepl = ScriptedProvider("deepl")
        let chain = TranslatorChain([anthropic, deepl], metrics: metrics)
        let translation = try await chain.translation(request)
        #expect(translation == Translation(text: "[deepl] Hola", provider: "deepl"))
        #expect(try metrics.expectCounter("bridgeos_translation_errors_total", [("provider", "anthropic"), ("kind", "retryable")]).totalValue == 1)
        #expect(try metrics.expectTimer("bridgeos_translation_duration_seconds", [("provider", "deepl")]).values.count == 1)
        // The failed one rests: the next message goes straight to deepl, without waiting for anthropic again.
        _ = try await chain.translation(request)
        #expect(anthropic.calls.withLock { $0 } == 1 && deepl.calls.withLock { $0 } == 2)
    }

    @Test("a pair the first provider lacks, or its spent quota, moves to the next")
    func unsupportedAndQuota() async throws {
        let apertium = ScriptedProvider("apertium", failing: .final(reason: "no spa-vie pair", kind: .unsupportedLanguage))
        let deepl = ScriptedProvider("deepl", failing: .final(reason: "HTTP 456", kind: .quotaExhausted))
        let openai = ScriptedProvider("openai")
        let chain = TranslatorChain([apertium, deepl, openai], metrics: NOOPMetricsHandler.instance)
        #expect(try await chain.translation(request).provider == "openai")
        // A final failure does not rest: the next message tries apertium again (another pair may suit it).
        _ = try await chain.translation(request)
        #expect(apertium.calls.withLock { $0 } == 2)
    }

    @Test("every provider failing: retryable (the message waits) when one of them is down, final when none can", arguments: [
        ([TranslationError.retryable(reason: "a", retryAfter: .seconds(30)), .final(reason: "b", kind: .unsupportedLanguage)],
         TranslationError.retryable(reason: "retryable: a (retry after 30.0 seconds); unsupportedLanguage: b", retryAfter: .seconds(30))),
        ([.retryable(reason: "a", retryAfter: .seconds(30)), .retryable(reason: "b", retryAfter: .seconds(5))],
         .retryable(reason: "retryable: a (retry after 30.0 seconds); retryable: b (retry after 5.0 seconds)", retryAfter: .seconds(5))),
        ([.final(reason: "a", kind: .unsupportedLanguage), .final(reason: "b", kind: .authentication)],
         .final(reason: "unsupportedLanguage: a; authentication: b", kind: .authentication)),
        ([.final(reason: "a", kind: .unsupportedLanguage), .final(reason: "b", kind: .unsupportedLanguage)],
         .final(reason: "unsupportedLanguage: a; unsupportedLanguage: b", kind: .unsupportedLanguage)),
    ])
    func allFail(_ failures: [TranslationError], _ expected: TranslationError) async throws {
        let chain = TranslatorChain(failures.enumerated().map { ScriptedProvider("p\($0.offset)", failing: $0.element) }, metrics: NOOPMetricsHandler.instance)
        await #expect(throws: expected) { _ = try await chain.translation(request) }
    }

    @Test("a member left out (its answer lost a placeholder) is skipped, unless it is the only one")
    func excluding() async throws {
        let chain = TranslatorChain([ScriptedProvider("libretranslate"), ScriptedProvider("openai")], metrics: NOOPMetricsHandler.instance)
        #expect(try await chain.translation(request, excluding: ["libretranslate"]).provider == "openai")
        #expect(try await chain.translation(request, excluding: ["libretranslate", "openai"]).provider == "libretranslate")
    }

    @Test("a resting provider comes back once its time is up")
    func rest() async throws {
        let first = ScriptedProvider("first", failing: .retryable(reason: "down", retryAfter: .milliseconds(200)))
        let second = ScriptedProvider("second")
        let chain = TranslatorChain([first, second], metrics: NOOPMetricsHandler.instance)
        _ = try await chain.translation(request)
        first.failure.withLock { $0 = nil }
        #expect(try await chain.translation(request).provider == "second")
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await chain.translation(request).provider == "first")
    }

    @Test("the prompt carries only the glossary terms the message contains, whole words, any case")
    func glossaryInPrompt() {
        let request = TranslationRequest(
            text: "Bring the REBAR and the drywall screws", sourceLanguage: "en", targetLanguage: "es", speaker: .manager,
            glossary: [GlossaryTerm(source: "rebar", target: "varilla corrugada"), GlossaryTerm(source: "drywall", target: "placa de yeso"),
                       GlossaryTerm(source: "bar", target: "barra"), GlossaryTerm(keep: "Hilti TE-30"), GlossaryTerm(source: "scaffolding", target: "andamio")])
        let system = TranslationPrompt.messages(for: request)[0].content
        #expect(system.contains("\"rebar\" → \"varilla corrugada\"") && system.contains("\"drywall\" → \"placa de yeso\""))
        #expect(!system.contains("barra") && !system.contains("andamio") && !system.contains("Hilti"))
        #expect(GlossaryTerm(keep: "Hilti TE-30").occurs(in: "use the hilti te-30 today"))
        #expect(GlossaryTerm(source: "钢筋", target: "rebar").occurs(in: "把钢筋拿来"))
    }
}
