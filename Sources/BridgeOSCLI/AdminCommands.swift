import ArgumentParser
import BridgeOSCore
import BridgeOSDashboard
import BridgeOSStorage
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `bridgeos admin`: the dashboard's accounts and links, and erasure of a person.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Dashboard accounts, one-time sign-in links, and erasing a person.",
        subcommands: [SetPasswordCommand.self, LoginLinkCommand.self, EraseUserCommand.self]
    )
}

/// `bridgeos admin set-password`: creates a dashboard account, or gives it a new password (its sessions end).
/// The password is read from the terminal without echo, or from stdin when that is not a terminal — never
/// from the command line, where other users and the shell history would see it.
struct SetPasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-password",
        abstract: "Create a dashboard account or set its password (read from a prompt or stdin, never argv).",
        discussion: "Safe while `bridgeos serve` runs. Example: bridgeos admin set-password --username ada"
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The account name (letters, digits, . _ @ -).")
    var username = "admin"

    func run() async throws {
        let configuration = try global.loadConfiguration()
        try await reportingFailures("admin set-password") {
            let name = try AdminRepository.normalizedUsername(username)
            let password: String
            if isatty(STDIN_FILENO) == 1 {
                password = try Self.prompt("New password for \(name): ")
                guard try Self.prompt("The same password again: ") == password else { throw AdminCommandError("the two passwords differ; nothing changed") }
            } else {
                password = readLine(strippingNewline: true) ?? ""
            }
            if let problem = Passwords.problem(with: password) { throw AdminCommandError("the password must be \(problem); nothing changed") }
            let database = try AppDatabase.open(configuration)
            let hash = try await Passwords.hash(password)
            let (account, created) = try database.admin.setPassword(username: name, passwordHash: hash)
            print(created ? "created dashboard account \(account.username)" : "new password set for \(account.username); its sessions were ended")
            print("sign in at \(configuration.dashboardBaseURL)/admin/login")
        }
    }

    /// Reads a line from the terminal with echo off.
    static func prompt(_ text: String) throws -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        let hasTerminal = tcgetattr(STDIN_FILENO, &saved) == 0
        if hasTerminal {
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        }
        defer {
            if hasTerminal { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else { throw AdminCommandError("no password given; nothing changed") }
        return line
    }
}

/// `bridgeos admin login-link`: a one-time link that signs an account in (15 minutes), or, with no account
/// yet, the setup link for the first one (24 hours).
struct LoginLinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login-link",
        abstract: "Print a one-time sign-in link (or, before any account exists, the setup link)."
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The account to sign in.")
    var username = "admin"

    func run() async throws {
        let configuration = try global.loadConfiguration()
        try reportingFailures("admin login-link") {
            let database = try AppDatabase.open(configuration)
            let base = configuration.dashboardBaseURL
            if try database.admin.accountCount() == 0 {
                let token = try database.admin.makeLink(account: nil, validFor: 24 * 3600)
                print("no dashboard account yet; create the first one (link valid 24 hours, once):")
                print("\(base)/admin/setup?token=\(token)")
                return
            }
            guard let account = try database.admin.account(username: username) else {
                throw AdminCommandError("no dashboard account \(username); create it with `bridgeos admin set-password --username \(username)`")
            }
            let token = try database.admin.makeLink(account: account.id, validFor: 15 * 60)
            print("sign in as \(account.username) (link valid 15 minutes, once):")
            print("\(base)/admin/link?token=\(token)")
        }
    }
}

/// `bridgeos admin erase-user ID`: erases a person (the rule is in the README); asks first unless --yes.
struct EraseUserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase-user",
        abstract: "Erase a person: name, username and conversation texts removed; counts and billing kept.",
        discussion: "Safe while `bridgeos serve` runs. Cannot be undone (backups taken before keep the texts until they are rotated)."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The person's Telegram user id.")
    var id: Int64

    @Flag(name: .long, help: "Do not ask for confirmation.")
    var yes = false

    func run() async throws {
        let configuration = try global.loadConfiguration()
        try await reportingFailures("admin erase-user") {
            guard id > 0 else { throw AdminCommandError("a Telegram user id is a positive number") }
            let database = try AppDatabase.open(configuration)
            guard let person = try database.dashboard.person(id) else { throw AdminCommandError("no person has the id \(id); nothing changed") }
            if !yes {
                FileHandle.standardError.write(Data("Erase \(person.user.displayName) (\(person.role), \(id))? This cannot be undone. Type the id to confirm: ".utf8))
                guard readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces) == String(id) else {
                    throw AdminCommandError("not confirmed; nothing changed")
                }
            }
            let now = database.clock.now()
            let report = try await database.write { tx in try tx.eraseUser(id, now: now) }
            print("erased \(id): \(report.messages) messages, \(report.tasks) tasks and \(report.feedback) feedback texts removed, "
                  + "\(report.outboxRows) sent calls deleted, \(report.connectionsEnded) connections ended")
        }
    }
}

struct AdminCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
