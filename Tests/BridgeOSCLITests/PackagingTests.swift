import BridgeOSTestSupport
import Foundation
import Testing

@Suite("Packaging")
struct PackagingTests {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the binary runs from anywhere: schema and locales are embedded, not looked up")
    func binaryIsSelfContained() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let installed = directory.appendingPathComponent("bin/bridgeos")
            try FileManager.default.createDirectory(at: installed.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: try product("bridgeos"), to: installed)
            let work = directory.appendingPathComponent("elsewhere")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            // A process another test forks meanwhile may inherit the copy's write descriptor until it execs:
            // running the copy then fails with ETXTBSY for a moment (a Linux race, not the binary's fault).
            func launchCopy(_ arguments: [String]) throws -> (SpawnedProcess, URL, URL) {
                for attempt in 1... {
                    do { return try launch(installed, arguments, in: work) } catch let error as NSError {
                        let busy = (error.userInfo[NSUnderlyingErrorKey] as? NSError)?.code == Int(ETXTBSY) || error.code == Int(ETXTBSY)
                        guard busy, attempt < 20 else { throw error }
                        Thread.sleep(forTimeInterval: 0.1)
                    }
                }
                fatalError("unreachable")
            }
            let migrate = try await finish(launchCopy(["migrate", "--data-dir", "state"]))
            #expect(migrate.status == 0, "\(migrate.stderr)")
            let doctor = try await finish(launchCopy(["doctor", "--data-dir", "state"]))
            #expect(doctor.status == 2 && doctor.stdout.contains("no check failed"), "\(doctor.stdout)")  // warnings: no tokens, no translator
        }
    }

    @Test("README's first two commands are what .ci/run runs: the tests verbatim, then the demo")
    func readmeAndCIAgree() async throws {
        let readme = try String(contentsOf: Self.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let ci = try String(contentsOf: Self.packageRoot.appendingPathComponent(".ci/run"), encoding: .utf8)
        let quickStart = try #require(readme.components(separatedBy: "## Quick start").dropFirst().first)
        let lines = quickStart.components(separatedBy: "\n")
        let testIndex = try #require(lines.firstIndex { $0.hasPrefix("# Test") })
        let testCommand = lines[testIndex + 1].trimmingCharacters(in: .whitespaces)
        let ciLines = ci.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let verbatim = try #require(ciLines.firstIndex { $0.hasPrefix("# The README's test command, verbatim") })
        #expect(ciLines[verbatim + 1] == testCommand)
        let runIndex = try #require(lines.firstIndex { $0.hasPrefix("# Run") })
        let runCommand = lines[runIndex + 1].trimmingCharacters(in: .whitespaces)
        #expect(runCommand == "swift run bridgeos demo")
        #expect(ciLines.contains { !$0.hasPrefix("#") && $0.contains(runCommand) }, "CI runs the README's first command")
    }
}
