import Foundation
import Synchronization

/// Login attempts, limited per client address and per account: after `perClient` failures from one address, or
/// `perAccount` failures for one account, within `window`, further attempts are refused (even with the right
/// password) until the window has passed. In memory: a restart forgets it (the limits are about guessing speed).
public final class LoginThrottle: Sendable {
    public struct Limits: Sendable {
        public var perClient: Int
        public var perAccount: Int
        public var window: TimeInterval

        public init(perClient: Int = 10, perAccount: Int = 5, window: TimeInterval = 15 * 60) {
            self.perClient = perClient
            self.perAccount = perAccount
            self.window = window
        }
    }

    let limits: Limits
    private let failures = Mutex<[String: [Date]]>([:])

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// When the client or account may try again; nil when it may now.
    public func blockedUntil(client: String, account: String, now: Date) -> Date? {
        failures.withLock { failures in
            let keys = [("c:" + client, limits.perClient), ("a:" + account, limits.perAccount)]
            var until: Date?
            for (key, limit) in keys {
                let recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < limits.window }
                failures[key] = recent.isEmpty ? nil : recent
                if recent.count >= limit, let first = recent.first {
                    let end = first.addingTimeInterval(limits.window)
                    until = max(until ?? end, end)
                }
            }
            return until
        }
    }

    public func failed(client: String, account: String, now: Date) {
        failures.withLock { failures in
            for key in ["c:" + client, "a:" + account] {
                var recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < limits.window }
                recent.append(now)
                failures[key] = Array(recent.suffix(100))
            }
            // Bounded: forget the oldest keys when many addresses try.
            if failures.count > 10_000 { failures.removeAll() }
        }
    }

    public func succeeded(account: String) {
        _ = failures.withLock { $0.removeValue(forKey: "a:" + account) }
    }
}
