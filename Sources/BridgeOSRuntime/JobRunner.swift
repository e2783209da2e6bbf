import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Slow work of one kind (translation, a summary). `run` may take seconds and call other services; what
/// it returns is applied in the transaction that marks the job done, together with the replies it queues.
public protocol JobHandler: Sendable {
    var kind: String { get }
    func run(_ job: JobRow) async throws -> JobCompletion
    /// The job failed for good: tell whoever is waiting for it, in the transaction that records the
    /// failure. Default: nothing.
    func failed(_ job: JobRow, reason: String, context: IntakeContext) throws
}

extension JobHandler {
    public func failed(_ job: JobRow, reason: String, context: IntakeContext) throws {}
}

/// The result of a job, applied atomically with its completion.
public struct JobCompletion: Sendable {
    let apply: @Sendable (IntakeContext) throws -> Void

    public init(_ apply: @escaping @Sendable (IntakeContext) throws -> Void) { self.apply = apply }

    public static let nothing = JobCompletion { _ in }
}

/// How a job failed.
public enum JobFailure: Error, Sendable {
    /// Worth trying again (a provider outage): retried for as long as it takes, with backoff;
    /// `after` overrides the backoff (e.g. a Retry-After).
    case retryable(String, after: Duration? = nil)
    /// Will never succeed.
    case final(String)
}

public struct JobRunnerConfiguration: Sendable {
    public var concurrency: Int
    public var maxAttempts: Int
    public var backoff: Backoff
    public var sweepInterval: Duration

    public init(concurrency: Int = 4, maxAttempts: Int = 50, backoff: Backoff = Backoff(base: .seconds(2), cap: .seconds(120)),
                sweepInterval: Duration = .seconds(30)) {
        self.concurrency = max(1, concurrency)
        self.maxAttempts = max(1, maxAttempts)
        self.backoff = backoff
        self.sweepInterval = sweepInterval
    }
}

/// Runs jobs with a small pool, in order per queue key, surviving restarts (running jobs run again).
public final class JobRunner: Service, Sendable {
    let database: AppDatabase
    let handlers: [String: any JobHandler]
    let signals: RuntimeSignals
    let bots: BotDirectory
    let observer: (any DeliveryObserver)?
    let configuration: JobRunnerConfiguration
    let logger: Logger
    /// Jobs waiting (pending or running) and the age of the oldest, recorded every pass.
    let waiting: Gauge
    let oldestAge: Gauge
    let runtimeMetrics: RuntimeMetrics

