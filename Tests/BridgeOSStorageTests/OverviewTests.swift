import BridgeOSCore
import Foundation
import Testing
@testable import BridgeOSStorage

@Suite("Store overview")
struct OverviewTests {
    @Test("people with their roles, lines with their message counts, outbox by status, waiting jobs")
    func overview() throws {
        try withStore { database, _ in
            #expect(try database.overview() == StoreOverview(people: [], lines: [], messages: 0, outbox: [:], jobsWaiting: 0))
            let line1 = try database.makeConnection(manager: 1, worker: 2, slot: 1)
            try database.workers.register(profile(3, "Oksana", language: "uk"))
            try database.connections.connect(manager: 1, worker: 3, slot: BotSlot(2)!)
            try database.connections.disconnect(manager: 1, slot: BotSlot(2)!)
            try database.users.save(profile(4, "Newcomer"))
            for text in ["one", "two"] {
                try database.messages.append(NewMessage(connectionID: line1.id, senderID: 1, originalText: text, sourceLanguage: "en", targetLanguage: "es"))
            }
            let rows = try database.outbox.enqueue([
                NewOutboxRow(slot: BotSlot(1)!, chatID: 2, method: "sendMessage", payload: #"{"chat_id":2,"text":"uno"}"#),
                NewOutboxRow(slot: BotSlot(1)!, chatID: 2, method: "sendMessage", payload: #"{"chat_id":2,"text":"dos"}"#),
            ])
            try database.outbox.markSent(rows[0].id, result: #"{"message_id":9}"#, messageID: 9)
            try database.jobs.enqueue(kind: "relay", queueKey: "c1", payload: "{}")

            let overview = try database.overview()
            #expect(overview.people.map(\.role) == ["manager", "worker", "worker", ""])
            #expect(overview.people.map(\.language) == ["en", "es", "uk", "en"])
            #expect(overview.lines.map(\.slot) == [1, 2])
            #expect(overview.lines.map(\.active) == [true, false])
            #expect(overview.lines.map(\.messages) == [2, 0])
            #expect(overview.lines.map(\.workerLanguage) == ["es", "uk"])
            #expect(overview.messages == 2)
            #expect(overview.outbox == ["sent": 1, "pending": 1])
            #expect(overview.jobsWaiting == 1)
        }
    }
}
