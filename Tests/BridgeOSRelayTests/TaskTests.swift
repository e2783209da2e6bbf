import BridgeOSCore
import BridgeOSFlows
import BridgeOSRelay
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

@Suite("Tasks")
struct TaskTests {
    @Test("/task: the worker gets it translated with Done / Can't; Done tells the manager once, however often it is tapped")
    func taskByCommand() async throws {
        try await withWork { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let (managerBefore, workerBefore) = (h.count(1), h.count(2))
            h.sandbox.send("/task Fix the door", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            let task = try #require(try h.database.read { try $0.openTasks(worker: 2) }.first)
            #expect(task.description == "Fix the door" && task.descriptionTranslated == "[es] FIX THE DOOR" && task.dueAt == nil)
            let delivered = try #require(h.last(bot, 2))
            #expect(delivered.text == text(.taskHeader, "es") + "\n[es] FIX THE DOOR")
            // A translation carries the 🔤 Original button under its own.
            #expect(h.buttons(delivered) == ["task:done:\(task.id)", "task:cant:\(task.id)", "orig:\(task.messageID ?? 0)"])
            #expect(h.last(bot, 1)?.text == en(.taskCreated, ["worker": "Iván", "task": "Fix the door"]))

            #expect(try await h.tap("task:done:\(task.id)", on: delivered, by: 2, bot: bot) == nil)
            try await h.waitForTexts(bot, 1, count: managerBefore + 2)
            #expect(h.last(bot, 1)?.text == en(.taskDoneNotify, ["worker": "Iván", "task": "Fix the door"]))
            let done = try #require(try h.database.read { try $0.task(task.id) })
            #expect(done.status == .done)
            try await h.waitFor("the Done button marked") { _ in h.message(bot, 2, id: delivered.messageID)?.replyMarkup != delivered.replyMarkup }
            let marked = try #require(h.message(bot, 2, id: delivered.messageID))
            #expect(marked.replyMarkup?.inlineKeyboard.joined().first?.text.hasPrefix("✅") == true)
            // A double tap, a second device: answered, nothing else happens.
            #expect(try await h.tap("task:done:\(task.id)", on: marked, by: 2, bot: bot) == text(.taskAlreadyDone, "es"))
            #expect(try await h.tap("task:done:\(task.id)", on: delivered, by: 2, bot: bot) == text(.taskAlreadyDone, "es"))
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.count(1) == managerBefore + 2)
            #expect(try h.database.read { try $0.task(task.id) }?.completedAt == done.completedAt)
            // Someone else's task id (forged in the manager's own chat: Telegram lets nobody press a button in
            // another's chat): refused like an expired button.
            #expect(try await h.tap("task:done:\(task.id)", forgedOn: try #require(h.last(bot, 1)), by: 1, bot: bot) == en(.routeExpiredButton))
        }
    }

