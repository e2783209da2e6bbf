import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// Times as a crew reads them: in the manager's time zone (the team's), in the reader's language.
public enum WorkClock {
    /// "14:32".
    public static func time(_ date: Date, language: String, timeZone: TimeZone) -> String {
        format(date, template: "HHmm", language: language, timeZone: timeZone)
    }

    /// "Thu 17:00" (with the date when it is more than six days away).
    public static func due(_ date: Date, language: String, timeZone: TimeZone, now: Date) -> String {
        let far = abs(date.timeIntervalSince(now)) > 6 * 86400
        return format(date, template: far ? "EEEdMMMHHmm" : "EEEHHmm", language: language, timeZone: timeZone)
    }

    /// A zone as people wrote it: "Europe/Madrid", or "UTC+2" for the offset zones (IANA spells +2 "Etc/GMT-2").
    public static func zoneName(_ zone: TimeZone) -> String {
        guard zone.identifier.hasPrefix("Etc/GMT") || zone.identifier.hasPrefix("GMT") else { return zone.identifier }
        let seconds = zone.secondsFromGMT()
        let (hours, minutes) = (abs(seconds) / 3600, abs(seconds) % 3600 / 60)
        return "UTC" + (seconds < 0 ? "-" : "+") + "\(hours)" + (minutes == 0 ? "" : String(format: ":%02d", minutes))
    }

    /// The manager's time zone (UTC when unset or unknown).
    public static func timeZone(manager: Int64, _ tx: StoreTransaction) throws -> TimeZone {
        try tx.manager(manager).flatMap { TimeZone(identifier: $0.timeZone) } ?? .gmt
    }

    static func format(_ date: Date, template: String, language: String, timeZone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: Language.named(language)?.code ?? "en")
        formatter.timeZone = timeZone
        formatter.setLocalizedDateFormatFromTemplate(template)
        return formatter.string(from: date)
    }
}

/// The buttons of work messages, in the reader's language.
public enum WorkButtons {
    /// Done / Can't do it, under a task.
    public static func task(_ id: Int64, language: String, _ localizer: Localizer) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup([[
            InlineKeyboardButton(text: localizer.text(.taskButtonDone, language), callbackData: "task:done:\(id)"),
            InlineKeyboardButton(text: localizer.text(.taskButtonCant, language), callbackData: "task:cant:\(id)"),
        ]])
    }

    /// Got it, under a message to confirm.
    public static func confirm(_ receipt: Int64, language: String, _ localizer: Localizer) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup([[InlineKeyboardButton(text: localizer.text(.confirmButton, language), callbackData: "ack:\(receipt)")]])
    }
}

/// A short quote of a text for one line: its first line, cut at a word near `limit` characters.
public func shortQuote(_ text: String, limit: Int = 40) -> String {
    let line = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    guard !line.isEmpty else { return "📎" }  // media without a caption
    if line.count <= limit, line.count == text.count { return line }
    var cut = String(line.prefix(limit))
    if line.count > limit, let space = cut.lastIndex(of: " "), cut.distance(from: cut.startIndex, to: space) > limit / 2 {
        cut = String(cut[..<space])
    }
    return cut + "…"
}

/// What the manager sees of messages they follow: a confirmed instruction's status line under their message,
/// an announcement's summary. Both are edited in place as workers get and confirm them; an edit is queued
/// only when the text changes (Telegram refuses an edit that changes nothing).
public struct WorkStatus {
    let localizer: Localizer

    public init(localizer: Localizer) { self.localizer = localizer }

