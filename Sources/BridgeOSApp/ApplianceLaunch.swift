import AsyncHTTPClient
import BridgeOSCore
import BridgeOSFlows
import BridgeOSOperations
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSWeb
import BridgeOSDashboard
import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The appliance with everything it owns — the data directory's lock, the database, the HTTP client — as one
/// runnable service group. `Appliance.launch` makes it from configuration; `serve` and `demo` only run it.
public final class LaunchedAppliance: Sendable {
    public let appliance: Appliance
    public let group: ServiceGroup
    let httpClient: HTTPClient
    let lock: DataDirectoryLock

    init(appliance: Appliance, group: ServiceGroup, httpClient: HTTPClient, lock: DataDirectoryLock) {
        self.appliance = appliance
        self.group = group
        self.httpClient = httpClient
        self.lock = lock
    }

    /// Runs until a shutdown signal (or `group.triggerGracefulShutdown()`), then releases what it owns.
    public func run() async throws {
        defer { lock.release() }
        do {
            try await group.run()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }
}

extension Appliance {
    /// Why `launch` could not make an appliance: the configuration (exit 78) or the machine (exit 1).
    public enum LaunchError: Error, CustomStringConvertible {
        case configuration(BuildError)
        /// The data directory or the database may not be written by this user: no restart fixes it.
        case notWritable(DataDirectoryAccess.NotWritable)
        case unavailable(String)

        public var description: String {
            switch self {
            case let .configuration(error): error.description
            case let .notWritable(error): error.description
            case let .unavailable(reason): reason
            }
        }
    }

    /// **The composition function**: configuration in, a runnable service group out. Takes the data directory
    /// (created 0700 if missing) and its lock, opens and migrates the database, loads the texts, makes the
    /// HTTP client and builds the appliance. `serve` and `demo` call it; nothing else wires production.
    /// - Parameters:
    ///   - routes: more HTTP routes for the appliance's server (the demo's `/sandbox`).
    ///   - shutdownSignals: the signals that stop it gracefully (none when the caller stops it).
    public static func launch(
        configuration: AppConfiguration, logger: Logger, metrics: ApplianceMetrics = ApplianceMetrics(),
        routes: [any WebRoutes] = [], shutdownSignals: [UnixSignal] = [.sigterm, .sigint], systemd: SystemdNotifier? = nil,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws(LaunchError) -> LaunchedAppliance {
        do { try validate(configuration) } catch { throw .configuration(error) }
        let lock: DataDirectoryLock
        let database: AppDatabase
        let localizer: Localizer
        do {
            try DataDirectoryAccess.check(directory: configuration.dataDirectory, database: configuration.databasePath)
        } catch {
            throw .notWritable(error)
        }
        do {
            try FileManager.default.createDirectory(
                atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unavailable("cannot create the data directory \(configuration.dataDirectory): \((error as NSError).localizedDescription)")
        }
        do {
            lock = try DataDirectoryLock(directory: configuration.dataDirectory)
        } catch {
            throw .unavailable("\(error)")
        }
        do {
            // An upgrade that migrates an existing database first backs it up, so it can be undone.
            if let backup = try Backups.beforeMigrating(configuration) {
                logger.notice("backed up before migrating", metadata: ["path": "\(backup.path)"])
            }
            database = try AppDatabase.open(configuration)
            localizer = try Localizer.embedded(logger: logger)
        } catch {
            lock.release()
            throw .unavailable("\(error)")
        }
        let httpClient = HTTPClient.makeForBotAPI()
        let appliance: Appliance
        do {
            appliance = try build(configuration: configuration, database: database, httpClient: httpClient, localizer: localizer,
                                  metrics: metrics, logger: logger, routes: routes, onListening: { port in
                                      await onListening(port)
                                      // Ready for systemd once the listener is up; the slots reach Telegram on their own.
                                      systemd?.notify("READY=1\nSTATUS=listening on port \(port)")
                                  })
        } catch {
            try? await httpClient.shutdown()
            lock.release()
            throw .configuration(error)
        }
        var services = appliance.services
        if let systemd {
            services.append(.init(service: SystemdWatchdog(notifier: systemd, database: database, logger: logger),
                                  successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: shutdownSignals, logger: logger))
        return LaunchedAppliance(appliance: appliance, group: group, httpClient: httpClient, lock: lock)
    }
}
