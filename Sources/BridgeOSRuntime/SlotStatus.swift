import BridgeOSCore
import BridgeOSTelegram
import Foundation
import Synchronization

/// What each slot is doing, for `/healthz` and logs.
public final class SlotStatusBoard: Sendable {
    public enum State: String, Sendable, Codable {
        case starting, polling
        /// Telegram pushes this slot's updates to its webhook (`BRIDGEOS_WEBHOOK=1`).
        case webhook
        /// Another process polls this token (409): backing off.
        case conflict
        /// Telegram cannot be reached: retrying.
        case retrying
        /// The token was refused (401): this slot is off until restart.
        case unauthorized
        case stopped
    }

    public struct Slot: Sendable, Codable, Equatable {
        public var state: State
        public var username: String?
        public var lastError: String?
        /// When a poll last succeeded (an answer from Telegram to getUpdates, updates or none); in webhook
        /// mode, when Telegram last confirmed the webhook points here.
        public var lastPollAt: Date?

        /// Updates reach BridgeOS: polling, or by webhook with no failure Telegram reports.
        public var isReceiving: Bool { state == .polling || (state == .webhook && lastError == nil) }
    }

    private let slots = Mutex<[BotSlot: Slot]>([:])

    public init() {}

    public func set(_ slot: BotSlot, _ state: State, error: String? = nil) {
        slots.withLock { slots in
            slots[slot, default: Slot(state: state)].state = state
            slots[slot]?.lastError = error
        }
    }

    /// A poll succeeded: polling, and when.
    public func polled(_ slot: BotSlot, at date: Date) {
        slots.withLock { slots in
            slots[slot, default: Slot(state: .polling)].state = .polling
            slots[slot]?.lastError = nil
            slots[slot]?.lastPollAt = date
        }
    }

    /// Telegram confirmed the webhook points here (`problem`: what Telegram reports failing, if anything).
    public func webhookConfirmed(_ slot: BotSlot, at date: Date, problem: String? = nil) {
        slots.withLock { slots in
            slots[slot, default: Slot(state: .webhook)].state = .webhook
            slots[slot]?.lastError = problem
            slots[slot]?.lastPollAt = date
        }
    }

    public func setBot(_ slot: BotSlot, _ info: BotInfo) {
        slots.withLock { $0[slot, default: Slot(state: .starting)].username = info.username }
    }

    public var all: [BotSlot: Slot] { slots.withLock { $0 } }
}

/// The bots that run, by slot, as `getMe` described them.
public final class BotDirectory: Sendable {
    private let bots = Mutex<[BotSlot: BotInfo]>([:])

    public init() {}

    public func set(_ slot: BotSlot, _ info: BotInfo) { bots.withLock { $0[slot] = info } }
    public var all: [BotSlot: BotInfo] { bots.withLock { $0 } }
}
