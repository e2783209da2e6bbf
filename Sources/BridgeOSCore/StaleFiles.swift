import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Temporary files named `<file><marker><pid>-<n>[-wal|-shm]` that a run killed outright (SIGKILL, a power
/// cut) left beside `file`: the ones whose process is gone are removed. They can hold every conversation.
public enum StaleFiles {
    /// Removes the leftovers of dead processes; returns the paths removed.
    @discardableResult
    public static func sweep(beside file: String, marker: String) -> [String] {
        let url = URL(fileURLWithPath: file)
        let directory = url.deletingLastPathComponent().path
        let prefix = url.lastPathComponent + marker
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let pid = rest.split(separator: "-").first.flatMap({ pid_t($0) }), pid > 0 else { continue }
            // ESRCH: no such process. EPERM means it lives under another user: keep it.
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = (directory as NSString).appendingPathComponent(name)
            if (try? FileManager.default.removeItem(atPath: path)) != nil { removed.append(path) }
        }
        return removed
    }
}
