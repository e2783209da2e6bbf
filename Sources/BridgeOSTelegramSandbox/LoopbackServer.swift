import Hummingbird
import Logging
import ServiceLifecycle

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
        return try await serve(app, ports: ports, logger: logger, body)
    }

    /// Runs `app` for `body` and then stops it **gracefully**: the listener closes and the connections already
    /// accepted are answered or closed. Cancelling a Hummingbird server instead traps in SwiftNIO ("Deinited
    /// NIOAsyncWriter without calling finish()") when a connection is accepted but not yet taken — a child
    /// process still polling when a test ends. `beforeStop` ends what would hold the stop (long polls); a server
    /// that has not stopped after `patience` is cancelled.
    static func serve<App: ApplicationProtocol, T>(
        _ app: App, ports: AsyncStream<Int>, logger: Logger, patience: Duration = .seconds(15),
        beforeStop: @Sendable () -> Void = {}, _ body: (Int) async throws -> T
    ) async throws -> T {
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                group.cancelAll()
                throw SandboxTimeout(what: "the stand-in server start", timeout: .zero)
            }
            let result: Result<T, any Error>
            do { result = .success(try await body(port)) } catch { result = .failure(error) }
            beforeStop()
            await services.triggerGracefulShutdown()
            group.addTask { try await Task.sleep(for: patience) }
            _ = try? await group.next()  // the server stopped, or patience ran out
            group.cancelAll()
            return try result.get()
        }
    }
}
