import AsyncHTTPClient
import BridgeOSCore
import BridgeOSTelegram
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Settings of an OpenAI-compatible Chat Completions provider (OpenAI, Ollama, vLLM, llama.cpp server…).
public struct OpenAIConfiguration: Sendable {
    /// e.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`.
    public var baseURL: String
    /// Empty for local servers that need none.
    public var apiKey: String
    public var model: String
    public var temperature: Double
    public var timeout: Duration

    public init(baseURL: String = "https://api.openai.com/v1", apiKey: String, model: String = "gpt-4o-mini",
                temperature: Double = 0.2, timeout: Duration = .seconds(60)) {
        self.baseURL = baseURL.withoutTrailingSlash
        self.apiKey = apiKey
        self.model = model
        self.temperature = temperature
        self.timeout = timeout
    }
}

/// One chat completion through `POST {base}/chat/completions`, shared by translation and summaries. Reads
/// plain-text answers (no JSON mode needed, so local servers work), and classifies every failure as
/// retryable or final. The API key goes only into the Authorization header; logs and errors never show it.
public struct ChatCompletionsClient: ChatModel {
    public var provider: String { "openai" }
    let configuration: OpenAIConfiguration
    let exchange: ProviderExchange

    public init(configuration: OpenAIConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.exchange = ProviderExchange(name: "the OpenAI-compatible provider", httpClient: httpClient, timeout: configuration.timeout,
                                         secrets: [configuration.apiKey], logger: logger)
    }

    struct RequestBody: Encodable {
        let model: String
        let messages: [TranslationPrompt.Message]
        let temperature: Double
    }

    struct ResponseBody: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable { let content: String? }
            let message: Message
        }
        let choices: [Choice]
    }

    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            let message: String?
            let type: String?
            let code: String?
        }
        let error: Detail?
    }

    /// The assistant's answer to `messages`, trimmed; `what` names the work in errors ("translation").
    public func complete(_ messages: [TranslationPrompt.Message], what: String) async throws -> String {
        let body = RequestBody(model: configuration.model, messages: messages, temperature: configuration.temperature)
        let headers = configuration.apiKey.isEmpty ? [] : [("Authorization", "Bearer \(configuration.apiKey)")]
        let reply = try await exchange.send(try ProviderExchange.json(.POST, "\(configuration.baseURL)/chat/completions", body, headers: headers), what: what)
        guard reply.status == 200 else { throw Self.classify(reply, exchange: exchange) }
        guard let text = (try? JSONDecoder().decode(ResponseBody.self, from: reply.body))?.choices.first?.message.content?
            .trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty
        else {
            throw TranslationError.final(reason: "the provider's answer has no \(what)", kind: .invalidAnswer)
        }
        return text
    }

    /// Maps an error answer to retryable or final.
    /// Providers may quote the key back ("Incorrect API key provided: sk-…"): the reason is redacted.
    static func classify(_ reply: ProviderExchange.Reply, exchange: ProviderExchange) -> TranslationError {
        let detail = (try? JSONDecoder().decode(ErrorBody.self, from: reply.body))?.error
        let reason = exchange.reason(reply.status, detail?.message)
        if reply.status == 429, detail?.code == "insufficient_quota" || detail?.type == "insufficient_quota" {
            return .final(reason: reason, kind: .quotaExhausted)
        }
        return ProviderExchange.classify(status: reply.status, reason: reason, headers: reply.headers)
    }
}

/// Translation through an OpenAI-compatible Chat Completions provider.
public struct OpenAITranslator: Translator {
    public var provider: String { "openai" }

    let translator: LLMTranslator

    public init(configuration: OpenAIConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.translator = LLMTranslator(ChatCompletionsClient(configuration: configuration, httpClient: httpClient, logger: logger))
    }

    public func translate(_ request: TranslationRequest) async throws -> String {
        try await translator.translate(request)
    }
}
