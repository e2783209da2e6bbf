import BridgeOSCore
import BridgeOSStorage

/// The people of a relay load (the benchmark's, the fault suite's), by conversation index.
public enum RelayPeople {
    public static func manager(_ index: Int) -> Int64 { Int64(100_000 + index) }
    public static func worker(_ index: Int) -> Int64 { Int64(200_000 + index) }

    /// The conversations, registered as `serve` would have them after onboarding: a manager (en) and a
    /// worker (es) per line, spread over the five bots, each with a chat open with their bot.
    public static func seed(_ database: AppDatabase, conversations: Int) throws {
        for index in 0..<conversations {
            let slot = BotSlot(index % 5 + 1)!
            let (manager, worker) = (Self.manager(index), Self.worker(index))
            try database.managers.register(UserProfile(id: manager, displayName: "Manager \(index)", language: "en", gender: .female),
                                           industry: "construction", homeSlot: slot)
            try database.workers.register(UserProfile(id: worker, displayName: "Worker \(index)", language: "es", gender: .male))
            _ = try database.connections.connect(manager: manager, worker: worker, slot: slot)
            try database.write { tx in
                try tx.recordBotChat(slot: slot, user: manager, now: database.clock.now())
                try tx.recordBotChat(slot: slot, user: worker, now: database.clock.now())
            }
        }
    }
}
