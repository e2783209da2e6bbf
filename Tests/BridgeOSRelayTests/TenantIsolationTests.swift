import BridgeOSCore
import BridgeOSFlows
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

/// One team's people can neither read nor change another team's data, whatever they send: button data is
/// untrusted input (a modified client can send any), so each press is checked against who pressed it.
@Suite("Tenant isolation")
struct TenantIsolationTests {
    @Test("forged buttons naming another team's task, instruction, message, connection or slot: refused; nothing of the other team is shown or changed")
    func forgedCallbacks() async throws {
        try await withWork(bots: 1) { h, _ in
            // Two teams on the same bot: Marta (1) and Iván (2); Olga (11) and Petro (12, Ukrainian).
            let (botA, botB) = (h.bots[0], h.bots[0])
            try await h.connectedPair()
            try await h.registerManager(11, name: "Olga", on: botB)
            try await h.join(12, name: "Petro", payload: try await h.invite(by: 11, on: botB), on: botB, language: "uk")

            // Team A's work: a task, an instruction to confirm, and a message with something private in it.
            let workerBefore = h.count(2)
            h.sandbox.send("/task Fix the door", from: 1, to: botA)
            try await h.waitForTexts(botA, 2, count: workerBefore + 1)
            h.sandbox.send("!Pour the concrete at seven", from: 1, to: botA)
            try await h.waitForTexts(botA, 2, count: workerBefore + 2)
            h.sandbox.send("The alarm code is 4711", from: 1, to: botA)
            try await h.waitForTexts(botA, 2, count: workerBefore + 3)
            let teamA = try #require(try h.database.read { try $0.activeConnection(worker: 2) })
            let task = try #require(try h.database.read { try $0.openTasks(worker: 2) }.first)
            let messages = try h.database.read { try $0.messages(connection: teamA.id, since: .distantPast, until: .distantFuture) }
            let receipt = try #require(try h.database.read { tx in try messages.compactMap { try tx.receipt(message: $0.id) }.first { $0.needsConfirmation } })
            let secret = try #require(messages.first { $0.originalText == "The alarm code is 4711" })
            let teamB = try #require(try h.database.read { try $0.activeConnection(worker: 12) })
            #expect(teamB.id != teamA.id)
            try await Task.sleep(for: .milliseconds(300))
            let teamABefore = (h.count(1), h.count(2))

            // Petro (team B's worker) presses forged buttons on a message in his own chat.
            let piotrsMessage = try #require(h.last(botB, 12))
            let piotrsPresses: [(String, TextKey)] = [
                ("task:done:\(task.id)", .routeExpiredButton), ("task:cant:\(task.id)", .routeExpiredButton),
                ("tasks:done:\(task.id):1", .routeExpiredButton), ("ack:\(receipt.id)", .routeExpiredButton),
                ("orig:\(secret.id)", .relayOriginalGone), ("inv:1", .routeExpiredButton), ("disc:yes:\(teamA.id)", .routeExpiredButton),
                ("tasks:m:1", .routeExpiredButton),
            ]
            for (data, expected) in piotrsPresses {
                #expect(try await h.tap(data, forgedOn: piotrsMessage, by: 12, bot: botB) == text(expected, "uk"), "\(data)")
            }
            // Olga (team B's manager): the same ids, and a disconnect confirmation aimed at team A's connection.
            let olgasMessage = try #require(h.last(botB, 11))
            for (data, expected) in [("task:done:\(task.id)", TextKey.routeExpiredButton), ("ack:\(receipt.id)", .routeExpiredButton),
                                     ("orig:\(secret.id)", .relayOriginalGone), ("disc:yes:\(teamA.id)", .routeExpiredButton),
                                     ("tasks:w:1", .routeExpiredButton)] {
                #expect(try await h.tap(data, forgedOn: olgasMessage, by: 11, bot: botB) == en(expected), "\(data)")
            }
            let confirm = try #require(try await h.say("/disconnect", from: 11, to: botB))
            #expect(h.buttons(confirm).contains("disc:yes:\(teamB.id)"))
            _ = try await h.tap("disc:yes:\(teamA.id)", forgedOn: confirm, by: 11, bot: botB)
            try await h.waitFor("the confirmation closed") { _ in h.message(botB, 11, id: confirm.messageID)?.text == en(.cancelDone) }

            // Nothing of team A changed, and nobody of team A heard anything.
            try await Task.sleep(for: .milliseconds(500))
            #expect(try h.database.read { try $0.task(task.id) }?.isOpen == true)
            #expect(try h.database.read { try $0.receipt(message: receipt.messageID ?? 0) }?.confirmedAt == nil)
            #expect(try h.database.read { try $0.connection(teamA.id) }?.isActive == true)
            #expect(try h.database.read { try $0.connection(teamB.id) }?.isActive == true)
            #expect(try h.database.read { try $0.conversationState(slot: BotSlot(1)!, user: 2, now: Date()) } == nil)
            #expect((h.count(1), h.count(2)) == teamABefore)
            // Team B never saw a word of team A's, in a message or a button's alert.
            let seenByB = [11, 12].flatMap { h.texts(botB, $0) } + h.sandbox.calls("answerCallbackQuery").compactMap {
                if case let .string(text)? = $0.parameters["text"] { return text } else { return nil }
            }
            for word in ["4711", "door", "concrete"] {
                #expect(!seenByB.contains { $0.localizedCaseInsensitiveContains(word) }, "team B saw \(word)")
            }
        }
    }
}

extension Harness {
    /// Presses a button that is not on `message` (forged callback data) and returns what the answer said.
    func tap(_ data: String, forgedOn message: Message, by user: Int64, bot: SandboxBot) async throws -> String? {
        let query = try #require(sandbox.pressForged(data, on: message, by: user, bot: bot))
        try await sandbox.wait(timeout: .seconds(10), "answer to \(data)") { $0.isAnswered(callbackQuery: query) }
        return answerText(query)
    }
}
