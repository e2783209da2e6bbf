import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A set of HTTP routes the appliance's server serves (health; the demo's sandbox chat; later the dashboard).
public protocol WebRoutes: Sendable {
    func addRoutes(to router: Router<AppRequestContext>)
}

/// `GET /healthz`: is the process alive and the database readable, and what each bot slot is doing.
/// 200 when the database answers, 503 when it does not. Never shows tokens.
public struct HealthController: WebRoutes {
    let database: AppDatabase
    let status: SlotStatusBoard
    let started: Date

    public init(database: AppDatabase, status: SlotStatusBoard, started: Date = Date()) {
        self.database = database
        self.status = status
        self.started = started
    }

    struct Health: Encodable {
        struct Slot: Encodable {
            let slot: Int
            let username: String?
            let state: String
            let lastError: String?
        }

        let status: String
        let version: String
        let uptimeSeconds: Int
        let database: String
        let slots: [Slot]
        let outbox: [String: Int]
        let jobsWaiting: Int
        let oldestJobAgeSeconds: Int?
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/healthz") { _, _ in try self.health() }
    }

    func health() throws -> Response {
        let slots = status.all.sorted { $0.key < $1.key }.map {
            Health.Slot(slot: $0.key.number, username: $0.value.username, state: $0.value.state.rawValue, lastError: $0.value.lastError)
        }
        var databaseState = "ok"
        var outbox: [String: Int] = [:]
        var jobs: (waiting: Int, oldest: Date?) = (0, nil)
        do {
            outbox = Dictionary(uniqueKeysWithValues: try database.outbox.counts().map { ($0.key.rawValue, $0.value) })
            jobs = try database.jobs.backlog()
        } catch {
            databaseState = "unavailable: \(error)"
        }
        let now = database.clock.now()
        let health = Health(
            status: databaseState == "ok" ? "ok" : "degraded", version: BridgeOSVersion.current,
            uptimeSeconds: Int(now.timeIntervalSince(started)), database: databaseState, slots: slots, outbox: outbox,
            jobsWaiting: jobs.waiting, oldestJobAgeSeconds: jobs.oldest.map { Int(now.timeIntervalSince($0)) })
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: databaseState == "ok" ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(health))))
    }
}

/// The HTTP server of `serve`, as a Service for the ServiceGroup.
public enum WebServer {
    /// The router every route group adds itself to (tests enumerate its routes).
    public static func router(_ routes: [any WebRoutes]) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        for group in routes { group.addRoutes(to: router) }
        return router
    }

    public static func application(
        host: String, port: Int, routes: [any WebRoutes], logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        return Application(
            router: router(routes),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "BridgeOS"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
