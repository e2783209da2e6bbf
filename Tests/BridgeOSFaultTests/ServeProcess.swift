import BridgeOSTestSupport
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The real `bridgeos serve`, as a child process that the fault suite starts, kills and starts again on one
/// data directory. Every start appends its output to one log file; `--parent-pid` makes a child outlive a
/// crashed test run by half a second at most.
final class ServeProcess: Sendable {
    let environment: [String: String]
    let directory: URL
    let logFile: URL
    /// The command that runs serve (another user's through `setpriv`, or a resource limit through `prlimit`).
    let wrapper: [String]
    /// The binary to run (nil: the built `bridgeos`).
    let executable: URL?
    private let current = Mutex<SpawnedProcess?>(nil)
    /// The starts so far, and the kills (SIGKILL) with the moment each came.
    private let record = Mutex<(starts: Int, kills: [ContinuousClock.Instant])>((0, []))

    init(environment: [String: String], directory: URL, wrapper: [String] = [], executable: URL? = nil) {
        self.environment = environment
        self.directory = directory
        self.wrapper = wrapper
        self.executable = executable
        // Outside the data directory: a full or read-only data directory must not silence the log.
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("bridgeos-fault-serve-\(UUID().uuidString).log")
    }

    var pid: Int32? { current.withLock { $0?.isRunning == true ? $0?.processIdentifier : nil } }
    var isRunning: Bool { pid != nil }
    var kills: [ContinuousClock.Instant] { record.withLock { $0.kills } }
    var starts: Int { record.withLock { $0.starts } }

    /// Starts serve and waits until it says it listens (`timeout`), or throws with the log's tail.
    func start(adding extra: [String: String] = [:], timeout: Duration = .seconds(60)) async throws {
        let listening = log.components(separatedBy: "HTTP listening").count
        try launch(adding: extra)
        let deadline = ContinuousClock.now + timeout
        while log.components(separatedBy: "HTTP listening").count <= listening {
            guard isRunning else { throw Failure("serve exited while starting (status \(status ?? -1)):\n\(tail())") }
            guard ContinuousClock.now < deadline else { throw Failure("serve did not listen within \(timeout):\n\(tail())") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Starts serve without waiting for anything.
    func launch(adding extra: [String: String] = [:]) throws {
        if !FileManager.default.fileExists(atPath: logFile.path) {
            FileManager.default.createFile(atPath: logFile.path, contents: nil, attributes: [.posixPermissions: 0o644])
        }
        let executable = try self.executable ?? product("bridgeos")
        // `setpriv` and `prlimit` exec serve: its parent is still this process.
        let command = wrapper.isEmpty ? [executable.path] : ["/usr/bin/env"] + wrapper + [executable.path]
        let process = try SpawnedProcess(
            executable: command[0], arguments: Array(command.dropFirst()) + ["serve", "--parent-pid", "\(getpid())"],
            environment: environment.merging(extra) { _, new in new }
                .merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { a, _ in a },
            directory: directory.path, output: logFile.path, append: true)
        current.withLock { $0 = process }
        record.withLock { $0.starts += 1 }
    }

    /// SIGKILL, as a power cut or the OOM killer would; waits until the child is gone.
    func kill() async {
        guard let process = current.withLock({ $0 }), process.isRunning else { return }
        record.withLock { $0.kills.append(.now) }
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        await exited(process)
    }

    /// SIGTERM; waits up to `timeout` (then SIGKILL) and returns the exit status.
    func terminate(timeout: Duration = .seconds(30)) async -> Int32 {
        guard let process = current.withLock({ $0 }) else { return 0 }
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            _ = Glibc.kill(process.processIdentifier, SIGKILL)
            await exited(process)
            return -1
        }
        return process.terminationStatus
    }

    /// The exit status once the child has ended; nil while it runs.
    var status: Int32? { current.withLock { $0.flatMap { $0.isRunning ? nil : $0.terminationStatus } } }

    /// Waits for the child to end by itself (up to `timeout`).
    func exitStatus(within timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            guard ContinuousClock.now < deadline else { throw Failure("serve still runs after \(timeout):\n\(tail())") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return status ?? -1
    }

    /// Everything serve printed, every start.
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func tail(_ lines: Int = 25) -> String { log.split(separator: "\n").suffix(lines).joined(separator: "\n") }

    /// The HTTP port the newest start listens on.
    var httpPort: Int? {
        log.split(separator: "\n").last { $0.contains("HTTP listening") }.flatMap { line in
            line.range(of: "127.0.0.1:", options: .backwards).flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) }
        }
    }

    /// Resident memory (kB) and open file descriptors of the running child.
    var usage: (rssKilobytes: Int, descriptors: Int)? {
        guard let pid, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return (rss, descriptors)
    }

    deinit {
        try? FileManager.default.removeItem(at: logFile)
        if let process = current.withLock({ $0 }), process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) }
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
