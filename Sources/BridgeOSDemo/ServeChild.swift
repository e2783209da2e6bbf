import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `bridgeos serve` as a child process — this same binary — so the demo can kill it the hard way (SIGKILL,
/// as a power cut or the OOM killer would) and start it again on the same data directory. The child is
/// started with `--parent-pid`, so it stops by itself if the demo dies without stopping it.
final class ServeChild: @unchecked Sendable {
    let executable: URL
    let environment: [String: String]
    let logFile: URL
    /// Guards `current` and `stopping` (a signal handler reads them from another thread).
    private let lock = NSLock()
    private var current: Process?
    private var stopping = false

    struct Stopping: Error, CustomStringConvertible {
        var description: String { "the demo is stopping" }
    }

    init(executable: URL, environment: [String: String], logFile: URL) {
        self.executable = executable
        self.environment = environment
        self.logFile = logFile
    }

    /// This process's own executable.
    static var currentExecutable: URL {
        #if os(Linux)
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        #else
        Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        #endif
    }

    var process: Process? { lock.withLock { current } }
    var pid: Int32 { process?.processIdentifier ?? 0 }
    var isRunning: Bool { process?.isRunning ?? false }

    /// Starts `serve` (with `extra` settings over the usual ones); its log lines are appended to `logFile`.
    /// Refused once the demo is stopping.
    func start(adding extra: [String: String] = [:]) throws {
        if !FileManager.default.fileExists(atPath: logFile.path) {
            FileManager.default.createFile(atPath: logFile.path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let log = try FileHandle(forWritingTo: logFile)
        try log.seekToEnd()
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--parent-pid", "\(getpid())"]
        process.environment = environment.merging(extra) { _, new in new }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try lock.withLock {
            guard !stopping else { throw Stopping() }
            try process.run()
            current = process
        }
    }

    /// Until cancelled, SIGINT and SIGTERM kill the child and then end this process (130 / 143), so an
    /// interrupted demo leaves no `serve` behind.
    func stopOnInterrupt() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                lock.withLock { stopping = true }
                kill()
                try? FileHandle.standardError.write(contentsOf: Data("bridgeos demo: interrupted; serve stopped\n".utf8))
                exit(128 + number)
            }
            source.setCancelHandler { signal(number, SIG_DFL) }
            source.resume()
            return source
        }
    }

    /// The last lines of serve's log.
    func logTail(_ count: Int = 15) -> [String] {
        guard let text = try? String(contentsOf: logFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").suffix(count).map(String.init)
    }

    /// The HTTP port the running serve listens on (BRIDGEOS_HTTP_ADDRESS=…:0 picks one; serve logs it).
    func httpPort() -> Int? { listeningPorts().last }

    /// The ports each start of serve logged it listens on, in order (a restart adds one).
    func listeningPorts() -> [Int] {
        guard let text = try? String(contentsOf: logFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").filter { $0.contains("HTTP listening") }.compactMap { line in
            line.range(of: "127.0.0.1:", options: .backwards).flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) }
        }
    }

    /// SIGKILL: no shutdown code runs.
    func kill() {
        send(SIGKILL)
        process?.waitUntilExit()
    }

    /// Sends `signal` to the child if it runs (SIGSTOP and SIGCONT freeze and thaw it).
    func send(_ signal: Int32) {
        guard let process, process.isRunning else { return }
        #if canImport(Glibc)
        _ = Glibc.kill(process.processIdentifier, signal)
        #else
        _ = Darwin.kill(process.processIdentifier, signal)
        #endif
    }

    /// SIGSTOP, and wait until every thread of the child has stopped: `kill()` returns before a thread running
    /// on another core has, and a look at the database in that instant could miss the write it makes next.
    /// False (and the child thawed again) when it did not stop within 5 s or is gone.
    func freeze() -> Bool {
        guard let process, process.isRunning else { return false }
        let pid = process.processIdentifier
        send(SIGSTOP)
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, process.isRunning {
            guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"), !tasks.isEmpty else { break }
            let stopped = tasks.allSatisfy { task in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return true }  // this thread ended meanwhile
                let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
                return state == "T" || state == "t" || state == "Z" || state == "X"
            }
            if stopped { return true }
            Thread.sleep(forTimeInterval: 0.001)
        }
        send(SIGCONT)
        return false
    }

    /// SIGTERM and wait (up to `timeout`, then SIGKILL). Returns the exit status.
    @discardableResult
    func stop(timeout: Duration = .seconds(20)) async -> Int32 {
        guard let process else { return 0 }
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill() }
        return process.terminationStatus
    }
}
