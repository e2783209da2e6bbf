import AsyncHTTPClient
import BridgeOSCore
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat

/// The Bot API as BridgeOS uses it. `BotAPIClient` talks to Telegram (or a self-hosted Bot API server, or
/// the sandbox); tests may substitute their own.
public protocol TelegramBotAPI: Sendable {
    /// The bot this client speaks for (its id only; never the secret).
    var token: BotToken { get }

    /// Calls `method` and decodes its result. Throws only `TelegramError`.
    func call<Method: TelegramMethod>(_ method: Method) async throws -> Method.Result

    /// A call whose parameters are JSON already (the outbox's rows): sent as they are, not decoded and
    /// encoded again. Returns Telegram's answer and the message id in its result, if any.
    func call(encoded name: String, parameters: Data) async throws -> EncodedResult

    /// Downloads a file by the `file_path` from `getFile`. Throws only `TelegramError`.
    func downloadFile(path: String) async throws -> Data
}

/// What a call with pre-encoded parameters returned.
public struct EncodedResult: Sendable, Equatable {
    /// The id of the message the call sent or copied (the first, for an album).
    public var messageID: Int64?
    /// Telegram's answer as JSON text (`{"ok":true,"result":…}`), kept for inspection.
    public var answer: String

    public init(messageID: Int64?, answer: String) {
        self.messageID = messageID
        self.answer = answer
    }
}

