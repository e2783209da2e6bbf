import Foundation

/// One message to translate, with what the model needs to get it right.
public struct TranslationRequest: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable { case manager, worker }

    public struct ContextLine: Sendable, Equatable {
        public let role: Role
        public let text: String

        public init(role: Role, text: String) {
            self.role = role
            self.text = text
        }
    }

    /// The text to translate; protected spans are already replaced by placeholders (see `ProtectedText`).
    public var text: String
    public var sourceLanguage: String
    public var targetLanguage: String
    /// Earlier messages of the conversation, oldest first, as context only.
    public var context: [ContextLine]
    public var speaker: Role
    /// "female", "male" or "unspecified".
    public var speakerGender: String
    public var addresseeGender: String
    /// The manager's industry (e.g. "construction"), for vocabulary.
    public var industry: String
    /// Placeholders that must come back unchanged.
    public var placeholders: [String]
    /// The manager's glossary for this language pair (all of it: the prompt picks what occurs in the
    /// message, DeepL gets the whole pair as a glossary).
    public var glossary: [GlossaryTerm]
    /// Whose glossary it is (the manager's id), so a provider that stores glossaries keeps one per team.
    public var glossaryOwner: Int64?

    public init(text: String, sourceLanguage: String, targetLanguage: String, context: [ContextLine] = [], speaker: Role,
                speakerGender: String = "unspecified", addresseeGender: String = "unspecified", industry: String = "other",
                placeholders: [String] = [], glossary: [GlossaryTerm] = [], glossaryOwner: Int64? = nil) {
        self.text = text
        self.sourceLanguage = sourceLanguage
        self.targetLanguage = targetLanguage
        self.context = context
        self.speaker = speaker
        self.speakerGender = speakerGender
        self.addresseeGender = addresseeGender
        self.industry = industry
        self.placeholders = placeholders
        self.glossary = glossary
        self.glossaryOwner = glossaryOwner
    }

    /// The glossary terms that occur in the text (case-insensitive), for a prompt that stays short.
    public var glossaryInText: [GlossaryTerm] {
        glossary.filter { $0.occurs(in: text) }
    }
}

/// Why a translation failed, split by what to do about it.
public enum TranslationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Try again later (rate limit, provider outage, timeout); `retryAfter` when the provider said.
    case retryable(reason: String, retryAfter: Duration?)
    /// Will not succeed by retrying: bad credentials, quota exhausted, a refused request.
    case final(reason: String, kind: FinalKind)

    public enum FinalKind: String, Sendable, Equatable {
        case authentication, quotaExhausted, badRequest, invalidAnswer
        /// The provider does not translate between these two languages (a fallback may).
        case unsupportedLanguage
        /// The provider declined this text (a safety filter).
        case refused
        /// No answer in time, where trying again would redo (and pay for) the whole work.
        case timedOut
    }

    /// A short label for metrics ("retryable", "quota_exhausted", …).
    public var kindLabel: String {
        switch self {
        case .retryable: "retryable"
        case let .final(_, kind):
            switch kind {
            case .authentication: "authentication"
            case .quotaExhausted: "quota_exhausted"
            case .badRequest: "bad_request"
            case .invalidAnswer: "invalid_answer"
            case .unsupportedLanguage: "unsupported_language"
            case .refused: "refused"
            case .timedOut: "timed_out"
            }
        }
    }

    public var description: String {
        switch self {
        case let .retryable(reason, after): "retryable: \(reason)" + (after.map { " (retry after \($0))" } ?? "")
        case let .final(reason, kind): "\(kind.rawValue): \(reason)"
        }
    }
}

/// A translation and the provider that made it (stored with the message).
public struct Translation: Sendable, Equatable {
    public var text: String
    public var provider: String

    public init(text: String, provider: String) {
        self.text = text
        self.provider = provider
    }
}

/// Which language pairs a provider translates.
public enum LanguageSupport: Sendable, Equatable {
    /// Any pair (an LLM).
    case any
    /// Only these (source, target) pairs, by BridgeOS language code.
    case pairs(Set<LanguagePair>)

    public func contains(_ pair: LanguagePair) -> Bool {
        switch self {
        case .any: true
        case let .pairs(pairs): pairs.contains(pair)
        }
    }
}

public struct LanguagePair: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let source: String
    public let target: String

    public init(_ source: String, _ target: String) {
        self.source = source
        self.target = target
    }

    public var description: String { "\(source)→\(target)" }
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.source, lhs.target) < (rhs.source, rhs.target) }
}

/// A translation provider (OpenAI-compatible, Anthropic, Gemini, DeepL, LibreTranslate, Apertium), or a
/// chain of them; tests use their own.
public protocol Translator: Sendable {
    /// The translation of `request.text`, placeholders kept. Throws only `TranslationError`.
    func translate(_ request: TranslationRequest) async throws -> String
    /// A short fixed name for metrics and the dashboard ("openai", "deepl", "phrasebook").
    var provider: String { get }
    /// The translation with the name of the provider that made it (a chain names the member that answered).
    func translation(_ request: TranslationRequest) async throws -> Translation
    /// The pairs this provider translates; asks the provider where it publishes them. Throws `TranslationError`.
    func languageSupport() async throws -> LanguageSupport
}

extension Translator {
    public var provider: String { "other" }

    public func translation(_ request: TranslationRequest) async throws -> Translation {
        Translation(text: try await translate(request), provider: provider)
    }

    public func languageSupport() async throws -> LanguageSupport { .any }
}
