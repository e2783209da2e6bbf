import BridgeOSCore
import Foundation
import GRDB

/// What the database holds, in a few lines a person can read: who is registered, who talks to whom through
/// which line, how many messages, and where the outgoing calls stand. For the demo's closing summary (and
/// small databases: it counts whole tables).
public struct StoreOverview: Sendable, Equatable {
    public struct Person: Sendable, Equatable {
        public let id: Int64
        public let name: String
        public let language: String
        /// "manager", "worker" or "" (registration not finished).
        public let role: String
    }

    public struct Line: Sendable, Equatable {
        public let slot: Int
        public let manager: String
        public let worker: String
        public let workerLanguage: String
        public let active: Bool
        public let messages: Int
    }

    public let people: [Person]
    public let lines: [Line]
    public let messages: Int
    /// Outgoing Bot API calls by status (pending, in_flight, sent, dead, unreachable).
    public let outbox: [String: Int]
    /// Jobs not yet done (translations waiting, retries).
    public let jobsWaiting: Int
}

extension AppDatabase {
    public func overview() throws -> StoreOverview {
        try writer.read { db in
            let people = try Row.fetchAll(db, sql: """
                SELECT u.id, u.display_name, u.language,
                       CASE WHEN m.id IS NOT NULL THEN 'manager' WHEN w.id IS NOT NULL THEN 'worker' ELSE '' END AS role
                FROM users u
                LEFT JOIN managers m ON m.id = u.id AND m.deleted_at IS NULL
                LEFT JOIN workers w ON w.id = u.id AND w.deleted_at IS NULL
                ORDER BY u.created_at, u.id
                """).map {
                StoreOverview.Person(id: $0["id"], name: $0["display_name"], language: $0["language"], role: $0["role"])
            }
            let lines = try Row.fetchAll(db, sql: """
                SELECT c.bot_slot, mu.display_name AS manager, wu.display_name AS worker, wu.language AS worker_language,
                       c.status = 'active' AS active,
                       (SELECT count(*) FROM messages g WHERE g.connection_id = c.id) AS messages
                FROM connections c
                JOIN users mu ON mu.id = c.manager_id
                JOIN users wu ON wu.id = c.worker_id
                ORDER BY c.bot_slot, c.id
                """).map {
                StoreOverview.Line(slot: $0["bot_slot"], manager: $0["manager"], worker: $0["worker"], workerLanguage: $0["worker_language"],
                                   active: $0["active"], messages: $0["messages"])
            }
            let messages = try Int.fetchOne(db, sql: "SELECT count(*) FROM messages") ?? 0
            var outbox: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, count(*) AS n FROM outbox GROUP BY status") {
                outbox[row["status"]] = row["n"]
            }
            return StoreOverview(people: people, lines: lines, messages: messages, outbox: outbox, jobsWaiting: try JobRepository.backlog(db).waiting)
        }
    }
}
