import BridgeOSCore
import BridgeOSStorage
import Foundation
import Logging
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// systemd's notification protocol (`Type=notify`): datagrams to the socket named in `NOTIFY_SOCKET` —
/// READY=1 once serve listens, WATCHDOG=1 while it is alive (`WatchdogSec=`), STOPPING=1 when it stops.
/// Absent outside systemd (no `NOTIFY_SOCKET`).
public struct SystemdNotifier: Sendable {
    let socketPath: String
    /// How often to ping: a third of `WATCHDOG_USEC` (nil: no watchdog).
    public let watchdogInterval: Duration?

    public init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.hasPrefix("/") || path.hasPrefix("@") else { return nil }
        socketPath = path
        // WATCHDOG_PID names the process the watchdog is for; another one (a child) must not ping.
        if let pid = environment["WATCHDOG_PID"].flatMap(Int32.init), pid != getpid() {
            watchdogInterval = nil
        } else if let micros = environment["WATCHDOG_USEC"].flatMap(Int64.init), micros > 0 {
            watchdogInterval = .microseconds(micros / 3)
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends `state` (e.g. "READY=1"); false if it could not be sent (systemd gone: nothing to do about it).
    @discardableResult
    public func notify(_ state: String) -> Bool {
        #if os(Linux)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // an abstract socket
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.enumerated() { buffer[index] = byte }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? MemoryLayout<sa_family_t>.size
        let length = socklen_t(pathOffset + path.count + (path.first == 0 ? 0 : 1))
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), sockaddrPointer, length)
            }
        }
        return sent == bytes.count
    }
}

/// Keeps systemd's watchdog fed while the process is alive — the database's writer answers (a stuck writer
/// stops the pings, and systemd restarts serve) — and says STOPPING=1 when serve stops.
struct SystemdWatchdog: Service {
    let notifier: SystemdNotifier
    let database: AppDatabase
    let logger: Logger

    func run() async throws {
        if let interval = notifier.watchdogInterval {
            var quiet = false
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                let database = database
                do {
                    try await onOwnThread { try database.admin.probeWriter() }
                    notifier.notify("WATCHDOG=1")
                    if quiet { logger.notice("the database answers again: systemd's watchdog is fed") }
                    quiet = false
                } catch {
                    if !quiet { logger.error("the database does not answer: systemd's watchdog is not fed (it restarts serve if this lasts)", metadata: ["error": "\(error)"]) }
                    quiet = true
                }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
        } else {
            try? await gracefulShutdown()
        }
        notifier.notify("STOPPING=1")
    }
}
