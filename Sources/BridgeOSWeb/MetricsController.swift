import BridgeOSCore
import BridgeOSStorage
import CoreMetrics
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The appliance's metrics registry: one per appliance (the composition root makes it and hands its factory
/// to everything that records), so tests and benchmarks never share counters.
public struct ApplianceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: any MetricsFactory

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Telegram and the translators answer in milliseconds to tens of seconds.
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        self.registry = registry
        self.factory = factory
    }
}

/// `GET /metrics`: Prometheus text format. The outbox's depth and its oldest waiting row are read from the
/// database at each scrape; everything else is recorded as it happens. Labels carry slot numbers, providers
/// and fixed kinds — never tokens, names or message text.
public struct MetricsController: WebRoutes {
    let database: AppDatabase
    let metrics: ApplianceMetrics
    let logger: Logger
    let waiting: CoreMetrics.Gauge
    let inFlight: CoreMetrics.Gauge
    let held: CoreMetrics.Gauge
    let dead: CoreMetrics.Gauge
    let oldestAge: CoreMetrics.Gauge

    public init(database: AppDatabase, metrics: ApplianceMetrics, logger: Logger) {
        self.database = database
        self.metrics = metrics
        self.logger = logger
        waiting = CoreMetrics.Gauge(label: "bridgeos_outbox_rows", dimensions: [("status", "pending")], factory: metrics.factory)
        inFlight = CoreMetrics.Gauge(label: "bridgeos_outbox_rows", dimensions: [("status", "in_flight")], factory: metrics.factory)
        held = CoreMetrics.Gauge(label: "bridgeos_outbox_rows", dimensions: [("status", "unreachable")], factory: metrics.factory)
        dead = CoreMetrics.Gauge(label: "bridgeos_outbox_rows", dimensions: [("status", "dead")], factory: metrics.factory)
        oldestAge = CoreMetrics.Gauge(label: "bridgeos_outbox_oldest_waiting_seconds", factory: metrics.factory)
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/metrics") { request, _ in
            // For scrapers on this machine: what a reverse proxy forwards (from anywhere) is refused.
            guard !Proxied.isForwarded(request) else { return Proxied.refusal() }
            return self.scrape()
        }
    }

    func scrape() -> Response {
        do {
            let counts = try database.outbox.counts()
            waiting.record(counts[.pending] ?? 0)
            inFlight.record(counts[.inFlight] ?? 0)
            held.record(counts[.unreachable] ?? 0)
            dead.record(counts[.dead] ?? 0)
            let oldest = try database.alerts.oldestWaiting()
            oldestAge.record(oldest.map { max(0, database.clock.now().timeIntervalSince($0)) } ?? 0)
        } catch {
            logger.warning("metrics: the outbox could not be read", metadata: ["error": "\(error)"])
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 * 1024)
        metrics.registry.emit(into: &bytes)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Requests a reverse proxy passed on (it adds `X-Forwarded-For`, `Forwarded` or `X-Real-IP`): for the
/// operator's own endpoints (`/metrics`, `/readyz`), which are for this machine, not the internet.
enum Proxied {
    static func isForwarded(_ request: Request) -> Bool {
        ["X-Forwarded-For", "Forwarded", "X-Real-IP"].contains { request.headers[.init($0)!] != nil }
    }

    static func refusal() -> Response {
        Response(status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: "for this machine only (ask http://127.0.0.1 directly)\n")))
    }
}
