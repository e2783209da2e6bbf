import ArgumentParser
import BridgeOSCore
import BridgeOSOperations
import BridgeOSStorage
import Foundation

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create the database, or bring its schema up to date.",
        discussion: """
            Safe to run at any time, also while `bridgeos serve` runs: each migration is one transaction. \
            A database written by a newer BridgeOS is refused and left untouched.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let configuration = try global.loadConfiguration()
        let logger = global.makeLogger(configuration, label: "bridgeos.migrate")
        try reportingFailures("migrate") {
            let existed = FileManager.default.fileExists(atPath: configuration.databasePath)
            let before = existed ? try Self.appliedMigrations(configuration) : []
            if let backup = try Backups.beforeMigrating(configuration) {
                print("backed up before migrating: \(backup.path)")
            }
            let database = try AppDatabase.open(configuration)
            let state = try database.migrationState()
            let applied = state.applied.filter { !before.contains($0) }
            logger.log(
                level: applied.isEmpty ? .debug : .info, "migrations applied",
                metadata: ["database": "\(configuration.databasePath)", "applied": "\(applied)"])
            print(existed ? "database: \(configuration.databasePath)" : "created \(configuration.databasePath)")
            print(applied.isEmpty
                  ? "schema is up to date: version \(state.userVersion) (\(state.applied.last ?? "none"))"
                  : "applied \(applied.joined(separator: ", ")); schema version \(state.userVersion)")
        }
    }

    private static func appliedMigrations(_ configuration: AppConfiguration) throws -> [String] {
        try StoreInspection(path: configuration.databasePath, options: StoreOptions(configuration)).migrationState().applied
    }
}
