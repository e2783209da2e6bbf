import BridgeOSCore
import Foundation
import GRDB
import Testing
@testable import BridgeOSStorage

@Suite("Connections and the two guards")
struct ConnectionTests {
    /// What one racing attempt ended with.
    enum Outcome: Equatable { case connected(Int64), slotOccupied, workerAlreadyConnected, failed(String) }

    static func attempt(_ database: AppDatabase, manager: Int64, worker: Int64, slot: Int) -> Outcome {
        do {
            return .connected(try database.connections.connect(manager: manager, worker: worker, slot: BotSlot(slot)!).id)
        } catch is SlotOccupied {
            return .slotOccupied
        } catch is WorkerAlreadyConnected {
            return .workerAlreadyConnected
        } catch {
            return .failed("\(error)")
        }
    }

    @Test("50 tasks, each with its own DatabasePool, race for one slot: exactly one wins")
    func slotRace() async throws {
        try await withStoreAsync { setup, path in
            try setup.managers.register(profile(1), industry: "construction")
            for worker in 100..<150 { try setup.workers.register(profile(Int64(worker))) }
            // Own pool per task: DatabasePool serialises its own writes, so only separate pools really race.
            let pools = try (0..<50).map { _ in try AppDatabase.openFile(at: path) }
            let outcomes = await withTaskGroup(of: Outcome.self) { group in
                for (index, pool) in pools.enumerated() {
                    group.addTask { Self.attempt(pool, manager: 1, worker: Int64(100 + index), slot: 3) }
                }
                return await group.reduce(into: [Outcome]()) { $0.append($1) }
            }
            let winners = outcomes.compactMap { if case let .connected(id) = $0 { id } else { nil } }
            #expect(winners.count == 1)
            #expect(outcomes.filter { $0 == .slotOccupied }.count == 49, "\(outcomes.filter { if case .failed = $0 { true } else { false } })")
            let active = try setup.connections.active(manager: 1)
            #expect(active.count == 1)
            #expect(active.first?.id == winners.first)
            #expect(active.first?.slot == BotSlot(3))
        }
    }

    @Test("a worker racing into two managers ends up with one connection")
    func workerRace() async throws {
        try await withStoreAsync { setup, path in
            for manager in 1...10 { try setup.managers.register(profile(Int64(manager)), industry: "cleaning") }
            try setup.workers.register(profile(500))
            let pools = try (0..<50).map { _ in try AppDatabase.openFile(at: path) }
            let outcomes = await withTaskGroup(of: Outcome.self) { group in
                for (index, pool) in pools.enumerated() {
                    // Ten managers, each offering slot 1 five times over.
                    group.addTask { Self.attempt(pool, manager: Int64(index % 10 + 1), worker: 500, slot: 1) }
                }
                return await group.reduce(into: [Outcome]()) { $0.append($1) }
            }
            let winners = Set(outcomes.compactMap { if case let .connected(id) = $0 { id } else { nil } })
            // The same (manager, worker, slot) may be retried by the winner's own manager: connect is idempotent.
            #expect(winners.count == 1)
            #expect(outcomes.allSatisfy { if case .failed = $0 { false } else { true } })
            let connection = try #require(try setup.connections.active(worker: 500))
            #expect(winners.first == connection.id)
            let all = try await setup.writer.read { try Connection.fetchCount($0) }
            #expect(all == 1)
        }
    }

