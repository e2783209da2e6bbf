import BridgeOSCore
import BridgeOSStorage
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `bridgeos restore`: puts a verified backup in place of the database, keeping the current one aside.
public enum Restore {
    public struct Outcome: Sendable {
        public let manifest: BackupManifest
        /// Where the database that was in place went (nil: there was none).
        public let keptAside: [String]
        public let dryRun: Bool
    }

    /// - Throws: `BackupError` with what to do: a damaged or mismatched backup, one from a newer schema, or
    ///   a running `serve` (the data directory is locked).
    public static func run(backup path: String, configuration: AppConfiguration, dryRun: Bool, now: Date = Date()) throws -> Outcome {
        let options = StoreOptions(configuration)
        let manifest = try Backups.verify(backup: path, options: options)
        let known = try SchemaMigrations.all().count
        guard manifest.schemaVersion <= known else {
            throw BackupError("the backup has schema version \(manifest.schemaVersion) (BridgeOS \(manifest.bridgeosVersion)); this bridgeos knows \(known): upgrade bridgeos first")
        }
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock: DataDirectoryLock
        do {
            lock = try DataDirectoryLock(directory: configuration.dataDirectory)
        } catch let held as DataDirectoryLock.Held {
            throw BackupError("bridgeos serve is running on \(configuration.dataDirectory)\(held.holder.map { " (pid \($0))" } ?? ""): stop it first (e.g. systemctl stop bridgeos), then restore")
        }
        defer { lock.release() }

        let database = configuration.databasePath
        let aside = asideName(for: database, now: now)
        if dryRun { return Outcome(manifest: manifest, keptAside: existing(database).map { aside + $0 }, dryRun: true) }

        let temporary = database + ".restoring-\(getpid())"
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            try FileManager.default.copyItem(atPath: path, toPath: temporary)
        } catch {
            throw BackupError("cannot copy \(path) into \(configuration.dataDirectory): \((error as NSError).localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        _ = chmod(temporary, 0o600)
        matchOwner(temporary, of: configuration.dataDirectory)
        try Backups.sync(file: temporary)
        guard try Backups.sha256(of: temporary) == manifest.sha256 else {
            throw BackupError("the copy of \(path) in \(configuration.dataDirectory) does not match the manifest: the disk may be failing; nothing was changed")
        }
        // The database with its WAL and shared memory, renamed together (listed now, after the copy) so the
        // pair still opens as one; any failure puts back what was moved.
        var moved: [(String, String)] = []
        func putBack() { for (from, to) in moved.reversed() { _ = rename(to, from) } }
        for suffix in existing(database) {
            guard rename(database + suffix, aside + suffix) == 0 else {
                let reason = String(cString: strerror(errno))
                putBack()
                throw BackupError("cannot move \(database + suffix) aside: \(reason); the database was left as it was")
            }
            moved.append((database + suffix, aside + suffix))
        }
        guard rename(temporary, database) == 0 else {
            let reason = String(cString: strerror(errno))
            putBack()
            throw BackupError("cannot put the backup in place: \(reason); the database was left as it was")
        }
        Backups.sync(directory: configuration.dataDirectory)
        do {
            try AppDatabase.useWriteAheadLog(at: database, options: options)
        } catch {
            throw BackupError("the backup is in place but could not be switched to WAL: \(StoreInspection.describe(error)); run `bridgeos migrate`")
        }
        return Outcome(manifest: manifest, keptAside: moved.map(\.1), dryRun: false)
    }

    /// Which of the database's files exist: "" (the file), "-wal", "-shm".
    static func existing(_ database: String) -> [String] {
        ["", "-wal", "-shm"].filter { FileManager.default.fileExists(atPath: database + $0) }
    }

    /// `<database>.before-restore-<UTC time>`, with a number added if that is taken (two restores in a second).
    static func asideName(for database: String, now: Date) -> String {
        let base = database + ".before-restore-" + Backups.stamp(now)
        var candidate = base
        var number = 2
        while ["", "-wal", "-shm"].contains(where: { FileManager.default.fileExists(atPath: candidate + $0) }) {
            candidate = "\(base)-\(number)"
            number += 1
        }
        return candidate
    }

    /// Run as root for a data directory another user owns (the service user), the restored file is theirs,
    /// so serve can open it.
    static func matchOwner(_ path: String, of directory: String) {
        guard getuid() == 0 else { return }
        var info = stat()
        guard stat(directory, &info) == 0, info.st_uid != 0 else { return }
        _ = chown(path, info.st_uid, info.st_gid)
    }
}
