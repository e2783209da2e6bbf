import ArgumentParser
import AsyncHTTPClient
import BridgeOSApp
import BridgeOSCore
import BridgeOSFlows
import BridgeOSOperations
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging
import ServiceLifecycle

/// `bridgeos serve`: the appliance. The composition root of the long-running process.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the bots: poll Telegram, handle updates, send replies, serve /healthz.",
        discussion: """
            Needs at least one of BRIDGEOS_BOT1_TOKEN … BRIDGEOS_BOT5_TOKEN. Stops gracefully on SIGTERM or \
            SIGINT: work in flight finishes, nothing is lost. One `serve` per data directory.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let configuration = try global.loadConfiguration()
        let logger = global.makeLogger(configuration, label: "bridgeos")
        do { try Appliance.validate(configuration) } catch {
            printError("bridgeos serve: \(error)")
            throw ExitCode(78)
        }
        let (database, lock) = try reportingFailures("serve") { () throws -> (AppDatabase, DataDirectoryLock) in
            try FileManager.default.createDirectory(
                atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let lock = try DataDirectoryLock(directory: configuration.dataDirectory)
            return (try AppDatabase.open(configuration), lock)
        }
        defer { lock.release() }
        let localizer = try reportingFailures("serve") { try Localizer.embedded(logger: logger) }
        let httpClient = HTTPClient.makeForBotAPI()
        let appliance: Appliance
        do {
            appliance = try Appliance.build(
                configuration: configuration, database: database, httpClient: httpClient, localizer: localizer, logger: logger,
                onListening: { port in logger.info("HTTP listening", metadata: ["address": "\(configuration.httpHost):\(port)"]) })
        } catch {
            try? await httpClient.shutdown()
            printError("bridgeos serve: \(error)")
            throw ExitCode(78)
        }
        logger.info("BridgeOS \(BridgeOSVersion.current) starting", metadata: [
            "slots": "\(configuration.botTokens.keys.sorted())", "database": "\(configuration.databasePath)",
        ])
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: appliance.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("stopped after an error", metadata: ["error": "\(error)"])
            try? await httpClient.shutdown()
            throw ExitCode.failure
        }
        try await httpClient.shutdown()
        logger.info("BridgeOS stopped")
    }
}
