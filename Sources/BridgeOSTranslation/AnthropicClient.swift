import BridgeOSCore
import AsyncHTTPClient
import Foundation
import Logging

/// Settings of the Anthropic Messages API.
public struct AnthropicConfiguration: Sendable {
    /// `https://api.anthropic.com` (tests point it at a stand-in).
    public var baseURL: String
    public var apiKey: String
    public var model: String
    public var maxTokens: Int
    public var temperature: Double
    public var timeout: Duration

    public init(baseURL: String = "https://api.anthropic.com", apiKey: String, model: String = "claude-haiku-4-5",
                maxTokens: Int = 4096, temperature: Double = 0.2, timeout: Duration = .seconds(60)) {
        self.baseURL = baseURL.withoutTrailingSlash
        self.apiKey = apiKey
        self.model = model
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.timeout = timeout
    }
}

/// `POST /v1/messages`: the system prompt apart, one user turn, the text blocks of the answer joined.
/// 429 and 529 (overloaded) are retried after `retry-after`; a spend limit or a low credit balance is
/// final (retrying cannot help until someone pays), as are credentials.
public struct AnthropicClient: ChatModel {
    public var provider: String { "anthropic" }
    public static let apiVersion = "2023-06-01"

    let configuration: AnthropicConfiguration
    let exchange: ProviderExchange

    public init(configuration: AnthropicConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.exchange = ProviderExchange(name: "Anthropic", httpClient: httpClient, timeout: configuration.timeout,
                                         secrets: [configuration.apiKey], logger: logger)
    }

    struct RequestBody: Encodable {
        struct Message: Encodable {
            let role: String
            let content: String
        }
        let model: String
        let max_tokens: Int
        let temperature: Double
        let system: String
        let messages: [Message]
    }

    struct ResponseBody: Decodable {
        struct Block: Decodable {
            let type: String
            let text: String?
        }
        let content: [Block]
        let stop_reason: String?
    }

    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            struct More: Decodable { let error_code: String? }
            let type: String?
            let message: String?
            let details: More?
        }
        let error: Detail?
    }

    public func complete(_ messages: [TranslationPrompt.Message], what: String) async throws -> String {
        let (system, user) = TranslationPrompt.split(messages)
        let body = RequestBody(model: configuration.model, max_tokens: configuration.maxTokens, temperature: configuration.temperature,
                               system: system, messages: [.init(role: "user", content: user)])
        let request = try ProviderExchange.json(.POST, "\(configuration.baseURL)/v1/messages", body, headers: [
            ("x-api-key", configuration.apiKey), ("anthropic-version", Self.apiVersion),
        ])
        let reply = try await exchange.send(request, what: what)
        guard reply.status == 200 else { throw classify(reply) }
        guard let answer = try? JSONDecoder().decode(ResponseBody.self, from: reply.body) else {
            throw TranslationError.final(reason: "Anthropic's answer is not a message", kind: .invalidAnswer)
        }
        if answer.stop_reason == "refusal" {
            throw TranslationError.final(reason: "Anthropic declined the \(what)", kind: .refused)
        }
        let text = answer.content.filter { $0.type == "text" }.compactMap(\.text).joined()
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw TranslationError.final(reason: "Anthropic's answer has no \(what)", kind: .invalidAnswer) }
        if answer.stop_reason == "max_tokens" {
            throw TranslationError.final(reason: "Anthropic's \(what) was cut off at max_tokens", kind: .invalidAnswer)
        }
        return text
    }

    func classify(_ reply: ProviderExchange.Reply) -> TranslationError {
        let detail = (try? JSONDecoder().decode(ErrorBody.self, from: reply.body))?.error
        let reason = exchange.reason(reply.status, detail?.message)
        let message = detail?.message?.lowercased() ?? ""
        // Spend limits: a 429 marked enforced_spend_limit_reached, a 400 about usage limits or credit, a 402.
        if reply.status == 402 || detail?.type == "billing_error" || detail?.details?.error_code == "enforced_spend_limit_reached"
            || (reply.status == 400 && (message.contains("credit balance") || message.contains("usage limit") || message.contains("spend limit"))) {
            return .final(reason: reason, kind: .quotaExhausted)
        }
        return ProviderExchange.classify(status: reply.status, reason: reason, headers: reply.headers)
    }
}
