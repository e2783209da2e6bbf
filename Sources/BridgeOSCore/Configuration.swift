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
    /// A secret (a bot token) that is malformed: described without its value.
    case invalidSecret(variable: String, expected: String)

    public var description: String {
        switch self {
        case let .invalidValue(variable, value, expected):
            "\(variable)='\(value)' is invalid: expected \(expected)"
        case let .envFileUnreadable(path, reason):
            "cannot read env file \(path): \(reason)"
        case let .envFileSyntax(path, line, reason):
            "env file \(path), line \(line): \(reason)"
        case let .invalidSecret(variable, expected):
            "\(variable) is invalid: expected \(expected) (value not shown)"
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
        Setting(name: "BRIDGEOS_BOT1_TOKEN … BRIDGEOS_BOT5_TOKEN", defaultValue: "(none)",
                summary: "Bot tokens from @BotFather, one per slot; any non-empty subset. Slot N's bot carries worker N."),
        Setting(name: "BRIDGEOS_HTTP_ADDRESS", defaultValue: "127.0.0.1:8080",
                summary: "Where `serve` listens for HTTP (/healthz). Port 0 picks a free port."),
        Setting(name: "BRIDGEOS_PUBLIC_URL", defaultValue: "(none)",
                summary: "The address people open the dashboard at (https://admin.example.com behind a reverse proxy): links in alerts and setup use it; https makes the session cookie Secure."),
        Setting(name: "BRIDGEOS_WEBHOOK", defaultValue: "0",
                summary: "1: Telegram pushes updates to BRIDGEOS_PUBLIC_URL/telegram/<slot> (an https reverse proxy on port 443, 80, 88 or 8443 in front of serve) instead of serve polling; 0 polls, and deletes webhooks set before."),
        Setting(name: "BRIDGEOS_POLL_TIMEOUT", defaultValue: "50",
                summary: "Long-poll seconds for getUpdates (1-50)."),
        Setting(name: "BRIDGEOS_UPDATE_MAX_ATTEMPTS", defaultValue: "5",
                summary: "Attempts at handling one update before it is recorded as failed and skipped."),
        Setting(name: "BRIDGEOS_RATE_PER_BOT", defaultValue: "30",
                summary: "Messages per second one bot sends across all chats."),
        Setting(name: "BRIDGEOS_RATE_PER_CHAT", defaultValue: "1",
                summary: "Messages per second to one private chat (bursts of 3 allowed)."),
        Setting(name: "BRIDGEOS_RATE_PER_GROUP", defaultValue: "20",
                summary: "Messages per minute to one group."),
        Setting(name: "BRIDGEOS_CONFIRM_REMINDER_MINUTES", defaultValue: "60",
                summary: "An instruction sent with ! and not confirmed: the worker is reminded after this many minutes, the manager told after as many again (1-10080)."),
        Setting(name: "BRIDGEOS_CONTEXT_MESSAGES", defaultValue: "6",
                summary: "Earlier messages of the conversation given to the translator as context (0-20)."),
        Setting(name: "BRIDGEOS_FREE_MESSAGES", defaultValue: "50",
                summary: "Translated messages per calendar month (UTC) a manager's team gets without a subscription."),
        Setting(name: "BRIDGEOS_TEST_USER_IDS", defaultValue: "(none)",
                summary: "Comma-separated Telegram user ids with no usage limit (testers, staff)."),
        Setting(name: "BRIDGEOS_RELAY_HOURLY_CAP", defaultValue: "300",
                summary: "Messages one person may relay per hour (an album counts as one). Bursts below it are delayed to Telegram's pace, never refused; beyond it messages are refused and the sender told once an hour."),
        Setting(name: "BRIDGEOS_MESSAGE_RETENTION_DAYS", defaultValue: "30",
                summary: "Conversation messages older than this are deleted (in small batches, hourly)."),
        Setting(name: "BRIDGEOS_BACKUP_DIR", defaultValue: "<data dir>/backups",
                summary: "Where `backup` and serve's scheduled backups go (any directory, e.g. a mounted volume)."),
        Setting(name: "BRIDGEOS_BACKUP_INTERVAL_HOURS", defaultValue: "24",
                summary: "Hours between serve's automatic backups (0 turns them off; the backup before a migration is always taken)."),
        Setting(name: "BRIDGEOS_BACKUP_KEEP", defaultValue: "7",
                summary: "How many backups to keep in the backup directory (the newest)."),
        Setting(name: "BRIDGEOS_LOG_LEVEL", defaultValue: "info",
                summary: "trace, debug, info, notice, warning, error or critical."),
        Setting(name: "BRIDGEOS_ENV_FILE", defaultValue: "(none)",
                summary: "Env file to read before the process environment (same as --env-file)."),
    ] + TranslationConfiguration.settings + BusinessConfiguration.settings

    public static let databaseFileName = "bridgeos.sqlite"

    public var dataDirectory: String
    public var sqliteSynchronous: SQLiteSynchronous
    public var sqliteBusyTimeout: Duration
    public var logLevel: Logger.Level
    /// Bot API base URL, without a trailing slash.
    public var telegramAPIURL: String
    /// Bot tokens by slot number (1...5).
    public var botTokens: [Int: String]
    /// `serve`'s HTTP listener.
    public var httpHost: String
    public var httpPort: Int
    /// `BRIDGEOS_PUBLIC_URL`, without a trailing slash (nil: not set).
    public var publicURL: String?
    /// `BRIDGEOS_WEBHOOK=1`: updates arrive by webhook at `webhookURL(slot:)`, not by polling.
    public var webhook: Bool
    public var pollTimeout: Int
    public var updateMaxAttempts: Int
    /// Messages per second per bot, per second per private chat, per minute per group.
    public var ratePerBot: Double
    public var ratePerChat: Double
    public var ratePerGroupPerMinute: Double
    /// Providers, their fallback chain, summaries, transcription.
    public var translation: TranslationConfiguration
    public var contextMessages: Int
    public var confirmReminderMinutes: Int
    public var freeMessages: Int
    public var testUserIDs: Set<Int64>
    public var relayHourlyCap: Int
    public var messageRetentionDays: Int
    /// Where backups go; nil: `<data dir>/backups`.
    public var backupDirectoryOverride: String?
    /// Hours between serve's automatic backups; 0: none.
    public var backupIntervalHours: Double
    public var backupKeep: Int
    /// Subscriptions, referrals, feedback.
    public var business: BusinessConfiguration
    /// Unknown `BRIDGEOS_*` variables (likely typos), reported as warnings rather than refused, so an
    /// env file shared with a newer release still starts.
    public var unknownVariables: [String]

    public var backupDirectory: String {
        backupDirectoryOverride ?? URL(fileURLWithPath: dataDirectory, isDirectory: true).appendingPathComponent("backups").path
    }

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
        self.botTokens = [:]
        self.httpHost = "127.0.0.1"
        self.httpPort = 8080
        self.publicURL = nil
        self.webhook = false
        self.pollTimeout = 50
        self.updateMaxAttempts = 5
        self.ratePerBot = 30
        self.ratePerChat = 1
        self.ratePerGroupPerMinute = 20
        self.translation = TranslationConfiguration()
        self.contextMessages = 6
        self.confirmReminderMinutes = 60
        self.freeMessages = 50
        self.testUserIDs = []
        self.relayHourlyCap = 300
        self.messageRetentionDays = 30
        self.backupDirectoryOverride = nil
        self.backupIntervalHours = 24
        self.backupKeep = 7
        self.business = BusinessConfiguration()
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
            configuration.telegramAPIURL = raw.withoutTrailingSlash
        }
        for slot in 1...5 {
            let name = "BRIDGEOS_BOT\(slot)_TOKEN"
            guard let token = value(name) else { continue }
            guard BotTokenFormat.isValid(token) else {
                throw .invalidSecret(variable: name, expected: "a token from @BotFather, like 123456789:AAE…")
            }
            configuration.botTokens[slot] = token
        }
        if let raw = value("BRIDGEOS_HTTP_ADDRESS") {
            guard let colon = raw.lastIndex(of: ":"), let port = Int(raw[raw.index(after: colon)...]), (0...65535).contains(port),
                  !raw[..<colon].isEmpty
            else {
                throw .invalidValue(variable: "BRIDGEOS_HTTP_ADDRESS", value: raw, expected: "host:port, e.g. 127.0.0.1:8080")
            }
            configuration.httpHost = String(raw[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            configuration.httpPort = port
        }
        if let raw = value("BRIDGEOS_PUBLIC_URL") {
            guard let url = URL(string: raw), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false,
                  url.query == nil, url.fragment == nil
            else {
                throw .invalidValue(variable: "BRIDGEOS_PUBLIC_URL", value: raw, expected: "an http(s) address such as https://admin.example.com")
            }
            configuration.publicURL = raw.withoutTrailingSlash
        }
        configuration.webhook = try Self.webhookMode(value("BRIDGEOS_WEBHOOK"), publicURL: configuration.publicURL)
        func number(_ name: String, _ range: ClosedRange<Double>, _ what: String) throws(ConfigurationError) -> Double? {
            guard let raw = value(name) else { return nil }
            guard let number = Double(raw), range.contains(number) else {
                throw .invalidValue(variable: name, value: raw, expected: what)
            }
            return number
        }
        if let seconds = try number("BRIDGEOS_POLL_TIMEOUT", 1...50, "whole seconds from 1 to 50") {
            guard seconds == seconds.rounded() else { throw .invalidValue(variable: "BRIDGEOS_POLL_TIMEOUT", value: "\(seconds)", expected: "whole seconds from 1 to 50") }
            configuration.pollTimeout = Int(seconds)
        }
        if let attempts = try number("BRIDGEOS_UPDATE_MAX_ATTEMPTS", 1...100, "a whole number from 1 to 100") {
            configuration.updateMaxAttempts = Int(attempts)
        }
        if let rate = try number("BRIDGEOS_RATE_PER_BOT", 0.1...1000, "messages per second, 0.1 to 1000") { configuration.ratePerBot = rate }
        if let rate = try number("BRIDGEOS_RATE_PER_CHAT", 0.01...1000, "messages per second, 0.01 to 1000") { configuration.ratePerChat = rate }
        if let rate = try number("BRIDGEOS_RATE_PER_GROUP", 0.1...60000, "messages per minute, 0.1 to 60000") { configuration.ratePerGroupPerMinute = rate }
        configuration.translation = try TranslationConfiguration(value: value)
        if let minutes = try number("BRIDGEOS_CONFIRM_REMINDER_MINUTES", 1...10080, "whole minutes from 1 to 10080") {
            configuration.confirmReminderMinutes = Int(minutes)
        }
        if let count = try number("BRIDGEOS_CONTEXT_MESSAGES", 0...20, "a whole number from 0 to 20") { configuration.contextMessages = Int(count) }
        if let count = try number("BRIDGEOS_FREE_MESSAGES", 0...1_000_000, "a whole number, 0 or more") { configuration.freeMessages = Int(count) }
        if let count = try number("BRIDGEOS_RELAY_HOURLY_CAP", 1...100_000, "a whole number from 1 to 100000") { configuration.relayHourlyCap = Int(count) }
        if let days = try number("BRIDGEOS_MESSAGE_RETENTION_DAYS", 1...3650, "whole days from 1 to 3650") { configuration.messageRetentionDays = Int(days) }
        if let directory = value("BRIDGEOS_BACKUP_DIR") { configuration.backupDirectoryOverride = directory }
        if let hours = try number("BRIDGEOS_BACKUP_INTERVAL_HOURS", 0...8760, "hours from 0 (off) to 8760") { configuration.backupIntervalHours = hours }
        if let keep = try number("BRIDGEOS_BACKUP_KEEP", 1...1000, "a whole number from 1 to 1000") {
            guard keep == keep.rounded() else { throw .invalidValue(variable: "BRIDGEOS_BACKUP_KEEP", value: "\(keep)", expected: "a whole number from 1 to 1000") }
            configuration.backupKeep = Int(keep)
        }
        if let raw = value("BRIDGEOS_TEST_USER_IDS") {
            configuration.testUserIDs = try Self.telegramIDs(raw, variable: "BRIDGEOS_TEST_USER_IDS")
        }
        configuration.business = try BusinessConfiguration(value: value)
        let known = Set(Self.settings.map(\.name) + (1...5).map { "BRIDGEOS_BOT\($0)_TOKEN" })
        configuration.unknownVariables = values.keys
            .filter { ($0.hasPrefix("BRIDGEOS_") || $0.hasPrefix("LEMONSQUEEZY_")) && !known.contains($0) }
            .sorted()
        self = configuration
    }

    /// "42, 7": a set of Telegram user ids.
    static func telegramIDs(_ raw: String, variable: String) throws(ConfigurationError) -> Set<Int64> {
        var ids: Set<Int64> = []
        for part in raw.split(separator: ",") {
            guard let id = Int64(part.trimmingCharacters(in: .whitespaces)), id > 0 else {
                throw .invalidValue(variable: variable, value: raw, expected: "comma-separated Telegram user ids")
            }
            ids.insert(id)
        }
        return ids
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError {
            return "no such file"
        }
        return nsError.localizedDescription
    }
}

/// The shape of a bot token as BotFather issues it: `<bot id>:<secret>`.
public enum BotTokenFormat {
    public static func isValid(_ value: String) -> Bool {
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let id = Int64(parts[0]), id > 0, parts[1].count >= 8 else { return false }
        return parts[1].unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
    }
}

extension AppConfiguration {
    /// Where the dashboard is reached: `BRIDGEOS_PUBLIC_URL`, else the HTTP listener's own address.
    public var dashboardBaseURL: String {
        if let publicURL { return publicURL }
        let host = httpHost.contains(":") ? "[\(httpHost)]" : (httpHost == "0.0.0.0" ? "127.0.0.1" : httpHost)
        return "http://\(host):\(httpPort)"
    }
}
