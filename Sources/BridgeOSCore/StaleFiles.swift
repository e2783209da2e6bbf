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
/// and the process named in it is gone here. Where the file system has no locks, the process alone decides.
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
        var groups: [String: (pid: pid_t, members: [String])] = [:]
        for name in names {
            let base = companions.first { name.hasSuffix($0) }.map { String(name.dropLast($0.count)) } ?? name
            guard let pid = owner(base), pid > 0, pid != getpid() else { continue }
            groups[base, default: (pid, [])].members.append(name)
        }
        var removed: [String] = []
        for (base, (pid, members)) in groups.sorted(by: { $0.key < $1.key }) {
            let basePath = (directory as NSString).appendingPathComponent(base)
            guard let probe = abandoned(basePath, pid: pid) else { continue }
            // The probe's lock is held until the files are gone: a run that created this very name meanwhile
            // waits for it, then finds its file removed and takes another name.
            defer { if probe >= 0 { close(probe) } }
            for name in members.sorted(by: { $0.count > $1.count }) {  // companions first, the main file last
                let path = (directory as NSString).appendingPathComponent(name)
                if unlink(path) == 0 { removed.append(path) }
            }
        }
        return removed
    }

    /// When the process `pid` is gone here and nobody holds the file's lock: the descriptor that holds the
    /// probing lock now (-1 when the file is gone already), to close once the files are removed. Nil: keep them.
    static func abandoned(_ path: String, pid: pid_t) -> Int32? {
        // ESRCH: no such process here. EPERM means it lives under another user: keep its files.
        guard kill(pid, 0) != 0, errno == ESRCH else { return nil }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        // Companions whose main file is gone already are abandoned.
        guard descriptor >= 0 else { return errno == ENOENT ? -1 : nil }
        switch ClaimedFile.lock(descriptor, type: F_RDLCK, wait: false) {
        case .taken, .unsupported:
            return descriptor
        case .held, .unknown:
            close(descriptor)
            return nil
        }
    }
}

/// A temporary file this run created and owns: new (`O_EXCL`, mode 0600: it may hold every conversation),
/// locked as long as it is held, so that `StaleFiles.sweep` of any other run leaves it alone.
///
/// The lock is an open-file-description lock on one byte far beyond any SQLite uses: it never meets SQLite's
/// own locks on the same file (also on NFS, where `flock` would), and closing another descriptor of the file
/// does not drop it.
public final class ClaimedFile: @unchecked Sendable {  // the descriptor is guarded by `lock`
    public let path: String
    /// Open for reading and writing; it carries the lock. Valid until `release()`.
    public let descriptor: Int32
    private let mutex = NSLock()
    private var held = true

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Creates a new file named `<file><marker><pid>-<random>` (the form `StaleFiles.sweep` recognises) and
    /// locks it; a name taken meanwhile, or a file swept in the instant before its lock, is tried again anew.
    public static func create(beside file: String, marker: String) throws -> ClaimedFile {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try create(file + marker + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            } catch let error as FilePlacementError where attempt < 3 && error.retryable {
                continue
            }
        }
    }

    /// Creates `path`, which must not exist, and locks it.
    public static func create(_ path: String) throws -> ClaimedFile {
        let descriptor = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let failure = errno
            throw FilePlacementError(path: path, reason: String(cString: strerror(failure)), exists: failure == EEXIST)
        }
        // The lock (none where the file system has none), then a check that the name is still this file: a
        // sweep in another PID namespace that looked in the instant before the lock may have removed it.
        // Without locks here (or for the moment) the run goes on: the sweep then keeps what it cannot judge.
        guard lock(descriptor, type: F_WRLCK, wait: true) != .held, FilePlacement.sameFile(descriptor, path) else {
            if FilePlacement.sameFile(descriptor, path) { unlink(path) }
            close(descriptor)
            throw FilePlacementError(path: path, reason: "the new file was removed before it could be locked", exists: false, retryable: true)
        }
        return ClaimedFile(path: path, descriptor: descriptor)
    }

    /// Writes what the file holds to disk.
    public func sync() throws {
        try mutex.withLock {
            guard held else { throw FilePlacementError(path: path, reason: "already released", exists: false) }
            guard fsync(descriptor) == 0 else {
                throw FilePlacementError(path: path, reason: String(cString: strerror(errno)), exists: false)
            }
        }
    }

    /// Removes the file (if its name still names it) and releases the claim: a run that did not finish.
    public func discard() {
        mutex.withLock {
            guard held else { return }
            if FilePlacement.sameFile(descriptor, path) { unlink(path) }
            held = false
            close(descriptor)
        }
    }

    /// Closes the descriptor, which releases the lock. Once; later calls do nothing.
    public func release() {
        mutex.withLock {
            guard held else { return }
            held = false
            close(descriptor)
        }
    }

    /// What asking for the lock found.
    /// `unsupported`: the file system has no such locks; `unknown`: it could not say (ENOLCK: NFS without
    /// its lock daemon, often for a moment), so a sweep keeps the file.
    enum LockResult { case taken, held, unsupported, unknown }

    /// Linux's open-file-description lock commands (<fcntl.h> declares them only for _GNU_SOURCE).
    static let setLock: Int32 = 37  // F_OFD_SETLK
    static let setLockWait: Int32 = 38  // F_OFD_SETLKW

    /// The byte the claim locks: far beyond SQLite's lock bytes (at 1 GiB) and any real file's size.
    static let lockOffset: Int = 1 << 62

    /// Takes (`F_WRLCK`, waiting for a probing sweep) or probes (`F_RDLCK`) the claim's lock on `descriptor`.
    /// A probe's lock goes with its descriptor.
    static func lock(_ descriptor: Int32, type: Int32, wait: Bool) -> LockResult {
        var request = Glibc.flock()
        request.l_type = Int16(type)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = off_t(lockOffset)
        request.l_len = 1
        request.l_pid = 0
        while fcntl(descriptor, wait ? setLockWait : setLock, &request) != 0 {
            switch errno {
            case EINTR: continue
            case EAGAIN, EACCES: return .held
            case EINVAL, EOPNOTSUPP, ENOSYS: return .unsupported
            default: return .unknown
            }
        }
        return .taken
    }
}
