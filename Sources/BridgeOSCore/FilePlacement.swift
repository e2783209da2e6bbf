import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file that could not be created or put in place.
public struct FilePlacementError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    /// The path exists already (created by someone else meanwhile).
    public let exists: Bool
    /// Trying again under another name may succeed.
    let retryable: Bool

    public init(path: String, reason: String, exists: Bool, retryable: Bool = false) {
        self.path = path
        self.reason = reason
        self.exists = exists
        self.retryable = retryable
    }

    public var description: String { "\(path): \(reason)" }

    /// A system call's failure `code` at `path`.
    static func failed(_ path: String, _ code: Int32) -> FilePlacementError {
        FilePlacementError(path: path, reason: code == EEXIST ? "it exists already" : String(cString: strerror(code)), exists: code == EEXIST)
    }
}

/// Puts a finished temporary file in place under its final name, durably.
public enum FilePlacement {
    /// Gives `temporary` the name `destination`, which must not exist: never replaces a file, even one another
    /// process put there meanwhile. In order: `link()`; where the file system has no hard links (vfat, some
    /// FUSE mounts), `renameat2(RENAME_NOREPLACE)`; where it has neither (NFS), the name is claimed with
    /// `O_EXCL` and the file renamed over that empty claim (a crash in between leaves an empty file there).
    public static func placeNew(_ temporary: String, at destination: String) throws {
        try placeNew(temporary, at: destination, hardLink: { link($0, $1) }, renameNoReplace: renameNoReplace)
    }

    /// `placeNew` with its system calls given (tests stand in file systems that lack them).
    static func placeNew(
        _ temporary: String, at destination: String,
        hardLink: (String, String) -> Int32, renameNoReplace: (String, String) -> Int32
    ) throws {
        // The failures that mean "this file system cannot do that", not "no".
        let unsupported = [EPERM, ENOTSUP, EOPNOTSUPP, EMLINK, ENOSYS, EINVAL]
        if hardLink(temporary, destination) == 0 {
            unlink(temporary)
        } else {
            let linkFailure = errno
            guard unsupported.contains(linkFailure) else { throw FilePlacementError.failed(destination, linkFailure) }
            if renameNoReplace(temporary, destination) != 0 {
                let renameFailure = errno
                guard unsupported.contains(renameFailure) else { throw FilePlacementError.failed(destination, renameFailure) }
                try claimAndRename(temporary, at: destination)
            }
        }
        syncDirectory(of: destination)
    }

    /// The last resort: an empty file claims the name, then the file is renamed over it.
    private static func claimAndRename(_ temporary: String, at destination: String) throws {
        let claim = open(destination, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard claim >= 0 else { throw FilePlacementError.failed(destination, errno) }
        defer { close(claim) }
        guard rename(temporary, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            // Takes back only its own empty claim, never a file someone else put there meanwhile.
            if sameFile(claim, destination) { unlink(destination) }
            throw FilePlacementError(path: destination, reason: reason, exists: false)
        }
    }

    /// Gives `temporary` the name `destination` in one step, replacing what is there (never neither).
    public static func replace(_ temporary: String, at destination: String) throws {
        guard rename(temporary, destination) == 0 else {
            throw FilePlacementError(path: destination, reason: String(cString: strerror(errno)), exists: false)
        }
        syncDirectory(of: destination)
    }

    /// Makes a new name in the directory of `path` durable (best effort: not every file system allows it).
    public static func syncDirectory(of path: String) {
        sync(directory: (path as NSString).deletingLastPathComponent)
    }

    /// Makes the names in `directory` durable (best effort: not every file system allows it).
    public static func sync(directory: String) {
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// `path` names the file open as `descriptor`.
    static func sameFile(_ descriptor: Int32, _ path: String) -> Bool {
        var open = stat()
        var named = stat()
        return fstat(descriptor, &open) == 0 && stat(path, &named) == 0 && open.st_ino == named.st_ino && open.st_dev == named.st_dev
    }

    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32

    /// `renameat2(…, RENAME_NOREPLACE)`, looked up at run time (Swift's Glibc module does not declare it);
    /// ENOSYS where the C library lacks it.
    static func renameNoReplace(_ from: String, _ to: String) -> Int32 {
        #if os(Linux)
        guard let symbol = dlsym(nil, "renameat2") else {
            errno = ENOSYS
            return -1
        }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        return renameat2(AT_FDCWD, from, AT_FDCWD, to, 1)  // RENAME_NOREPLACE
        #else
        errno = ENOSYS
        return -1
        #endif
    }
}
