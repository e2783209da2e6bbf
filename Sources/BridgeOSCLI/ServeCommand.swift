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
        let systemd = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        let launched = try await launchAppliance(configuration, logger: logger, command: "serve", systemd: systemd, onListening: { port in
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
    /// The file that holds the one-time setup link while no dashboard account exists.
    static func setupLinkFile(_ configuration: AppConfiguration) -> URL {
        URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true).appendingPathComponent("dashboard-setup-link.txt")
    }

    /// With no dashboard account yet, keeps a one-time setup link (24 hours) in a file only the service's user
    /// can read (`<data dir>/dashboard-setup-link.txt`, 0600), and prints it when a person is watching (a
    /// terminal) — never into the log, which others may read (journald). A restart keeps a link still valid.
    /// Once an account exists the file is removed.
    static func offerSetupLink(_ configuration: AppConfiguration, port: Int, logger: Logger) {
        let file = setupLinkFile(configuration)
        do {
            let database = try AppDatabase.open(configuration)
            guard try database.admin.accountCount() == 0 else {
                try? FileManager.default.removeItem(at: file)
                return
            }
            var base = configuration.dashboardBaseURL
            if configuration.publicURL == nil { base = "http://\(configuration.httpHost == "0.0.0.0" ? "127.0.0.1" : configuration.httpHost):\(port)" }
            // The link already made, while it is still good (only its token is in the file's last line's query).
            let kept = (try? String(contentsOf: file, encoding: .utf8))?.split(separator: "\n").compactMap { line -> String? in
                guard let range = line.range(of: "/admin/setup?token=") else { return nil }
                return String(line[range.upperBound...])
            }.first
            let token: String
            if let kept, case .setup? = try database.admin.link(kept) {
                token = kept
            } else {
                token = try database.admin.makeLink(account: nil, validFor: 24 * 3600)
            }
            let text = """
                No dashboard account yet. Create the first one within 24 hours (the link works once):
                  \(base)/admin/setup?token=\(token)
                or run: bridgeos admin set-password --username admin

                """
            FileManager.default.createFile(atPath: file.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
            if isatty(STDOUT_FILENO) == 1 { FileHandle.standardOutput.write(Data(text.utf8)) }
            logger.notice("no dashboard account yet: a one-time setup link is in \(file.path) (readable by this user only), or run bridgeos admin set-password")
        } catch {
            logger.warning("could not make a dashboard setup link", metadata: ["error": "\(error)"])
        }
    }
}

/// `Appliance.launch`, with its failures as one line on stderr and the command's exit code (78 for the
/// configuration, 1 for the machine).
func launchAppliance(
    _ configuration: AppConfiguration, logger: Logger, command: String, routes: [any WebRoutes] = [],
    shutdownSignals: [UnixSignal] = [.sigterm, .sigint], systemd: SystemdNotifier? = nil, onListening: @escaping @Sendable (Int) -> Void = { _ in }
) async throws -> LaunchedAppliance {
    do {
        return try await Appliance.launch(
            configuration: configuration, logger: logger, routes: routes, shutdownSignals: shutdownSignals, systemd: systemd,
            onListening: { port in
                logger.info("HTTP listening", metadata: ["address": "\(configuration.httpHost):\(port)"])
                onListening(port)
            })
    } catch {
        printError("bridgeos \(command): \(error)")
        switch error {
        case .configuration, .notWritable: throw ExitCode(78)
        case .unavailable: break
        }
        throw ExitCode.failure
    }
}
