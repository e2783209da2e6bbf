import BridgeOSCore
import Foundation
import GRDB

/// What users tell the operator through /feedback.
public struct FeedbackRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    @discardableResult
    public func submit(user: Int64, message: String) throws -> Feedback {
        let message = try Validate.text(message, field: "feedback", maxLength: 4096)
        let now = clock.now()
        return try writer.write { db in
            guard try User.exists(db, key: user) else { throw DomainError.userNotFound(user) }
            return try Feedback.inserting(
                db,
                sql: "INSERT INTO feedback (user_id, message, status, created_at) VALUES (?, ?, 'new', ?) RETURNING *",
                arguments: [user, message, StoreDate(now)])
        }
    }

    /// Feedback with the given status, newest first.
    public func list(status: FeedbackStatus, limit: Int = 50) throws -> [Feedback] {
        try writer.read { db in
            try Feedback.filter(Column("status") == status.rawValue)
                .order(Column("id").desc)
                .limit(max(0, limit))
                .fetchAll(db)
        }
    }

    public func count(status: FeedbackStatus) throws -> Int {
        try writer.read { db in try Feedback.filter(Column("status") == status.rawValue).fetchCount(db) }
    }

    /// Marks feedback read. Idempotent: the first read time is kept.
    @discardableResult
    public func markRead(_ id: Int64) throws -> Feedback {
        let now = clock.now()
        return try writer.write { db in
            guard var feedback = try Feedback.fetchOne(db, key: id) else { throw DomainError.feedbackNotFound(id) }
            guard feedback.status == .new else { return feedback }
            feedback.status = .read
            feedback.readAt = now
            try feedback.update(db)
            return feedback
        }
    }
}
