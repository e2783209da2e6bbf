import BridgeOSTranslation
import Testing

@Suite("Demo phrasebook translator")
struct PhrasebookTests {
    let translator = PhrasebookTranslator(phrasebook: .demo)

    func request(_ text: String, _ from: String, _ to: String, context: [String] = []) -> TranslationRequest {
        TranslationRequest(text: text, sourceLanguage: from, targetLanguage: to,
                           context: context.map { .init(role: .worker, text: $0) }, speaker: .manager)
    }

    @Test("a known sentence is translated into each language; case, spacing and region codes do not matter")
    func known() async throws {
        #expect(try await translator.translate(request("Good morning! Today we start on the third floor.", "en", "es"))
                == "¡Buenos días! Hoy empezamos en el tercer piso.")
        #expect(try await translator.translate(request("good  MORNING! today we start on the third floor.", "en-GB", "uk"))
                == "Доброго ранку! Сьогодні починаємо на третьому поверсі.")
        #expect(try await translator.translate(request("Perfecto, voy para allá.", "es", "en")) == "Great, on my way.")
    }

    @Test("the conversation decides a reading: “bring it” is feminine once the ladder was mentioned")
    func context() async throws {
        #expect(try await translator.translate(request("Yes, bring it.", "en", "es")) == "Sí, tráelo.")
        #expect(try await translator.translate(request("Yes, bring it.", "en", "es", context: ["Buenos días. ¿Llevo la escalera grande?"])) == "Sí, tráela.")
        #expect(try await translator.translate(request("Yes, bring it.", "en", "uk", context: ["the big LADDER"])) == "Так, принеси її.")
    }

    @Test("placeholders of protected spans come back unchanged")
    func placeholders() async throws {
        let original = "The plan is here: https://example.com/x — if anything is unclear, ask @foreman."
        let protected = ProtectedText(original, entities: [
            .init(type: .url, offset: 18, length: 21), .init(type: .mention, offset: 70, length: 8),
        ])
        #expect(protected.text == "The plan is here: ⟦1⟧ — if anything is unclear, ask ⟦2⟧.")
        let translated = try await translator.translate(request(protected.text, "en", "es"))
        #expect(protected.restore(in: translated) == "El plan está aquí: https://example.com/x — si algo no está claro, pregunta a @foreman.")
    }

    @Test("anything else is marked plainly as untranslated, its text (and placeholders) kept")
    func unknown() async throws {
        let answer = try await translator.translate(request("Where is ⟦1⟧?", "en", "es"))
        #expect(answer == "\(PhrasebookTranslator.untranslatedMark) Where is ⟦1⟧?")
        // A known sentence into a language the phrasebook lacks is not guessed either.
        #expect(try await translator.translate(request("Great, on my way.", "en", "de")).hasPrefix(PhrasebookTranslator.untranslatedMark))
    }
}
