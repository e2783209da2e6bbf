import AsyncHTTPClient
import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `doctor`'s checks beyond the database file: disk, WAL, permissions, backups, queues, the bots' tokens
/// and the translator. Each says what to do when it is not OK; `fix` mends only what is safe to mend
/// (permissions).
extension Doctor {
    /// - Parameter envFile: the env file the settings came from: checked for lines systemd reads otherwise.
    public func run(configuration: AppConfiguration, fix: Bool, httpClient: HTTPClient, logger: Logger, envFile: String? = nil) async -> DoctorReport {
        let options = StoreOptions(configuration)
        var fixes: [DoctorCheck] = []
        if fix { fixes = Self.fixPermissions(configuration) }
        let base = run(databasePath: configuration.databasePath, options: options)
        var checks = base.checks + fixes
        let exists = FileManager.default.fileExists(atPath: configuration.databasePath)
        if exists {
            checks.append(Self.permissions(configuration))
            checks.append(Self.diskSpace(configuration))
            checks.append(Self.walSize(configuration))
        }
        let store = exists ? try? StoreInspection(path: configuration.databasePath, options: options) : nil
        let summary = try? store?.queueSummary()
        checks.append(Self.lastBackup(configuration, people: summary?.people ?? 0))
        if let summary {
            checks.append(Self.jobs(summary, now: Date()))
            checks.append(Self.deadLetters(summary))
        }
        if let envFile { checks.append(Self.envFile(envFile)) }
        checks += await Self.tokens(configuration, httpClient: httpClient, logger: logger)
        checks += await Self.translators(configuration, httpClient: httpClient, logger: logger)
        return DoctorReport(databasePath: configuration.databasePath, checks: checks)
    }