extension TelegramBotAPI {
    /// Through `call(_:)`, for implementations without a faster path.
    public func call(encoded name: String, parameters: Data) async throws -> EncodedResult {
        guard case let .object(fields) = try JSONDecoder().decode(JSONValue.self, from: parameters) else {
            throw TelegramError.invalidResponse("the parameters of \(name) are not a JSON object")
        }
        let result = try await call(RawMethod(name: name, parameters: fields))
        let messageID = result.object?["message_id"]?.int64 ?? result.array?.first?.object?["message_id"]?.int64
        let text = (try? JSONEncoder().encode(result)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        return EncodedResult(messageID: messageID, answer: #"{"ok":true,"result":"# + text + "}")
    }
}

/// Settings shared by every bot's client.
public struct BotAPIConfiguration: Sendable {
    /// `https://api.telegram.org`, or a self-hosted Bot API server, or the sandbox.
    public var baseURL: String
    /// Deadline for ordinary calls. Long polls use their own (poll timeout + margin).
    public var requestTimeout: Duration
    /// Largest answer accepted for a method call.
    public var maxResponseBytes: Int
    /// Largest file accepted by `downloadFile` (the cloud Bot API serves up to 20 MB).
    public var maxDownloadBytes: Int

    public static let defaultBaseURL = "https://api.telegram.org"

    public init(
        baseURL: String = BotAPIConfiguration.defaultBaseURL,
        requestTimeout: Duration = .seconds(30),
        maxResponseBytes: Int = 16 << 20,
        maxDownloadBytes: Int = 21 << 20
    ) {
        self.baseURL = baseURL.withoutTrailingSlash
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.maxDownloadBytes = maxDownloadBytes
    }
}

/// A Bot API client on AsyncHTTPClient: `{base}/bot{token}/{method}` with JSON bodies.
///
/// The `HTTPClient` is shared and owned by the caller (one per process), who shuts it down. The token
/// appears only in the request URL: logs, errors and metrics see `token.description` (the bot id), and
/// the logger handed to AsyncHTTPClient redacts the token from its own trace output.
public struct BotAPIClient: TelegramBotAPI {
    public let token: BotToken
    private let httpClient: HTTPClient
    private let configuration: BotAPIConfiguration
    private let logger: Logger
    private let redactor: Redactor

    public init(token: BotToken, httpClient: HTTPClient, configuration: BotAPIConfiguration = BotAPIConfiguration(), logger: Logger) {
        self.token = token
        self.httpClient = httpClient
        self.configuration = configuration
        self.redactor = Redactor(secrets: [token.secret])
        var logger = RedactingLogHandler.redacting(logger, with: redactor)
        logger[metadataKey: "telegram.bot"] = "\(token.botID)"
        self.logger = logger
    }

    public func call<Method: TelegramMethod>(_ method: Method) async throws -> Method.Result {
        let name = method.methodName
        let body: Data
        do {
            body = try JSONEncoder().encode(method)
        } catch {
            throw TelegramError.invalidResponse("cannot encode \(name) parameters: \(error)")
        }
        return try await post(name, body: body, timeout: method.requestTimeout ?? configuration.requestTimeout) { status, payload in
            try Self.decodeEnvelope(Method.Result.self, status: status, body: payload)
        }
    }

    public func call(encoded name: String, parameters: Data) async throws -> EncodedResult {
        try await post(name, body: parameters, timeout: configuration.requestTimeout) { status, payload in
            let sent = try Self.decodeEnvelope(SentMessageID.self, status: status, body: payload)
            return EncodedResult(messageID: sent.messageID, answer: String(decoding: payload, as: UTF8.self))
        }
    }

    private func post<Result>(_ name: String, body: Data, timeout: Duration, decode: (Int, Data) throws -> Result) async throws -> Result {
        var request = HTTPClientRequest(url: "\(configuration.baseURL)/bot\(token.secret)/\(name)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(data: body))
        let start = ContinuousClock.now
        let (status, payload) = try await execute(request, timeout: timeout, limit: configuration.maxResponseBytes, method: name)
        do {
            let result = try decode(status, payload)
            logger.debug("telegram call", metadata: ["method": "\(name)", "status": "\(status)", "duration": "\(ContinuousClock.now - start)"])
            return result
        } catch let error as TelegramError {
            logger.debug("telegram call failed", metadata: ["method": "\(name)", "status": "\(status)", "error": "\(error)"])
            throw error
        }
    }

    public func downloadFile(path: String) async throws -> Data {
        let cleanPath = path.split(separator: "/").filter { $0 != ".." && !$0.isEmpty }.joined(separator: "/")
        var request = HTTPClientRequest(url: "\(configuration.baseURL)/file/bot\(token.secret)/\(cleanPath)")
        request.method = .GET
        let (status, payload) = try await execute(request, timeout: configuration.requestTimeout * 4, limit: configuration.maxDownloadBytes, method: "file download")
        guard status == 200 else {
            // Errors for files come as the usual envelope when there is one.
            if case .some(let envelope) = try? JSONDecoder().decode(ErrorEnvelope.self, from: payload) {
                throw TelegramError(status: status, errorCode: envelope.errorCode, description: envelope.description ?? "", parameters: envelope.parameters)
            }
            throw TelegramError(status: status, errorCode: nil, description: "file download failed with HTTP \(status)", parameters: nil)
        }
        return payload
    }

    /// Sends the request; maps every transport failure to a `TelegramError` with the token redacted.
    private func execute(_ request: HTTPClientRequest, timeout: Duration, limit: Int, method: String) async throws -> (Int, Data) {
        do {
            let response = try await httpClient.execute(request, deadline: .now() + TimeAmount(timeout), logger: logger)
            let body = try await response.body.collect(upTo: limit)
            return (Int(response.status.code), Data(buffer: body))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            logger.debug("telegram call timed out", metadata: ["method": "\(method)"])
            throw TelegramError.timeout
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as NIOTooManyBytesError {
            throw TelegramError.invalidResponse("answer larger than \(limit) bytes (\(error))")
        } catch {
            throw TelegramError.transport(redactor.redact(String(describing: error)))
        }
    }

    struct ErrorEnvelope: Decodable {
        let ok: Bool
        let errorCode: Int?
        let description: String?
        let parameters: ResponseParameters?

        enum CodingKeys: String, CodingKey {
            case ok, description, parameters
            case errorCode = "error_code"
        }
    }

    private struct SuccessEnvelope<Result: Decodable>: Decodable {
        let ok: Bool
        let result: Result
    }

    /// Turns a Bot API answer into a result or a `TelegramError`. (A success, the common case, is parsed once.)
    public static func decodeEnvelope<Result: Decodable>(_ type: Result.Type, status: Int, body: Data) throws -> Result {
        let decoder = JSONDecoder()
        if let success = try? decoder.decode(SuccessEnvelope<Result>.self, from: body), success.ok {
            return success.result
        }
        let envelope: ErrorEnvelope
        do {
            envelope = try decoder.decode(ErrorEnvelope.self, from: body)
        } catch {
            if (500...599).contains(status) {
                throw TelegramError.server(status: status, description: "HTTP \(status) without a Bot API answer")
            }
            throw TelegramError.invalidResponse("HTTP \(status), not a Bot API answer (\(body.count) bytes)")
        }
        guard envelope.ok else {
            throw TelegramError(status: status, errorCode: envelope.errorCode, description: envelope.description ?? "", parameters: envelope.parameters)
        }
        do {
            return try decoder.decode(SuccessEnvelope<Result>.self, from: body).result
        } catch {
            throw TelegramError.invalidResponse("result does not decode as \(Result.self): \(error)")
        }
    }
}

/// Only the message id of a call's result: a message, an album's messages (the first), a `MessageId`, or
/// anything else (`true` for edits and answers: no id).
struct SentMessageID: Decodable {
    let messageID: Int64?

    private struct Probe: Decodable {
        let messageID: Int64?
        enum CodingKeys: String, CodingKey { case messageID = "message_id" }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let probe = try? container.decode(Probe.self) {
            messageID = probe.messageID
        } else if let probes = try? container.decode([Probe].self) {
            messageID = probes.first?.messageID
        } else {
            messageID = nil
        }
    }
}

extension HTTPClient {
    /// Connections one host may get. All bots share one client and talk to one host: five long polls hold
    /// five connections for their whole duration, and each sender keeps several sends in flight. AHC's
    /// default of 8 would leave three connections for all sends together.
    public static let botAPIConnectionsPerHost = 128

    /// The client BridgeOS uses for the Bot API (one per process, shut down by its owner).
    public static func makeForBotAPI() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: botAPIConnectionsPerHost)
        configuration.timeout = .init(connect: .seconds(10))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

/// Runs `body` with a Bot API `HTTPClient` that is shut down afterwards, whatever happens. For tests and
/// one-shot commands; a long-running process owns one client in its composition root instead.
public func withHTTPClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    let client = HTTPClient.makeForBotAPI()
    let result: T
    do {
        result = try await body(client)
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
    return result
}
