import BridgeOSApp
import BridgeOSBillingSandbox
import BridgeOSCore
import BridgeOSDashboard
import BridgeOSStorage
import BridgeOSTelegramSandbox
import Foundation
import Logging

extension Demo {
    /// `bridgeos demo --interactive`: the appliance and the sandbox keep running in this process, and the
    /// appliance's HTTP server also serves the `/sandbox` web chat. Stops on SIGINT or SIGTERM.
    /// - Parameter listen: "host:port" for the HTTP server (loopback unless the caller says otherwise).
    public static func runInteractive(configuration: AppConfiguration, listen: String, logger: Logger) async throws {
        // host:port, or [IPv6]:port.
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port)
        else { throw SetupError(description: "--listen \(listen): expected host:port, e.g. 127.0.0.1:8080") }
        let bracketed = String(listen[..<colon])
        let host = bracketed.hasPrefix("[") && bracketed.hasSuffix("]") ? String(bracketed.dropFirst().dropLast()) : bracketed
        guard !host.isEmpty else { throw SetupError(description: "--listen \(listen): expected host:port, e.g. 127.0.0.1:8080") }
        let directory = URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true)
        try prepare(directory)
        let provider = configuration.translation.hasProvider
        let out = DemoOutput()
        let lemon = LemonSqueezySandbox()
        try await BotAPISandbox.run(bots: bots()) { sandbox in try await lemon.run { lemonURL in
            var settings = configuration
            // /subscription answers with a checkout link from the LemonSqueezy stand-in (nothing leaves the machine).
            settings.business.lemonSqueezyAPIURL = lemonURL
            settings.business.lemonSqueezyAPIKey = lemon.apiKey
            settings.business.lemonSqueezyStoreID = lemon.storeID
            settings.business.lemonSqueezyVariantID = lemon.variantID
            settings.business.lemonSqueezyWebhookSecret = lemon.signingSecret
            for (index, bot) in sandbox.bots.enumerated() { settings.botTokens[index + 1] = bot.token.secret }
            settings.telegramAPIURL = sandbox.baseURL
            settings.httpHost = host
            settings.httpPort = port
            if !provider { settings.translation.translator = "phrasebook" }
            let launched: LaunchedAppliance
            do {
                launched = try await Appliance.launch(configuration: settings, logger: logger, routes: [SandboxWebChat(sandbox: sandbox)]) { [settings] port in
                    let shown = ["0.0.0.0", "::"].contains(host) ? "127.0.0.1" : host.contains(":") ? "[\(host)]" : host
                    out.line("BridgeOS demo, interactive: open http://\(shown):\(port)/sandbox")
                    if let link = await dashboardLink(settings, base: "http://\(shown):\(port)", logger: logger) {
                        out.line("The admin dashboard (one-time sign-in link, 15 minutes): \(link)")
                    }
                    out.note("The real appliance runs with all five bots against the built-in sandbox; data in \(directory.path). Stop with Ctrl-C.")
                    if !provider {
                        out.note("Translation: the demo phrasebook (it knows the story's sentences; anything else is marked untranslated). Set BRIDGEOS_TRANSLATOR=openai and OPENAI_* for a real provider, local or hosted.")
                    }
                    if !["127.0.0.1", "localhost", "::1"].contains(host) {
                        out.note("Warning: the sandbox listens on \(host), not only this machine; it has no login.")
                    }
                }
            } catch {
                throw SetupError(description: "\(error)")
            }
            do {
                try await launched.run()
            } catch {
                throw SetupError(description: "the appliance stopped: \(error) (is \(listen) free? --listen host:port picks another address)")
            }
        } }
    }

    /// A one-time sign-in link to the dashboard, as the demo's admin (an account with a random password,
    /// made the first time; `bridgeos admin set-password --username demo` sets one you know).
    static func dashboardLink(_ configuration: AppConfiguration, base: String, logger: Logger) async -> String? {
        do {
            let database = try AppDatabase.open(configuration)
            let account: AdminAccount
            if let existing = try database.admin.account(username: "demo") {
                account = existing
            } else {
                let password = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 36) }.joined()
                account = try database.admin.setPassword(username: "demo", passwordHash: try await Passwords.hash(password)).account
            }
            return "\(base)/admin/link?token=\(try database.admin.makeLink(account: account.id, validFor: 15 * 60))"
        } catch {
            logger.warning("no dashboard link for the demo", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
