import AsyncHTTPClient
import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension FaultSuite {
    /// The disk: full, or not writable. Mounting a size-limited file system and running serve as another
    /// user need root (CI runs as root); elsewhere these tests say why they do not run.
    @Suite("The disk", .enabled(if: getuid() == 0, "needs root: mounts a size-limited tmpfs and runs serve as another user"))
    struct DiskTests {
        @Test("the file system fills up under load: serve keeps running and says so clearly, nothing is lost or corrupted, and once space returns everything written meanwhile is delivered")
        func diskFull() async throws {
            try await withTemporaryDirectoryAsync { temporary in
                let mount = temporary.appendingPathComponent("small")
                try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
                try await Self.run("/bin/mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", mount.path)
                defer { _ = try? Self.runSync("/bin/umount", "-l", mount.path) }
                let data = mount.appendingPathComponent("data")
                try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
                try await FaultWorld.run(conversations: 10, directory: data) { world in
                    try await world.serve.start()
                    let load = RelayLoad(world: world)
                    try await load.run(count: 40, rate: 10)
                    try await load.waitForAll(timeout: .seconds(30))

                    // Everything but a few kilobytes is taken.
                    let ballast = mount.appendingPathComponent("ballast")
                    let filled = try Self.fill(ballast)
                    let deliveredBefore = load.deliveredCount
                    try await load.run(count: 60, rate: 10)
                    try await Task.sleep(for: .seconds(5))
                    #expect(world.serve.isRunning, "serve died on a full disk:\n\(world.serve.tail())")
                    let log = world.serve.log
                    #expect(log.contains("disk is full") || log.contains("database or disk is full"), "no clear word of the full disk:\n\(world.serve.tail())")
                    let heldDuring = load.sentCount - load.deliveredCount
                    let ready = try await Self.status(of: "/readyz", port: world.serve.httpPort)

                    // Space returns.
                    try FileManager.default.removeItem(at: ballast)
                    let freed = ContinuousClock.now
                    try await load.waitForAll(timeout: .seconds(90))
                    let recovery = ContinuousClock.now - freed
                    let verdict = load.verdict()
                    #expect(verdict.lost.isEmpty, "lost: \(verdict.lost.prefix(20))")
                    #expect(verdict.outOfOrder.isEmpty, "out of order: \(verdict.outOfOrder.prefix(10))")
                    #expect(world.serve.starts == 1, "serve had to be restarted")
                    try FaultSuite.finalChecks(world)
                    FaultSuite.report("disk-full", [
                        "ballast_mb": "\(filled >> 20)", "delivered_before": "\(deliveredBefore)", "held_while_full": "\(heldDuring)",
                        "readyz_while_full": "\(ready.map(String.init) ?? "none")", "recovered_s": FaultSuite.format(recovery.milliseconds / 1000),
                        "duplicates": "\(verdict.duplicates.count)",
                    ])
                }
            }
        }

        @Test("a data directory serve may not write (serve run as another user, since root ignores file modes): it stops at once with a clear error and exit 78, the database untouched; once the owner is right it starts and delivers what waited")
        func readOnlyDataDirectory() async throws {
            try await withTemporaryDirectoryAsync { temporary in
                // The binary where the unprivileged user can run it, the data directory where they can reach it.
                chmod(temporary.path, 0o755)
                let binary = temporary.appendingPathComponent("bridgeos")
                try FileManager.default.copyItem(at: try product("bridgeos"), to: binary)
                let data = temporary.appendingPathComponent("data")
                try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let nobody: [String] = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
                try await FaultWorld.run(conversations: 5, wrapper: nobody, executable: binary, directory: data) { world in
                    let database = data.appendingPathComponent("bridgeos.sqlite")
                    let original = try Data(contentsOf: database)
                    // 1. Owned by root, 0700: the service's user cannot even look inside.
                    try world.serve.launch()
                    #expect(try await world.serve.exitStatus(within: .seconds(30)) == 78)
                    #expect(world.serve.log.contains("\(data.path) is not writable"), "\(world.serve.tail())")

                    // 2. The user's own directory, but read-only (0500) around a writable database.
                    try Self.chown(data, uid: 65534)
                    chmod(data.path, 0o500)
                    let written = world.serve.log.count
                    try world.serve.launch()
                    #expect(try await world.serve.exitStatus(within: .seconds(30)) == 78)
                    let second = String(world.serve.log.dropFirst(written))
                    #expect(second.contains("\(data.path) is not writable"), "\(second)")
                    #expect(!second.contains("Error Domain"), "a clear sentence, not a Foundation error dump: \(second)")

                    // 3. A database file the user may not write, in a directory they may.
                    chmod(data.path, 0o700)
                    _ = Glibc.chown(database.path, 0, 0)
                    let third = world.serve.log.count
                    try world.serve.launch()
                    #expect(try await world.serve.exitStatus(within: .seconds(30)) == 78)
                    #expect(String(world.serve.log.dropFirst(third)).contains("\(database.path) is not writable"), "\(world.serve.tail())")
                    #expect(try Data(contentsOf: database) == original, "the refused starts changed the database")

                    // People wrote meanwhile; the owner is put right and serve starts.
                    let load = RelayLoad(world: world)
                    try await load.run(count: 10, rate: 10)
                    try Self.chown(data, uid: 65534)
                    try await world.serve.start()
                    try await load.waitForAll(timeout: .seconds(60))
                    #expect(load.verdict().lost.isEmpty)
                    try FaultSuite.finalChecks(world)
                }
            }
        }

        /// `chown -R uid:uid`.
        static func chown(_ directory: URL, uid: uid_t) throws {
            _ = Glibc.chown(directory.path, uid, uid)
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
                _ = Glibc.chown(directory.appendingPathComponent(name).path, uid, uid)
            }
        }

        /// Writes `file` until the file system has no room left; its size.
        static func fill(_ file: URL) throws -> Int {
            let descriptor = open(file.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard descriptor >= 0 else { throw Failure("cannot create \(file.path)") }
            defer { close(descriptor) }
            let chunk = [UInt8](repeating: 0xA5, count: 1 << 16)
            var total = 0
            var size = chunk.count
            while size > 0 {
                let written = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, size) }
                if written > 0 { total += written } else { size /= 2 }
            }
            return total
        }

        static func status(of path: String, port: Int?) async throws -> Int? {
            guard let port else { return nil }
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let response = try? await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(10))
            try? await http.shutdown()
            return response.map { Int($0.status.code) }
        }

        static func run(_ command: String, _ arguments: String...) async throws {
            let result = try await finish(launch(URL(fileURLWithPath: command), arguments, in: FileManager.default.temporaryDirectory))
            guard result.status == 0 else { throw Failure("\(command) \(arguments.joined(separator: " ")): \(result.stderr)") }
        }

        static func runSync(_ command: String, _ arguments: String...) throws {
            let process = try SpawnedProcess(executable: command, arguments: arguments, environment: ["PATH": "/usr/bin:/bin"],
                                             directory: "/", output: "/dev/null")
            process.waitUntilExit()
        }
    }
}
