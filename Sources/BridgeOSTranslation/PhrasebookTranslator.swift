import Foundation

/// A translator without a provider: it knows a fixed set of sentences in several languages and marks
/// everything else plainly as untranslated. The demo uses it when no provider is configured, so the story
/// reads naturally on a machine with no key and no network.
public struct PhrasebookTranslator: Translator {
    public var provider: String { "phrasebook" }

    public let phrasebook: Phrasebook

    public init(phrasebook: Phrasebook) { self.phrasebook = phrasebook }

    /// Put before a text the phrasebook does not know.
    public static let untranslatedMark = "[untranslated: not in the demo phrasebook]"

    public func translate(_ request: TranslationRequest) async throws -> String {
        let context = request.context.map(\.text)
        if let translation = phrasebook.translate(request.text, from: request.sourceLanguage, to: request.targetLanguage, context: context) {
            return translation
        }
        return "\(Self.untranslatedMark) \(request.text)"
    }
}

/// Sentences with their translations; a sentence may read differently depending on the conversation
/// (context), as "bring it" does once a ladder (feminine in Spanish) has been mentioned.
public struct Phrasebook: Sendable {
    public struct Phrase: Sendable {
        /// A stable name, for the demo's script.
        public let id: String
        /// Language code → text; protected spans appear as placeholders (⟦1⟧, ⟦2⟧ …).
        public let texts: [String: String]
        /// Other readings, used when an earlier message of the conversation contains one of `words`.
        public let variants: [(words: [String], texts: [String: String])]

        public init(_ id: String, _ texts: [String: String], variants: [(words: [String], texts: [String: String])] = []) {
            self.id = id
            self.texts = texts
            self.variants = variants
        }
    }

    public let phrases: [Phrase]
    private let index: [String: Int]

    public init(_ phrases: [Phrase]) {
        self.phrases = phrases
        var index: [String: Int] = [:]
        for (position, phrase) in phrases.enumerated() {
            for (language, text) in phrase.texts { index[Self.key(text, language)] = position }
            for variant in phrase.variants {
                for (language, text) in variant.texts { index[Self.key(text, language)] = position }
            }
        }
        self.index = index
    }

    /// The text of phrase `id` in `language` (its plain reading). Traps on an unknown id or language: the
    /// script and the phrasebook are written together.
    public func text(_ id: String, _ language: String) -> String {
        guard let text = phrases.first(where: { $0.id == id })?.texts[Self.language(language)] else {
            preconditionFailure("the phrasebook has no \(id) in \(language)")
        }
        return text
    }

    /// The translation of `text`, or nil if the phrasebook does not know it in `source`.
    public func translate(_ text: String, from source: String, to target: String, context: [String] = []) -> String? {
        guard let position = index[Self.key(text, Self.language(source))] else { return nil }
        let phrase = phrases[position]
        let target = Self.language(target)
        let said = context.joined(separator: "\n").lowercased()
        for variant in phrase.variants where variant.words.contains(where: { said.contains($0.lowercased()) }) {
            if let text = variant.texts[target] { return text }
        }
        return phrase.texts[target]
    }

    /// "pt-BR" → "pt".
    static func language(_ code: String) -> String { String(code.lowercased().prefix(2)) }

    /// Case and spacing do not matter.
    static func key(_ text: String, _ language: String) -> String {
        language + "|" + text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
