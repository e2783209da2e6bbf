import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on `<data dir>/bridgeos.lock`, held while `bridgeos serve` runs, so a second
/// `serve` on the same database refuses to start instead of polling the same bots. The kernel releases
/// it when the process dies, however it dies, so a crash never leaves a stale lock.
public final class DataDirectoryLock: @unchecked Sendable {
    public struct Held: Error, CustomStringConvertible {
        public let path: String
        public let holder: String?
        public var description: String {
            "another bridgeos serve is already running on this data directory\(holder.map { " (pid \($0))" } ?? "") — lock \(path)"
        }
    }

    /// The lock file cannot be opened or created.
    public struct Unusable: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot open the lock \(path): \(reason)" }
    }

    public let path: String
    private var descriptor: Int32

    public static let fileName = "bridgeos.lock"

    /// Takes the lock or throws `Held` at once (never waits).
    public init(directory: String) throws {
        path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Unusable(path: path, reason: String(cString: strerror(errno)).lowercased())
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            descriptor = -1
            throw Held(path: path, holder: holder?.isEmpty == false ? holder : nil)
        }
        // Our pid, for the message another process shows.
        _ = ftruncate(descriptor, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
    }

    public func release() {
        guard descriptor >= 0 else { return }
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
