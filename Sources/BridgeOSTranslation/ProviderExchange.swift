import AsyncHTTPClient
import BridgeOSCore
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One HTTP exchange with a provider, shared by every provider: a deadline, the answer read whole, and
/// transport failures (timeouts, refused connections) classified as retryable. Keys travel only in headers
/// or the request; logs and error texts pass through the redactor, which knows them.
public struct ProviderExchange: Sendable {
    public struct Reply: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: Data
    }

    let httpClient: HTTPClient
    let logger: Logger
    let redactor: Redactor
    let timeout: Duration
    /// Names the provider in errors ("DeepL").
    let name: String
    /// A timeout is final, not retryable: for work that is paid for and sent whole again on a retry (a
    /// recording to transcribe).
    let timeoutsAreFinal: Bool

    public init(name: String, httpClient: HTTPClient, timeout: Duration, secrets: [String], timeoutsAreFinal: Bool = false, logger: Logger) {
        self.name = name
        self.timeoutsAreFinal = timeoutsAreFinal
        self.httpClient = httpClient
        self.timeout = timeout
        self.redactor = Redactor(secrets: secrets.filter { !$0.isEmpty })
        self.logger = RedactingLogHandler.redacting(logger, with: redactor)
    }

    /// Sends `request` and reads the answer (at most 4 MiB): any status comes back; only transport
    /// failures throw, as `TranslationError.retryable`.
    public func send(_ request: HTTPClientRequest, what: String) async throws -> Reply {
        let start = ContinuousClock.now
        do {
            let response = try await httpClient.execute(request, deadline: .now() + TimeAmount(timeout), logger: logger)
            let body = Data(buffer: try await response.body.collect(upTo: 4 << 20))
            logger.debug("\(name) answered", metadata: ["what": "\(what)", "status": "\(response.status.code)", "duration": "\(ContinuousClock.now - start)"])
            return Reply(status: Int(response.status.code), headers: response.headers, body: body)
        } catch let error as HTTPClientError where error == .cancelled || Task.isCancelled {
            // Shutting down: not a provider failure (no rest, no "delayed" notice).
            _ = error
            throw CancellationError()
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            let reason = "\(name) did not answer the \(what) in time"
            throw timeoutsAreFinal ? TranslationError.final(reason: reason, kind: .timedOut) : .retryable(reason: reason, retryAfter: nil)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw TranslationError.retryable(reason: "cannot reach \(name) for the \(what): \(redactor.redact(String(describing: error)))", retryAfter: nil)
        }
    }

    /// A JSON request with the given headers.
    public static func json(_ method: HTTPMethod, _ url: String, _ body: some Encodable, headers: [(String, String)] = []) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        return request
    }

    /// "HTTP 429: message", redacted.
    func reason(_ status: Int, _ message: String?) -> String {
        redactor.redact("HTTP \(status)" + (message.map { ": \($0)" } ?? ""))
    }

    /// `Retry-After` in seconds (or `retry-after-ms`, which OpenAI also sends).
    public static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        if let milliseconds = headers.first(name: "retry-after-ms").flatMap(Double.init), milliseconds >= 0 {
            return .milliseconds(Int64(milliseconds))
        }
        if let seconds = headers.first(name: "retry-after").flatMap(Double.init), seconds >= 0 {
            return .milliseconds(Int64(seconds * 1000))
        }
        return nil
    }

    /// The default reading of a status when the body says nothing more specific.
    static func classify(status: Int, reason: String, headers: HTTPHeaders) -> TranslationError {
        switch status {
        case 429, 408, 409, 425, 500...599: .retryable(reason: reason, retryAfter: retryAfter(headers))
        case 401, 403: .final(reason: reason, kind: .authentication)
        default: .final(reason: reason, kind: .badRequest)
        }
    }
}

/// A cached answer that is fetched once and again after `lifetime` (the languages a provider supports).
actor Cached<Value: Sendable> {
    private var value: (Value, ContinuousClock.Instant)?
    private let lifetime: Duration

    init(lifetime: Duration) { self.lifetime = lifetime }

    func get(_ fetch: @Sendable () async throws -> Value) async throws -> Value {
        if let (value, at) = value, ContinuousClock.now - at < lifetime { return value }
        let fresh = try await fetch()
        value = (fresh, .now)
        return fresh
    }
}
