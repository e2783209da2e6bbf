import Foundation

/// A large language model behind a chat API (OpenAI-compatible, Anthropic Messages, Gemini): the LLM
/// providers share the prompt builders (`TranslationPrompt`, `SummaryPrompt`) and differ only here.
public protocol ChatModel: Sendable {
    /// "openai", "anthropic", "gemini".
    var provider: String { get }
    /// The model's answer to a system message and a user message, trimmed. Throws `TranslationError`.
    func complete(_ messages: [TranslationPrompt.Message], what: String) async throws -> String
}

/// Translation by any chat model, with the shared prompt.
public struct LLMTranslator: Translator {
    public var provider: String { model.provider }
    let model: any ChatModel

    public init(_ model: any ChatModel) { self.model = model }

    public func translate(_ request: TranslationRequest) async throws -> String {
        Self.unwrap(try await model.complete(TranslationPrompt.messages(for: request), what: "translation"))
    }

    /// Some models echo the markers; keep what is inside them.
    static func unwrap(_ text: String) -> String {
        var text = text
        if text.hasPrefix("<message>") { text.removeFirst("<message>".count) }
        if text.hasSuffix("</message>") { text.removeLast("</message>".count) }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Summaries by any chat model.
public struct LLMSummarizer: Summarizer {
    let model: any ChatModel

    public init(_ model: any ChatModel) { self.model = model }

    public func summarize(_ request: SummaryRequest) async throws -> String {
        try await model.complete(SummaryPrompt.messages(for: request), what: "summary")
    }
}

extension TranslationPrompt {
    /// The system message and the rest joined, for APIs that take the system prompt apart (Anthropic, Gemini).
    static func split(_ messages: [Message]) -> (system: String, user: String) {
        let system = messages.filter { $0.role == "system" }.map(\.content).joined(separator: "\n")
        let user = messages.filter { $0.role != "system" }.map(\.content).joined(separator: "\n\n")
        return (system, user)
    }
}
