import BridgeOSCore
import BridgeOSStorage
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a backup holds, written beside it as `<backup>.manifest.json`; `restore` checks the file against it.
public struct BackupManifest: Codable, Sendable, Equatable {
    public var bridgeosVersion: String
    /// The number of migrations the backup's schema has.
    public var schemaVersion: Int
    public var sqliteVersion: String
    /// Of the backup file, hex.
    public var sha256: String
    public var sizeBytes: Int64
    /// Rows per table.
    public var tables: [String: Int]
    /// UTC, ISO 8601.
    public var createdAt: String
    /// Why it was taken: "manual", "scheduled", "pre-migration".
    public var reason: String

    public static func path(for backup: String) -> String { backup + ".manifest.json" }
}

/// A finished backup.
public struct BackupResult: Sendable {
    public let path: String
    public let manifest: BackupManifest
    public let seconds: Double
    /// Older backups removed to keep the newest N.
    public let pruned: [String]
}

/// Why a backup or restore could not be done, in words an admin can act on.
public struct BackupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `bridgeos backup` and serve's scheduled backups: a consistent copy taken next to live writers, verified,
/// durable, named by time, with a manifest, pruned to the newest N.
public enum Backups {
    /// Takes a backup of the database at `databasePath`.
    /// - Parameters:
    ///   - output: a directory (existing, or ending in "/") to put a timestamped file in, or a file path;
    ///     nil: `directory`.
    ///   - keep: prune the directory to the newest `keep` backups (only when writing into a directory).
    ///   - progress: told (bytes written so far, database size) a few times a second while the copy runs.
    public static func take(
        databasePath: String, options: StoreOptions = StoreOptions(), output: String?, directory: String, keep: Int?,
        reason: String = "manual", now: Date = Date(), progress: (@Sendable (Int64, Int64) -> Void)? = nil
    ) throws -> BackupResult {
        let started = ContinuousClock.now
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw BackupError("\(databasePath) does not exist: nothing to back up")
        }
        let (target, intoDirectory) = try resolve(output: output, directory: directory, now: now, reason: reason)
        let folder = (target as NSString).deletingLastPathComponent
        sweepPartials(in: folder)
        // Created empty, private and locked first (VACUUM INTO accepts an empty file): the copy is never readable
        // by others, whatever the umask, and no other run's sweep takes it while this one runs.
        let claim: ClaimedFile
        do {
            claim = try ClaimedFile.create(
                beside: (folder as NSString).appendingPathComponent(".\((target as NSString).lastPathComponent)"), marker: ".partial-")
        } catch let error as FilePlacementError {
            throw BackupError("cannot create the copy in \(folder): \(error.reason)")
        }
        let temporary = claim.path
        defer { claim.discard() }  // placed by then, or not to be kept

