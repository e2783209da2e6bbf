import Foundation

/// The output of a finished child process.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// The directory holding the built executables: the test runner lives next to them.
public func productsDirectory() throws -> URL {
    let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = runner.deletingLastPathComponent()
    // On macOS the runner sits inside an .xctest bundle.
    while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" || directory.lastPathComponent == "Contents" {
        directory.deleteLastPathComponent()
    }
    return directory
}

public func product(_ name: String) throws -> URL {
    let url = try productsDirectory().appendingPathComponent(name)
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: url.path])
    }
    return url
}

/// Starts `executable`; stdout and stderr go to files so a chatty child can never block on a full pipe.
public func launch(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], input: String? = nil, in directory: URL) throws -> (SpawnedProcess, URL, URL) {
    // A clean environment: only what the test passes, plus PATH, so the developer's own BRIDGEOS_* never leak in.
    let environment = environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { a, _ in a }
    let id = UUID().uuidString
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(id)")
    let err = FileManager.default.temporaryDirectory.appendingPathComponent("err-\(id)")
    var inputFile: URL?
    if let input {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("in-\(id)")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data(input.utf8))
        inputFile = file
    }
    defer { if let inputFile { try? FileManager.default.removeItem(at: inputFile) } }  // open already in the child
    let process = try SpawnedProcess(executable: executable.path, arguments: arguments, environment: environment, directory: directory.path,
                                     input: inputFile?.path, output: out.path, error: err.path)
    return (process, out, err)
}

/// Waits for the child without blocking one of the few cooperative threads, which would starve the stand-in
/// servers this process runs for the child (a deadlock until the child's own timeout).
public func finish(_ launched: (SpawnedProcess, URL, URL)) async throws -> ProcessResult {
    let (process, out, err) = launched
    await exited(process)
    try Task.checkCancellation()
    defer {
        try? FileManager.default.removeItem(at: out)
        try? FileManager.default.removeItem(at: err)
    }
    return ProcessResult(
        status: process.terminationStatus,
        stdout: try String(contentsOf: out, encoding: .utf8),
        stderr: try String(contentsOf: err, encoding: .utf8))
}

/// Waits until `process` has exited, without holding a thread: Foundation's `waitUntilExit` blocks one (a
/// cooperative thread the stand-in servers need, or a thread of its own that it spins on at full speed).
public func exited(_ process: SpawnedProcess) async {
    while process.isRunning {
        guard !Task.isCancelled else {
            // The test is over (a timeout): the child goes too, and nobody waits for it any more.
            process.terminate()
            return
        }
        try? await Task.sleep(for: .milliseconds(20))
    }
}
