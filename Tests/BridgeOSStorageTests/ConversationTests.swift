import BridgeOSCore
import Foundation
import GRDB
import Testing
@testable import BridgeOSStorage

@Suite("Messages and tasks")
struct ConversationTests {
    func say(_ database: AppDatabase, _ connection: Connection, from sender: Int64, _ text: String) throws -> ConversationMessage {
        try database.messages.append(NewMessage(
            connectionID: connection.id, senderID: sender, originalText: text, translatedText: "[\(text)]",
            sourceLanguage: sender == connection.managerID ? "en" : "es",
            targetLanguage: sender == connection.managerID ? "es" : "en", sourceMessageID: 1))
    }

    @Test("context returns the last N messages of one connection, oldest first")
    func context() throws {
        try withStore { database, _ in
            let a = try database.makeConnection(manager: 1, worker: 10, slot: 1)
            let b = try database.makeConnection(manager: 1, worker: 11, slot: 2)
            for n in 1...10 {
                _ = try say(database, a, from: n.isMultiple(of: 2) ? 1 : 10, "a\(n)")
                _ = try say(database, b, from: 11, "b\(n)")
            }
            #expect(try database.messages.context(connection: a.id).map(\.originalText) == ["a5", "a6", "a7", "a8", "a9", "a10"])
            #expect(try database.messages.context(connection: b.id, limit: 2).map(\.originalText) == ["b9", "b10"])
            #expect(try database.messages.context(connection: a.id, limit: 0).isEmpty)
            #expect(try database.messages.context(connection: a.id, limit: 50).count == 10)
        }
    }

    @Test("delivery results are recorded on the message")
    func delivery() throws {
        try withStore { database, _ in
            let connection = try database.makeConnection(manager: 1, worker: 10)
            let message = try say(database, connection, from: 1, "Bring the ladder")
            let delivered = try database.messages.recordDelivery(message.id, deliveredMessageID: 555, translatedText: "Trae la escalera")
            #expect(delivered.deliveredMessageID == 555)
            #expect(delivered.translatedText == "Trae la escalera")
            #expect(try database.messages.context(connection: connection.id).last == delivered)
        }
    }

