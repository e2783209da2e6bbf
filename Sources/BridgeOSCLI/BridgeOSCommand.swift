import ArgumentParser
import BridgeOSCore
import Foundation
import Logging

/// `bridgeos`: the root command. Each subcommand is a composition root for what it runs.
public struct BridgeOSCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bridgeos",
        abstract: "BridgeOS: a manager talks to up to five workers in their own languages over Telegram.",
        discussion: """
            Configuration comes from BRIDGEOS_* environment variables, optionally read first from an env \
            file (--env-file or BRIDGEOS_ENV_FILE). See README.md for the full list.
            """,
        version: BridgeOSVersion.current,
        subcommands: [
            DemoCommand.self, ServeCommand.self, MigrateCommand.self, DoctorCommand.self, BackupCommand.self, RestoreCommand.self,
            ExportCommand.self, ImportCommand.self, AdminCommand.self,
        ]
    )

    public init() {}
}

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Read settings from this env file first.", valueName: "path"))
    var envFile: String?

    @Option(name: .long, help: ArgumentHelp("Data directory (overrides BRIDGEOS_DATA_DIR).", valueName: "path"))
    var dataDir: String?

    /// Loads and validates the configuration; on failure prints one clear line and exits with EX_CONFIG.
    func loadConfiguration(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfiguration {
        do {
            var configuration = try AppConfiguration.load(environment: environment, envFile: envFile)
            if let dataDir {
                guard !dataDir.isEmpty else { throw ConfigurationError.invalidValue(
                    variable: "--data-dir", value: dataDir, expected: "a directory path") }
                configuration.dataDirectory = dataDir
            }
            return configuration
        } catch let error as ConfigurationError {
            printError("bridgeos: configuration error: \(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
    }

    func makeLogger(_ configuration: AppConfiguration, label: String) -> Logger {
        // A handler per logger instead of LoggingSystem.bootstrap: no process-wide state, so tests that
        // run commands in-process stay independent.
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = configuration.logLevel
        for variable in configuration.unknownVariables {
            logger.warning("ignoring unknown setting \(variable) (check the spelling; see README for the list)")
        }
        return logger
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Runs `body`, turning the errors a person can act on into one line on stderr and a non-zero exit.
func reportingFailures<T>(_ command: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CustomStringConvertible & Error {
        printError("bridgeos \(command): \(error.description)")
        throw ExitCode.failure
    }
}

/// `reportingFailures` for async work.
func reportingFailures<T>(_ command: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CustomStringConvertible & Error {
        printError("bridgeos \(command): \(error.description)")
        throw ExitCode.failure
    }
}