    public init(database: AppDatabase, handlers: [any JobHandler], signals: RuntimeSignals, bots: BotDirectory,
                observer: (any DeliveryObserver)? = nil, configuration: JobRunnerConfiguration = JobRunnerConfiguration(), metrics: any MetricsFactory = NOOPMetricsHandler.instance,
                logger: Logger) {
        self.runtimeMetrics = RuntimeMetrics(factory: metrics)
        self.waiting = Gauge(label: "bridgeos_jobs_waiting", factory: metrics)
        self.oldestAge = Gauge(label: "bridgeos_jobs_oldest_waiting_seconds", factory: metrics)
        self.database = database
        self.handlers = Dictionary(handlers.map { ($0.kind, $0) }) { first, _ in first }
        self.signals = signals
        self.bots = bots
        self.observer = observer
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let reset = try database.jobs.resetRunning()
        if reset > 0 { logger.notice("running again the jobs that were running when BridgeOS stopped", metadata: ["jobs": "\(reset)"]) }
        let wakeup = signals.jobs
        let running = Running()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                var nextBacklogCount = ContinuousClock.now
                while !Task.isShuttingDownGracefully, !Task.isCancelled {
                    let free = configuration.concurrency - running.count
                    var storeFailed = false
                    // One read a pass: whether anything is due, the metrics, and when to look again.
                    var queue: JobQueueState?
                    // The backlog (for metrics) is counted at most once a second: it reads every open job.
                    let countBacklog = ContinuousClock.now >= nextBacklogCount
                    do {
                        queue = try database.jobs.queueState(backlog: countBacklog)
                        if countBacklog { nextBacklogCount = ContinuousClock.now + .seconds(1) }
                        if free > 0, queue?.dueNow == true {
                            for job in try database.jobs.claim(limit: free) {
                                running.add()
                                group.addTask {
                                    await self.execute(job)
                                    running.remove()
                                    wakeup.signal()
                                }
                            }
                        }
                    } catch {
                        storeFailed = true
                        logger.error("cannot read the job queue", metadata: ["error": "\(error)"])
                    }
                    if let queue, let count = queue.waiting {
                        waiting.record(count)
                        oldestAge.record(queue.oldest.map { max(0, database.clock.now().timeIntervalSince($0)) } ?? 0)
                    }
                    // A store that could not be read is tried again soon, not at the next sweep.
                    var timeout = storeFailed ? min(configuration.sweepInterval, .seconds(1)) : configuration.sweepInterval
                    if let due = queue?.nextDue {
                        let wait = max(0, due.timeIntervalSince(database.clock.now()))
                        timeout = min(timeout, .milliseconds(Int64(wait * 1000) + 1))
                    }
                    await wakeup.wait(timeout: timeout)
                }
            }
        } onGracefulShutdown: {
            wakeup.signal()
        }
    }

    func execute(_ job: JobRow) async {
        guard let handler = handlers[job.kind] else {
            logger.error("no handler for job kind", metadata: ["job": "\(job.id)", "kind": "\(job.kind)"])
            await fail(job, handler: nil, reason: "no handler for kind \(job.kind)")
            return
        }
        do {
            let completion = try await handler.run(job)
            let now = database.clock.now()
            let slots = bots.all
            let (signals, observer) = (signals, observer)
            try await runtimeMetrics.timedWrite("job") { try await database.write { tx in
                // A job has no bot of its own: it names the slot of everything it sends.
                let context = IntakeContext(tx: tx, now: now, slot: nil, bots: slots, observer: observer)
                try completion.apply(context)
                try tx.completeJob(job.id, now: now)
                context.finish(signals: signals, logger: logger, ["job": "\(job.id)"])
            } }
        } catch let JobFailure.final(reason) {
            logger.error("job failed for good", metadata: ["job": "\(job.id)", "kind": "\(job.kind)", "error": "\(reason)"])
            await fail(job, handler: handler, reason: reason)
        } catch let error as DecodingError {
            // Its payload will not decode next time either.
            logger.error("job payload unreadable", metadata: ["job": "\(job.id)", "kind": "\(job.kind)", "error": "\(error)"])
            await fail(job, handler: handler, reason: "unreadable payload: \(error)")
        } catch {
            let (reason, after): (String, Duration?) = if case let JobFailure.retryable(reason, after) = error { (reason, after) } else { ("\(error)", nil) }
            // A handler's own "retryable" (a provider outage) and a store that cannot be written (busy, full)
            // wait as long as they last: what is waiting is delivered when they work again. Only unexpected
            // errors count towards giving up.
            let transient = if case JobFailure.retryable = error { true } else { StoreFailure.isEnvironmental(error) }
            guard transient || job.attempts < configuration.maxAttempts else {
                logger.error("job failed too often, giving up", metadata: ["job": "\(job.id)", "attempts": "\(job.attempts)", "error": "\(reason)"])
                await fail(job, handler: handler, reason: "gave up after \(job.attempts) attempts: \(reason)")
                return
            }
            let delay = after ?? configuration.backoff.delay(afterAttempt: job.attempts)
            logger.warning("job will be retried", metadata: ["job": "\(job.id)", "attempt": "\(job.attempts)", "in": "\(delay)", "error": "\(reason)"])
            await persist("reschedule a job") { try database.jobs.reschedule(job.id, notBefore: database.clock.now().adding(delay), error: reason) }
        }
    }

    /// Records a job as failed and lets its handler tell whoever waits for it, in one transaction.
    func fail(_ job: JobRow, handler: (any JobHandler)?, reason: String) async {
        let slots = bots.all
        let (signals, observer) = (signals, observer)
        await persist("record a failed job") {
            let now = database.clock.now()
            try database.write { tx in
                try tx.failJob(job.id, error: reason, now: now)
                let context = IntakeContext(tx: tx, now: now, slot: nil, bots: slots, observer: observer)
                do {
                    try tx.savepoint { try handler?.failed(job, reason: reason, context: context) }
                } catch {
                    logger.error("cannot tell about a failed job", metadata: ["job": "\(job.id)", "error": "\(error)"])
                }
                context.finish(signals: signals, logger: logger, ["job": "\(job.id)"])
            }
        }
    }

    /// A store write retried while the database is busy or full; given up on shutdown (the job is then
    /// still running in the database and runs again after a restart).
    func persist(_ what: String, _ write: () throws -> Void) async {
        _ = await persistThroughStoreFailures(what, logger: logger, write)
    }

    /// The number of jobs in progress (touched only by the runner's task group).
    final class Running: Sendable {
        private let value = Mutex(0)
        var count: Int { value.withLock { $0 } }
        func add() { value.withLock { $0 += 1 } }
        func remove() { value.withLock { $0 -= 1 } }
    }
}
