import BridgeOSTestSupport
import Foundation
import Testing

extension FaultSuite {
    @Suite("Soak")
    struct SoakTests {
        /// One reading of serve and its files.
        struct Sample {
            let seconds: Double
            let delivered: Int
            let rssKilobytes: Int
            let descriptors: Int
            let walBytes: Int64
            let databaseBytes: Int64
        }

        /// CI: 90 s at 5 messages a second. `BRIDGEOS_FAULT_LONG=1`: `BRIDGEOS_SOAK_HOURS` (24 by default)
        /// at `BRIDGEOS_SOAK_RATE` a second (1 by default), sampled every minute; the curves go to
        /// `BRIDGEOS_SOAK_CSV` when set.
        static var duration: Duration {
            guard FaultWorld.long else { return .seconds(90) }
            let hours = ProcessInfo.processInfo.environment["BRIDGEOS_SOAK_HOURS"].flatMap(Double.init) ?? 24
            return .seconds(hours * 3600)
        }

        @Test("a steady load for a long time (90 s in CI, 24 h behind BRIDGEOS_FAULT_LONG=1): memory, file descriptors, the WAL and the database stay bounded; every message delivered once, in order")
        func soak() async throws {
            let long = FaultWorld.long
            let rate = ProcessInfo.processInfo.environment["BRIDGEOS_SOAK_RATE"].flatMap(Double.init) ?? (long ? 1.0 : 5.0)
            let every: Duration = long ? .seconds(60) : .seconds(5)
            let duration = Self.duration
            try await FaultWorld.run(conversations: 25) { world in
                try await world.serve.start()
                let load = RelayLoad(world: world)
                let started = ContinuousClock.now
                let count = Int(duration.milliseconds / 1000 * rate)
                async let loaded: Void = load.run(count: count, rate: rate)
                var samples: [Sample] = []
                let csv = ProcessInfo.processInfo.environment["BRIDGEOS_SOAK_CSV"]
                if let csv { try "seconds,delivered,rss_kb,fds,wal_bytes,db_bytes\n".write(toFile: csv, atomically: true, encoding: .utf8) }
                while ContinuousClock.now - started < duration {
                    try await Task.sleep(for: every)
                    guard let usage = world.serve.usage else { throw Failure("serve is gone:\n\(world.serve.tail())") }
                    let sample = Sample(seconds: (ContinuousClock.now - started).milliseconds / 1000, delivered: load.deliveredCount,
                                        rssKilobytes: usage.rssKilobytes, descriptors: usage.descriptors,
                                        walBytes: Self.size(world.databasePath + "-wal"), databaseBytes: Self.size(world.databasePath))
                    samples.append(sample)
                    if let csv, let handle = FileHandle(forWritingAtPath: csv) {
                        handle.seekToEndOfFile()
                        handle.write(Data("\(Int(sample.seconds)),\(sample.delivered),\(sample.rssKilobytes),\(sample.descriptors),\(sample.walBytes),\(sample.databaseBytes)\n".utf8))
                        try? handle.close()
                    }
                }
                try await loaded
                try await load.waitForAll(timeout: .seconds(120))
                let verdict = load.verdict()
                #expect(verdict.lost.isEmpty, "lost: \(verdict.lost.prefix(20))")
                #expect(verdict.duplicates.isEmpty, "twice: \(verdict.duplicates.prefix(5).map(\.serial))")
                #expect(verdict.outOfOrder.isEmpty)

                // Bounded: after the first third (caches filling), memory and descriptors level off; the WAL is
                // checkpointed and kept small; the database grows with the history only.
                let settled = samples.dropFirst(samples.count / 3)
                let firstRSS = settled.first?.rssKilobytes ?? 0
                let lastRSS = settled.last?.rssKilobytes ?? 0
                let peakRSS = samples.map(\.rssKilobytes).max() ?? 0
                let descriptors = samples.map(\.descriptors)
                let peakWAL = samples.map(\.walBytes).max() ?? 0
                let growth = Double((samples.last?.databaseBytes ?? 0) - (samples.first?.databaseBytes ?? 0))
                let messagesBetween = Double(max(1, (samples.last?.delivered ?? 0) - (samples.first?.delivered ?? 0)))
                #expect(lastRSS <= firstRSS + firstRSS / 4 + 16_384, "memory keeps growing: \(samples.map(\.rssKilobytes))")
                #expect((descriptors.max() ?? 0) - (descriptors.min() ?? 0) <= 8, "file descriptors: \(descriptors)")
                #expect(peakWAL <= 64 << 20, "the WAL reached \(peakWAL) bytes")
                #expect(growth / messagesBetween < 8_192, "\(growth / messagesBetween) bytes of database per message")
                try FaultSuite.finalChecks(world)
                func curve(_ values: [Int]) -> String {
                    let step = max(1, values.count / 12)
                    return stride(from: 0, to: values.count, by: step).map { "\(values[$0])" }.joined(separator: "/")
                }
                FaultSuite.report("soak", [
                    "seconds": FaultSuite.format(duration.milliseconds / 1000), "messages": "\(count)", "rate": "\(rate)",
                    "rss_kb_curve": curve(samples.map(\.rssKilobytes)), "rss_kb_peak": "\(peakRSS)",
                    "fds_curve": curve(descriptors), "wal_kb_peak": "\(peakWAL >> 10)",
                    "db_kb_curve": curve(samples.map { Int($0.databaseBytes >> 10) }),
                    "db_bytes_per_message": FaultSuite.format(growth / messagesBetween),
                    "p99_ms": FaultSuite.format(verdict.percentile(0.99)),
                ])
            }
        }

        static func size(_ path: String) -> Int64 {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
        }
    }
}
