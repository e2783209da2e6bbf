import BridgeOSCore
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket standing in for systemd's notification socket.
final class NotifySocket: Sendable {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram, or nil after 200 ms without one.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
    }

    deinit { close(fd) }
}

@Suite("bridgeos serve under systemd")
struct SystemdTests {
    @Test("Type=notify: READY=1 once serve listens, WATCHDOG=1 while the database answers, STOPPING=1 on SIGTERM")
    func notify() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(1)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let socket = try NotifySocket(path: directory.appendingPathComponent("notify.sock").path)
                let environment = [
                    "BRIDGEOS_DATA_DIR": directory.appendingPathComponent("data").path, "BRIDGEOS_TELEGRAM_API_URL": sandbox.baseURL,
                    "BRIDGEOS_HTTP_ADDRESS": "127.0.0.1:0", "BRIDGEOS_POLL_TIMEOUT": "2", "BRIDGEOS_BOT1_TOKEN": sandbox.bots[0].token.secret,
                    "NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "300000",
                ]
                let serve = try launch(try product("bridgeos"), ["serve"], environment: environment, in: directory)
                defer { if serve.0.isRunning { kill(serve.0.processIdentifier, SIGKILL) } }
                let received = Mutex<[String]>([])
                func collect(until condition: @escaping @Sendable ([String]) -> Bool, seconds: Int = 30) async throws {
                    let done = try await onOwnThread {
                        let deadline = Date().addingTimeInterval(TimeInterval(seconds))
                        while Date() < deadline {
                            if let datagram = socket.receive() { received.withLock { $0.append(datagram) } }
                            if condition(received.withLock { $0 }) { return true }
                        }
                        return false
                    }
                    #expect(done, "systemd was told: \(received.withLock { $0 })")
                }
                try await collect { $0.contains { $0.hasPrefix("READY=1") } }
                try await collect { messages in messages.filter { $0 == "WATCHDOG=1" }.count >= 3 }
                let ready = try #require(received.withLock { $0 }.first { $0.hasPrefix("READY=1") })
                #expect(ready.contains("STATUS=listening on port "))
                kill(serve.0.processIdentifier, SIGTERM)
                try await collect { $0.contains("STOPPING=1") }
                let result = try await finish(serve)
                #expect(result.status == 0, "\(result.stderr)")
            }
        }
    }
}
