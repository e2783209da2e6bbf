import BridgeOSCore
import AsyncHTTPClient
import Foundation
import Logging

/// Settings of Google's Gemini API.
public struct GeminiConfiguration: Sendable {
    /// `https://generativelanguage.googleapis.com/v1beta` (tests point it at a stand-in).
    public var baseURL: String
    public var apiKey: String
    public var model: String
    public var temperature: Double
    public var timeout: Duration

    public init(baseURL: String = "https://generativelanguage.googleapis.com/v1beta", apiKey: String, model: String = "gemini-2.5-flash",
                temperature: Double = 0.2, timeout: Duration = .seconds(60)) {
        self.baseURL = baseURL.withoutTrailingSlash
        self.apiKey = apiKey
        self.model = model
        self.temperature = temperature
        self.timeout = timeout
    }
}

/// `POST /models/{model}:generateContent` with the key in `x-goog-api-key`. A 429 or 503 waits as long as
/// the body's `RetryInfo` says; a prompt or an answer blocked by the safety filters is final (`refused`),
/// so a chain moves to its next provider rather than retrying the same text.
public struct GeminiClient: ChatModel {
    public var provider: String { "gemini" }

    let configuration: GeminiConfiguration
    let exchange: ProviderExchange

    public init(configuration: GeminiConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.exchange = ProviderExchange(name: "Gemini", httpClient: httpClient, timeout: configuration.timeout,
                                         secrets: [configuration.apiKey], logger: logger)
    }

    struct Part: Codable { let text: String? }
    struct Content: Codable {
        let role: String?
        let parts: [Part]?
    }

    struct RequestBody: Encodable {
        struct Config: Encodable { let temperature: Double }
        let systemInstruction: Content
        let contents: [Content]
        let generationConfig: Config
    }

    struct ResponseBody: Decodable {
        struct Candidate: Decodable {
            let content: Content?
            let finishReason: String?
        }
        struct Feedback: Decodable { let blockReason: String? }
        let candidates: [Candidate]?
        let promptFeedback: Feedback?
    }

    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            let type: String?
            let retryDelay: String?
            let reason: String?
            enum CodingKeys: String, CodingKey {
                case type = "@type"
                case retryDelay, reason
            }
        }
        struct Status: Decodable {
            let code: Int?
            let message: String?
            let status: String?
            let details: [Detail]?
        }
        let error: Status?
    }

    public func complete(_ messages: [TranslationPrompt.Message], what: String) async throws -> String {
        let (system, user) = TranslationPrompt.split(messages)
        let body = RequestBody(systemInstruction: Content(role: nil, parts: [Part(text: system)]),
                               contents: [Content(role: "user", parts: [Part(text: user)])],
                               generationConfig: .init(temperature: configuration.temperature))
        let model = configuration.model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? configuration.model
        let request = try ProviderExchange.json(.POST, "\(configuration.baseURL)/models/\(model):generateContent", body,
                                                headers: [("x-goog-api-key", configuration.apiKey)])
        let reply = try await exchange.send(request, what: what)
        guard reply.status == 200 else { throw classify(reply) }
        guard let answer = try? JSONDecoder().decode(ResponseBody.self, from: reply.body) else {
            throw TranslationError.final(reason: "Gemini's answer is not generateContent's", kind: .invalidAnswer)
        }
        if let blocked = answer.promptFeedback?.blockReason {
            throw TranslationError.final(reason: "Gemini blocked the \(what) (\(blocked))", kind: .refused)
        }
        guard let candidate = answer.candidates?.first else {
            throw TranslationError.final(reason: "Gemini's answer has no candidate", kind: .invalidAnswer)
        }
        let reason = candidate.finishReason ?? "STOP"
        if ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"].contains(reason) {
            throw TranslationError.final(reason: "Gemini withheld the \(what) (\(reason))", kind: .refused)
        }
        let text = (candidate.content?.parts ?? []).compactMap(\.text).joined().trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw TranslationError.final(reason: "Gemini's answer has no \(what) (\(reason))", kind: .invalidAnswer) }
        if reason == "MAX_TOKENS" { throw TranslationError.final(reason: "Gemini's \(what) was cut off (MAX_TOKENS)", kind: .invalidAnswer) }
        return text
    }

    func classify(_ reply: ProviderExchange.Reply) -> TranslationError {
        let status = (try? JSONDecoder().decode(ErrorBody.self, from: reply.body))?.error
        let reason = exchange.reason(reply.status, status?.message)
        let details = status?.details ?? []
        if details.contains(where: { $0.reason == "API_KEY_INVALID" }) { return .final(reason: reason, kind: .authentication) }
        if reply.status == 429 || reply.status == 503 || reply.status == 500 || reply.status == 504 {
            let delay = details.first { $0.type?.hasSuffix("google.rpc.RetryInfo") == true }?.retryDelay.flatMap(Self.duration)
            return .retryable(reason: reason, retryAfter: delay ?? ProviderExchange.retryAfter(reply.headers))
        }
        return ProviderExchange.classify(status: reply.status, reason: reason, headers: reply.headers)
    }

    /// A protobuf Duration as JSON: "37s", "1.5s".
    static func duration(_ text: String) -> Duration? {
        guard text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds >= 0, seconds < 86_400 else { return nil }
        return .milliseconds(Int64(seconds * 1000))
    }
}
