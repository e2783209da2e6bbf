import Logging
import Synchronization

/// Replaces secrets (bot tokens, API keys) in text before it reaches a log line, an error or a metric.
public struct Redactor: Sendable {
    public static let mask = "<redacted>"
    private let secrets: [String]

    public init(secrets: [String]) {
        // Longest first, so a secret that contains another is masked whole. Very short strings are not
        // secrets worth masking and would mangle ordinary text.
        self.secrets = Array(Set(secrets.filter { $0.count >= 8 })).sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.mask)
        }
        return result
    }

    public func redact(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case let .string(text): .string(redact(text))
        case let .stringConvertible(convertible): .string(redact(convertible.description))
        case let .array(values): .array(values.map(redact))
        case let .dictionary(values): .dictionary(values.mapValues(redact))
        }
    }
}

/// A log handler that redacts secrets from messages and metadata, then passes the entry on.
///
/// Wrap every logger that may see a URL holding a token, including the one given to AsyncHTTPClient,
/// whose trace logs print request heads.
public struct RedactingLogHandler: LogHandler {
    private var wrapped: any LogHandler
    private let redactor: Redactor

    public init(wrapping handler: any LogHandler, redactor: Redactor) {
        self.wrapped = handler
        self.redactor = redactor
    }

    /// A copy of `logger` whose output is redacted.
    public static func redacting(_ logger: Logger, with redactor: Redactor) -> Logger {
        Logger(label: logger.label) { _ in RedactingLogHandler(wrapping: logger.handler, redactor: redactor) }
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue.mapValues(redactor.redact) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(redactor.redact) }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: redactor.redact(event.message.description))
        event.metadata = event.metadata?.mapValues(redactor.redact)
        if let error = event.error { event.error = RedactedError(description: redactor.redact(String(describing: error))) }
        wrapped.log(event: event)
    }
}

/// Keeps every log entry in memory. For tests that assert on what was (or was not) logged.
public final class CapturingLogHandlerStore: Sendable {
    public struct Entry: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: [String: String]
        public let label: String

        /// The whole entry as one line, for searching.
        public var line: String {
            "\(level) \(label): \(message) \(metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
        }
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    public var all: [Entry] { entries.withLock { $0 } }

    public func logger(label: String, level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { [self] label in CapturingLogHandler(store: self, label: label) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
}

private struct CapturingLogHandler: LogHandler {
    let store: CapturingLogHandlerStore
    let label: String
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        store.append(.init(
            level: event.level, message: event.message.description,
            metadata: merged.mapValues { "\($0)" }, label: label))
    }
}

/// An error whose description was stripped of secrets.
public struct RedactedError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
