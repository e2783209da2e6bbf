import ArgumentParser
import BridgeOSCore
import BridgeOSOperations
import BridgeOSStorage
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `bridgeos backup`: a verified copy of the database, safe while serve runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the database, also while serve runs: verified, fsynced, with a manifest.",
        discussion: """
            Writes a consistent copy (SQLite's VACUUM INTO, never a file copy) beside the target, checks it \
            (integrity_check, foreign_key_check), fsyncs it, moves it into place with mode 0600 and writes \
            <backup>.manifest.json (versions, sha256, rows per table). Into a directory, the file is named \
            bridgeos-<UTC time>.sqlite and the directory is pruned to the newest --keep backups.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("A directory (e.g. a mounted volume) or a new file. Default: BRIDGEOS_BACKUP_DIR.", valueName: "path"))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("Keep the newest N backups in the directory. Default: BRIDGEOS_BACKUP_KEEP.", valueName: "N"))
    var keep: Int?

    func validate() throws {
        if let keep, keep < 1 { throw ValidationError("--keep must be 1 or more") }
    }

    /// "backing up… 42% (120 MB)" on one terminal line.
    @Sendable static func showProgress(_ written: Int64, _ total: Int64) {
        let percent: Int = total > 0 ? min(99, Int(Double(written) / Double(total) * 100)) : 0
        let megabytes: Int64 = written / 1_048_576
        FileHandle.standardError.write(Data("\rbacking up… \(percent)% (\(megabytes) MB)".utf8))
    }

    func run() async throws {
        let configuration = try global.loadConfiguration()
        _ = global.makeLogger(configuration, label: "bridgeos.backup")
        let terminal = isatty(STDERR_FILENO) == 1
        let progress: (@Sendable (Int64, Int64) -> Void)? = terminal ? Self.showProgress : nil
        let output = output
        let keep = keep ?? configuration.backupKeep
        let result: BackupResult = try reportingFailures("backup") { () throws -> BackupResult in
            // Into the configured backup directory, the outcome is recorded for doctor, like serve's own.
            guard let output else { return try Backups.takeRecorded(configuration, reason: "manual", keep: keep, progress: progress) }
            return try Backups.take(databasePath: configuration.databasePath, options: StoreOptions(configuration), output: output,
                                    directory: configuration.backupDirectory, keep: keep, progress: progress)
        }
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let rows = result.manifest.tables.values.reduce(0, +)
        print("backup: \(result.path)")
        print("  \(ByteCountFormatter.string(fromByteCount: result.manifest.sizeBytes, countStyle: .file)), \(rows) rows in \(result.manifest.tables.count) tables, schema version \(result.manifest.schemaVersion), \(String(format: "%.1f", result.seconds)) s")
        print("  verified: integrity_check ok, foreign keys ok; sha256 \(result.manifest.sha256.prefix(16))…")
        print("  manifest: \(BackupManifest.path(for: result.path))")
        for path in result.pruned { print("  pruned: \(path)") }
    }
}

/// `bridgeos restore`: a verified backup in place of the database; the current one is kept aside.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore the database from a backup (serve must be stopped).",
        discussion: """
            Checks the backup against its manifest (size, sha256) and SQLite's checks, refuses one from a newer \
            BridgeOS, refuses while serve holds the data directory, moves the current database (with its -wal \
            and -shm) aside as bridgeos.sqlite.before-restore-<UTC time>, installs the backup and sets WAL.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The backup file (its .manifest.json must be beside it).", valueName: "path"))
    var backup: String

    @Flag(name: .long, help: "Check the backup and say what would happen; change nothing.")
    var dryRun = false

    func run() async throws {
        let configuration = try global.loadConfiguration()
        _ = global.makeLogger(configuration, label: "bridgeos.restore")
        let backup = backup
        let dryRun = dryRun
        let outcome: Restore.Outcome = try reportingFailures("restore") { () throws -> Restore.Outcome in
            try Restore.run(backup: backup, configuration: configuration, dryRun: dryRun)
        }
        let manifest = outcome.manifest
        print("backup verified: \(backup)")
        print("  taken \(manifest.createdAt) by BridgeOS \(manifest.bridgeosVersion), schema version \(manifest.schemaVersion), \(manifest.tables.values.reduce(0, +)) rows")
        if outcome.dryRun {
            print("dry run: would install it as \(configuration.databasePath)")
            for path in outcome.keptAside { print("  and keep the current file as \(path)") }
        } else {
            print("restored: \(configuration.databasePath)")
            for path in outcome.keptAside { print("  the previous file is kept as \(path)") }
            print("next: bridgeos doctor, then start serve")
        }
    }
}