    // MARK: Files

    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o777
    }

    static func owner(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "?" }
        if let entry = getpwuid(info.st_uid) { return String(cString: entry.pointee.pw_name) }
        return "uid \(info.st_uid)"
    }

    /// The database (and its -wal, -shm) readable by its owner only, the data directory likewise.
    static func permissions(_ configuration: AppConfiguration) -> DoctorCheck {
        let database = configuration.databasePath
        var loose: [String] = []
        for path in [database, database + "-wal", database + "-shm"] {
            if let mode = mode(path), mode & 0o077 != 0 { loose.append("\((path as NSString).lastPathComponent) \(String(mode, radix: 8))") }
        }
        if let mode = mode(configuration.dataDirectory), mode & 0o077 != 0 { loose.append("data directory \(String(mode, radix: 8))") }
        guard loose.isEmpty else {
            return DoctorCheck("permissions", .failed,
                               "others can read the conversations: \(loose.joined(separator: ", ")); run `bridgeos doctor --fix` (sets 600 on the files, 700 on the directory)")
        }
        return DoctorCheck("permissions", .ok, "owner \(owner(database)), mode 600, data directory 700")
    }

    static func fixPermissions(_ configuration: AppConfiguration) -> [DoctorCheck] {
        var mended: [String] = []
        var failed: [String] = []
        let database = configuration.databasePath
        let targets: [(String, mode_t)] = [(database, 0o600), (database + "-wal", 0o600), (database + "-shm", 0o600),
                                            (configuration.dataDirectory, 0o700), (configuration.backupDirectory, 0o700)]
        for (path, wanted) in targets {
            guard let mode = mode(path), mode & 0o077 != 0 else { continue }
            if chmod(path, wanted) == 0 { mended.append("\(path) → \(String(wanted, radix: 8))") } else { failed.append("\(path): \(String(cString: strerror(errno)))") }
        }
        var checks: [DoctorCheck] = []
        if !mended.isEmpty { checks.append(DoctorCheck("fix", .ok, "permissions set: " + mended.joined(separator: ", "))) }
        if !failed.isEmpty { checks.append(DoctorCheck("fix", .failed, "could not set permissions: " + failed.joined(separator: ", "))) }
        return checks
    }

    /// Room for a backup and a VACUUM: twice the database beside it, and one database more in the backup
    /// directory when that is on another file system.
    static func diskSpace(_ configuration: AppConfiguration) -> DoctorCheck {
        let size = Backups.fileSize(configuration.databasePath) + Backups.fileSize(configuration.databasePath + "-wal")
        let text = { (bytes: Int64) in ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file) }
        func free(_ path: String) -> (bytes: Int64, device: UInt64)? {
            guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: path),
                  let bytes = (attributes[.systemFreeSize] as? NSNumber)?.int64Value else { return nil }
            return (bytes, (attributes[.systemNumber] as? NSNumber)?.uint64Value ?? 0)
        }
        guard let data = free(configuration.dataDirectory) else {
            return DoctorCheck("disk space", .warning, "cannot read the free space of \(configuration.dataDirectory)")
        }
        guard data.bytes >= 2 * size else {
            return DoctorCheck("disk space", .failed, "\(text(data.bytes)) free, less than twice the database (\(text(size))): free space, or move backups elsewhere (BRIDGEOS_BACKUP_DIR)")
        }
        if FileManager.default.fileExists(atPath: configuration.backupDirectory), let backups = free(configuration.backupDirectory),
           backups.device != data.device, backups.bytes < size {
            return DoctorCheck("disk space", .failed, "the backup directory has \(text(backups.bytes)) free, less than the database (\(text(size))): free space there")
        }
        return DoctorCheck("disk space", .ok, "\(text(data.bytes)) free, database \(text(size))")
    }

    /// A WAL that keeps growing means something holds checkpoints back.
    static func walSize(_ configuration: AppConfiguration) -> DoctorCheck {
        let wal = Backups.fileSize(configuration.databasePath + "-wal")
        let text = ByteCountFormatter.string(fromByteCount: wal, countStyle: .file)
        guard wal < 256 << 20 else {
            return DoctorCheck("WAL", .warning, "\(text): checkpoints are held back (a long read?); restart serve, and look for other processes reading the database")
        }
        return DoctorCheck("WAL", .ok, text)
    }

    // MARK: Backups and queues

    static func lastBackup(_ configuration: AppConfiguration, people: Int, now: Date = Date()) -> DoctorCheck {
        let directory = configuration.backupDirectory
        let newest = Backups.newest(in: directory)
        if let status = BackupStatus.read(in: directory), !status.ok {
            // Failed, and no backup taken since.
            let failedAt = ISO8601DateFormatter().date(from: status.at) ?? .distantPast
            let newer = newest?.manifest.flatMap { ISO8601DateFormatter().date(from: $0.createdAt) }.map { $0 > failedAt } ?? false
            if !newer {
                return DoctorCheck("backups", .failed, "the \(status.reason) backup at \(status.at) failed: \(status.error ?? "?"); run `bridgeos backup` to see why")
            }
        }
        guard let newest else {
            return people == 0
                ? DoctorCheck("backups", .ok, "none yet; nothing to back up so far (\(directory))")
                : DoctorCheck("backups", .warning, "no backup in \(directory) yet: run `bridgeos backup` (serve takes one every \(Int(configuration.backupIntervalHours)) h)")
        }
        let taken = newest.manifest.flatMap { ISO8601DateFormatter().date(from: $0.createdAt) }
        guard let taken else { return DoctorCheck("backups", .warning, "\(newest.path) has no readable manifest: take a new backup") }
        let hours = now.timeIntervalSince(taken) / 3600
        let limit = max(configuration.backupIntervalHours, 24) * 2
        let age = hours < 48 ? "\(Int(hours.rounded())) h" : "\(Int((hours / 24).rounded())) days"
        guard hours <= limit else {
            return DoctorCheck("backups", .warning, "the newest backup is \(age) old (\(newest.path)): is serve running? run `bridgeos backup`")
        }
        return DoctorCheck("backups", .ok, "newest \(age) old: \(newest.path)")
    }

    static func jobs(_ summary: QueueSummary, now: Date) -> DoctorCheck {
        guard let oldest = summary.oldestJob else { return DoctorCheck("jobs", .ok, "none waiting") }
        let minutes = Int(now.timeIntervalSince(oldest) / 60)
        guard minutes < 60 else {
            return DoctorCheck("jobs", .warning, "\(summary.jobsWaiting) waiting, the oldest for \(minutes) min: is serve running, and the translator reachable? (serve's log says)")
        }
        return DoctorCheck("jobs", .ok, "\(summary.jobsWaiting) waiting, the oldest for \(minutes) min")
    }

    static func deadLetters(_ summary: QueueSummary) -> DoctorCheck {
        guard summary.deadLetters == 0 else {
            return DoctorCheck("dead letters", .warning, "\(summary.deadLetters) message(s) Telegram refused for good (their senders were told); serve's log has the reasons")
        }
        return DoctorCheck("dead letters", .ok, "none; \(summary.undelivered) held for people who blocked a bot")
    }

    /// The env file as systemd's `EnvironmentFile=` reads it (the packaged service does; `--env-file` reads it
    /// BridgeOS's way).
    static func envFile(_ path: String) -> DoctorCheck {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return DoctorCheck("env file", .warning, "cannot read \(path)")
        }
        if let mode = mode(path), mode & 0o077 != 0 {
            return DoctorCheck("env file", .warning, "\(path) holds tokens and not only its owner can read it (mode \(String(mode, radix: 8))): "
                               + "make it the service user's alone, e.g. chown bridgeos: \(path) && chmod 600 \(path)")
        }
        let differences = EnvironmentFile.systemdDifferences(text)
        guard !differences.isEmpty else { return DoctorCheck("env file", .ok, "\(path) reads the same for systemd's EnvironmentFile=") }
        let lines = differences.prefix(5).map { "line \($0.line): \($0.reason)" }.joined(separator: "; ")
        return DoctorCheck("env file", .warning, "\(path), for the service (systemd's EnvironmentFile=): \(lines); put comments on lines of their own")
    }

    // MARK: Network

    static func tokens(_ configuration: AppConfiguration, httpClient: HTTPClient, logger: Logger) async -> [DoctorCheck] {
        let tokens = configuration.botTokens.sorted { $0.key < $1.key }
        guard !tokens.isEmpty else {
            return [DoctorCheck("bot tokens", .warning, "none configured: serve needs BRIDGEOS_BOT1_TOKEN (did you pass --env-file?)")]
        }
        var checks: [DoctorCheck] = []
        for (slot, value) in tokens {
            let name = "slot \(slot)"
            guard let token = BotToken(value) else {
                checks.append(DoctorCheck(name, .failed, "the token is not shaped like a @BotFather token"))
                continue
            }
            let client = BotAPIClient(token: token, httpClient: httpClient,
                                      configuration: BotAPIConfiguration(baseURL: configuration.telegramAPIURL, requestTimeout: .seconds(10)), logger: logger)
            do {
                let me = try await client.call(GetMe())
                checks.append(webhookCheck(name, bot: me.username, info: try? await client.call(GetWebhookInfo()),
                                           expected: configuration.webhookURL(slot: slot)))
            } catch let error as TelegramError {
                checks.append(DoctorCheck(name, .failed, "getMe: \(error); check the token with @BotFather and the network"))
            } catch {
                checks.append(DoctorCheck(name, .failed, "getMe: \(error)"))
            }
        }
        return checks
    }

    /// getMe answered; what Telegram says of the bot's webhook, against the mode serve runs in.
    static func webhookCheck(_ name: String, bot: String, info: WebhookInfo?, expected: String?) -> DoctorCheck {
        let answers = "@\(bot) answers getMe"
        guard let info else { return DoctorCheck(name, .warning, "\(answers); getWebhookInfo did not answer") }
        let host = URL(string: info.url)?.host ?? info.url
        guard let expected else {
            if info.url.isEmpty { return DoctorCheck(name, .ok, "\(answers); polls (no webhook set)") }
            return DoctorCheck(name, .warning, "\(answers); a webhook to \(host) is set: serve deletes it at start and polls (BRIDGEOS_WEBHOOK=0); if another program uses this token, stop it first")
        }
        if info.url.isEmpty {
            return DoctorCheck(name, .ok, "\(answers); webhook mode: serve sets \(expected) at start")
        }
        guard info.url == expected else {
            return DoctorCheck(name, .warning, "\(answers); the webhook points to \(host), not \(expected): is another BridgeOS using this token?")
        }
        if let message = info.lastErrorMessage, info.pendingUpdateCount > 0 {
            return DoctorCheck(name, .failed, "\(answers); Telegram cannot deliver to \(expected): \(message) (\(info.pendingUpdateCount) updates waiting): check the reverse proxy, its certificate and that serve runs")
        }
        return DoctorCheck(name, .ok, "\(answers); webhook \(expected), \(info.pendingUpdateCount) updates waiting")
    }

    /// Each configured provider: a tiny real translation, and the pairs of BridgeOS's languages it translates.
    static func translators(_ configuration: AppConfiguration, httpClient: HTTPClient, logger: Logger) async -> [DoctorCheck] {
        let translation = configuration.translation
        switch translation.chain {
        case []:
            return [DoctorCheck("translator", .warning, "none: connected people are told translation is off (set BRIDGEOS_TRANSLATOR)")]
        case ["phrasebook"]:
            return [DoctorCheck("translator", .warning, "the demo phrasebook knows only the demo's sentences: set BRIDGEOS_TRANSLATOR to a provider for a team")]
        default:
            break
        }
        var checks: [DoctorCheck] = []
        for name in translation.chain {
            let label = "translator \(name)"
            if let missing = translation.missing(for: name) {
                checks.append(DoctorCheck(label, .failed, missing))
                continue
            }
            guard let translator = TranslationProviders.translator(name, translation, httpClient: httpClient, logger: logger) else { continue }
            let support: LanguageSupport
            do {
                support = try await translator.languageSupport()
            } catch {
                checks.append(DoctorCheck(label, .failed, "cannot list its languages: \(error)"))
                continue
            }
            let pair = support.contains(LanguagePair("en", "es")) ? LanguagePair("en", "es") : Self.pairs(support).first
            guard let pair else {
                checks.append(DoctorCheck(label, .failed, "translates none of BridgeOS's languages into another"))
                continue
            }
            do {
                _ = try await translator.translate(TranslationRequest(text: "Good morning", sourceLanguage: pair.source, targetLanguage: pair.target, speaker: .manager))
                checks.append(DoctorCheck(label, .ok, "translates (\(pair)); pairs: \(Self.describe(support))"))
            } catch {
                checks.append(DoctorCheck(label, .failed, "\(pair): \(error)"))
            }
        }
        if translation.transcriber == "openai" {
            checks.append(DoctorCheck("transcriber", .ok, "voice messages go to \(translation.transcriberURL ?? translation.openAIBaseURL)/audio/transcriptions (\(translation.transcriberModel)); not called here"))
        }
        return checks
    }

    static func pairs(_ support: LanguageSupport) -> [LanguagePair] {
        switch support {
        case .any: [LanguagePair("en", "es")]
        case let .pairs(pairs): pairs.sorted()
        }
    }

    /// "any of the 14 languages", or "en→de,es; es→en".
    static func describe(_ support: LanguageSupport) -> String {
        guard case let .pairs(pairs) = support else { return "any pair of BridgeOS's \(TranslationPrompt.languageCodes.count) languages" }
        let bySource = Dictionary(grouping: pairs, by: \.source)
        return bySource.keys.sorted().map { source in "\(source)→" + bySource[source]!.map(\.target).sorted().joined(separator: ",") }.joined(separator: "; ")
    }
}
