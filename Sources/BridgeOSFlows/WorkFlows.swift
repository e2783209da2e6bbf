import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// The manager's side of work: tasks (`/task`, `**`, a bold start), confirmed instructions (`!`) and
/// announcements to the whole crew (`/all`). Each is a relayed message with a purpose: it is stored,
/// translated and delivered like any other, in order with the conversation, and what follows it (the task,
/// the receipt, the reminder job) commits in the same transaction.
extension Flow {
    /// A manager's message in a worker's chat that is work, not conversation: handled here (true) or not.
    func managerWork(_ message: Message, connection: Connection, sender: User) throws -> Bool {
        guard let text = message.text else { return false }
        if text.hasPrefix("**") {
            var task = message.dropping(first: 2)
            if let body = task.text, body.hasSuffix("**") {
                task = task.cut(to: body.dropLast(2).trimmingCharacters(in: .whitespacesAndNewlines), at: 0)
            }
            try giveTask(task, connection: connection, manager: sender)
            return true
        }
        if let bold = message.entities?.first(where: { $0.type == .bold && $0.offset == 0 }) {
            var task = message
            task.entities = message.entities?.filter { $0 != bold }
            try giveTask(task, connection: connection, manager: sender)
            return true
        }
        if message.asksConfirmation {
            let instruction = message.dropping(first: 1)
            guard instruction.text?.isEmpty == false else { return false }
            try sendConfirmed(instruction, connection: connection, manager: sender)
            return true
        }
        return false
    }

    /// `/task <text>` in a worker's chat.
    func taskCommand(_ message: Message?, argument: String?, manager: User, language: String) throws {
        guard let connection = try tx.activeConnection(manager: manager.id, slot: slot) else {
            return try replies.tell(.routeNoWorker, to: manager.id, language: language)
        }
        guard let task = message?.cut(toArgument: argument) else {
            return try replies.tell(.taskUsage, to: manager.id, language: language)
        }
        try giveTask(task, connection: connection, manager: manager)
    }

    /// Stores the task and relays it; the worker gets it translated with its buttons, the manager a short
    /// confirmation. A due time is understood in the manager's time zone and reminded once.
    func giveTask(_ message: Message, connection: Connection, manager: User) throws {
        let text = message.text ?? ""
        guard !text.isEmpty, let worker = try tx.user(connection.workerID) else {
            return try replies.tell(.taskUsage, to: manager.id, language: manager.language)
        }
        let zone = try WorkClock.timeZone(manager: manager.id, tx)
        let due = DueTime.parse(text, now: now, timeZone: zone)
        let stored = try router.relay.relay(message, connection: connection, sender: manager, context: context, replies: replies) { stored in
            let task = try tx.createTask(connection: connection.id, description: text, messageID: stored.id, dueAt: due, now: now)
            if let due {
                try context.enqueueJob(kind: WorkJobs.taskReminder, queueKey: "task-reminder:\(task.id)", payload: WorkJobs.Target(id: task.id),
                                       notBefore: due)
            }
            return .task(id: task.id)
        }
        guard stored != nil else { return }
        var values = ["worker": worker.displayName, "task": shortQuote(text, limit: 60)]
        if let due { values["due"] = WorkClock.due(due, language: manager.language, timeZone: zone, now: now) }
        try replies.send(due == nil ? .taskCreated : .taskCreatedDue, to: manager.id, language: manager.language, values)
    }

    /// A `!` message: relayed with a "Got it" button; the manager's status line (a reply to their message)
    /// follows it until the worker confirms, and a reminder job is queued.
    func sendConfirmed(_ message: Message, connection: Connection, manager: User) throws {
        var receipt: Receipt?
        let stored = try router.relay.relay(message, connection: connection, sender: manager, context: context, replies: replies) { stored in
            let created = try tx.createReceipt(messageID: stored.id, connection: connection.id, needsConfirmation: true, now: now)
            try queueFollowUp(created)
            receipt = created
            return .confirmation(receipt: created.id)
        }
        guard stored != nil, let receipt, let (text, _, _) = try WorkStatus(localizer: localizer).statusLine(receipt, context: context) else { return }
        let rows = try context.send(
            SendMessage(chatID: .id(manager.id), text: text, replyParameters: ReplyParameters(messageID: message.messageID)),
            chatID: manager.id)
        try tx.setReceiptStatusLine(receipt.id, outboxID: rows.last?.id, text: text)
    }

    /// The reminder of an unconfirmed receipt, after the configured time.
    func queueFollowUp(_ receipt: Receipt) throws {
        try context.enqueueJob(kind: WorkJobs.receiptFollowUp, queueKey: "receipt:\(receipt.id)",
                               payload: WorkJobs.FollowUp(receipt: receipt.id, escalation: false),
                               notBefore: now.addingTimeInterval(router.work.confirmationReminder))
    }

