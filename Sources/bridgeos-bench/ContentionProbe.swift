import ArgumentParser
import BridgeOSCore
import BridgeOSStorage
import Foundation

/// Many connections racing for one slot from this process, each attempt through its own DatabasePool.
///
/// Run several of these at once against one file to race OS processes; the test suite does exactly that
/// to prove the partial unique indexes hold across processes. Prints one JSON line per attempt, then a
/// summary line.
struct ContentionProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contention",
        abstract: "Race connect(manager:worker:slot:) attempts against one database file.",
        discussion: """
            The manager and workers must already be registered (e.g. by the test that starts the probe). \
            Each worker id is one attempt; attempts start together, at --start-at if given.
            """
    )

    @Option(help: "Path of the SQLite database file.")
    var database: String

    @Option(help: "Manager ids to try in turn (comma-separated); attempt i uses manager i mod count.")
    var managers: String

    @Option(help: "Bot slot 1...5.")
    var slot: Int

    @Option(help: "Worker ids (comma-separated), one attempt each.")
    var workers: String

    @Option(help: "Unix time in milliseconds at which all attempts start (lines up several processes).")
    var startAt: Int64?

    func validate() throws {
        guard BotSlot(slot) != nil else { throw ValidationError("--slot must be 1...5") }
        guard !Self.ids(managers).isEmpty else { throw ValidationError("--managers needs at least one id") }
        guard !Self.ids(workers).isEmpty else { throw ValidationError("--workers needs at least one id") }
    }

    static func ids(_ list: String) -> [Int64] {
        list.split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }

    func run() async throws {
        guard let slot = BotSlot(slot) else { throw ValidationError("--slot must be 1...5") }
        let managerIDs = Self.ids(managers)
        let workerIDs = Self.ids(workers)
        let path = database
        // Open every pool before the start line so the race is between writes, not between file opens.
        var attempts: [(manager: Int64, worker: Int64, database: AppDatabase)] = []
        for (index, worker) in workerIDs.enumerated() {
            attempts.append((managerIDs[index % managerIDs.count], worker, try AppDatabase.openFile(at: path)))
        }
        if let startAt {
            let wait = Double(startAt) / 1000 - Date().timeIntervalSince1970
            if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
        }
        let clock = ContinuousClock()
        let start = clock.now
        let outcomes = await withTaskGroup(of: AttemptOutcome.self) { group in
            for attempt in attempts {
                group.addTask {
                    var outcome = AttemptOutcome(manager: attempt.manager, worker: attempt.worker, outcome: "connected")
                    do {
                        outcome.connection = try attempt.database.connections.connect(
                            manager: attempt.manager, worker: attempt.worker, slot: slot
                        ).id
                    } catch is SlotOccupied {
                        outcome.outcome = "slotOccupied"
                    } catch is WorkerAlreadyConnected {
                        outcome.outcome = "workerAlreadyConnected"
                    } catch {
                        outcome.outcome = "error"
                        outcome.error = String(describing: error)
                    }
                    return outcome
                }
            }
            var outcomes: [AttemptOutcome] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let elapsed = clock.now - start
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for outcome in outcomes {
            print(String(decoding: try encoder.encode(outcome), as: UTF8.self))
        }
        let connected = outcomes.filter { $0.outcome == "connected" }.count
        print("contention: \(outcomes.count) attempts, \(connected) connected, in \(elapsed.microsecondsText)")
    }
}

/// One line of the probe's output.
struct AttemptOutcome: Codable, Sendable {
    var manager: Int64
    var worker: Int64
    /// connected, slotOccupied, workerAlreadyConnected or error
    var outcome: String
    var connection: Int64?
    var error: String?
}
