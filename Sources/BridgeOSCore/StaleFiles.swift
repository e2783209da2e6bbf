import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Temporary files (`<file><marker><pid>-<n>`, with their `-wal`, `-shm` or `-journal`) that a run killed
/// outright (SIGKILL, a power cut) left behind. They can hold every conversation, so they are removed, but only
/// when no run owns them any more: the file is not locked (every run holds a `ClaimedFile` lock on its own
/// temporary file, which a run in another PID namespace or on another host sharing the directory holds too),
/// and the process named in it is gone.
public enum StaleFiles {
    /// Removes the leftovers beside `file`; returns the paths removed.
    @discardableResult
    public static func sweep(beside file: String, marker: String) -> [String] {
        let url = URL(fileURLWithPath: file)
        let prefix = url.lastPathComponent + marker
        return sweep(in: url.deletingLastPathComponent().path) { name in
            guard name.hasPrefix(prefix) else { return nil }
            return name.dropFirst(prefix.count).split(separator: "-").first.flatMap { pid_t($0) }
        }
    }

    /// Removes the leftovers in `directory` whose names `owner` recognises (it returns the pid in the name).
    @discardableResult
    public static func sweep(in directory: String, owner: (String) -> pid_t?) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        let companions = ["-wal", "-shm", "-journal"]
        // Each temporary file with its companions, decided on together by the main file's lock.
        var groups: [String: [String]] = [:]
        for name in names {
            let base = companions.first { name.hasSuffix($0) }.map { String(name.dropLast($0.count)) } ?? name
            guard let pid = owner(base), pid > 0, pid != getpid() else { continue }
            groups[base, default: []].append(name)
        }
        var removed: [String] = []
        for (base, members) in groups.sorted(by: { $0.key < $1.key }) {
            let basePath = (directory as NSString).appendingPathComponent(base)
            guard let pid = owner(base), isAbandoned(basePath, pid: pid) else { continue }
            for name in members.sorted(by: { $0.count > $1.count }) {  // companions first, the main file last
                let path = (directory as NSString).appendingPathComponent(name)
                if unlink(path) == 0 { removed.append(path) }
            }
        }
        return removed
    }

    /// True when the process `pid` is gone here and nobody holds the file's lock.
    static func isAbandoned(_ path: String, pid: pid_t) -> Bool {
        // ESRCH: no such process here. EPERM means it lives under another user: keep its files.
        guard kill(pid, 0) != 0, errno == ESRCH else { return false }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        // Companions whose main file is gone already are abandoned.
        guard descriptor >= 0 else { return errno == ENOENT }
        defer { close(descriptor) }
        return flock(descriptor, LOCK_EX | LOCK_NB) == 0
    }
}

/// A temporary file this run created and owns: new (`O_EXCL`, mode 0600: it may hold every conversation),
/// locked with `flock` as long as it is held, so that `StaleFiles.sweep` of any other run leaves it alone.
///
/// SQLite's own locks are POSIX record locks, which `flock` does not touch; but closing any descriptor of a
/// file drops this process's record locks on it, so `release()` comes after SQLite has closed the file.
public final class ClaimedFile: @unchecked Sendable {  // the descriptor is guarded by `lock`
    public let path: String
    /// Open for reading and writing; it carries the lock. Valid until `release()`.
    public let descriptor: Int32
    private let lock = NSLock()
    private var held = true

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Creates `path`, which must not exist, and locks it.
    public static func create(_ path: String) throws -> ClaimedFile {
        let descriptor = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw FilePlacementError(path: path, reason: String(cString: strerror(errno)), exists: errno == EEXIST)
        }
        var ours = stat()
        var named = stat()
        // The lock, then a check that the name is still this file: a sweep that raced the lock removed it.
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0, fstat(descriptor, &ours) == 0, stat(path, &named) == 0,
              ours.st_ino == named.st_ino, ours.st_dev == named.st_dev
        else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw FilePlacementError(path: path, reason: "cannot lock the new file (\(reason))", exists: false)
        }
        return ClaimedFile(path: path, descriptor: descriptor)
    }

    /// A unique name beside `file`: `<file><marker><pid>-<random>`, the form `StaleFiles.sweep` recognises.
    public static func name(beside file: String, marker: String) -> String {
        file + marker + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Writes what the file holds to disk.
    public func sync() throws {
        try lock.withLock {
            guard held, fsync(descriptor) == 0 else {
                throw FilePlacementError(path: path, reason: held ? String(cString: strerror(errno)) : "already released", exists: false)
            }
        }
    }

    /// Closes the descriptor, which releases the lock. Once; later calls do nothing.
    public func release() {
        lock.withLock {
            guard held else { return }
            held = false
            close(descriptor)
        }
    }
}
