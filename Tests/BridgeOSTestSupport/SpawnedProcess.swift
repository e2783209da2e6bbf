import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A child process started with `posix_spawn`, for the tests. Foundation's `Process.run()` on Linux (Swift
/// 6.3) copies 256 bytes of each `/proc/self/fd` directory entry and so reads past glibc's buffer: with many
/// descriptors open it crashes the whole test runner now and then (swift-corelibs-foundation#5472, fixed
/// after 6.3). The suite starts hundreds of children while hundreds of sockets are open, so it spawns them
/// itself. The API is the part of `Process` the tests use.
public final class SpawnedProcess: Sendable {
    public let processIdentifier: Int32
    /// The raw wait status once reaped.
    private let waitStatus = Mutex<Int32?>(nil)

    /// Starts `executable` in `directory` with exactly `environment`; stdin from `input` (or /dev/null),
    /// stdout and stderr to files (`append`: at their end, as a log a restarted child keeps writing).
    public init(executable: String, arguments: [String], environment: [String: String], directory: String,
                input: String? = nil, output: String, error: String? = nil, append: Bool = false) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let writeFlags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
        posix_spawn_file_actions_addopen(&actions, 0, input ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, writeFlags, 0o644)
        if let error, error != output {
            posix_spawn_file_actions_addopen(&actions, 2, error, writeFlags, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // The child gets none of this process's other descriptors (sockets of the stand-in servers), and starts
        // in `directory`. (glibc ≥ 2.34 has both; Swift's Glibc module does not export these GNU extensions.)
        guard let closeFrom = Self.closeFrom, let changeDirectory = Self.changeDirectory else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "glibc lacks posix_spawn_file_actions_addclosefrom_np/addchdir_np"])
        }
        _ = closeFrom(&actions, 3)
        _ = changeDirectory(&actions, directory)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Default signal dispositions and an empty mask: the runner ignores SIGPIPE, a child must not inherit it.
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSFilePathErrorKey: executable, NSLocalizedDescriptionKey: String(cString: strerror(result))])
        }
        processIdentifier = pid
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: CloseFrom.self) }
    private static let changeDirectory: ChangeDirectory? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: ChangeDirectory.self) }

    /// Whether the child still runs (reaps it once it has ended).
    public var isRunning: Bool {
        waitStatus.withLock { status in
            guard status == nil else { return false }
            var raw: Int32 = 0
            let reaped = waitpid(processIdentifier, &raw, WNOHANG)
            if reaped == processIdentifier {
                status = raw
                return false
            }
            if reaped == -1, errno != EINTR {
                status = -1  // not our child any more: nothing to wait for
                return false
            }
            return true
        }
    }

    /// The exit code, or the signal that ended it (as `Process` reports them).
    public var terminationStatus: Int32 {
        guard let raw = waitStatus.withLock({ $0 }), raw >= 0 else { return -1 }
        return raw & 0x7F == 0 ? (raw >> 8) & 0xFF : raw & 0x7F
    }

    public var terminationReason: Process.TerminationReason {
        guard let raw = waitStatus.withLock({ $0 }), raw >= 0 else { return .exit }
        return raw & 0x7F == 0 ? .exit : .uncaughtSignal
    }

    public func terminate() { _ = kill(processIdentifier, SIGTERM) }

    public func interrupt() { _ = kill(processIdentifier, SIGINT) }

    /// Blocks the calling thread until the child ends (only from a thread of one's own).
    public func waitUntilExit() {
        while isRunning { usleep(10_000) }
    }
}