    @Test("only the two people of an active connection can add to it")
    func appendRules() throws {
        try withStore { database, _ in
            let connection = try database.makeConnection(manager: 1, worker: 10)
            try database.workers.register(profile(99))
            #expect(throws: DomainError.invalidInput("user 99 is not a party of connection \(connection.id)")) {
                _ = try say(database, connection, from: 99, "hi")
            }
            // The schema's trigger holds the same line below the repository.
            #expect(throws: DatabaseError.self) {
                try database.writer.write { db in
                    try db.execute(sql: """
                        INSERT INTO messages (connection_id, sender_id, original_text, source_language, target_language, created_at)
                        VALUES (?, 99, 'x', 'en', 'es', '2026-01-01 00:00:00.000')
                        """, arguments: [connection.id])
                }
            }
            try database.connections.disconnect(connection.id)
            #expect(throws: DomainError.connectionNotActive(connection.id)) { _ = try say(database, connection, from: 1, "late") }
            #expect(throws: DomainError.invalidInput("source language 'e' is not a language code")) {
                try database.messages.append(NewMessage(
                    connectionID: connection.id, senderID: 1, originalText: "x", sourceLanguage: "e", targetLanguage: "es"))
            }
        }
    }

    @Test("the 24-hour window holds exactly the last day")
    func window() throws {
        let clock = ManualWallClock()
        try withStore(clock: clock) { database, _ in
            let connection = try database.makeConnection(manager: 1, worker: 10)
            _ = try say(database, connection, from: 1, "two days ago")
            clock.advance(by: 24 * 3600)
            _ = try say(database, connection, from: 10, "yesterday, just inside")
            clock.advance(by: 12 * 3600)
            _ = try say(database, connection, from: 1, "this morning")
            clock.advance(by: 12 * 3600 - 1)
            #expect(try database.messages.lastDay(connection: connection.id).map(\.originalText)
                    == ["yesterday, just inside", "this morning"])
            clock.advance(by: 2)
            #expect(try database.messages.lastDay(connection: connection.id).map(\.originalText) == ["this morning"])
        }
    }

    @Test("retention deletes old messages in batches and keeps the rest")
    func retention() throws {
        let clock = ManualWallClock()
        try withStore(clock: clock) { database, _ in
            let connection = try database.makeConnection(manager: 1, worker: 10)
            for n in 0..<1234 { _ = try say(database, connection, from: n.isMultiple(of: 2) ? 1 : 10, "old \(n)") }
            clock.advance(by: 31 * 24 * 3600)
            let cutoff = clock.now().addingTimeInterval(-30 * 24 * 3600)
            for n in 0..<5 { _ = try say(database, connection, from: 1, "new \(n)") }

            #expect(try database.messages.deleteBatch(olderThan: cutoff, batchSize: 100) == 100)
            #expect(try database.messages.count(connection: connection.id) == 1139)
            #expect(try database.messages.purge(olderThan: cutoff, batchSize: 100) == 1134)
            #expect(try database.messages.purge(olderThan: cutoff) == 0)
            #expect(try database.messages.purge(olderThan: cutoff, batchSize: 0) == 0)  // returns, does not spin
            #expect(try database.messages.context(connection: connection.id, limit: 10).map(\.originalText)
                    == (0..<5).map { "new \($0)" })
            // Ids never come back after deletes (AUTOINCREMENT), so id order stays insertion order.
            let next = try say(database, connection, from: 1, "after purge")
            #expect(next.id > 1239)
        }
    }

    @Test("tasks: create, idempotent complete, grouped per manager, listed per worker")
    func tasks() throws {
        let clock = ManualWallClock()
        try withStore(clock: clock) { database, _ in
            let maria = try database.makeConnection(manager: 1, worker: 10, slot: 2)
            let ivan = try database.makeConnection(manager: 1, worker: 11, slot: 1)
            let other = try database.makeConnection(manager: 2, worker: 12, slot: 1)
            let sweep = try database.tasks.create(connection: maria.id, description: "  Sweep the floor ", translated: "Barrer el piso")
            #expect(sweep.description == "Sweep the floor")
            let paint = try database.tasks.create(connection: maria.id, description: "Paint the door")
            let order = try database.tasks.create(connection: ivan.id, description: "Order bricks")
            try database.tasks.create(connection: other.id, description: "Not manager 1's")

            clock.advance(by: 30)
            let done = try database.tasks.complete(paint.id)
            #expect(done.status == .done && done.completedAt == clock.now())
            clock.advance(by: 30)
            #expect(try database.tasks.complete(paint.id) == done)  // second tap changes nothing

            let open = try database.tasks.forManager(1)
            #expect(open.map(\.workerID) == [11, 10])  // by slot
            #expect(open.map(\.slot) == [BotSlot(1)!, BotSlot(2)!])
            #expect(open[0].tasks.map(\.id) == [order.id])
            #expect(open[1].tasks.map(\.id) == [sweep.id])
            #expect(open[1].workerName == "User 10")
            #expect(try database.tasks.forManager(1, includeDone: true)[1].tasks.map(\.id) == [sweep.id, paint.id])

            #expect(try database.tasks.forWorker(10).map(\.id) == [sweep.id])
            #expect(try database.tasks.forWorker(10, includeDone: true).map(\.id) == [sweep.id, paint.id])
            #expect(try database.tasks.setTranslation(paint.id, to: "Pintar la puerta").descriptionTranslated == "Pintar la puerta")

            // A disconnected worker's tasks leave their current list but stay in the manager's history.
            try database.connections.disconnect(maria.id)
            #expect(try database.tasks.forWorker(10).isEmpty)
            #expect(try database.tasks.forWorker(10, currentConnectionOnly: false).map(\.id) == [sweep.id])
            #expect(throws: DomainError.connectionNotActive(maria.id)) {
                try database.tasks.create(connection: maria.id, description: "x")
            }
            #expect(throws: DomainError.invalidInput("task description must not be empty")) {
                try database.tasks.create(connection: ivan.id, description: " \n ")
            }
            #expect(throws: DomainError.taskNotFound(999)) { try database.tasks.complete(999) }
        }
    }
}
