import Hummingbird
import Logging

/// A stand-in HTTP server on 127.0.0.1 with an ephemeral port (a fake translator, a fake payment
/// provider): runs `router` for the duration of `body`, which gets the port, and stops it however `body` ends.
public enum LoopbackServer {
    public static func run<T>(
        _ router: Router<BasicRequestContext>,
        logger: Logger = Logger(label: "bridgeos.loopback", factory: { _ in SwiftLogNoOpLogHandler() }),
        _ body: (Int) async throws -> T
    ) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0); continuation.finish() }, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            defer { group.cancelAll() }
            return try await body(port)
        }
    }
}
