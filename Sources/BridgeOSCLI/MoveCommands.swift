import ArgumentParser
import BridgeOSCore
import BridgeOSPostgres
import BridgeOSStorage
import Foundation
import Logging

/// Where a move goes to or comes from: exactly one of `--postgres URL` and `--sql FILE`.
struct MoveEndpoint: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A PostgreSQL database: postgres://user@host:5432/database[?sslmode=require]. The password may come from PGPASSWORD.",
        valueName: "url"))
    var postgres: String?

    @Option(name: .long, help: ArgumentHelp("A psql-loadable SQL file (schema, COPY data, sequences).", valueName: "file"))
    var sql: String?

    func validate() throws {
        guard (postgres == nil) != (sql == nil) else { throw ValidationError("give exactly one of --postgres URL and --sql FILE") }
        if let sql, sql.isEmpty { throw ValidationError("--sql needs a file path") }
        _ = try address()
    }

    func address() throws -> PostgresAddress? {
        guard let postgres else { return nil }
        do { return try PostgresAddress(postgres) } catch let error as MoveError {
            throw ValidationError(error.description)
        }
    }
}

/// Prints progress on stderr and the verification on stdout; a mismatch is a failure.
private func finish(_ verification: Verification, source: String, target: String, command: String) throws {
    print(verification.rendered(source: source, target: target))
    guard verification.matches else {
        printError("bridgeos \(command): the verification found differences (above); do not switch over to this copy")
        throw ExitCode.failure
    }
}

private func moveLogger(_ global: GlobalOptions, _ configuration: AppConfiguration, label: String) -> Logger {
    var logger = global.makeLogger(configuration, label: label)
    // PostgresNIO logs statements at debug level; exports never log data.
    logger.logLevel = max(logger.logLevel, .notice)
    return logger
}

/// `bridgeos export`: the whole database to PostgreSQL or a SQL file, verified table by table.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the database to PostgreSQL (--postgres URL) or a psql-loadable file (--sql FILE), verified.",
        discussion: """
            Reads one consistent snapshot, also while serve runs. Into PostgreSQL: the target must be an empty \
            UTF8 database (12 or newer); schema, rows (COPY, parents before children) and identity sequences \
            load in one transaction. Then every table is read back and compared with the snapshot: row count \
            and SHA-256 over its rows in primary-key order. Any difference exits non-zero. \
            --force empties and reloads a target that holds a BridgeOS export of the same schema (or replaces \
            the SQL file). The spool file of a PostgreSQL export goes to TMPDIR and is removed afterwards.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var endpoint: MoveEndpoint

    @Flag(name: .long, help: "Replace what the target holds (a BridgeOS export of the same schema, or the file).")
    var force = false

    func run() async throws {
        let configuration = try global.loadConfiguration()
        let logger = moveLogger(global, configuration, label: "bridgeos.export")
        let database = configuration.databasePath
        let progress: @Sendable (String) -> Void = { printError("export: \($0)") }
        if let address = try endpoint.address() {
            let verification = try await reportingFailures("export") {
                try await Export.toPostgres(
                    database: database, address: address, force: force,
                    spoolDirectory: FileManager.default.temporaryDirectory.path, logger: logger, progress: progress)
            }
            try finish(verification, source: "sqlite", target: "postgres", command: "export")
        } else if let file = endpoint.sql {
            let force = force
            let verification = try reportingFailures("export") {
                try Export.toSQLFile(database: database, output: file, force: force, progress: progress)
            }
            try finish(verification, source: "sqlite", target: "file", command: "export")
        }
    }
}

/// `bridgeos import`: PostgreSQL or an export file back into a new SQLite file, verified.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a PostgreSQL database (--postgres URL) or an export file (--sql FILE) into a new SQLite file, verified.",
        discussion: """
            Writes a new database (default: the data directory's bridgeos.sqlite) and never overwrites one. \
            The source must have this bridgeos's schema version. PostgreSQL is read in one REPEATABLE READ \
            snapshot. The new file appears only once complete and checked (foreign keys, integrity); then \
            every table is compared with the source: row count and SHA-256. Any difference exits non-zero.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var endpoint: MoveEndpoint

    @Option(name: .long, help: ArgumentHelp("The new SQLite file. Default: the data directory's database.", valueName: "path"))
    var output: String?

    func run() async throws {
        let configuration = try global.loadConfiguration()
        let logger = moveLogger(global, configuration, label: "bridgeos.import")
        let destination = output ?? configuration.databasePath
        if output == nil {
            try FileManager.default.createDirectory(
                atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let progress: @Sendable (String) -> Void = { printError("import: \($0)") }
        if let address = try endpoint.address() {
            let verification = try await reportingFailures("import") {
                try await Import.fromPostgres(address, destination: destination, logger: logger, progress: progress)
            }
            try finish(verification, source: "postgres", target: "sqlite", command: "import")
        } else if let file = endpoint.sql {
            let verification = try reportingFailures("import") {
                try Import.fromSQLFile(file, destination: destination, progress: progress)
            }
            try finish(verification, source: "file", target: "sqlite", command: "import")
        }
        print("imported into \(destination)")
    }
}
