import ArgumentParser
import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import Foundation

/// `bridgeos-bench`: measurements that print figures. Speed targets live here, not in timed tests.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridgeos-bench",
        abstract: "BridgeOS benchmarks. Build with -c release for meaningful numbers.",
        subcommands: [StoreBenchmark.self, OutboxBenchmark.self, RelayBenchmark.self, CostsBenchmark.self, RelayFixtures.self, ContentionProbe.self, WriteLoad.self, BackupBenchmark.self, DashboardBenchmark.self,
                      MoveBenchmark.self]
    )
}

/// Latency summary of a set of samples.
struct LatencySummary {
    let p50: Duration
    let p99: Duration
    let mean: Duration
    let count: Int

    init(_ samples: [Duration]) {
        let sorted = samples.sorted()
        count = sorted.count
        p50 = sorted.isEmpty ? .zero : sorted[(sorted.count - 1) * 50 / 100]
        p99 = sorted.isEmpty ? .zero : sorted[(sorted.count - 1) * 99 / 100]
        mean = sorted.isEmpty ? .zero : sorted.reduce(.zero, +) / sorted.count
    }
}

extension Duration {
    /// Microseconds with one decimal, e.g. "42.7 µs".
    var microsecondsText: String { String(format: "%.1f µs", seconds * 1e6) }
}

func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("bridgeos-bench-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
