import Synchronization

/// Wakes one waiting loop: `signal()` from anywhere (a committing transaction, a finished send, shutdown);
/// `wait(timeout:)` returns at the first signal since the last wait, or after the timeout.
public final class Wakeup: Sendable {
    private struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard let waiter = state.waiter else {
                state.signalled = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Waits for a signal, at most `timeout` (nil: no limit). Returns early if the task is cancelled.
    public func wait(timeout: Duration?) async {
        if state.withLock({ state in
            defer { state.signalled = false }
            return state.signalled
        }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal() }
            if let timeout {
                group.addTask { try? await Task.sleep(for: max(timeout, .zero)) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        let generation = state.withLock { state -> Int in
            state.generation += 1
            return state.generation
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow: Bool = state.withLock { state in
                    if state.signalled || state.generation != generation {
                        state.signalled = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
                guard state.generation == generation, let waiter = state.waiter else {
                    state.generation += 1  // a continuation registered after this point resumes at once
                    return nil
                }
                state.waiter = nil
                return waiter
            }
            waiter?.resume()
        }
    }
}
