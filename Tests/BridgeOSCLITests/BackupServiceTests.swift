import BridgeOSCore
import BridgeOSOperations
import BridgeOSTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// Counts log lines by level.
final class CountingLog: Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])

    var logger: Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }

    func count(_ level: Logger.Level) -> Int { lines.withLock { $0.filter { $0.0 == level }.count } }

    struct Handler: LogHandler {
        let log: CountingLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            self.log.lines.withLock { $0.append((level, "\(message)")) }
        }
    }
}

@Suite("serve's scheduled backups")
struct BackupServiceTests {
    func run(_ service: BackupService, for duration: Duration) async {
        let task = Task { try await service.run() }
        try? await Task.sleep(for: duration)
        task.cancel()
        _ = await task.result
    }

    @Test("a database without a backup is backed up at start, and the outcome recorded for doctor")
    func atStart() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            var configuration = AppConfiguration(dataDirectory: directory.appendingPathComponent("data").path)
            configuration.backupIntervalHours = 24
            let log = CountingLog()
            let service = BackupService(configuration: configuration, logger: log.logger)
            let task = Task { try await service.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while Backups.newest(in: configuration.backupDirectory) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            _ = await task.result
            #expect(Backups.newest(in: configuration.backupDirectory)?.manifest?.reason == "scheduled")
            #expect(BackupStatus.read(in: configuration.backupDirectory)?.ok == true)
            #expect(log.count(.info) == 1, "one backup, then it waits a day")
        }
    }

    @Test("a backup directory that cannot be written: one error, then a wait — never a loop")
    func failingDirectory() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", in: directory).status == 0)
            var configuration = AppConfiguration(dataDirectory: directory.appendingPathComponent("data").path)
            let blocker = directory.appendingPathComponent("not-a-directory")
            try Data("x".utf8).write(to: blocker)
            configuration.backupDirectoryOverride = blocker.path
            let log = CountingLog()
            await run(BackupService(configuration: configuration, logger: log.logger), for: .seconds(1))
            #expect(log.count(.error) == 1, "\(log.lines.withLock { $0.map(\.1) })")
        }
    }

    @Test("switched off, it stays until shutdown: a service that returned would stop serve's whole group")
    func off() async throws {
        var configuration = AppConfiguration(dataDirectory: "/nonexistent")
        configuration.backupIntervalHours = 0
        let service = BackupService(configuration: configuration, logger: CountingLog().logger)
        let finished = Mutex(false)
        let task = Task {
            try? await service.run()
            finished.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!finished.withLock { $0 })
        task.cancel()
        await task.value
        #expect(finished.withLock { $0 })
    }
}
