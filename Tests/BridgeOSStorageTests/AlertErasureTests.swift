import BridgeOSCore
import BridgeOSTestSupport
import Foundation
import GRDB
import Testing
@testable import BridgeOSStorage

@Suite("Alerts and erasure in the store")
struct AlertErasureTests {
    /// Records a reading `minutes` after a fixed start; says the transition and the notices asked for.
    static func record(_ database: AppDatabase, _ holds: Bool, at minutes: Double, queued: Bool = true) throws -> String {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var asked: [AlertTransition] = []
        let transition = try database.write { tx in
            try tx.recordAlert("slot_stopped:2", holds: holds, detail: nil, quiet: 30 * 60, now: start.addingTimeInterval(minutes * 60)) {
                asked.append($0)
                return queued
            }
        }
        return (["\(transition)"] + asked.map { "\($0)" }).joined(separator: " ")
    }

    @Test("a slot's webhook secret is kept for its bot across restarts; another bot in the slot gets a new one")
    func webhookSecrets() throws {
        try withStore { database, _ throws in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let slot = BotSlot(2)!
            #expect(try database.webhookSecrets.current(slot: slot, botID: 111) == nil)
            let first = try database.webhookSecrets.secret(slot: slot, botID: 111, now: now) { "first-secret" }
            #expect(first == "first-secret")
            #expect(try database.webhookSecrets.secret(slot: slot, botID: 111, now: now) { "never-made" } == "first-secret")
            #expect(try database.webhookSecrets.current(slot: slot, botID: 111) == "first-secret")
            #expect(try database.webhookSecrets.current(slot: slot, botID: 222) == nil, "a secret kept for another bot opens nothing")
            #expect(try database.webhookSecrets.current(slot: BotSlot(1)!, botID: 111) == nil, "each slot its own")
            #expect(try database.webhookSecrets.secret(slot: slot, botID: 222, now: now) { "second-secret" } == "second-secret")
            #expect(try database.webhookSecrets.current(slot: slot, botID: 222) == "second-secret")
            #expect(try database.webhookSecrets.current(slot: slot, botID: 111) == nil)
        }
    }

    @Test("an alert is recorded as told only when its notice was queued; an untold start is told later; a flap that lasts is told after the quiet time")
    func alertNotices() throws {
        try withStore { database, _ throws in
            // Starts while no bot can reach anyone (just after a restart): not told, and not recorded as told.
            #expect(try Self.record(database, true, at: 0, queued: false) == "raisedQuietly raised")
            #expect(try database.alerts.all().first?.notifiedAt == nil)
            // The next reading can tell it.
            #expect(try Self.record(database, true, at: 0.5) == "raised raised")
            #expect(try Self.record(database, true, at: 1) == "unchanged")
            #expect(try Self.record(database, false, at: 2) == "cleared cleared")
            // Back within the quiet time: not told at once …
            #expect(try Self.record(database, true, at: 5) == "raisedQuietly")
            #expect(try Self.record(database, true, at: 20) == "unchanged")
            // … but told once the quiet time since the last notice has passed, when it still holds.
            #expect(try Self.record(database, true, at: 31) == "raised raised")
            #expect(try Self.record(database, true, at: 90) == "unchanged")
            // A start nobody heard of ends without an "it cleared".
            #expect(try Self.record(database, false, at: 91) == "cleared cleared")
            #expect(try Self.record(database, true, at: 200, queued: false) == "raisedQuietly raised")
            #expect(try Self.record(database, false, at: 201) == "unchanged")
        }
    }

    @Test("erasure ends the calls not sent yet (emptied, not counted as failed deliveries) and keeps late translations out")
    func erasureAndLateWork() throws {
        try withStore { database, _ in
            let connection = try database.makeConnection(manager: 1, worker: 2)
            let now = Date()
            let (message, pending) = try database.write { tx -> (ConversationMessage, OutboxRow) in
                let message = try tx.appendMessage(NewMessage(connectionID: connection.id, senderID: 2, originalText: "Mi dirección es Calle 5",
                                                              sourceLanguage: "es", targetLanguage: "en"), now: now)
                let row = try tx.queue(NewOutboxRow(slot: BotSlot(1)!, chatID: 1, method: "sendMessage",
                                                   payload: #"{"chat_id":1,"text":"My address is Calle 5"}"#, messageID: message.id), now: now)
                return (message, row)
            }
            _ = try database.write { tx in try tx.eraseUser(2, now: now.addingTimeInterval(1)) }
            try database.read { db in
                let row = try Row.fetchOne(db.db, sql: "SELECT status, payload, last_error FROM outbox WHERE id = ?", arguments: [pending.id])
                // Deleted, or dead and emptied: never sent, the words gone either way.
                if let row {
                    #expect(row["status"] as String == "dead" && row["payload"] as String == "{}" && row["last_error"] as String == StoreTransaction.erasedCallError)
                }
            }
            #expect(try database.alerts.deadLetters(since: now.addingTimeInterval(-60)) == 0)
            // A translation or a transcript finished after the erasure is not written back.
            try database.write { tx in
                try tx.setTranslation(of: message.id, to: "My address is Calle 5", revision: 0, provider: "openai")
                try tx.setTranscript(of: message.id, to: "Mi dirección es Calle 5")
            }
            let stored = try #require(try database.read { tx in try tx.message(message.id) })
            #expect(stored.originalText.isEmpty && stored.translatedText == nil && stored.transcript == nil)
            #expect(try database.read { tx in try tx.erasedSince(stored) })
        }
    }
}

@Suite("Glossary storage")
struct GlossaryStorageTests {
    @Test("a term is one entry per team and language whatever its case, in any script; teams do not see each other's")
    func uniqueness() throws {
        try withStore { database, _ throws in
            _ = try database.makeConnection(manager: 1, worker: 2)
            _ = try database.makeConnection(manager: 3, worker: 4, slot: 1)
            let now = Date()
            try database.write { tx in
                try tx.addGlossaryEntry(manager: 1, terms: ["en": "concrete", "uk": "Бетон"], keep: false, origin: .manager, now: now)
            }
            #expect(throws: DomainError.invalidInput("“бетон” is already in the glossary")) {
                try database.write { tx in try tx.addGlossaryEntry(manager: 1, terms: ["en": "mortar", "uk": "бетон"], keep: false, origin: .manager, now: now) }
            }
            #expect(throws: DomainError.invalidInput("“HORMIGÓN” is already in the glossary")) {
                try database.write { tx in
                    try tx.addGlossaryEntry(manager: 1, terms: ["en": "cement", "es": "hormigón"], keep: false, origin: .manager, now: now)
                    try tx.addGlossaryEntry(manager: 1, terms: ["en": "grout", "es": "HORMIGÓN"], keep: false, origin: .manager, now: now)
                }
            }
            // Another team has its own.
            try database.write { tx in
                try tx.addGlossaryEntry(manager: 3, terms: ["en": "concrete", "uk": "бетон"], keep: false, origin: .manager, now: now)
            }
            #expect(try database.read { tx in try tx.glossary(manager: 1).count } == 1)
            #expect(try database.write { tx in try tx.removeGlossaryEntry(manager: 1, id: try tx.glossary(manager: 3)[0].id) } == false)
            #expect(try database.read { tx in try tx.glossary(manager: 3).count } == 1)
        }
    }
}
