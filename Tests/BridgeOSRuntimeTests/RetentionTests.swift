import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

@Suite("Retention")
struct RetentionTests {
    @Test("a sweep deletes old messages, old update-log rows and expired states; keeps the rest")
    func sweep() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let clock = ManualWallClock()
            let database = try AppDatabase.openFile(at: directory.appendingPathComponent("r.sqlite").path, clock: clock)
            try database.managers.register(UserProfile(id: 1, displayName: "M", language: "en", gender: .female), industry: "retail")
            try database.workers.register(UserProfile(id: 2, displayName: "W", language: "es", gender: .male))
            let connection = try database.connections.connect(manager: 1, worker: 2, slot: BotSlot(1)!)
            for n in 0..<1200 {
                try database.messages.append(NewMessage(connectionID: connection.id, senderID: 1, originalText: "old \(n)", sourceLanguage: "en", targetLanguage: "es"))
            }
            try await database.write { tx in
                try tx.markUpdateHandled(slot: BotSlot(1)!, updateID: 1, kind: "message", now: clock.now())
                try tx.saveConversationState(ConversationState(botSlot: BotSlot(1)!, userID: 5, flow: "register", step: "language",
                                                              updatedAt: clock.now(), expiresAt: clock.now().addingTimeInterval(86400)))
            }
            // Finished work: a sent row, a sent row an open row still waits for, a dead letter, a done and a failed job.
            let slot = BotSlot(1)!
            let rows = try database.outbox.enqueue((0..<3).map { _ in NewOutboxRow(slot: slot, chatID: 2, method: "sendMessage", payload: #"{"chat_id":2,"text":"x"}"#) })
            try database.outbox.markSent(rows[0].id, result: nil, messageID: 1)
            try database.outbox.markSent(rows[1].id, result: nil, messageID: 2)
            try database.outbox.markDead(rows[2].id, error: "400")
            let done = try database.jobs.enqueue(kind: "k", queueKey: "a", payload: "{}")
            let failed = try database.jobs.enqueue(kind: "k", queueKey: "b", payload: "{}")
            try await database.write { try $0.completeJob(done.id, now: clock.now()) }
            try database.jobs.fail(failed.id, error: "x")
            clock.advance(by: 31 * 86400)
            let waiting = try database.outbox.enqueue([NewOutboxRow(slot: slot, chatID: 2, method: "editMessageText",
                payload: #"{"chat_id":2,"message_id":0,"text":"y"}"#, dependsOn: rows[1].id, dependsOnField: "message_id")])
            try database.messages.append(NewMessage(connectionID: connection.id, senderID: 2, originalText: "new", sourceLanguage: "es", targetLanguage: "en"))
            let service = RetentionService(database: database, settings: .init(messageRetentionDays: 30, batchSize: 100), logger: Logger(label: "t"))
            #expect(try service.sweep() == RetentionService.Sweep(messages: 1200, updates: 1, states: 1, outboxRows: 2, jobs: 2))
            #expect(try database.outbox.find(rows[1].id) != nil)  // still awaited by an open row
            #expect(try database.outbox.find(waiting[0].id)?.status == .pending)
            #expect(try database.messages.context(connection: connection.id, limit: 10).map(\.originalText) == ["new"])
            #expect(try service.sweep() == RetentionService.Sweep(messages: 0, updates: 0, states: 0))
        }
    }

    @Test("the service sweeps at start and stops on graceful shutdown")
    func runsAsService() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let database = try AppDatabase.openFile(at: directory.appendingPathComponent("r.sqlite").path)
            let logs = CapturingLogHandlerStore()
            let service = RetentionService(database: database, settings: .init(interval: .seconds(3600)), logger: logs.logger(label: "retention"))
            let group = ServiceGroup(configuration: .init(services: [.init(service: service)], gracefulShutdownSignals: [], logger: Logger(label: "t")))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await Task.sleep(for: .milliseconds(200))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(!logs.all.contains { $0.level == .error })
        }
    }
}
