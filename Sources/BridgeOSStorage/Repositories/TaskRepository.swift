import BridgeOSCore
import Foundation
import GRDB

/// Tasks a manager gives a worker, attached to their connection.
public struct TaskRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// Creates an open task on an active connection.
    @discardableResult
    public func create(connection: Int64, description: String, translated: String? = nil) throws -> WorkerTask {
        let now = clock.now()
        return try writer.write { db in
            try Tasks.create(connection: connection, description: description, translated: translated, messageID: nil, dueAt: nil, now: now, db)
        }
    }

    @discardableResult
    public func setTranslation(_ id: Int64, to translated: String) throws -> WorkerTask {
        try writer.write { db in
            guard var task = try WorkerTask.fetchOne(db, key: id) else { throw DomainError.taskNotFound(id) }
            task.descriptionTranslated = translated
            try task.update(db)
            return task
        }
    }

    /// Marks a task done. Idempotent: completing a done task returns it unchanged (first completion time kept),
    /// so a double-tapped button is harmless.
    @discardableResult
    public func complete(_ id: Int64) throws -> WorkerTask {
        let now = clock.now()
        return try writer.write { db in
            if let done = try Tasks.complete(id, now: now, db) { return done }
            guard let task = try WorkerTask.fetchOne(db, key: id) else { throw DomainError.taskNotFound(id) }
            return task
        }
    }

    public func find(_ id: Int64) throws -> WorkerTask? {
        try writer.read { db in try WorkerTask.fetchOne(db, key: id) }
    }

    /// The manager's tasks grouped by worker (workers ordered by slot, tasks oldest first).
    /// Tasks of past connections are included, so a worker who reconnected keeps their list.
    public func forManager(_ managerID: Int64, includeDone: Bool = false) throws -> [WorkerTaskGroup] {
        try writer.read { db in
            let rows = try Row.fetchAll(cached: db,
                sql: """
                    SELECT tasks.*, connections.worker_id AS worker_id_, connections.bot_slot AS bot_slot_,
                           connections.id AS connection_id_, users.display_name AS worker_name_
                    FROM connections
                    JOIN tasks ON tasks.connection_id = connections.id
                    JOIN users ON users.id = connections.worker_id
                    WHERE connections.manager_id = ? \(includeDone ? "" : "AND tasks.status = 'open'")
                    ORDER BY connections.bot_slot, tasks.id
                    """,
                arguments: [managerID])
            var groups: [WorkerTaskGroup] = []
            var latestConnection: [Int64: Int64] = [:]
            for row in rows {
                let workerID: Int64 = row["worker_id_"]
                let connectionID: Int64 = row["connection_id_"]
                guard let slot = BotSlot(row["bot_slot_"] as Int) else {
                    throw StoreError.unexpectedResult("connection \(connectionID) has a bot slot outside 1...5")
                }
                let task = try WorkerTask(row: row)
                if let index = groups.firstIndex(where: { $0.workerID == workerID }) {
                    groups[index].tasks.append(task)
                    if connectionID > latestConnection[workerID, default: 0] {
                        groups[index].slot = slot
                        latestConnection[workerID] = connectionID
                    }
                } else {
                    groups.append(WorkerTaskGroup(
                        workerID: workerID, workerName: row["worker_name_"], slot: slot, tasks: [task]))
                    latestConnection[workerID] = connectionID
                }
            }
            return groups
                .map { group in
                    var group = group
                    group.tasks.sort { $0.id < $1.id }
                    return group
                }
                .sorted { ($0.slot, $0.workerID) < ($1.slot, $1.workerID) }
        }
    }

    /// The worker's tasks, oldest first: by default only those of their current connection.
    public func forWorker(_ workerID: Int64, includeDone: Bool = false, currentConnectionOnly: Bool = true) throws -> [WorkerTask] {
        try writer.read { db in try Tasks.forWorker(workerID, includeDone: includeDone, currentConnectionOnly: currentConnectionOnly, db) }
    }
}
