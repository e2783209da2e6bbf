#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Space on the file system that holds a path.
public enum DiskSpace {
    /// Bytes available to this (unprivileged) process, and the file system's size; nil when it cannot be read.
    public static func available(at path: String) -> (free: Int64, total: Int64)? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let block = Int64(stats.f_frsize)
        return (Int64(stats.f_bavail) * block, Int64(stats.f_blocks) * block)
    }

    /// The size of a file in bytes (nil when it does not exist).
    public static func fileSize(_ path: String) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
    }
}
