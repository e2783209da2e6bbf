import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging
import ServiceLifecycle

/// Settles one update, however it arrived (a poll or a webhook delivery): handled through the intake,
/// recognised as handled before, or given up on after repeated failures (recorded, its sender told).
struct UpdateSettler: Sendable {
    enum Settlement: Equatable, Sendable {
        case handled, duplicate, givenUp
        /// Not settled: shutdown, or the store still failing when patience ran out. Nothing was recorded as
        /// done, so the update must come again (not confirmed to Telegram).
        case unsettled
    }

    let intake: Intake
    let configuration: PollerConfiguration
    let logger: Logger

    /// A failing store (busy, full, read-only) is waited out without counting, for as long as it lasts or at
    /// most `storePatience`: the update is not confirmed meanwhile. A handler that keeps failing on this update
    /// gives it up after `maxUpdateAttempts`, recorded as failed (and its sender told) so it can be confirmed.
    func settle(_ update: Update, slot: BotSlot, storePatience: Duration? = nil) async -> Settlement {
        let deadline = storePatience.map { ContinuousClock.now + $0 }
        var attempt = 0
        var storeFailures = 0
        /// The store failed (while handling, or while recording a failure): wait, then try the update again.
        func waitForStore(_ what: String, _ error: any Error) async -> Bool {
            storeFailures += 1
            if storeFailures == 1 || storeFailures % 20 == 0 {
                logger.error("cannot \(what); the update waits (not confirmed) until it can", metadata: [
                    "update": "\(update.updateID)", "error": "\(error)", "attempt": "\(storeFailures)",
                ])
            }
            var delay = Backoff(base: configuration.updateRetry.base, cap: .seconds(10)).delay(afterAttempt: storeFailures)
            if let deadline {
                let left = deadline - ContinuousClock.now
                guard left > .zero else { return false }
                delay = min(delay, left)
            }
            await pause(delay)
            return !Task.isShuttingDownGracefully && !Task.isCancelled
        }
        while true {
            do {
                let outcome = try intake.process(update, slot: slot)
                if outcome == .duplicate {
                    logger.debug("update already handled", metadata: ["update": "\(update.updateID)"])
                }
                if storeFailures > 0 { logger.notice("the database works again; handling updates", metadata: ["update": "\(update.updateID)"]) }
                return outcome == .duplicate ? .duplicate : .handled
            } catch let error where StoreFailure.isEnvironmental(error) {
                guard await waitForStore("write the database", error) else { return .unsettled }
            } catch {
                attempt += 1
                let description = String(describing: error)
                let record: UpdateRecord
                do {
                    record = try intake.recordFailure(update, slot: slot, error: description, maxAttempts: configuration.maxUpdateAttempts)
                } catch {
                    // The failure cannot be recorded either (the store fails).
                    guard await waitForStore("record a failed update", error) else { return .unsettled }
                    continue
                }
                if record.status == .failed {
                    logger.error("giving up on an update after repeated failures; its sender is told, and it is confirmed so the bot goes on", metadata: [
                        "update": "\(update.updateID)", "kind": "\(update.kindName)", "attempts": "\(record.attempts)", "error": "\(description)",
                    ])
                    return .givenUp
                }
                logger.warning("handling an update failed, retrying", metadata: ["update": "\(update.updateID)", "error": "\(description)"])
                await pause(configuration.updateRetry.delay(afterAttempt: attempt))
                if Task.isShuttingDownGracefully || Task.isCancelled { return .unsettled }
            }
        }
    }

    /// Sleeps, ending early on shutdown.
    private func pause(_ duration: Duration) async {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }
}
