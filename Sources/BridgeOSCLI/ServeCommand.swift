import ArgumentParser
import BridgeOSApp
import BridgeOSCore
import BridgeOSWeb
import Foundation
import Logging
import UnixSignals

/// `bridgeos serve`: the appliance. Reads the configuration and runs what `Appliance.launch` makes of it.
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

    /// Set by `bridgeos demo` for its child: stop gracefully when that process is gone.
    @Option(name: .long, help: .hidden)
    var parentPid: Int32?

    func run() async throws {
        let configuration = try global.loadConfiguration()
        let logger = global.makeLogger(configuration, label: "bridgeos")
        let launched = try await launchAppliance(configuration, logger: logger, command: "serve")
        logger.info("BridgeOS \(BridgeOSVersion.current) starting", metadata: [
            "slots": "\(configuration.botTokens.keys.sorted())", "database": "\(configuration.databasePath)",
        ])
        let watchdog = parentPid.map { parent in
            Task {
                while !Task.isCancelled, getppid() == parent { try? await Task.sleep(for: .milliseconds(500)) }
                guard !Task.isCancelled else { return }
                logger.notice("the process that started serve is gone: stopping")
                await launched.group.triggerGracefulShutdown()
            }
        }
        defer { watchdog?.cancel() }
        do {
            try await launched.run()
        } catch {
            logger.error("stopped after an error", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        logger.info("BridgeOS stopped")
    }
}

/// `Appliance.launch`, with its failures as one line on stderr and the command's exit code (78 for the
/// configuration, 1 for the machine).
func launchAppliance(
    _ configuration: AppConfiguration, logger: Logger, command: String, routes: [any WebRoutes] = [],
    shutdownSignals: [UnixSignal] = [.sigterm, .sigint]
) async throws -> LaunchedAppliance {
    do {
        return try await Appliance.launch(
            configuration: configuration, logger: logger, routes: routes, shutdownSignals: shutdownSignals,
            onListening: { port in logger.info("HTTP listening", metadata: ["address": "\(configuration.httpHost):\(port)"]) })
    } catch {
        printError("bridgeos \(command): \(error)")
        if case .configuration = error { throw ExitCode(78) }
        throw ExitCode.failure
    }
}
