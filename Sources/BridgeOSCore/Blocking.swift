import Foundation

/// Runs blocking work (a long SQLite read, file I/O, waiting for a child process) on a thread of its own, so
/// it never holds one of the cooperative pool's few threads (two on a two-core VPS) that everything else
/// shares.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}
