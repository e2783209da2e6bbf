import Foundation
import Synchronization

/// Login attempts, limited per client and per account: after `perClient` attempts from one client, or
/// `perAccount` for one account, within `window`, further attempts are refused (even with the right
/// password) until the window has passed. An attempt counts from the moment it starts (`begin`), before the
/// slow password check, so a burst of parallel attempts cannot all slip past the limit; a successful one is
/// taken back. In memory: a restart forgets it (the limits are about guessing speed).
///
/// Keys: a client is an IPv4 address or an IPv6 /64 (one host owns a whole /64); an existing account by its
/// id (never forgotten to make room), a name no account has by the name.
public final class LoginThrottle: Sendable {
    public struct Limits: Sendable {
        public var perClient: Int
        public var perAccount: Int
        public var window: TimeInterval
        /// Keys remembered at most (beyond it the least recently tried evictable ones go).
        public var capacity: Int

        public init(perClient: Int = 10, perAccount: Int = 5, window: TimeInterval = 15 * 60, capacity: Int = 10_000) {
            self.perClient = perClient
            self.perAccount = perAccount
            self.window = window
            self.capacity = capacity
        }
    }

    /// Whose attempts are counted together.
    public enum Account: Sendable, Hashable {
        case id(Int64)
        case unknown(String)

        var key: String {
            switch self {
            case let .id(id): "a:#\(id)"
            case let .unknown(name): "u:" + String(name.prefix(64))
            }
        }
    }

    let limits: Limits
    private let attempts = Mutex<[String: [Date]]>([:])

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Starts an attempt: nil when it may go ahead (it is counted now), else when the client or account may
    /// try again (it is not counted).
    public func begin(client: String, account: Account, now: Date) -> Date? {
        let keys = [("c:" + Self.clientKey(client), limits.perClient), (account.key, limits.perAccount)]
        return attempts.withLock { attempts in
            var until: Date?
            for (key, limit) in keys {
                let recent = (attempts[key] ?? []).filter { now.timeIntervalSince($0) < limits.window }
                attempts[key] = recent.isEmpty ? nil : recent
                if recent.count >= limit, let first = recent.first {
                    let end = first.addingTimeInterval(limits.window)
                    until = max(until ?? end, end)
                }
            }
            guard until == nil else { return until }
            for (key, _) in keys { attempts[key, default: []].append(now) }
            if attempts.count > limits.capacity { evict(&attempts, now: now) }
            return nil
        }
    }

    /// The attempt begun at `now` succeeded: the account starts afresh, and the client's attempt is taken back.
    public func succeeded(client: String, account: Account, now: Date) {
        attempts.withLock { attempts in
            attempts[account.key] = nil
            let key = "c:" + Self.clientKey(client)
            if var recent = attempts[key], let index = recent.lastIndex(of: now) {
                recent.remove(at: index)
                attempts[key] = recent.isEmpty ? nil : recent
            }
        }
    }

    /// Drops what has expired, then the least recently tried clients and unknown names until under capacity.
    /// Existing accounts stay: their blocks are what the limit protects.
    private func evict(_ attempts: inout [String: [Date]], now: Date) {
        for (key, dates) in attempts where !dates.contains(where: { now.timeIntervalSince($0) < limits.window }) {
            attempts[key] = nil
        }
        guard attempts.count > limits.capacity else { return }
        let evictable = attempts.filter { !$0.key.hasPrefix("a:") }.map { ($0.key, $0.value.last ?? .distantPast) }.sorted { $0.1 < $1.1 }
        for (key, _) in evictable.prefix(attempts.count - limits.capacity * 9 / 10) { attempts[key] = nil }
    }

    /// An IPv4 address as it is; an IPv6 address by its /64 (its first four groups).
    static func clientKey(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var groups: [String] = []
        let halves = address.lowercased().components(separatedBy: "::")
        let head = halves[0].split(separator: ":").map(String.init)
        let tail = halves.count > 1 ? halves[1].split(separator: ":").map(String.init) : []
        groups = head + Array(repeating: "0", count: max(0, 8 - head.count - tail.count)) + tail
        guard groups.count >= 4 else { return address }
        return groups.prefix(4).map { String(Int($0, radix: 16) ?? 0, radix: 16) }.joined(separator: ":") + "::/64"
    }
}