    /// The line for one receipt, seen by a manager in `language`.
    func line(_ receipt: Receipt, worker: String, single: Bool, language: String, timeZone: TimeZone) -> String {
        var values = ["worker": worker]
        if let confirmed = receipt.confirmedAt {
            values["time"] = WorkClock.time(confirmed, language: language, timeZone: timeZone)
            return localizer.text(single ? .confirmStatusConfirmed : .announceLineConfirmed, language, values)
        }
        let key: TextKey = switch (receipt.state, single, receipt.needsConfirmation) {
        case (.sending, true, _): .confirmStatusSending
        case (.delivered, true, _): .confirmStatusDelivered
        case (.failed, true, _), (.refused, true, _): .confirmStatusFailed
        case (.sending, false, _): .announceLineSending
        case (.delivered, false, true): .announceLineWaiting
        case (.delivered, false, false): .announceLineDelivered
        case (.failed, false, _): .announceLineFailed
        case (.refused, false, _): .announceLineRefused
        }
        return localizer.text(key, language, values)
    }

    /// The status line of a single confirmed instruction, as it should read now.
    public func statusLine(_ receipt: Receipt, context: IntakeContext) throws -> (text: String, manager: User, connection: Connection)? {
        let tx = context.tx
        guard let connection = try tx.connection(receipt.connectionID), let manager = try tx.user(connection.managerID),
              let worker = try tx.user(connection.workerID)
        else { return nil }
        let zone = try WorkClock.timeZone(manager: manager.id, tx)
        return (line(receipt, worker: worker.displayName, single: true, language: manager.language, timeZone: zone), manager, connection)
    }

    /// An announcement's summary, as it should read now.
    public func summary(_ announcement: Announcement, context: IntakeContext) throws -> String? {
        let tx = context.tx
        guard let manager = try tx.user(announcement.managerID) else { return nil }
        let zone = try WorkClock.timeZone(manager: manager.id, tx)
        let receipts = try tx.receipts(announcement: announcement.id)
        var quote = ""
        if let first = receipts.first(where: { $0.messageID != nil }), let id = first.messageID, let message = try tx.message(id) {
            quote = "“\(shortQuote(message.originalText, limit: 60))”"
        }
        var lines = [localizer.text(.announceSummary, manager.language, ["count": "\(receipts.count)", "quote": quote])]
        for receipt in receipts {
            guard let connection = try tx.connection(receipt.connectionID), let worker = try tx.user(connection.workerID) else { continue }
            lines.append(line(receipt, worker: worker.displayName, single: false, language: manager.language, timeZone: zone))
        }
        return lines.joined(separator: "\n")
    }

    /// Brings the manager's view of `receipt` up to date (its status line, or its announcement's summary).
    public func refresh(_ receipt: Receipt, context: IntakeContext) throws {
        if let announcementID = receipt.announcementID {
            guard let announcement = try context.tx.announcement(announcementID),
                  let text = try summary(announcement, context: context), TextDigest.of(text) != announcement.summaryDigest,
                  let row = announcement.summaryOutboxID
            else { return }
            let sent = try edit(row: row, chat: announcement.managerID, slot: announcement.slot, text: text, context: context)
            try context.tx.setAnnouncementSummary(announcementID, outboxID: sent, text: text)
            return
        }
        guard let (text, manager, connection) = try statusLine(receipt, context: context), TextDigest.of(text) != receipt.statusDigest,
              let row = receipt.statusOutboxID
        else { return }
        let sent = try edit(row: row, chat: manager.id, slot: connection.slot, text: text, context: context)
        try context.tx.setReceiptStatusLine(receipt.id, outboxID: sent, text: text)
    }

    /// Edits the message that outbox row `row` sent (its id is filled in when it is sent), in order after it.
    /// When retention has deleted that row (a confirmation days later), the text goes as a new message, and
    /// its row is returned: later edits follow that one.
    func edit(row: Int64, chat: Int64, slot: BotSlot, text: String, context: IntakeContext) throws -> Int64? {
        guard try context.tx.outboxRowExists(row) else {
            return try context.send(SendMessage(chatID: .id(chat), text: text), chatID: chat, slot: slot).last?.id
        }
        try context.send(EditMessageText(chatID: .id(chat), messageID: 0, text: text), chatID: chat, slot: slot,
                         after: (row: row, field: "message_id"))
        return nil
    }
}
