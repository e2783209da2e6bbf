import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// Tasks from the worker's side (Done, "can't do it") and the `/tasks` lists of both sides, paged, edited in
/// place; and the "Got it" of confirmed instructions.
extension Flow {
    static let managerPage = 8
    static let workerPage = 5

    /// Button presses of work: handled here (true) or not.
    func workCallback(_ parts: [String], query: CallbackQuery, message: Message, language: String) throws -> Bool {
        let from = query.from
        let chat = message.chat.id
        func number(_ index: Int) -> Int64? { parts.count > index ? Int64(parts[index]) : nil }
        switch (parts.first, parts.count > 1 ? parts[1] : nil) {
        case ("task", "done") where parts.count == 3:
            guard let id = number(2), let (task, connection) = try ownTask(id, worker: from.id) else { return false }
            guard try finish(task, connection: connection, worker: from.id) else {
                try replies.answer(query, localizer.text(task.isOpen ? .taskNotOpen : .taskAlreadyDone, language))
                return true
            }
            try replies.answer(query)
            try mark(message, chat: chat, .taskDoneMark, data: "task:done:\(id)", manager: connection.managerID, language: language)
        case ("task", "cant") where parts.count == 3:
            guard let id = number(2), let (task, _) = try ownTask(id, worker: from.id) else { return false }
            guard task.isOpen else {
                try replies.answer(query, localizer.text(.taskAlreadyDone, language))
                return true
            }
            try replies.answer(query)
            var data = FlowData()
            data.taskID = id
            try startFlow("taskcant", step: "reason", user: from.id, data: data)
            try replies.send(.taskCantAsk, to: from.id, language: language)
        case ("tasks", "m") where parts.count == 3:
            guard let page = Int(parts[2]), try tx.role(of: from.id) == .manager else { return false }
            try replies.answer(query)
            try managerTasks(from.id, language: language, page: page, editing: message.messageID)
        case ("tasks", "w") where parts.count == 3:
            guard let page = Int(parts[2]), try tx.role(of: from.id) == .worker else { return false }
            try replies.answer(query)
            try workerTasks(from.id, language: language, page: page, editing: message.messageID)
        case ("tasks", "done") where parts.count == 4:
            guard let id = number(2), let page = Int(parts[3]), let (task, connection) = try ownTask(id, worker: from.id) else { return false }
            let finished = try finish(task, connection: connection, worker: from.id)
            try replies.answer(query, finished ? nil : localizer.text(.taskAlreadyDone, language))
            if finished { try workerTasks(from.id, language: language, page: page, editing: message.messageID) }
        case ("ack", _) where parts.count == 2:
            guard let id = number(1), let receipt = try tx.receipt(id), let connection = try tx.connection(receipt.connectionID),
                  connection.workerID == from.id
            else { return false }
            guard let confirmed = try tx.confirmReceipt(id, now: now) else {
                try replies.answer(query, localizer.text(.confirmAlready, language))
                return true
            }
            try replies.answer(query)
            try mark(message, chat: chat, .confirmConfirmedMark, data: "ack:\(id)", manager: connection.managerID, language: language)
            try WorkStatus(localizer: localizer).refresh(confirmed, context: context)
        default:
            return false
        }
        return true
    }

    /// Replaces a message's buttons with one that says what happened and when (`key` with {time}); pressing
    /// it again (`data` is the same) is answered as a double tap.
    func mark(_ message: Message, chat: Int64, _ key: TextKey, data: String, manager: Int64, language: String) throws {
        let text = localizer.text(key, language, ["time": try clock(now, manager: manager, language: language)])
        try context.send(EditMessageReplyMarkup(chatID: .id(chat), messageID: message.messageID,
                                                replyMarkup: InlineKeyboardMarkup([[InlineKeyboardButton(text: text, callbackData: data)]])),
                         chatID: chat, lane: .immediate)
    }

    /// The task, if it is `worker`'s, with its connection.
    func ownTask(_ id: Int64, worker: Int64) throws -> (WorkerTask, Connection)? {
        guard let task = try tx.task(id), let connection = try tx.connection(task.connectionID), connection.workerID == worker else { return nil }
        return (task, connection)
    }

    /// Completes the task and tells the manager in that line's chat; false when it was not open (a double
    /// tap, another device, a line that ended).
    func finish(_ task: WorkerTask, connection: Connection, worker: Int64) throws -> Bool {
        guard connection.isActive, try tx.completeTask(task.id, now: now) != nil,
              let manager = try tx.user(connection.managerID), let workerUser = try tx.user(worker)
        else { return false }
        try replies.send(.taskDoneNotify, to: manager.id, language: manager.language,
                         ["worker": workerUser.displayName, "task": shortQuote(task.description, limit: 80)], slot: connection.slot)
        return true
    }

    /// The worker's reason for not doing a task: recorded, and relayed (translated) to the manager under
    /// the task's name.
    func declineTask(_ id: Int64, reason: Message, worker: User, language: String) throws {
        guard let (task, connection) = try ownTask(id, worker: worker.id), connection.isActive, connection.slot == slot, task.isOpen,
              let manager = try tx.user(connection.managerID), let text = reason.text
        else {
            return try replies.tell(.taskNotOpen, to: worker.id, language: language)
        }
        let stored = try router.relay.relay(reason, connection: connection, sender: worker, context: context, replies: replies) { _ in
            // (The store counts Unicode scalars, as SQLite's length() does.)
            _ = try tx.declineTask(id, reason: String(String.UnicodeScalarView(text.unicodeScalars.prefix(1024))), now: now)
            return .taskDeclined(task: id)
        }
        if stored != nil { try replies.send(.taskCantSent, to: worker.id, language: language, ["manager": manager.displayName]) }
    }

