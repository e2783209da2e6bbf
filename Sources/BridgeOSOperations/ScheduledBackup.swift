import BridgeOSCore
import BridgeOSStorage
import Foundation
import Logging
import ServiceLifecycle

/// How the last automatic backup went, kept in `<backup dir>/last-backup.json` for `doctor` (and the
/// dashboard's alerts).
public struct BackupStatus: Codable, Sendable, Equatable {
    public var at: String
    public var ok: Bool
    public var reason: String
    public var path: String?
    public var error: String?

    public static func path(in directory: String) -> String { (directory as NSString).appendingPathComponent("last-backup.json") }

    public static func read(in directory: String) -> BackupStatus? {
        FileManager.default.contents(atPath: path(in: directory)).flatMap { try? JSONDecoder().decode(BackupStatus.self, from: $0) }
    }

    func write(in directory: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let target = Self.path(in: directory)
        let temporary = target + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else { return }
        _ = rename(temporary, target)
    }
}

extension Backups {
    /// Takes a backup and records how it went in the backup directory's status file.
    @discardableResult
    public static func takeRecorded(
        _ configuration: AppConfiguration, reason: String, keep: Int? = nil, now: Date = Date(),
        progress: (@Sendable (Int64, Int64) -> Void)? = nil
    ) throws -> BackupResult {
        do {
            let result = try take(databasePath: configuration.databasePath, options: StoreOptions(configuration), output: nil,
                                  directory: configuration.backupDirectory, keep: keep ?? configuration.backupKeep, reason: reason, now: now,
                                  progress: progress)
            BackupStatus(at: ISO8601DateFormatter().string(from: now), ok: true, reason: reason, path: result.path).write(in: configuration.backupDirectory)
            return result
        } catch {
            BackupStatus(at: ISO8601DateFormatter().string(from: now), ok: false, reason: reason, error: "\(error)").write(in: configuration.backupDirectory)
            throw error
        }
    }

    /// Before migrations are applied to an existing database: a backup, so an upgrade can be undone. Nil when
    /// there is no database yet or nothing to migrate.
    public static func beforeMigrating(_ configuration: AppConfiguration) throws -> BackupResult? {
        guard FileManager.default.fileExists(atPath: configuration.databasePath) else { return nil }
        let state: MigrationState
        do {
            state = try StoreInspection(path: configuration.databasePath, options: StoreOptions(configuration)).migrationState()
        } catch {
            return nil  // not readable as a BridgeOS database: opening it will say why
        }
        guard !state.pending.isEmpty, !state.applied.isEmpty, state.unknown.isEmpty else { return nil }
        return try takeRecorded(configuration, reason: "pre-migration")
    }
}

/// serve's automatic backups: one when the newest is older than the interval (at start too), then one per
/// interval. The copy runs on its own thread, so the cooperative pool keeps relaying meanwhile.
public struct BackupService: Service {
    let configuration: AppConfiguration
    let logger: Logger

    public init(configuration: AppConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let interval = configuration.backupIntervalHours * 3600
        guard interval > 0 else {
            // Off: stay until shutdown (a service that returns would stop the whole group).
            try? await gracefulShutdown()
            return
        }
        // After a failure the next try is an hour away (or the interval, if shorter), whatever the files say:
        // a backup directory that cannot be written must not turn into a loop.
        var retryAt = Date.distantPast
        while !Task.isCancelledOrShuttingDown {
            let due = max(nextDue(interval: interval), retryAt)
            let wait = due.timeIntervalSinceNow
            if wait > 0 {
                _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(min(wait, 3600))) }
                continue
            }
            if !(await backUp()) { retryAt = Date().addingTimeInterval(min(interval, 3600)) }
        }
    }

    func nextDue(interval: Double) -> Date {
        let formatter = ISO8601DateFormatter()
        let last = BackupStatus.read(in: configuration.backupDirectory).flatMap { formatter.date(from: $0.at) }
            ?? Backups.newest(in: configuration.backupDirectory).flatMap { $0.manifest.flatMap { formatter.date(from: $0.createdAt) } }
        guard let last else { return .distantPast }
        return last.addingTimeInterval(interval)
    }

    /// Whether it worked.
    func backUp() async -> Bool {
        let configuration = configuration
        let outcome: Result<BackupResult, any Error> = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: Result { try Backups.takeRecorded(configuration, reason: "scheduled") })
            }
        }
        switch outcome {
        case let .success(result):
            logger.info("backup taken", metadata: [
                "path": "\(result.path)", "bytes": "\(result.manifest.sizeBytes)", "seconds": "\(String(format: "%.1f", result.seconds))",
                "pruned": "\(result.pruned.count)",
            ])
            return true
        case let .failure(error):
            logger.error("scheduled backup failed", metadata: ["error": "\(error)", "directory": "\(configuration.backupDirectory)"])
            return false
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
