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

    public init(text: String, sourceLanguage: String, targetLanguage: String, context: [ContextLine] = [], speaker: Role,
                speakerGender: String = "unspecified", addresseeGender: String = "unspecified", industry: String = "other",
                placeholders: [String] = []) {
        self.text = text
        self.sourceLanguage = sourceLanguage
        self.targetLanguage = targetLanguage
        self.context = context
        self.speaker = speaker
        self.speakerGender = speakerGender
        self.addresseeGender = addresseeGender
        self.industry = industry
        self.placeholders = placeholders
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
    }

    public var description: String {
        switch self {
        case let .retryable(reason, after): "retryable: \(reason)" + (after.map { " (retry after \($0))" } ?? "")
        case let .final(reason, kind): "\(kind.rawValue): \(reason)"
        }
    }
}

/// A translation provider. `OpenAITranslator` talks to any OpenAI-compatible Chat Completions server;
/// tests use their own.
public protocol Translator: Sendable {
    /// The translation of `request.text`, placeholders kept. Throws only `TranslationError`.
    func translate(_ request: TranslationRequest) async throws -> String
    /// A short fixed name for metrics and the dashboard ("openai", "phrasebook").
    var provider: String { get }
}

extension Translator {
    public var provider: String { "other" }
}
