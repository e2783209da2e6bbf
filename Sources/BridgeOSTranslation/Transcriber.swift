import AsyncHTTPClient
import BridgeOSCore
import Foundation
import Logging
import NIOCore

/// Turns a voice message into text. Errors are `TranslationError`s: retryable (an outage) or final.
public protocol Transcriber: Sendable {
    /// The words of `audio` (`fileName` and `mimeType` as Telegram gave them); `language` is a hint (ISO 639-1).
    func transcribe(_ audio: Data, fileName: String, mimeType: String, language: String?) async throws -> String
}

/// Settings of an OpenAI-compatible `/audio/transcriptions` server (OpenAI, or a local Whisper server such
/// as faster-whisper-server, whisper.cpp's server or LocalAI).
public struct TranscriberConfiguration: Sendable {
    public var baseURL: String
    public var apiKey: String
    public var model: String
    public var timeout: Duration

    public init(baseURL: String = "https://api.openai.com/v1", apiKey: String, model: String = "whisper-1", timeout: Duration = .seconds(120)) {
        self.baseURL = baseURL.withoutTrailingSlash
        self.apiKey = apiKey
        self.model = model
        self.timeout = timeout
    }
}

/// `POST {base}/audio/transcriptions` as multipart/form-data: `file`, `model`, `language`,
/// `response_format=json`; the answer's `text`.
public struct OpenAITranscriber: Transcriber {
    let configuration: TranscriberConfiguration
    let exchange: ProviderExchange

    public init(configuration: TranscriberConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.exchange = ProviderExchange(name: "the transcription server", httpClient: httpClient, timeout: configuration.timeout,
                                         secrets: [configuration.apiKey], timeoutsAreFinal: true, logger: logger)
    }

    public func transcribe(_ audio: Data, fileName: String, mimeType: String, language: String?) async throws -> String {
        let boundary = "bridgeos-" + UUID().uuidString
        var body = Data()
        func field(_ name: String, _ value: String) {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        field("model", configuration.model)
        field("response_format", "json")
        if let language { field("language", LanguageCode.base(language)) }
        let safeName = fileName.filter { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" }
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(safeName.isEmpty ? "voice.ogg" : safeName)\"\r\nContent-Type: \(mimeType)\r\n\r\n".utf8))
        body.append(audio)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        var request = HTTPClientRequest(url: "\(configuration.baseURL)/audio/transcriptions")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        if !configuration.apiKey.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(configuration.apiKey)") }
        request.body = .bytes(ByteBuffer(data: body))
        let reply = try await exchange.send(request, what: "transcription")
        guard reply.status == 200 else { throw ChatCompletionsClient.classify(reply, exchange: exchange) }
        struct Answer: Decodable { let text: String? }
        guard let text = (try? JSONDecoder().decode(Answer.self, from: reply.body))?.text?.trimmingCharacters(in: .whitespacesAndNewlines) else {
            throw TranslationError.final(reason: "the transcription server's answer has no text", kind: .invalidAnswer)
        }
        return text
    }
}

extension TranslationProviders {
    /// The configured transcriber (nil: voice messages are not transcribed).
    public static func transcriber(_ configuration: TranslationConfiguration, httpClient: HTTPClient, logger: Logger) -> (any Transcriber)? {
        guard configuration.transcriber == "openai" else { return nil }
        return OpenAITranscriber(
            configuration: TranscriberConfiguration(baseURL: configuration.transcriberURL ?? configuration.openAIBaseURL,
                                                    apiKey: configuration.transcriberKey ?? configuration.openAIAPIKey,
                                                    model: configuration.transcriberModel),
            httpClient: httpClient, logger: logger)
    }
}
