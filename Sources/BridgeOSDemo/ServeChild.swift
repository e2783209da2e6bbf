import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `bridgeos serve` as a child process — this same binary — so the demo can kill it the hard way (SIGKILL,
/// as a power cut or the OOM killer would) and start it again on the same data directory.
final class ServeChild: @unchecked Sendable {
    let executable: URL
    let environment: [String: String]
    let logFile: URL
    private(set) var process: Process?

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

    var pid: Int32 { process?.processIdentifier ?? 0 }
    var isRunning: Bool { process?.isRunning ?? false }

    /// Starts `serve`; its log lines are appended to `logFile`.
    func start() throws {
        if !FileManager.default.fileExists(atPath: logFile.path) {
            FileManager.default.createFile(atPath: logFile.path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let log = try FileHandle(forWritingTo: logFile)
        try log.seekToEnd()
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve"]
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// The last lines of serve's log.
    func logTail(_ count: Int = 15) -> [String] {
        guard let text = try? String(contentsOf: logFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").suffix(count).map(String.init)
    }

    /// SIGKILL: no shutdown code runs.
    func kill() {
        guard let process, process.isRunning else { return }
        #if canImport(Glibc)
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        #else
        _ = Darwin.kill(process.processIdentifier, SIGKILL)
        #endif
        process.waitUntilExit()
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
