import BridgeOSCore
import Foundation
import GRDB

/// Feedback: what users tell the operator with /feedback, its notices in the admins' chats, and the answers.
extension StoreTransaction {
    /// Stores a user's feedback, with their language and the bot they wrote through.
    public func submitFeedback(user: Int64, text: String, language: String, slot: BotSlot, now: Date) throws -> Feedback {
        let text = try Validate.text(text, field: "feedback", maxLength: 4096)
        let feedback = try Feedback.fetchOne(
            cached: db,
            sql: """
                INSERT INTO feedback (user_id, message, status, created_at, language, bot_slot) VALUES (?, ?, 'new', ?, ?, ?)
                RETURNING *
                """,
            arguments: [user, text, StoreDate(now), language, slot.number])
        guard let feedback else { throw StoreError.unexpectedResult("the feedback insert returned no row") }
        return feedback
    }

    public func feedback(_ id: Int64) throws -> Feedback? {
        try Feedback.fetchOne(cached: db, sql: "SELECT * FROM feedback WHERE id = ?", arguments: [id])
    }

    /// Records that the outbox row `outbox` carries feedback `feedback`'s notice to `admin` through `slot`.
    public func recordFeedbackNotice(feedback: Int64, admin: Int64, slot: BotSlot, outbox: Int64, now: Date) throws {
        try db.executeCached(
            sql: "INSERT INTO feedback_notices (outbox_id, feedback_id, admin_id, bot_slot, created_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [outbox, feedback, admin, slot.number, StoreDate(now)])
    }

    /// Telegram took a notice's row: remembers the message it made, so a reply to it finds the feedback.
    /// False when the row carries no notice.
    @discardableResult
    public func feedbackNoticeDelivered(outbox: Int64, chatMessageID: Int64) throws -> Bool {
        try db.executeCached(sql: "UPDATE feedback_notices SET chat_message_id = ? WHERE outbox_id = ?", arguments: [chatMessageID, outbox])
        return db.changesCount == 1
    }

    /// The feedback whose notice is message `chatMessageID` in `admin`'s chat with `slot`'s bot.
    public func feedbackForNotice(slot: BotSlot, admin: Int64, chatMessageID: Int64) throws -> Feedback? {
        try Feedback.fetchOne(
            cached: db,
            sql: """
                SELECT feedback.* FROM feedback_notices JOIN feedback ON feedback.id = feedback_notices.feedback_id
                WHERE feedback_notices.bot_slot = ? AND feedback_notices.admin_id = ? AND feedback_notices.chat_message_id = ?
                """,
            arguments: [slot.number, admin, chatMessageID])
    }

    /// Records an admin's answer: the feedback is answered (and read). A later answer replaces the text
    /// recorded (each one is sent).
    /// `admin`: the answering admin's Telegram id; nil when answered on the dashboard.
    public func answerFeedback(_ id: Int64, by admin: Int64?, answer: String, now: Date) throws -> Feedback {
        let answer = try Validate.text(answer, field: "answer", maxLength: 4096)
        let feedback = try Feedback.fetchOne(
            cached: db,
            sql: """
                UPDATE feedback SET answer = ?, answered_by = ?, answered_at = ?, status = 'read', read_at = coalesce(read_at, ?)
                WHERE id = ? RETURNING *
                """,
            arguments: [answer, admin, StoreDate(now), StoreDate(now), id])
        guard let feedback else { throw DomainError.feedbackNotFound(id) }
        return feedback
    }
}
