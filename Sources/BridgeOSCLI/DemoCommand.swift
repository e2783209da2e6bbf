import ArgumentParser
import BridgeOSCore
import BridgeOSDemo
import Foundation

/// `bridgeos demo`: the real appliance against the built-in Bot API sandbox, no tokens needed.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "See BridgeOS work, without tokens: five bots, a manager and two workers, translation, a crash.",
        discussion: """
            Runs bridgeos serve (all five slots, a real SQLite file) against the built-in Bot API sandbox and plays \
            a scripted story with simulated people, printing what each of them sees; exits 0 when every check \
            held. With --interactive it keeps running and serves a web chat at /sandbox where you play the \
            people yourself. Translation uses BRIDGEOS_TRANSLATOR=openai (and OPENAI_*) when set, otherwise a \
            built-in phrasebook that knows the story's sentences.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Keep the appliance running and serve a web chat at /sandbox to try every flow by hand.")
    var interactive = false

    @Option(name: .long, help: ArgumentHelp("With --interactive: where the web chat listens.", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    func run() async throws {
        var configuration = try global.loadConfiguration()
        let logger = global.makeLogger(configuration, label: "bridgeos.demo")
        let directory: URL
        do {
            directory = try global.dataDir.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? Demo.temporaryDataDirectory()
        } catch {
            printError("bridgeos demo: \(error)")
            throw ExitCode.failure
        }
        configuration.dataDirectory = directory.path
        do {
            if interactive {
                try await Demo.runInteractive(configuration: configuration, listen: listen, logger: logger)
                return
            }
            guard try await Demo.runStory(configuration: configuration, dataDirectory: directory, logger: logger) else {
                throw ExitCode.failure
            }
        } catch let error as Demo.SetupError {
            printError("bridgeos demo: \(error)")
            throw ExitCode(78)
        }
    }
}
