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

    public var description: String { "\(path): \(reason)" }
}

/// Puts a finished temporary file in place under its final name, durably.
public enum FilePlacement {
    /// Gives `temporary` the name `destination`, which must not exist: never replaces a file, even one another
    /// process put there meanwhile. `link()` where the file system has hard links; where it has not (vfat, some
    /// NFS and FUSE mounts), the name is claimed with `O_EXCL` and the file renamed over that empty claim.
    public static func placeNew(_ temporary: String, at destination: String) throws {
        try placeNew(temporary, at: destination, hardLink: { link($0, $1) })
    }

    /// `placeNew` with the `link()` call given (tests stand in a file system without hard links).
    static func placeNew(_ temporary: String, at destination: String, hardLink: (String, String) -> Int32) throws {
        if hardLink(temporary, destination) == 0 {
            unlink(temporary)
        } else {
            let failure = errno
            guard [EPERM, ENOTSUP, EOPNOTSUPP, EMLINK, ENOSYS, EXDEV].contains(failure) else {
                throw FilePlacementError(
                    path: destination, reason: failure == EEXIST ? "it exists already" : String(cString: strerror(failure)),
                    exists: failure == EEXIST)
            }
            let claim = open(destination, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
            guard claim >= 0 else {
                throw FilePlacementError(
                    path: destination, reason: errno == EEXIST ? "it exists already" : String(cString: strerror(errno)),
                    exists: errno == EEXIST)
            }
            close(claim)
            guard rename(temporary, destination) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(destination)
                throw FilePlacementError(path: destination, reason: reason, exists: false)
            }
        }
        syncDirectory(of: destination)
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
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }
}
