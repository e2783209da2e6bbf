import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import Testing

/// The fault suite: the real `bridgeos serve` as a child process against the sandbox, under load, while
/// things go wrong. One scenario at a time (each loads both cores). The short form runs in CI;
/// `BRIDGEOS_FAULT_LONG=1` runs the sizes meant for an unattended box (the soak among them).
@Suite("Fault suite", .serialized)
struct FaultSuite {}

extension FaultSuite {
    /// The checks every scenario ends with: nothing the spec forbids was sent, no secret or message text
    /// reached serve's log, and the database is sound.
    static func finalChecks(_ world: FaultWorld) throws {
        #expect(world.sandbox.violations.isEmpty, "\(world.sandbox.violations.prefix(5))")
        #expect(world.leaks(in: world.serve.log).isEmpty, "serve's log holds \(world.leaks(in: world.serve.log))")
        let problems = try StoreInspection(path: world.databasePath).fullIntegrityProblems()
        #expect(problems.isEmpty, "integrity_check: \(problems)")
        #expect(looseFiles(in: world.directory).isEmpty, "others can read: \(looseFiles(in: world.directory))")
    }

    /// Files under the data directory that others than their owner may read (the database, its WAL,
    /// backups and their manifests must be 0600, directories 0700).
    static func looseFiles(in directory: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory.path) else { return ["cannot list \(directory.path)"] }
        var loose: [String] = []
        for case let relative as String in walker {
            var info = stat()
            guard lstat(directory.appendingPathComponent(relative).path, &info) == 0 else { continue }
            if info.st_mode & 0o077 != 0 { loose.append("\(relative) \(String(info.st_mode & 0o777, radix: 8))") }
        }
        return loose
    }

    /// A figure for the note, on one line the CI log keeps.
    static func report(_ scenario: String, _ figures: KeyValuePairs<String, String>) {
        let text = figures.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        print("fault-figures \(scenario): \(text)")
    }

    static func format(_ value: Double) -> String { String(format: "%.0f", value) }
}

extension SeededGenerator {
    /// `BRIDGEOS_FAULT_SEED`, or a fixed default so CI runs are repeatable.
    static var seed: UInt64 { ProcessInfo.processInfo.environment["BRIDGEOS_FAULT_SEED"].flatMap { UInt64($0) } ?? 20_261_204 }
}
