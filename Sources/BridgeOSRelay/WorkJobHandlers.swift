import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// An overdue task: the worker gets one reminder, with its Done button (through the line's bot).
public struct TaskReminderJobHandler: JobHandler {
    public let kind = WorkJobs.taskReminder
    let localizer: Localizer

    public init(localizer: Localizer) { self.localizer = localizer }

    public func run(_ job: JobRow) async throws -> JobCompletion {
        let target = try JSONDecoder().decode(WorkJobs.Target.self, from: Data(job.payload.utf8))
        let localizer = localizer
        return JobCompletion { context in
            let tx = context.tx
            // Done, gone, or its line ended meanwhile: nothing to remind of. Claimed once, however often it runs.
            guard let task = try tx.task(target.id), task.isOpen, let due = task.dueAt,
                  let connection = try tx.connection(task.connectionID), connection.isActive,
                  let worker = try tx.user(connection.workerID)
            else { return }
            guard task.descriptionTranslated != nil else {
                // The task itself is still on its way (a provider outage): the reminder must not overtake it.
                let later = context.now.addingTimeInterval(300)
                try context.enqueueJob(kind: WorkJobs.taskReminder, queueKey: "task-reminder:\(task.id):\(Int(later.timeIntervalSince1970))",
                                       payload: target, notBefore: later)
                return
            }
            guard try tx.claimTaskReminder(task.id, now: context.now) else { return }
            let language = worker.language
            let zone = try WorkClock.timeZone(manager: connection.managerID, tx)
            let header = localizer.text(.taskReminder, language, ["due": WorkClock.due(due, language: language, timeZone: zone, now: context.now)])
            let keyboard = WorkButtons.task(task.id, language: language, localizer)
            try context.send(SendMessage(chatID: .id(worker.id), text: header + "\n" + (task.descriptionTranslated ?? task.description),
                                         replyMarkup: .inline(keyboard)),
                             chatID: worker.id, slot: connection.slot)
        }
    }
}

/// An unconfirmed instruction: after the configured time the worker is reminded once (with the button
/// again); after as long again, the manager is told. Not delivered yet: asked again later. Failed, or
/// refused: nothing (the manager was told that already).
public struct ReceiptFollowUpJobHandler: JobHandler {
    public let kind = WorkJobs.receiptFollowUp
    let localizer: Localizer
    let settings: WorkSettings

    public init(localizer: Localizer, settings: WorkSettings) {
        self.localizer = localizer
        self.settings = settings
    }

    public func run(_ job: JobRow) async throws -> JobCompletion {
        let step = try JSONDecoder().decode(WorkJobs.FollowUp.self, from: Data(job.payload.utf8))
        let (localizer, wait) = (localizer, settings.confirmationReminder)
        return JobCompletion { context in
            let tx = context.tx
            guard let receipt = try tx.receipt(step.receipt), receipt.confirmedAt == nil,
                  let connection = try tx.connection(receipt.connectionID), connection.isActive,
                  let manager = try tx.user(connection.managerID), let worker = try tx.user(connection.workerID)
            else { return }
            let later = context.now.addingTimeInterval(wait)
            switch receipt.state {
            case .failed, .refused:
                return
            case .sending:
                // Still on its way (an outage, a chat that cannot be written to): look again later.
                try context.enqueueJob(kind: WorkJobs.receiptFollowUp, queueKey: "receipt:\(receipt.id):\(Int(later.timeIntervalSince1970))",
                                       payload: step, notBefore: later)
                return
            case .delivered:
                // Delivered late (an outage, a held chat): the worker gets the whole wait from when it arrived.
                if !step.escalation, let arrived = receipt.deliveredAt, arrived.addingTimeInterval(wait) > context.now.addingTimeInterval(1) {
                    let due = arrived.addingTimeInterval(wait)
                    try context.enqueueJob(kind: WorkJobs.receiptFollowUp, queueKey: "receipt:\(receipt.id):\(Int(due.timeIntervalSince1970))",
                                           payload: step, notBefore: due)
                    return
                }
            }
            guard try tx.claimReceiptFollowUp(receipt.id, escalation: step.escalation, now: context.now),
                  let messageID = receipt.messageID, let message = try tx.message(messageID)
            else { return }
            if step.escalation {
                let text = localizer.text(.confirmEscalate, manager.language, [
                    "worker": worker.displayName, "quote": "“\(shortQuote(message.originalText, limit: 60))”",
                ])
                try context.send(SendMessage(chatID: .id(manager.id), text: text), chatID: manager.id, slot: connection.slot)
                return
            }
            let text = localizer.text(.confirmReminder, worker.language) + "\n" + (message.translatedText ?? message.originalText)
            let keyboard = WorkButtons.confirm(receipt.id, language: worker.language, localizer)
            try context.send(SendMessage(chatID: .id(worker.id), text: text, replyMarkup: .inline(keyboard)), chatID: worker.id, slot: connection.slot)
            try context.enqueueJob(kind: WorkJobs.receiptFollowUp, queueKey: "receipt:\(receipt.id):escalation",
                                   payload: WorkJobs.FollowUp(receipt: receipt.id, escalation: true), notBefore: later)
        }
    }
}
