import ArgumentParser
import BridgeOSApp
import BridgeOSCore
import BridgeOSStorage
import BridgeOSWeb
import CoreMetrics
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
        let launched = try await launchAppliance(configuration, logger: logger, command: "serve", onListening: { port in
            Self.offerSetupLink(configuration, port: port, logger: logger)
        })
        // The process's metrics go to the appliance's registry, which /metrics serves.
        MetricsSystem.bootstrap(launched.appliance.metrics.factory)
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

extension ServeCommand {
    /// With no dashboard account yet, prints a one-time setup link (24 hours) on stdout — not in the log.
    static func offerSetupLink(_ configuration: AppConfiguration, port: Int, logger: Logger) {
        do {
            let database = try AppDatabase.open(configuration)
            guard try database.admin.accountCount() == 0 else { return }
            let token = try database.admin.makeLink(account: nil, validFor: 24 * 3600)
            var base = configuration.dashboardBaseURL
            if configuration.publicURL == nil { base = "http://\(configuration.httpHost == "0.0.0.0" ? "127.0.0.1" : configuration.httpHost):\(port)" }
            FileHandle.standardOutput.write(Data("""
                No dashboard account yet. Create the first one within 24 hours (the link works once):
                  \(base)/admin/setup?token=\(token)
                or run: bridgeos admin set-password --username admin

                """.utf8))
            logger.notice("printed a one-time dashboard setup link on stdout (no account exists yet)")
        } catch {
            logger.warning("could not make a dashboard setup link", metadata: ["error": "\(error)"])
        }
    }
}

/// `Appliance.launch`, with its failures as one line on stderr and the command's exit code (78 for the
/// configuration, 1 for the machine).
func launchAppliance(
    _ configuration: AppConfiguration, logger: Logger, command: String, routes: [any WebRoutes] = [],
    shutdownSignals: [UnixSignal] = [.sigterm, .sigint], onListening: @escaping @Sendable (Int) -> Void = { _ in }
) async throws -> LaunchedAppliance {
    do {
        return try await Appliance.launch(
            configuration: configuration, logger: logger, routes: routes, shutdownSignals: shutdownSignals,
            onListening: { port in
                logger.info("HTTP listening", metadata: ["address": "\(configuration.httpHost):\(port)"])
                onListening(port)
            })
    } catch {
        printError("bridgeos \(command): \(error)")
        if case .configuration = error { throw ExitCode(78) }
        throw ExitCode.failure
    }
}
