import BridgeOSCore
import BridgeOSDashboard
import BridgeOSStorage
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

extension DashboardTests {
    @Suite("Dashboard: pages")
    struct PagesTests {
        @Test("a worker named <script> is shown escaped on every page that names them; the conversation shows original and translation")
        func escaping() async throws {
            try await withDashboard { h in
                let bot = h.bots[0]
                let evil = "<script>alert('x')</script>"
                try await h.flows.registerManager(1, on: bot)
                try await h.flows.join(2, name: evil, payload: try await h.flows.invite(by: 1, on: bot), on: bot)
                h.sandbox.send("<b>hola</b> & \"adiós\"", from: 2, to: bot)
                try await h.flows.waitForTexts(bot, 1, count: h.flows.texts(bot, 1).count + 1)
                let browser = try await h.signedIn()
                let connection = try #require(try h.database.dashboard.person(2)?.connections.first)
                for path in ["/admin/people/2", "/admin/people/1", "/admin/conversations/\(connection.id)", "/admin"] {
                    let page = try await browser.get(path)
                    #expect(page.status == 200, "\(path)")
                    #expect(!page.body.contains("<script"), "\(path) carries a raw <script>")
                    #expect(!page.body.contains("<b>hola"), "\(path)")
                }
                let person = try await browser.get("/admin/people/2")
                #expect(person.body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
                let conversation = try await browser.get("/admin/conversations/\(connection.id)")
                #expect(conversation.body.contains("&lt;b&gt;hola&lt;/b&gt; &amp; &quot;adiós&quot;"))
                #expect(conversation.body.contains("[en] &lt;b&gt;hola"), "the translation beside the original")
            }
        }

