import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// `GET /readyz`: can this appliance do its work now? 200 when the database takes a write and every bot slot
/// heard from Telegram recently; 503 otherwise, with the reason per slot. Never shows tokens.
public struct ReadinessController: WebRoutes {
    let database: AppDatabase
    let status: SlotStatusBoard
    let slots: [BotSlot]
    /// A slot whose last successful poll is older than this is not ready (a long poll lasts up to the poll
    /// timeout, so this is that plus a margin).
    let staleAfter: TimeInterval
    let logger: Logger
    /// The last write probe and when it ran: probed at most every `probeEvery`, so a flood of requests
    /// cannot keep the one writer busy.
    let lastProbe = ProbeCache()
    static let probeEvery: TimeInterval = 5

    public init(database: AppDatabase, status: SlotStatusBoard, slots: [BotSlot], staleAfter: TimeInterval, logger: Logger) {
        self.database = database
        self.status = status
        self.slots = slots.sorted()
        self.staleAfter = staleAfter
        self.logger = logger
    }

    struct Readiness: Encodable {
        struct Slot: Encodable {
            let slot: Int
            let username: String?
            let state: String
            let ready: Bool
            let lastPollSecondsAgo: Int?
            let reason: String?
        }

        let ready: Bool
        let database: String
        let slots: [Slot]
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/readyz") { request, _ in
            guard !Proxied.isForwarded(request) else { return Proxied.refusal() }
            return try self.readiness()
        }
    }

    func readiness() throws -> Response {
        let now = database.clock.now()
        let databaseState = lastProbe.value(now: now, maxAge: Self.probeEvery) {
            do {
                try database.admin.probeWrite()
                return "writable"
            } catch {
                logger.error("readiness: the database does not take a write", metadata: ["error": "\(error)"])
                return "not writable: \(error)"
            }
        }
        let board = status.all
        let slots = slots.map { slot -> Readiness.Slot in
            let known = board[slot]
            let age = known?.lastPollAt.map { now.timeIntervalSince($0) }
            let polling = known?.isReceiving ?? false
            let fresh = polling && (age.map { $0 <= staleAfter } ?? false)
            let reason: String? = if fresh { nil } else if let known, !polling {
                known.state.rawValue + (known.lastError.map { ": \($0)" } ?? "")
            } else if let age {
                "no successful poll for \(Int(age)) s" + (known?.lastError.map { ": \($0)" } ?? "")
            } else {
                known?.lastError ?? "no successful poll yet"
            }
            return Readiness.Slot(slot: slot.number, username: known?.username, state: known?.state.rawValue ?? "starting", ready: fresh,
                                  lastPollSecondsAgo: age.map { Int($0) }, reason: reason)
        }
        let ready = databaseState == "writable" && slots.allSatisfy(\.ready)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: ready ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(Readiness(ready: ready, database: databaseState, slots: slots)))))
    }
}

/// A value remembered with the time it was made.
final class ProbeCache: Sendable {
    private let last = Mutex<(at: Date, value: String)?>(nil)

    /// The remembered value if younger than `maxAge`, else a fresh one from `make` (made under the lock: one at a time).
    func value(now: Date, maxAge: TimeInterval, _ make: () -> String) -> String {
        last.withLock { last in
            if let last, now.timeIntervalSince(last.at) < maxAge, now >= last.at { return last.value }
            let value = make()
            last = (now, value)
            return value
        }
    }
}
