import Foundation
import Logging

/// How hard SQLite works to make a commit survive power loss (`PRAGMA synchronous`).
///
/// In WAL mode `normal` never corrupts the database; a power cut may lose the last commits.
/// `full` syncs the WAL on every commit and loses nothing that was committed, at a cost in latency.
public enum SQLiteSynchronous: String, Sendable, CaseIterable {
    case normal = "NORMAL"
    case full = "FULL"
}

/// A configuration problem, described in one line a person can act on.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalidValue(variable: String, value: String, expected: String)
    case envFileUnreadable(path: String, reason: String)
    case envFileSyntax(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case let .invalidValue(variable, value, expected):
            "\(variable)='\(value)' is invalid: expected \(expected)"
        case let .envFileUnreadable(path, reason):
            "cannot read env file \(path): \(reason)"
        case let .envFileSyntax(path, line, reason):
            "env file \(path), line \(line): \(reason)"
        }
    }
}

/// Everything BridgeOS reads from its environment, validated once at start.
///
/// Sources, later ones winning: built-in defaults, the env file (if any), the process environment.
public struct AppConfiguration: Sendable, Equatable {
    /// A documented setting. The README's configuration table lists the same names.
    public struct Setting: Sendable {
        public let name: String
        public let defaultValue: String
        public let summary: String
    }

    public static let settings: [Setting] = [
        Setting(name: "BRIDGEOS_DATA_DIR", defaultValue: "./data",
                summary: "Directory holding the database (bridgeos.sqlite) and other state."),
        Setting(name: "BRIDGEOS_SQLITE_SYNCHRONOUS", defaultValue: "NORMAL",
                summary: "NORMAL or FULL: FULL also survives power loss without losing the last commits."),
        Setting(name: "BRIDGEOS_SQLITE_BUSY_TIMEOUT_MS", defaultValue: "5000",
                summary: "How long a writer waits for another process's write lock before failing."),
        Setting(name: "BRIDGEOS_TELEGRAM_API_URL", defaultValue: "https://api.telegram.org",
                summary: "Bot API base URL: Telegram's, or a self-hosted Bot API server's."),
        Setting(name: "BRIDGEOS_LOG_LEVEL", defaultValue: "info",
                summary: "trace, debug, info, notice, warning, error or critical."),
        Setting(name: "BRIDGEOS_ENV_FILE", defaultValue: "(none)",
                summary: "Env file to read before the process environment (same as --env-file)."),
    ]

    public static let databaseFileName = "bridgeos.sqlite"

    public var dataDirectory: String
    public var sqliteSynchronous: SQLiteSynchronous
    public var sqliteBusyTimeout: Duration
    public var logLevel: Logger.Level
    /// Bot API base URL, without a trailing slash.
    public var telegramAPIURL: String
    /// Unknown `BRIDGEOS_*` variables (likely typos), reported as warnings rather than refused, so an
    /// env file shared with a newer release still starts.
    public var unknownVariables: [String]

    public var databasePath: String {
        URL(fileURLWithPath: dataDirectory, isDirectory: true)
            .appendingPathComponent(Self.databaseFileName).path
    }

    public init(
        dataDirectory: String = "./data",
        sqliteSynchronous: SQLiteSynchronous = .normal,
        sqliteBusyTimeout: Duration = .milliseconds(5000),
        logLevel: Logger.Level = .info,
        telegramAPIURL: String = "https://api.telegram.org",
        unknownVariables: [String] = []
    ) {
        self.telegramAPIURL = telegramAPIURL
        self.dataDirectory = dataDirectory
        self.sqliteSynchronous = sqliteSynchronous
        self.sqliteBusyTimeout = sqliteBusyTimeout
        self.logLevel = logLevel
        self.unknownVariables = unknownVariables
    }

    /// Reads the configuration from `environment`, after the env file named by `envFile` or, failing
    /// that, by `BRIDGEOS_ENV_FILE`. `readFile` is injected so tests need no files.
    public static func load(
        environment: [String: String],
        envFile: String? = nil,
        readFile: (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) }
    ) throws(ConfigurationError) -> AppConfiguration {
        var merged: [String: String] = [:]
        if let path = envFile ?? environment["BRIDGEOS_ENV_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let text: String
            do {
                text = try readFile(path)
            } catch {
                throw .envFileUnreadable(path: path, reason: Self.reason(error))
            }
            do {
                merged = try EnvironmentFile.parse(text)
            } catch {
                throw .envFileSyntax(path: path, line: error.line, reason: error.reason)
            }
        }
        merged.merge(environment) { _, process in process }
        return try AppConfiguration(values: merged)
    }

    init(values: [String: String]) throws(ConfigurationError) {
        func value(_ name: String) -> String? {
            guard let raw = values[name] else { return nil }
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }

        var configuration = AppConfiguration()
        if let directory = value("BRIDGEOS_DATA_DIR") {
            guard !directory.contains("\0") else {
                throw .invalidValue(variable: "BRIDGEOS_DATA_DIR", value: directory, expected: "a directory path")
            }
            configuration.dataDirectory = directory
        }
        if let raw = value("BRIDGEOS_SQLITE_SYNCHRONOUS") {
            guard let mode = SQLiteSynchronous(rawValue: raw.uppercased()) else {
                throw .invalidValue(variable: "BRIDGEOS_SQLITE_SYNCHRONOUS", value: raw, expected: "NORMAL or FULL")
            }
            configuration.sqliteSynchronous = mode
        }
        if let raw = value("BRIDGEOS_SQLITE_BUSY_TIMEOUT_MS") {
            guard let milliseconds = Int(raw), (0...600_000).contains(milliseconds) else {
                throw .invalidValue(
                    variable: "BRIDGEOS_SQLITE_BUSY_TIMEOUT_MS", value: raw,
                    expected: "whole milliseconds from 0 to 600000")
            }
            configuration.sqliteBusyTimeout = .milliseconds(milliseconds)
        }
        if let raw = value("BRIDGEOS_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: raw.lowercased()) else {
                throw .invalidValue(
                    variable: "BRIDGEOS_LOG_LEVEL", value: raw,
                    expected: Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
            }
            configuration.logLevel = level
        }
        if let raw = value("BRIDGEOS_TELEGRAM_API_URL") {
            guard let url = URL(string: raw), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                  let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil
            else {
                throw .invalidValue(
                    variable: "BRIDGEOS_TELEGRAM_API_URL", value: raw,
                    expected: "an http(s) URL such as https://api.telegram.org (no query)")
            }
            configuration.telegramAPIURL = raw.hasSuffix("/") ? String(raw.dropLast()) : raw
        }
        let known = Set(Self.settings.map(\.name))
        configuration.unknownVariables = values.keys
            .filter { $0.hasPrefix("BRIDGEOS_") && !known.contains($0) }
            .sorted()
        self = configuration
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError {
            return "no such file"
        }
        return nsError.localizedDescription
    }
}