    /// `/all <text>` (or the text after the menu's button): one message to every connected worker, each
    /// through their line's bot, and one summary for the manager that is edited as they get and confirm it.
    func announce(_ message: Message?, text argument: String?, manager: User, language: String) throws {
        let connections = try tx.activeConnections(manager: manager.id).sorted { $0.key < $1.key }.map(\.value)
        guard !connections.isEmpty else { return try replies.tell(.announceNoWorkers, to: manager.id, language: language) }
        // Without translation nothing can go out: said once, not once per worker.
        if router.relay is UnavailableRelay { return try replies.tell(.routeRelayUnavailable, to: manager.id, language: language) }
        guard var copy = message?.cut(toArgument: argument) else {
            try startFlow("announce", step: "text", user: manager.id)
            return try replies.tell(.announceAsk, to: manager.id, language: language)
        }
        let confirm = copy.asksConfirmation
        if confirm {
            copy = copy.dropping(first: 1)
            guard copy.text?.isEmpty == false else { return try replies.tell(.announceUsage, to: manager.id, language: language) }
        }
        let announcement = try tx.createAnnouncement(manager: manager.id, slot: slot, needsConfirmation: confirm, now: now)
        for connection in connections {
            let stored = try router.relay.relay(copy, connection: connection, sender: manager, context: context, replies: replies) { stored in
                let receipt = try tx.createReceipt(messageID: stored.id, connection: connection.id, announcement: announcement.id,
                                                   needsConfirmation: confirm, now: now)
                if confirm { try queueFollowUp(receipt) }
                return .announcement(receipt: receipt.id)
            }
            if stored == nil {
                _ = try tx.createReceipt(messageID: nil, connection: connection.id, announcement: announcement.id, needsConfirmation: confirm,
                                         state: .refused, now: now)
            }
        }
        guard let summary = try WorkStatus(localizer: localizer).summary(announcement, context: context) else { return }
        let rows = try context.send(SendMessage(chatID: .id(manager.id), text: summary), chatID: manager.id)
        try tx.setAnnouncementSummary(announcement.id, outboxID: rows.last?.id, text: summary)
    }

    /// Text typed while a flow waits for it (a reason, an announcement): handled here (true) or not.
    func flowText(_ message: Message, state: ConversationState, from: TelegramUser, user: User?, language: String) throws -> Bool {
        if state.flow == "feedback", let user { return try feedbackText(message, user: user, language: language) }
        guard let user, message.text != nil else { return false }
        switch state.flow {
        case "announce" where try tx.role(of: from.id) == .manager:
            try tx.clearConversationState(slot: slot, user: from.id)
            try announce(message, text: message.text, manager: user, language: language)
            return true
        case "taskcant":
            try tx.clearConversationState(slot: slot, user: from.id)
            try declineTask(state.flowData.taskID ?? 0, reason: message, worker: user, language: language)
            return true
        default:
            return false
        }
    }
}

/// The jobs work queues (their handlers live with the relay).
public enum WorkJobs {
    public static let taskReminder = "task-reminder"
    public static let receiptFollowUp = "receipt-followup"
    public static let dailySummary = "daily-summary"

    public struct Target: Codable, Sendable {
        public let id: Int64
        public init(id: Int64) { self.id = id }
    }

    public struct FollowUp: Codable, Sendable {
        public let receipt: Int64
        /// false: remind the worker; true: tell the manager.
        public let escalation: Bool
        public init(receipt: Int64, escalation: Bool) {
            self.receipt = receipt
            self.escalation = escalation
        }
    }
}

extension Message {
    /// The message with its text cut to `text`, which starts at UTF-16 offset `start` of the original; the
    /// entities inside it move along, the others are dropped.
    func cut(to text: String, at start: Int) -> Message {
        var copy = self
        let end = start + text.utf16.count
        copy.text = text
        copy.entities = entities?.compactMap { entity in
            guard entity.offset >= start, entity.offset + entity.length <= end else { return nil }
            var moved = entity
            moved.offset -= start
            return moved
        }
        return copy
    }

    /// The message cut to its command's argument (the end of its text); nil without one.
    func cut(toArgument argument: String?) -> Message? {
        guard let argument, let text, let range = text.range(of: argument, options: .backwards) else { return nil }
        return cut(to: argument, at: text.utf16.distance(from: text.utf16.startIndex, to: range.lowerBound))
    }

    /// The message without the first `count` characters of its text and the whitespace around the rest.
    func dropping(first count: Int) -> Message {
        let text = self.text ?? ""
        let body = text.dropFirst(count)
        let start = text.prefix(count).utf16.count + body.prefix(while: \.isWhitespace).utf16.count
        return cut(to: body.trimmingCharacters(in: .whitespacesAndNewlines), at: start)
    }

    /// A manager's text that starts with one "!" asks the worker to confirm it.
    var asksConfirmation: Bool { text.map { $0.hasPrefix("!") && !$0.hasPrefix("!!") } ?? false }
}
