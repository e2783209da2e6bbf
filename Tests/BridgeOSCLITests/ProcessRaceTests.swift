import BridgeOSCore
import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import Testing

/// The guards must hold between OS processes too (the daemon and a CLI command, or two daemons by mistake),
/// not only between connections of one process.
@Suite("Races between OS processes")
struct ProcessRaceTests {
    struct Attempt: Decodable {
        let manager: Int64
        let worker: Int64
        let outcome: String
        let connection: Int64?
        let error: String?
    }

    /// Starts `count` contention probes at the same instant and collects every attempt.
    func race(path: String, in directory: URL, probes: [(managers: String, workers: String)], slot: Int) async throws -> [Attempt] {
        let startAt = Int64((Date().timeIntervalSince1970 + 1.5) * 1000)
        let bench = try product("bridgeos-bench")
        let launched = try probes.map { probe in
            try launch(bench, [
                "contention", "--database", path, "--managers", probe.managers, "--workers", probe.workers,
                "--slot", "\(slot)", "--start-at", "\(startAt)",
            ], in: directory)
        }
        var attempts: [Attempt] = []
        for process in launched {
            let result = try await finish(process)
            #expect(result.status == 0, "\(result.stderr)")
            for line in result.stdout.split(separator: "\n") where line.hasPrefix("{") {
                attempts.append(try JSONDecoder().decode(Attempt.self, from: Data(line.utf8)))
            }
        }
        return attempts
    }

    @Test("two processes racing for one slot: exactly one connect wins")
    func slotRaceAcrossProcesses() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let path = directory.appendingPathComponent("bridgeos.sqlite").path
            let database = try AppDatabase.openFile(at: path)
            try database.managers.register(UserProfile(id: 1, displayName: "M", language: "en", gender: .female), industry: "retail")
            for worker in 100..<140 {
                try database.workers.register(UserProfile(id: Int64(worker), displayName: "W\(worker)", language: "es", gender: .male))
            }
            let attempts = try await race(path: path, in: directory, probes: [
                ("1", (100..<120).map(String.init).joined(separator: ",")),
                ("1", (120..<140).map(String.init).joined(separator: ",")),
            ], slot: 2)
            #expect(attempts.count == 40)
            #expect(attempts.filter { $0.outcome == "connected" }.count == 1)
            #expect(attempts.filter { $0.outcome == "slotOccupied" }.count == 39, "\(attempts.compactMap(\.error))")
            #expect(try database.connections.active(manager: 1).count == 1)
        }
    }

    @Test("one worker racing into two managers from two processes: one connection")
    func workerRaceAcrossProcesses() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let path = directory.appendingPathComponent("bridgeos.sqlite").path
            let database = try AppDatabase.openFile(at: path)
            for manager in [1, 2] as [Int64] {
                try database.managers.register(UserProfile(id: manager, displayName: "M\(manager)", language: "en", gender: .female), industry: "retail")
            }
            try database.workers.register(UserProfile(id: 500, displayName: "W", language: "es", gender: .male))
            let workers = Array(repeating: "500", count: 10).joined(separator: ",")
            let attempts = try await race(path: path, in: directory, probes: [("1", workers), ("2", workers)], slot: 1)
            #expect(attempts.count == 20)
            let connections = Set(attempts.compactMap(\.connection))
            #expect(connections.count == 1)  // the winner's own retries return the same connection
            let winner = try #require(try database.connections.active(worker: 500))
            #expect(connections == [winner.id])
            #expect(attempts.filter { $0.manager != winner.managerID }.allSatisfy { $0.outcome == "workerAlreadyConnected" })
        }
    }
}
