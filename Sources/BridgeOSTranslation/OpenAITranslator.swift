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
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.model = model
        self.temperature = temperature
        self.timeout = timeout
    }
}

/// One chat completion through `POST {base}/chat/completions`, shared by translation and summaries. Reads
/// plain-text answers (no JSON mode needed, so local servers work), and classifies every failure as
/// retryable or final. The API key goes only into the Authorization header; logs and errors never show it.
public struct ChatCompletionsClient: Sendable {
    let configuration: OpenAIConfiguration
    let httpClient: HTTPClient
    let logger: Logger
    let redactor: Redactor

    public init(configuration: OpenAIConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.redactor = Redactor(secrets: [configuration.apiKey])
        self.logger = RedactingLogHandler.redacting(logger, with: redactor)
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
        var http = HTTPClientRequest(url: "\(configuration.baseURL)/chat/completions")
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        if !configuration.apiKey.isEmpty { http.headers.add(name: "Authorization", value: "Bearer \(configuration.apiKey)") }
        http.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))

        let start = ContinuousClock.now
        let status: Int
        let headers: HTTPHeaders
        let payload: Data
        do {
            let response = try await httpClient.execute(http, deadline: .now() + TimeAmount(configuration.timeout), logger: logger)
            status = Int(response.status.code)
            headers = response.headers
            payload = Data(buffer: try await response.body.collect(upTo: 4 << 20))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw TranslationError.retryable(reason: "the \(what) provider did not answer in time", retryAfter: nil)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw TranslationError.retryable(reason: "cannot reach the \(what) provider: \(redactor.redact(String(describing: error)))", retryAfter: nil)
        }
        logger.debug("\(what) answered", metadata: ["status": "\(status)", "duration": "\(ContinuousClock.now - start)"])
        guard status == 200 else { throw Self.classify(status: status, headers: headers, body: payload, redactor: redactor) }
        guard let text = (try? JSONDecoder().decode(ResponseBody.self, from: payload))?.choices.first?.message.content?
            .trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty
        else {
            throw TranslationError.final(reason: "the provider's answer has no \(what)", kind: .invalidAnswer)
        }
        return text
    }

    /// Maps an error answer to retryable or final.
    /// Providers may quote the key back ("Incorrect API key provided: sk-…"): the reason is redacted.
    static func classify(status: Int, headers: HTTPHeaders, body: Data, redactor: Redactor) -> TranslationError {
        let detail = (try? JSONDecoder().decode(ErrorBody.self, from: body))?.error
        let reason = redactor.redact("HTTP \(status)" + (detail?.message.map { ": \($0)" } ?? ""))
        switch status {
        case 429:
            if detail?.code == "insufficient_quota" || detail?.type == "insufficient_quota" {
                return .final(reason: reason, kind: .quotaExhausted)
            }
            return .retryable(reason: reason, retryAfter: retryAfter(headers))
        case 401, 403:
            return .final(reason: reason, kind: .authentication)
        case 408, 409, 500...599:
            return .retryable(reason: reason, retryAfter: retryAfter(headers))
        default:
            return .final(reason: reason, kind: .badRequest)
        }
    }

    /// `Retry-After` in seconds (or `retry-after-ms`, which OpenAI also sends).
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        if let milliseconds = headers.first(name: "retry-after-ms").flatMap(Double.init), milliseconds >= 0 {
            return .milliseconds(Int64(milliseconds))
        }
        if let seconds = headers.first(name: "retry-after").flatMap(Double.init), seconds >= 0 {
            return .milliseconds(Int64(seconds * 1000))
        }
        return nil
    }
}

/// Translation through an OpenAI-compatible Chat Completions provider.
public struct OpenAITranslator: Translator {
    public var provider: String { "openai" }

    let client: ChatCompletionsClient

    public init(configuration: OpenAIConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.client = ChatCompletionsClient(configuration: configuration, httpClient: httpClient, logger: logger)
    }

    public func translate(_ request: TranslationRequest) async throws -> String {
        Self.unwrap(try await client.complete(TranslationPrompt.messages(for: request), what: "translation"))
    }

    /// Some models echo the markers; keep what is inside them.
    static func unwrap(_ text: String) -> String {
        var text = text
        if text.hasPrefix("<message>") { text.removeFirst("<message>".count) }
        if text.hasSuffix("</message>") { text.removeLast("</message>".count) }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
