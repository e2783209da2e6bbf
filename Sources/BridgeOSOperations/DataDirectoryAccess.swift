import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether this process may write what `serve` writes: the data directory (its lock, the write-ahead log,
/// backups) and the database with its `-wal` and `-shm`. Checked before anything is opened, so a wrong owner
/// or a read-only mount is one clear sentence (and exit 78: restarting cannot fix it), never a half-started
/// appliance or a Foundation error dump.
public enum DataDirectoryAccess {
    public struct NotWritable: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public let user: String
        /// The data directory that would be made in `path`, when it does not exist yet.
        public var making: String? = nil

        public var description: String {
            "\(path) is not writable by \(user) (\(reason))" + (making.map { ", so the data directory \($0) cannot be made" } ?? "")
                + ": run bridgeos as the owner of the data directory "
                + "(the packaged service runs as bridgeos: chown -R bridgeos:bridgeos on the directory), "
                + "or point BRIDGEOS_DATA_DIR at a directory this user owns"
        }
    }

    /// Throws `NotWritable` for the first of `directory` (or, while it does not exist, the ancestor it would
    /// be made in), `database`, `database-wal` and `database-shm` that exists and this user may not write (a
    /// directory it may not also enter).
    public static func check(directory: String, database: String) throws(NotWritable) {
        // A directory still to be made is made in its nearest existing ancestor.
        var existing = URL(fileURLWithPath: directory).standardizedFileURL
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" { existing.deleteLastPathComponent() }
        do {
            try require(existing.path, access: W_OK | X_OK)
        } catch {
            var error = error
            if existing.path != URL(fileURLWithPath: directory).standardizedFileURL.path { error.making = directory }
            throw error
        }
        for path in [database, database + "-wal", database + "-shm"] { try require(path, access: R_OK | W_OK) }
    }

    private static func require(_ path: String, access mode: Int32) throws(NotWritable) {
        var status = stat()
        guard stat(path, &status) == 0 || errno != ENOENT else { return }
        guard access(path, mode) != 0 else { return }
        throw NotWritable(path: path, reason: String(cString: strerror(errno)).lowercased(), user: currentUser)
    }

    /// "user nobody (uid 65534)".
    static var currentUser: String {
        let uid = getuid()
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "uid \(uid)" }
        return "user \(String(cString: name)) (uid \(uid))"
    }
}
