import ArgumentParser
import BridgeOSCore
import BridgeOSOperations
import BridgeOSStorage

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the SQLite library and the database: WAL, integrity, foreign keys, migrations.",
        discussion: "Read-only. Exits 0 when every check passes, 1 when any fails."
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let configuration = try global.loadConfiguration()
        _ = global.makeLogger(configuration, label: "bridgeos.doctor")
        let report = Doctor().run(databasePath: configuration.databasePath, options: StoreOptions(configuration))
        print(Self.render(report))
        if !report.passed { throw ExitCode.failure }
    }

    static func render(_ report: DoctorReport) -> String {
        let width = report.checks.map(\.name.count).max() ?? 0
        var lines = ["bridgeos doctor: \(report.databasePath)"]
        for check in report.checks {
            let status = check.status.rawValue.uppercased().padding(toLength: 7, withPad: " ", startingAt: 0)
            lines.append("  \(status) \(check.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(check.detail)")
        }
        let failed = report.checks.filter { $0.status == .failed }.count
        lines.append(failed == 0 ? "all checks passed" : "\(failed) check(s) failed")
        return lines.joined(separator: "\n")
    }
}