    @Test("a message that starts with ** is a task, and so is one Telegram already made bold at its start")
    func taskByStarsAndBold() async throws {
        try await withWork { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let workerBefore = h.count(2)
            h.sandbox.send("**Order the tiles**", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            h.sandbox.send("Sweep the yard, see https://example.com/plan", from: 1, to: bot,
                           entities: [MessageEntity(type: .bold, offset: 0, length: 14), MessageEntity(type: .url, offset: 20, length: 24)])
            try await h.waitForTexts(bot, 2, count: workerBefore + 2)
            let tasks = try h.database.read { try $0.openTasks(worker: 2) }
            #expect(tasks.map(\.description) == ["Order the tiles", "Sweep the yard, see https://example.com/plan"])
            let messages = h.sandbox.botMessages(bot, 2).suffix(2)
            #expect(messages.map(\.text) == [
                text(.taskHeader, "es") + "\n[es] ORDER THE TILES", text(.taskHeader, "es") + "\n[es] SWEEP THE YARD, SEE https://example.com/plan",
            ])
            // The bold that made it a task is gone; the link's entity moves along under the header.
            let header = (text(.taskHeader, "es") + "\n[es] SWEEP THE YARD, SEE ").utf16.count
            #expect(messages.last?.entities?.contains { $0.type == .bold } != true)
            #expect(messages.last?.entities?.first { $0.type == .url }.map { [$0.offset, $0.length] } == [header, 24])
            // A plain message is still conversation.
            h.sandbox.send("Thanks", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 3)
            #expect(h.last(bot, 2)?.text == "[es] THANKS")
            #expect(try h.database.read { try $0.openTasks(worker: 2) }.count == 2)
        }
    }

    @Test("a due time in the manager's time zone: shown to the worker, marked overdue, reminded once")
    func dueTimeAndReminder() async throws {
        try await withWork { h, clock in
            try await h.connectedPair()
            let bot = h.bots[0]
            try await h.say("/timezone +2", from: 1, to: bot)
            #expect(try h.database.managers.find(1)?.timeZone == "Etc/GMT-2")
            #expect(h.last(bot, 1)?.text?.hasPrefix(en(.timezoneSet, ["zone": "UTC+2", "time": "§"]).components(separatedBy: "§")[0]) == true)
            let workerBefore = h.count(2)
            h.sandbox.send("/task Fix the door by 17:00", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            let task = try #require(try h.database.read { try $0.openTasks(worker: 2) }.first)
            let due = try #require(task.dueAt)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "Etc/GMT-2")!
            #expect(calendar.component(.hour, from: due) == 17 && calendar.component(.minute, from: due) == 0)
            #expect(due > clock.now() && due.timeIntervalSince(clock.now()) <= 86400)
            let delivered = try #require(h.last(bot, 2)?.text)
            #expect(delivered.hasSuffix(WorkClock.due(due, language: "es", timeZone: calendar.timeZone, now: clock.now())))
            #expect(delivered.contains(text(.taskDueLine, "es", ["due": ""])))

            // Past the due time: one reminder, however long it stays open.
            clock.advance(by: due.timeIntervalSince(clock.now()) + 60)
            h.runtime.signals.wakeAll()
            try await h.waitForTexts(bot, 2, count: workerBefore + 2)
            let reminder = try #require(h.last(bot, 2))
            #expect(reminder.text?.hasPrefix(text(.taskReminder, "es", ["due": WorkClock.due(due, language: "es", timeZone: calendar.timeZone, now: clock.now())])) == true)
            #expect(reminder.text?.hasSuffix("[es] FIX THE DOOR BY 17:00") == true)
            #expect(h.buttons(reminder) == ["task:done:\(task.id)", "task:cant:\(task.id)"])
            clock.advance(by: 86400)
            h.runtime.signals.wakeAll()
            try await Task.sleep(for: .milliseconds(500))
            #expect(h.count(2) == workerBefore + 2)
            // The manager's list marks it overdue.
            try await h.say("/tasks", from: 1, to: bot)
            #expect(h.last(bot, 1)?.text?.contains(en(.taskOverdue)) == true)
        }
    }

    @Test("/tasks on both sides: paged with buttons that edit in place; the worker's Done buttons complete and refresh the list")
    func taskLists() async throws {
        try await withWork { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let workerBefore = h.count(2)
            for n in 1...10 { h.sandbox.send("/task Job \(n)", from: 1, to: bot) }
            try await h.waitForTexts(bot, 2, count: workerBefore + 10)
            // Manager: newest first, 8 a page.
            let list = try #require(try await h.say("/tasks", from: 1, to: bot))
            let lines = try #require(list.text?.components(separatedBy: "\n"))
            #expect(lines[0] == en(.tasksTitleManager, ["open": "10", "done": "0", "page": "1", "pages": "2"]))
            #expect(lines.contains("👷 Iván"))
            #expect(lines.filter { $0.hasPrefix("⬜") } == (3...10).reversed().map { "⬜ Job \($0)" })
            #expect(h.buttons(list) == ["tasks:m:2"])
            try await h.press("tasks:m:2", by: 1, on: bot)
            let second = try #require(h.message(bot, 1, id: list.messageID))
            #expect(second.text?.components(separatedBy: "\n").filter { $0.hasPrefix("⬜") } == ["⬜ Job 2", "⬜ Job 1"])
            #expect(h.buttons(second) == ["tasks:m:1"])

            // Worker: in their language, oldest first, 5 a page, a Done button each.
            let mine = try #require(try await h.say("/tasks", from: 2, to: bot))
            #expect(mine.text?.components(separatedBy: "\n").first == text(.tasksTitleWorker, "es"))
            #expect(mine.text?.contains("1. [es] JOB 1") == true && mine.text?.contains("6.") == false)
            let tasks = try h.database.read { try $0.openTasks(worker: 2) }
            #expect(h.buttons(mine) == tasks.prefix(5).map { "tasks:done:\($0.id):1" } + ["tasks:w:2"])
            let managerBefore = h.count(1)
            try await h.press("tasks:done:\(tasks[0].id):1", by: 2, on: bot)
            let refreshed = try #require(h.message(bot, 2, id: mine.messageID))
            #expect(refreshed.text?.contains("[es] JOB 1\n") == false && refreshed.text?.contains("1. [es] JOB 2") == true)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            #expect(h.last(bot, 1)?.text == en(.taskDoneNotify, ["worker": "Iván", "task": "Job 1"]))
            try await h.press("tasks:w:2", by: 2, on: bot)
            #expect(h.message(bot, 2, id: mine.messageID)?.text?.contains("6. [es] JOB 7") == true)
            // The manager's list counts it done.
            let after = try #require(try await h.say("/tasks", from: 1, to: bot))
            #expect(after.text?.hasPrefix(en(.tasksTitleManager, ["open": "9", "done": "1", "page": "1", "pages": "2"])) == true)
        }
    }

    @Test("can't do it: the worker's reason reaches the manager translated, under the task's name; the task stays open")
    func cantDoIt() async throws {
        try await withWork { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let workerBefore = h.count(2)
            h.sandbox.send("/task Pour the slab", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            let task = try #require(try h.database.read { try $0.openTasks(worker: 2) }.first)
            try await h.press("task:cant:\(task.id)", by: 2, on: bot, newMessages: 1)
            #expect(h.last(bot, 2)?.text == text(.taskCantAsk, "es"))
            let managerBefore = h.count(1)
            try await h.say("No hay cemento", from: 2, to: bot)
            #expect(h.last(bot, 2)?.text == text(.taskCantSent, "es", ["manager": "Marta"]))
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            #expect(h.last(bot, 1)?.text == en(.taskCantNotify, ["worker": "Iván", "task": "Pour the slab"]) + "\n[en] NO HAY CEMENTO")
            let declined = try #require(try h.database.read { try $0.task(task.id) })
            #expect(declined.isOpen && declined.declineReason == "No hay cemento" && declined.declinedAt != nil)
            try await h.say("/tasks", from: 1, to: bot)
            #expect(h.last(bot, 1)?.text?.contains(en(.taskDeclinedMark, ["reason": "No hay cemento"])) == true)
            // What they write next is conversation again.
            try await h.say("Voy", from: 2, to: bot, replies: 0)
            try await h.waitForTexts(bot, 1, count: managerBefore + 3)
            #expect(h.last(bot, 1)?.text == "[en] VOY")
        }
    }
}
