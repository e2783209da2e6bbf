import ArgumentParser
import AsyncHTTPClient
import BridgeOSCore
import BridgeOSTelegram
import BridgeOSOperations
import BridgeOSStorage
import Foundation

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the installation: SQLite, the database, disk, permissions, backups, queues, tokens, translator.",
        discussion: """
            Read-only unless --fix. Each check is OK, WARN or FAIL, with what to do. Exits 0 when all are OK, \
            2 when the worst is a warning, 1 when any failed. Calls getMe for each bot and the translator once.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Mend what is safe to mend: the permissions of the database and its directories.")
    var fix = false

    func run() async throws {
        let configuration = try global.loadConfiguration()
        let logger = global.makeLogger(configuration, label: "bridgeos.doctor")
        let httpClient = HTTPClient.makeForBotAPI()
        let envFile = global.envFile ?? ProcessInfo.processInfo.environment["BRIDGEOS_ENV_FILE"]
        let report = await Doctor().run(configuration: configuration, fix: fix, httpClient: httpClient, logger: logger, envFile: envFile)
        try? await httpClient.shutdown()
        print(Self.render(report))
        switch report.worst {
        case .failed: throw ExitCode.failure
        case .warning: throw ExitCode(2)
        case .ok: break
        }
    }

    static func render(_ report: DoctorReport) -> String {
        let width = report.checks.map(\.name.count).max() ?? 0
        var lines = ["bridgeos doctor: \(report.databasePath)"]
        for check in report.checks {
            let status = (check.status == .warning ? "WARN" : check.status == .failed ? "FAIL" : "OK").padding(toLength: 5, withPad: " ", startingAt: 0)
            lines.append("  \(status) \(check.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(check.detail)")
        }
        let failed = report.checks.filter { $0.status == .failed }.count
        let warned = report.checks.filter { $0.status == .warning }.count
        lines.append(failed > 0 ? "\(failed) check(s) failed" : warned > 0 ? "no check failed; \(warned) warning(s)" : "all checks passed")
        return lines.joined(separator: "\n")
    }
}
