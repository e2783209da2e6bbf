import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation

/// The story's work scene: a task with a due time, a confirmed instruction, an announcement to the crew.
extension DemoStory {
    func work() async throws {
        out.heading("7. Work: a task, an instruction to confirm, an announcement to the whole crew")
        let (line1, line2) = (bots[0], bots[1])
        driver.narrate("Marta gives Iván a task with /task. “by 17:00” is understood in her time zone; Iván sees it in Spanish with a Done button.")
        let scaffold = book.text("scaffold", "en")
        let ivanBefore = driver.count(bots[0], ivan)
        try await driver.say(marta, bots[0], "/task \(scaffold)", then: [(ivan, bots[0], 1), (marta, bots[0], 1)])
        let task = try database.read { try $0.openTasks(worker: ivan.id) }.first
        let delivered = driver.sandbox.botMessages(bots[0], ivan.id).dropFirst(ivanBefore).first
        let buttons = delivered?.replyMarkup?.inlineKeyboard.joined().compactMap(\.callbackData) ?? []
        driver.check(task?.dueAt != nil && buttons.contains("task:done:\(task?.id ?? 0)")
                     && (driver.phrasebook == nil || delivered?.text?.contains(book.text("scaffold", "es")) == true),
                     "Iván got the task in Spanish with its due time and Done button")
        if let task {
            let martaBefore = driver.count(bots[0], marta)
            driver.narrate("Iván taps Done. Marta is told in her language; a second tap would change nothing.")
            try await driver.tap(ivan, bots[0], "task:done:\(task.id)")
            let told = try await driver.wait("Marta is told the task is done") { $0.botMessages(line1, 1001).count > martaBefore }
            driver.screens.show(marta, bots[0])
            let status = try database.read { try $0.task(task.id) }?.status
            driver.check(told && status == .done, "Marta is told Iván finished the task")
        }

        driver.narrate("A safety instruction must not just arrive: it must be read. Marta starts it with “!”. Oksana gets a “Got it” button; under Marta's message a status line follows it.")
        try await driver.say(marta, bots[1], "!" + book.text("gasValve", "en"), then: [(oksana, bots[1], 1), (marta, bots[1], 1)])
        let statusID = driver.sandbox.botMessages(bots[1], marta.id).last?.messageID ?? 0
        if let ack = ackButton(oksana, bots[1]) {
            try await driver.tap(oksana, bots[1], ack)
            let confirmed = try await driver.wait("Marta's status line shows the confirmation") { sandbox in
                sandbox.botMessages(line2, 1001).first { $0.messageID == statusID }?.text?.hasPrefix("✅") == true
            }
            driver.screens.show(marta, bots[1])
            driver.check(confirmed, "Marta's status line says Oksana confirmed, with the time")
        } else {
            driver.check(false, "Oksana finds the Got it button")
        }

        driver.narrate("Then one message for everybody: /all, with “!” so that each confirms. Each worker gets it in their language through their own line; Marta sees one summary, edited as they confirm.")
        try await driver.say(marta, bots[0], "/all !" + book.text("startSeven", "en"),
                             then: [(ivan, bots[0], 1), (oksana, bots[1], 1), (marta, bots[0], 1)])
        let summaryID = driver.sandbox.botMessages(bots[0], marta.id).last?.messageID ?? 0
        for (worker, bot) in [(ivan, bots[0]), (oksana, bots[1])] {
            if let ack = ackButton(worker, bot) { try await driver.tap(worker, bot, ack) }
        }
        let bothConfirmed = try await driver.wait("the summary shows both confirmations") { sandbox in
            (sandbox.botMessages(line1, 1001).first { $0.messageID == summaryID }?.text?.components(separatedBy: "\n")
                .filter { $0.hasPrefix("✅") }.count ?? 0) == 2
        }
        driver.screens.show(marta, bots[0])
        driver.check(bothConfirmed, "Marta's summary shows both workers confirmed")
    }

    /// The newest "Got it" button in `person`'s chat with `bot`.
    func ackButton(_ person: DemoPerson, _ bot: SandboxBot) -> String? {
        driver.sandbox.botMessages(bot, person.id).reversed().lazy
            .compactMap { $0.replyMarkup?.inlineKeyboard.joined().compactMap(\.callbackData).first { $0.hasPrefix("ack:") } }.first
    }
}
