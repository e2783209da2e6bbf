import BridgeOSStorage
import Logging

/// Runs a store write until it succeeds. A store that fails for reasons of its own (locked by another
/// process, disk full, I/O errors) is waited out, with backoff up to 5 s between attempts; any other error,
/// or shutdown, gives up (logged). Nil when it gave up.
func persistThroughStoreFailures<T>(_ what: String, logger: Logger, _ write: () throws -> T) async -> T? {
    var attempt = 0
    while true {
        do { return try write() } catch {
            attempt += 1
            guard StoreFailure.isEnvironmental(error), !Task.isShuttingDownGracefully, !Task.isCancelled else {
                logger.error("cannot \(what)", metadata: ["error": "\(error)"])
                return nil
            }
            if attempt == 1 || attempt % 20 == 0 {
                logger.warning("cannot \(what) yet; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
            }
            try? await Task.sleep(for: Backoff(base: .milliseconds(50), cap: .seconds(5)).delay(afterAttempt: attempt))
        }
    }
}