        let source = try StoreInspection(path: databasePath, options: options)
        let total = fileSize(databasePath) + fileSize(databasePath + "-wal")
        let watcher = progress.map { report in Self.watch(temporary, total: total, report) }
        do {
            try source.copy(to: temporary)
            watcher?.cancel()
        } catch {
            watcher?.cancel()
            throw BackupError("copying \(databasePath) failed: \(StoreInspection.describe(error))")
        }
        let manifest = try verify(copy: temporary, options: options, reason: reason, now: now)
        do { try claim.sync() } catch let error as FilePlacementError { throw BackupError("fsync \(temporary) failed: \(error.reason)") }
        // Never replaces a backup another process finished under the same name meanwhile.
        do {
            try FilePlacement.placeNew(temporary, at: target)
        } catch let error as FilePlacementError {
            throw BackupError("cannot move the backup into \(target): \(error.exists ? "it exists already (another backup in the same second?)" : error.reason)")
        }
        try writeManifest(manifest, for: target)
        sync(directory: folder)
        let pruned = intoDirectory ? try prune(directory: folder, keep: keep, sparing: target) : []
        return BackupResult(path: target, manifest: manifest, seconds: (ContinuousClock.now - started).seconds, pruned: pruned)
    }

    /// Checks a backup file against its manifest (size, sha256) and SQLite's own checks. Returns the manifest.
    public static func verify(backup path: String, options: StoreOptions = StoreOptions()) throws -> BackupManifest {
        guard FileManager.default.fileExists(atPath: path) else { throw BackupError("\(path) does not exist") }
        let manifestPath = BackupManifest.path(for: path)
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw BackupError("\(manifestPath) is missing: a backup is restored only with the manifest it was written with")
        }
        let manifest: BackupManifest
        do { manifest = try JSONDecoder().decode(BackupManifest.self, from: data) } catch {
            throw BackupError("\(manifestPath) cannot be read: \(error)")
        }
        let size = fileSize(path)
        guard size == manifest.sizeBytes else {
            throw BackupError("\(path) is \(size) bytes, its manifest says \(manifest.sizeBytes): the file is truncated or not the one backed up")
        }
        let digest = try sha256(of: path)
        guard digest == manifest.sha256 else {
            throw BackupError("\(path) does not match its manifest's sha256: the file was changed or damaged")
        }
        let checked = try checks(path, options: options)
        guard checked.problems.isEmpty else { throw BackupError("\(path) fails SQLite's checks: \(checked.problems.prefix(3).joined(separator: "; "))") }
        return manifest
    }

    /// The newest backup in `directory` (by name, which is its time), with its manifest if readable.
    public static func newest(in directory: String) -> (path: String, manifest: BackupManifest?)? {
        guard let name = backups(in: directory).last else { return nil }
        let path = (directory as NSString).appendingPathComponent(name)
        let manifest = FileManager.default.contents(atPath: BackupManifest.path(for: path)).flatMap { try? JSONDecoder().decode(BackupManifest.self, from: $0) }
        return (path, manifest)
    }

    /// Removes all but the newest `keep` backups (and their manifests) in `directory`, never `sparing` (the
    /// one just taken, even if a wrong clock named it older). Only files named as BridgeOS names backups are
    /// touched. Returns what it removed.
    @discardableResult
    public static func prune(directory: String, keep: Int?, sparing: String? = nil) throws -> [String] {
        guard let keep, keep > 0 else { return [] }
        let spared = sparing.map { ($0 as NSString).lastPathComponent }
        let names = backups(in: directory).filter { $0 != spared }
        let room = spared == nil ? keep : keep - 1
        guard names.count > room else { return [] }
        var removed: [String] = []
        for name in names.dropLast(max(0, room)) {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                try FileManager.default.removeItem(atPath: path)
            } catch where !FileManager.default.fileExists(atPath: path) {
                continue  // another prune got there first
            }
            try? FileManager.default.removeItem(atPath: BackupManifest.path(for: path))
            removed.append(path)
        }
        return removed
    }

    /// Copies left by a backup whose process died (killed mid-copy): `.<name>.partial-<pid>-<n>` of a pid that
    /// no longer runs, which no run holds locked.
    static func sweepPartials(in directory: String) {
        StaleFiles.sweep(in: directory) { name in
            guard name.hasPrefix(".\(prefix)"), let range = name.range(of: ".partial-") else { return nil }
            return name[range.upperBound...].split(separator: "-").first.flatMap { pid_t($0) }
        }
    }

    // MARK: Pieces

    static let prefix = "bridgeos-"

    /// Backups BridgeOS named (`bridgeos-YYYYMMDD-HHMMSS[-reason].sqlite`), oldest first.
    static func backups(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.range(of: #"^bridgeos-[0-9]{8}-[0-9]{6}(-[a-z-]+)?\.sqlite$"#, options: .regularExpression) != nil }
            // An empty file is no backup (a crash while a file system without hard links was placing one).
            .filter { fileSize((directory as NSString).appendingPathComponent($0)) > 0 }
            .sorted()
    }

    /// The file to write and whether it goes into a directory of backups.
    /// `yyyyMMdd-HHmmss` in UTC: names of backups and of databases a restore put aside.
    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }

    static func resolve(output: String?, directory: String, now: Date, reason: String) throws -> (String, Bool) {
        let name = "\(prefix)\(stamp(now))\(reason == "manual" ? "" : "-\(reason)").sqlite"
        var isDirectory: ObjCBool = false
        let path = output ?? directory
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if output == nil || path.hasSuffix("/") || (exists && isDirectory.boolValue) {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw BackupError("cannot create \(path): \((error as NSError).localizedDescription)")
            }
            let target = (path as NSString).appendingPathComponent(name)
            guard !FileManager.default.fileExists(atPath: target) else { throw BackupError("\(target) exists already: try again in a second") }
            return (target, true)
        }
        guard !exists else { throw BackupError("\(path) exists: choose a new file name, or a directory") }
        guard !FileManager.default.fileExists(atPath: BackupManifest.path(for: path)) else {
            throw BackupError("\(BackupManifest.path(for: path)) exists: choose a new file name, or a directory")
        }
        let parent = (path as NSString).deletingLastPathComponent
        guard parent.isEmpty || FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue || parent.isEmpty else {
            throw BackupError("\(parent) is not a directory")
        }
        return (path, false)
    }

    static func verify(copy path: String, options: StoreOptions, reason: String, now: Date) throws -> BackupManifest {
        let checked = try checks(path, options: options)
        guard checked.problems.isEmpty else {
            throw BackupError("the copy fails SQLite's checks: \(checked.problems.prefix(3).joined(separator: "; "))")
        }
        return BackupManifest(
            bridgeosVersion: BridgeOSVersion.current, schemaVersion: checked.schemaVersion, sqliteVersion: AppDatabase.sqliteVersionText,
            sha256: try sha256(of: path), sizeBytes: fileSize(path), tables: checked.tables,
            createdAt: ISO8601DateFormatter().string(from: now), reason: reason)
    }

    /// integrity_check, foreign_key_check, the schema version and the row counts of a copy.
    static func checks(_ path: String, options: StoreOptions) throws -> (problems: [String], schemaVersion: Int, tables: [String: Int]) {
        do {
            let copy = try StoreInspection(path: path, options: options)
            var problems = try copy.fullIntegrityProblems()
            problems += try copy.foreignKeyViolations().prefix(3).map { "foreign key: \($0.table) row \($0.rowid.map(String.init) ?? "?") → missing \($0.parent)" }
            let state = try copy.migrationState()
            if !state.unknown.isEmpty { problems.append("written by a newer BridgeOS (migrations \(state.unknown.joined(separator: ", ")))") }
            return (problems, state.userVersion, try copy.rowCounts())
        } catch {
            return (["\(StoreInspection.describe(error))"], 0, [:])
        }
    }

    static func writeManifest(_ manifest: BackupManifest, for backup: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = BackupManifest.path(for: backup)
        let temporary = path + ".partial-\(getpid())"
        do {
            try encoder.encode(manifest).write(to: URL(fileURLWithPath: temporary))
            _ = chmod(temporary, 0o600)
            try sync(file: temporary)
            guard rename(temporary, path) == 0 else { throw BackupError(String(cString: strerror(errno))) }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw BackupError("cannot write \(path): \(error)")
        }
    }

    public static func sha256(of path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BackupError("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func sync(file path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw BackupError("cannot open \(path) to sync it: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw BackupError("fsync \(path) failed: \(String(cString: strerror(errno)))") }
    }

    /// Makes a rename in `path` durable (best effort: not every file system allows it).
    static func sync(directory path: String) {
        FilePlacement.sync(directory: path)
    }

    /// Reports the copy's growth until cancelled.
    static func watch(_ path: String, total: Int64, _ report: @escaping @Sendable (Int64, Int64) -> Void) -> Task<Void, Never> {
        Task.detached {
            while !Task.isCancelled {
                report(fileSize(path), total)
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}