    func clock(_ date: Date, manager: Int64, language: String) throws -> String {
        WorkClock.time(date, language: language, timeZone: try WorkClock.timeZone(manager: manager, tx))
    }

    // MARK: Lists

    /// The manager's tasks, grouped by worker, newest first, a page at a time (`editing`: the list message to
    /// replace in place).
    func managerTasks(_ manager: Int64, language: String, page requested: Int, editing: Int64? = nil) throws {
        let zone = try WorkClock.timeZone(manager: manager, tx)
        let (total, open) = try tx.managerTaskCounts(manager)
        let pages = max(1, (total + Self.managerPage - 1) / Self.managerPage)
        let page = min(max(1, requested), pages)
        guard total > 0 else { return try show(localizer.text(.tasksEmptyManager, language), keyboard: nil, to: manager, editing: editing) }
        var lines = [localizer.text(.tasksTitleManager, language, [
            "open": "\(open)", "done": "\(total - open)", "page": "\(page)", "pages": "\(pages)",
        ])]
        var worker: Int64?
        for entry in try tx.managerTasks(manager, offset: (page - 1) * Self.managerPage, limit: Self.managerPage) {
            if entry.workerID != worker {
                worker = entry.workerID
                lines.append("")
                lines.append("👷 \(entry.workerName)")
            }
            lines.append(taskLine(entry.task, text: entry.task.description, language: language, zone: zone))
        }
        try show(lines.joined(separator: "\n"), keyboard: pager("tasks:m", page: page, pages: pages), to: manager, editing: editing)
    }

    /// The worker's open tasks in their language, each with its Done button, a page at a time.
    func workerTasks(_ worker: Int64, language: String, page requested: Int, editing: Int64? = nil) throws {
        let tasks = try tx.openTasks(worker: worker)
        guard !tasks.isEmpty, let connection = try tx.activeConnection(worker: worker) else {
            return try show(localizer.text(.tasksEmptyWorker, language), keyboard: nil, to: worker, editing: editing)
        }
        let zone = try WorkClock.timeZone(manager: connection.managerID, tx)
        let pages = (tasks.count + Self.workerPage - 1) / Self.workerPage
        let page = min(max(1, requested), pages)
        let shown = tasks.dropFirst((page - 1) * Self.workerPage).prefix(Self.workerPage)
        var lines = [localizer.text(.tasksTitleWorker, language)]
        var buttons: [[InlineKeyboardButton]] = []
        for (index, task) in shown.enumerated() {
            let number = (page - 1) * Self.workerPage + index + 1
            lines.append("\(number). " + taskLine(task, text: task.descriptionTranslated ?? task.description, language: language, zone: zone, bullet: false))
            buttons.append([InlineKeyboardButton(text: "\(localizer.text(.taskButtonDone, language)) \(number)", callbackData: "tasks:done:\(task.id):\(page)")])
        }
        buttons += pager("tasks:w", page: page, pages: pages)?.inlineKeyboard ?? []
        try show(lines.joined(separator: "\n"), keyboard: InlineKeyboardMarkup(buttons), to: worker, editing: editing)
    }

    func taskLine(_ task: WorkerTask, text: String, language: String, zone: TimeZone, bullet: Bool = true) -> String {
        var line = (bullet ? (task.isOpen ? "⬜ " : "✅ ") : "") + shortQuote(text, limit: 80)
        if let done = task.completedAt {
            line += " · " + localizer.text(.tasksDoneIn, language, ["time": WorkClock.due(done, language: language, timeZone: zone, now: now)])
        } else if let due = task.dueAt {
            line += " · ⏰ " + WorkClock.due(due, language: language, timeZone: zone, now: now)
            if task.isOverdue(at: now) { line += " · " + localizer.text(.taskOverdue, language) }
        }
        if task.isOpen, let reason = task.declineReason {
            line += "\n    " + localizer.text(.taskDeclinedMark, language, ["reason": shortQuote(reason, limit: 80)])
        }
        return line
    }

    func pager(_ prefix: String, page: Int, pages: Int) -> InlineKeyboardMarkup? {
        var row: [InlineKeyboardButton] = []
        if page > 1 { row.append(InlineKeyboardButton(text: "◀ \(page - 1)/\(pages)", callbackData: "\(prefix):\(page - 1)")) }
        if page < pages { row.append(InlineKeyboardButton(text: "\(page + 1)/\(pages) ▶", callbackData: "\(prefix):\(page + 1)")) }
        return row.isEmpty ? nil : InlineKeyboardMarkup([row])
    }

    /// Sends a list, or replaces the list message a button was pressed on.
    func show(_ text: String, keyboard: InlineKeyboardMarkup?, to chat: Int64, editing: Int64?) throws {
        if let editing {
            try replies.edit(chat: chat, message: editing, text: text, keyboard: keyboard)
        } else {
            try context.send(SendMessage(chatID: .id(chat), text: text, replyMarkup: keyboard.map { .inline($0) }), chatID: chat)
        }
    }
}
