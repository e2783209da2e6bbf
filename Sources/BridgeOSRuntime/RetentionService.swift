import BridgeOSCore
import BridgeOSStorage
import Foundation
import Logging
import ServiceLifecycle

/// Deletes what BridgeOS keeps only for a while, in small batches so the bots keep writing in between:
/// conversation messages past the retention period, the update log past a week (Telegram redelivers
/// nothing older than 24 hours), and expired conversation states.
public final class RetentionService: Service, Sendable {
    public struct Settings: Sendable {
        public var messageRetention: TimeInterval
        public var updateLogRetention: TimeInterval
        public var interval: Duration
        public var batchSize: Int

        public init(messageRetentionDays: Int = 30, updateLogRetention: TimeInterval = 7 * 86400, interval: Duration = .seconds(3600), batchSize: Int = 500) {
            self.messageRetention = TimeInterval(max(1, messageRetentionDays)) * 86400
            self.updateLogRetention = updateLogRetention
            self.interval = interval
            self.batchSize = max(1, batchSize)
        }
    }

    public struct Sweep: Sendable, Equatable {
        public let messages: Int
        public let updates: Int
        public let states: Int

        public init(messages: Int, updates: Int, states: Int) {
            self.messages = messages
            self.updates = updates
            self.states = states
        }
    }

    let database: AppDatabase
    let settings: Settings
    let logger: Logger

    public init(database: AppDatabase, settings: Settings, logger: Logger) {
        self.database = database
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let sweep = try self.sweep()
                if sweep != Sweep(messages: 0, updates: 0, states: 0) {
                    logger.info("retention sweep", metadata: ["messages": "\(sweep.messages)", "updates": "\(sweep.updates)", "states": "\(sweep.states)"])
                }
            } catch {
                logger.error("retention sweep failed; will try again", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.settings.interval) }
        }
    }

    /// One pass: everything past its time, in batches.
    public func sweep() throws -> Sweep {
        let now = database.clock.now()
        let messages = try database.messages.purge(olderThan: now.addingTimeInterval(-settings.messageRetention), batchSize: settings.batchSize)
        let updates = try database.updateLog.prune(receivedBefore: now.addingTimeInterval(-settings.updateLogRetention), batchSize: settings.batchSize)
        let states = try database.writer.write { try ConversationStates.purgeExpired(now: now, $0) }
        return Sweep(messages: messages, updates: updates, states: states)
    }
}