    @Test("SlotOccupied and WorkerAlreadyConnected carry the blocking connection")
    func typedErrors() throws {
        try withStore { database, _ in
            let first = try database.makeConnection(manager: 1, worker: 10, slot: 2)
            try database.workers.register(profile(11))
            #expect(throws: SlotOccupied(managerID: 1, slot: BotSlot(2)!, occupant: first)) {
                try database.connections.connect(manager: 1, worker: 11, slot: BotSlot(2)!)
            }
            try database.managers.register(profile(2), industry: "retail")
            #expect(throws: WorkerAlreadyConnected(workerID: 10, existing: first)) {
                try database.connections.connect(manager: 2, worker: 10, slot: BotSlot(1)!)
            }
            // The same worker into another slot of the same manager: still one connection per worker.
            #expect(throws: WorkerAlreadyConnected.self) {
                try database.connections.connect(manager: 1, worker: 10, slot: BotSlot(4)!)
            }
            // Repeating the exact connection is idempotent.
            #expect(try database.connections.connect(manager: 1, worker: 10, slot: BotSlot(2)!) == first)
        }
    }

    @Test("disconnect is idempotent, frees the slot, and reconnecting keeps the history")
    func disconnectAndReconnect() throws {
        let clock = ManualWallClock()
        try withStore(clock: clock) { database, _ in
            let first = try database.makeConnection(manager: 1, worker: 10, slot: 1)
            clock.advance(by: 60)
            let ended = try database.connections.disconnect(first.id)
            #expect(ended.status == .disconnected)
            #expect(ended.disconnectedAt == clock.now().truncatedToMilliseconds)
            clock.advance(by: 60)
            #expect(try database.connections.disconnect(first.id) == ended)  // unchanged the second time
            #expect(try database.connections.disconnect(manager: 1, slot: BotSlot(1)!) == nil)
            #expect(try database.connections.active(manager: 1, slot: BotSlot(1)!) == nil)

            // Slot 1 is free for someone else, and the first worker may connect elsewhere.
            let second = try database.makeConnection(manager: 1, worker: 11, slot: 1)
            let again = try database.makeConnection(manager: 1, worker: 10, slot: 2)
            #expect(second.id != first.id && again.id != first.id)
            let history = try database.connections.history(manager: 1)
            #expect(Set(history.map(\.id)) == [first.id, second.id, again.id])
            #expect(try database.connections.history(worker: 10).map(\.id) == [again.id, first.id])
            #expect(try database.connections.active(manager: 1).map(\.slot) == [BotSlot(1)!, BotSlot(2)!])
            #expect(throws: DomainError.connectionNotFound(999)) { try database.connections.disconnect(999) }
        }
    }

    @Test("connecting needs a registered, not deleted, manager and worker")
    func connectNeedsBothSides() throws {
        try withStore { database, _ in
            try database.managers.register(profile(1), industry: "construction")
            try database.workers.register(profile(10))
            #expect(throws: DomainError.managerNotFound(2)) {
                try database.connections.connect(manager: 2, worker: 10, slot: BotSlot(1)!)
            }
            #expect(throws: DomainError.workerNotFound(11)) {
                try database.connections.connect(manager: 1, worker: 11, slot: BotSlot(1)!)
            }
            try database.workers.softDelete(10)
            #expect(throws: DomainError.workerNotFound(10)) {
                try database.connections.connect(manager: 1, worker: 10, slot: BotSlot(1)!)
            }
        }
    }

    @Test("the database itself refuses a second active row, even bypassing the repository")
    func guardsHoldInRawSQL() throws {
        try withStore { database, _ in
            try database.makeConnection(manager: 1, worker: 10, slot: 1)
            try database.workers.register(profile(11))
            let error = try #require(throws: DatabaseError.self) {
                try database.writer.write { db in
                    try db.execute(sql: """
                        INSERT INTO connections (manager_id, worker_id, bot_slot, status, connected_at)
                        VALUES (1, 11, 1, 'active', '2026-01-01 00:00:00.000')
                        """)
                }
            }
            #expect(error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE)
            // Disconnected rows do not count: history can hold any number of them.
            try database.writer.write { db in
                for _ in 0..<3 {
                    try db.execute(sql: """
                        INSERT INTO connections (manager_id, worker_id, bot_slot, status, connected_at, disconnected_at)
                        VALUES (1, 11, 1, 'disconnected', '2026-01-01 00:00:00.000', '2026-01-02 00:00:00.000')
                        """)
                }
            }
        }
    }
}

extension Date {
    /// What survives a round trip through the database (millisecond precision).
    var truncatedToMilliseconds: Date {
        Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }
}