        @Test("pagination: managers 50 a page by a keyset cursor, search by name or code; a conversation 50 messages a page, newest first")
        func pagination() async throws {
            try await withDashboard { h in
                for n in 1...120 {
                    try h.database.managers.register(UserProfile(id: Int64(10_000 + n), displayName: n == 77 ? "Zoë Search" : "Manager \(n)",
                                                                 language: "en", gender: .unspecified), industry: "cleaning")
                }
                try h.database.workers.register(UserProfile(id: 20_000, displayName: "Worker", language: "es", gender: .unspecified))
                let connection = try h.database.connections.connect(manager: 10_001, worker: 20_000, slot: BotSlot(1)!)
                for n in 1...120 {
                    _ = try h.database.messages.append(NewMessage(connectionID: connection.id, senderID: n % 2 == 0 ? 10_001 : 20_000,
                                                                  originalText: "message \(n)", translatedText: "mensaje \(n)",
                                                                  sourceLanguage: "en", targetLanguage: "es"))
                }
                let browser = try await h.signedIn()
                var page = try await browser.get("/admin/managers")
                #expect(page.body.components(separatedBy: "<tr><td><a href=\"/admin/people/").count - 1 == 50)
                #expect(page.body.contains("Manager 1<") && page.body.contains("Manager 50<") && !page.body.contains("Manager 51<"))
                let next = try #require(Self.link(page, "Next page"))
                page = try await browser.get(next)
                #expect(page.body.contains("Manager 51<") && page.body.contains("Manager 100<") && !page.body.contains("Manager 50<"))
                page = try await browser.get(try #require(Self.link(page, "Next page")))
                #expect(page.body.contains("Manager 120<") && Self.link(page, "Next page") == nil)
                let search = try await browser.get("/admin/managers?q=zo%C3%AB")
                #expect(search.body.contains("Zoë Search") && !search.body.contains("Manager 1<"))
                let code = try #require(try h.database.dashboard.person(10_005)?.code)
                #expect(try await browser.get("/admin/managers?q=\(code.lowercased())").body.contains("Manager 5<"))
                #expect(try await browser.get("/admin/managers?after=-3").status == 400)

                var conversation = try await browser.get("/admin/conversations/\(connection.id)")
                #expect(conversation.body.contains("message 120<") && conversation.body.contains("message 71<") && !conversation.body.contains("message 70<"))
                #expect(conversation.body.contains("mensaje 120<"))
                conversation = try await browser.get(try #require(Self.link(conversation, "Older messages")))
                #expect(conversation.body.contains("message 70<") && conversation.body.contains("message 21<") && !conversation.body.contains("message 71<"))
                conversation = try await browser.get(try #require(Self.link(conversation, "Older messages")))
                #expect(conversation.body.contains("message 1<") && Self.link(conversation, "Older messages") == nil)
                #expect(try await browser.get("/admin/conversations/999999").status == 404)
                #expect(try await browser.get("/admin/people/abc").status == 404)
            }
        }

        static func link(_ page: Page, _ label: String) -> String? {
            guard let end = page.body.range(of: "\">\(label)") else { return nil }
            let before = page.body[..<end.lowerBound]
            guard let start = before.range(of: "href=\"", options: .backwards) else { return nil }
            return String(before[start.upperBound...]).replacingOccurrences(of: "&amp;", with: "&")
        }

        @Test("feedback answered on the dashboard reaches its writer through their bot, translated; the inbox shows it answered")
        func feedbackAnswer() async throws {
            try await withDashboard { h in
                let bot = h.bots[0]
                try await h.flows.registerManager(1, on: bot)
                try await h.flows.join(2, payload: try await h.flows.invite(by: 1, on: bot), on: bot)
                try await h.flows.say("/feedback La app es genial", from: 2, to: bot)
                let browser = try await h.signedIn()
                let inbox = try await browser.get("/admin/feedback?open=1")
                #expect(inbox.body.contains("La app es genial"))
                let answered = try await browser.post("/admin/feedback/1/answer", form: ["csrf": Browser.csrf(in: inbox) ?? "", "answer": "Thank you!", "language": "en"])
                #expect(answered.status == 303)
                try await h.sandbox.wait(timeout: .seconds(15), "the answer") { $0.botMessages(bot, 2).contains { $0.text?.contains("[es] Thank you!") == true } }
                let stored = try #require(try h.database.read { try $0.feedback(1) })
                #expect(stored.isAnswered && stored.answer == "Thank you!" && stored.answeredBy == nil)
                // The form sent again (a double click, a reload): the answer goes once.
                let again = try await browser.post("/admin/feedback/1/answer", form: ["csrf": Browser.csrf(in: inbox) ?? "", "answer": "Thank you!", "language": "en"])
                #expect(again.status == 303)
                try await Task.sleep(for: .milliseconds(700))
                #expect(h.sandbox.botMessages(bot, 2).filter { $0.text?.contains("[es] Thank you!") == true }.count == 1)
                #expect(try await browser.get("/admin/feedback?open=1").body.contains("No feedback waiting"))
                #expect(try await browser.post("/admin/feedback/99/answer", form: ["csrf": Browser.csrf(in: inbox) ?? "", "answer": "x"]).status == 404)
            }
        }

        @Test("erasure from the dashboard: name and texts gone, rows and counts kept; erasing twice changes nothing more")
        func erase() async throws {
            try await withDashboard { h in
                let bot = h.bots[0]
                try await h.flows.registerManager(1, on: bot)
                try await h.flows.join(2, name: "Iván Petrov", payload: try await h.flows.invite(by: 1, on: bot), on: bot)
                h.sandbox.send("Mi dirección es Calle 5", from: 2, to: bot)
                try await h.flows.waitForTexts(bot, 1, count: h.flows.texts(bot, 1).count + 1)
                try await h.flows.say("/feedback Mi teléfono es 555", from: 2, to: bot)
                let browser = try await h.signedIn()
                let page = try await browser.get("/admin/people/2")
                #expect(try await browser.post("/admin/people/2/erase", form: ["csrf": Browser.csrf(in: page) ?? ""]).status == 400, "needs the box ticked")
                let erased = try await browser.post("/admin/people/2/erase", form: ["csrf": Browser.csrf(in: page) ?? "", "confirm": "yes"])
                #expect(erased.status == 200 && erased.body.contains("Erased:"))
                let person = try #require(try h.database.dashboard.person(2))
                #expect(person.user.displayName == "Erased user" && person.user.username == nil && person.erasedAt != nil)
                let connection = try #require(person.connections.first)
                let lines = try #require(try h.database.dashboard.conversation(connection.id, before: nil)).lines
                #expect(!lines.isEmpty && lines.allSatisfy { $0.original.isEmpty && $0.translation == nil })
                #expect(try h.database.read { try $0.feedback(1) }?.message == "—")
                #expect(try h.database.dashboard.overview().messagesPerDay.last?.count == lines.count, "counts kept")
                let again = try await h.database.write { tx in try tx.eraseUser(2, now: Date()) }
                #expect(again.messages == 0 && again.tasks == 0 && again.feedback == 0 && again.outboxRows == 0 && again.connectionsEnded == 0)
            }
        }
    }
}
