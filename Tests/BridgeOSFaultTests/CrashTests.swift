import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import Testing

extension FaultSuite {
    @Suite("Crashes and stops under load")
    struct CrashTests {
        @Test("20 SIGKILLs at random moments during a 2,000-message two-way load over five slots: every message delivered, in order per chat; a duplicate only where a send was in flight at a kill")
        func killsUnderLoad() async throws {
            let (count, rate, kills) = (2_000, 25.0, 20)
            try await FaultWorld.run(conversations: 25) { world in
                try await world.serve.start()
                let load = RelayLoad(world: world)
                var generator = SeededGenerator(seed: SeededGenerator.seed)
                let duration = Double(count) / rate
                // The kill moments, drawn up front over the load's middle 90%.
                let moments = (0..<kills).map { _ in Double.random(in: 0.05...0.95, using: &generator) * duration }.sorted()
                async let restarts = Self.kill(world, at: moments)
                try await load.run(count: count, rate: rate)
                let restartTimes = try await restarts
                try await load.waitForAll(timeout: .seconds(180))
                let verdict = load.verdict()
                #expect(world.serve.kills.count == kills)
                #expect(verdict.lost.isEmpty, "lost: \(verdict.lost.prefix(20))")
                #expect(verdict.outOfOrder.isEmpty, "out of order: \(verdict.outOfOrder.prefix(10))")
                #expect(verdict.misdelivered.isEmpty, "misdelivered: \(verdict.misdelivered.prefix(10))")
                // A duplicate is a send Telegram answered just before a kill, whose answer the killed
                // process never recorded: at most one per chat and kill, its first copy right before it.
                var perKillAndChat: [String: Int] = [:]
                for duplicate in verdict.duplicates {
                    let kill = world.serve.kills.first { $0 >= duplicate.first }
                    #expect(kill != nil && kill! - duplicate.first < .seconds(5),
                            "duplicate of #\(duplicate.serial) in \(duplicate.chat): its first copy was not in flight at a kill")
                    if let kill { perKillAndChat["\(kill)|\(duplicate.chat)", default: 0] += 1 }
                }
                #expect(perKillAndChat.values.allSatisfy { $0 <= 1 }, "\(perKillAndChat.filter { $0.value > 1 })")
                try FaultSuite.finalChecks(world)
                let chats = Set(verdict.duplicates.map(\.chat)).count
                FaultSuite.report("kills", [
                    "messages": "\(count)", "kills": "\(kills)", "seed": "\(SeededGenerator.seed)", "duplicates": "\(verdict.duplicates.count)",
                    "chats_with_duplicates": "\(chats)", "restart_ms_max": FaultSuite.format(restartTimes.map(\.milliseconds).max() ?? 0),
                    "p50_ms": FaultSuite.format(verdict.percentile(0.5)), "p99_ms": FaultSuite.format(verdict.percentile(0.99)),
                ])
            }
        }

        /// SIGKILLs serve at each of `moments` (seconds from now) and starts it again; the restart times.
        static func kill(_ world: FaultWorld, at moments: [Double]) async throws -> [Duration] {
            let started = ContinuousClock.now
            var restarts: [Duration] = []
            for moment in moments {
                try await Task.sleep(until: started + .seconds(moment))
                await world.serve.kill()
                let down = ContinuousClock.now
                try await world.serve.start()
                restarts.append(ContinuousClock.now - down)
            }
            return restarts
        }

        /// After `delay`, SIGTERM; 3 s later serve starts again. The exit status and how long the stop took.
        static func stopAndRestart(_ world: FaultWorld, after delay: Duration) async throws -> (Int32, Duration) {
            try await Task.sleep(for: delay)
            let asked = ContinuousClock.now
            let status = await world.serve.terminate(timeout: .seconds(30))
            let stopping = ContinuousClock.now - asked
            // People keep writing while it is down.
            try await Task.sleep(for: .seconds(3))
            try await world.serve.start()
            return (status, stopping)
        }

        @Test("SIGTERM during load: serve stops gracefully (exit 0) in seconds; what was written meanwhile is delivered after the restart, once, in order")
        func termUnderLoad() async throws {
            let (count, rate) = (400, 25.0)
            try await FaultWorld.run(conversations: 25) { world in
                try await world.serve.start()
                let load = RelayLoad(world: world)
                async let stopped = Self.stopAndRestart(world, after: .seconds(Double(count) / rate * 0.4))
                try await load.run(count: count, rate: rate)
                let (status, stopping) = try await stopped
                try await load.waitForAll(timeout: .seconds(120))
                let verdict = load.verdict()
                #expect(status == 0, "serve's exit status after SIGTERM")
                #expect(stopping < .seconds(15), "graceful stop took \(stopping)")
                #expect(world.serve.log.contains("BridgeOS stopped"))
                #expect(verdict.lost.isEmpty, "lost: \(verdict.lost.prefix(20))")
                #expect(verdict.duplicates.isEmpty, "a graceful stop sends nothing twice: \(verdict.duplicates.prefix(5).map(\.serial))")
                #expect(verdict.outOfOrder.isEmpty, "out of order: \(verdict.outOfOrder.prefix(10))")
                try FaultSuite.finalChecks(world)
                FaultSuite.report("sigterm", [
                    "messages": "\(count)", "stop_ms": FaultSuite.format(stopping.milliseconds),
                    "p50_ms": FaultSuite.format(verdict.percentile(0.5)), "p99_ms": FaultSuite.format(verdict.percentile(0.99)),
                ])
            }
        }
    }
}
