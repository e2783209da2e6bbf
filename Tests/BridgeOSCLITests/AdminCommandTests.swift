import BridgeOSCore
import BridgeOSStorage
import BridgeOSTestSupport
import Foundation
import Testing

@Suite("bridgeos admin")
struct AdminCommandTests {
    @Test("set-password reads the password from stdin (never argv), refuses a short one, and a second run changes it; login-link prints a one-time link")
    func setPassword() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let environment = ["BRIDGEOS_DATA_DIR": directory.appendingPathComponent("data").path]
            let setup = try await bridgeos("admin", "login-link", environment: environment, in: directory)
            #expect(setup.status == 0 && setup.stdout.contains("/admin/setup?token="), "\(setup.stderr)")

            let short = try await bridgeos("admin", "set-password", "--username", "Ada", environment: environment, input: "short\n", in: directory)
            #expect(short.status == 1 && short.stderr.contains("at least 10 characters"))
            let made = try await bridgeos("admin", "set-password", "--username", "Ada", environment: environment, input: "correct horse battery\n", in: directory)
            #expect(made.status == 0 && made.stdout.contains("created dashboard account ada"), "\(made.stderr)")
            #expect(!made.stdout.contains("correct horse") && !made.stderr.contains("correct horse"))
            let database = try AppDatabase.openFile(at: directory.appendingPathComponent("data/bridgeos.sqlite").path)
            let account = try #require(try database.admin.account(username: "ada"))
            #expect(account.passwordHash.hasPrefix("$2b$12$") || account.passwordHash.hasPrefix("$2y$12$") || account.passwordHash.hasPrefix("$2a$12$"))
            let changed = try await bridgeos("admin", "set-password", "--username", "ada", environment: environment, input: "another good password\n", in: directory)
            #expect(changed.status == 0 && changed.stdout.contains("new password set for ada"))
            #expect(try database.admin.account(username: "ada")?.passwordHash != account.passwordHash)

            let link = try await bridgeos("admin", "login-link", "--username", "ada", environment: environment, in: directory)
            #expect(link.status == 0 && link.stdout.contains("/admin/link?token="))
            let missing = try await bridgeos("admin", "login-link", "--username", "bob", environment: environment, in: directory)
            #expect(missing.status == 1 && missing.stderr.contains("no dashboard account bob"))
        }
    }

    @Test("erase-user: asks for the id unless --yes; an unknown id changes nothing")
    func eraseUser() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let path = directory.appendingPathComponent("data/bridgeos.sqlite").path
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
            let database = try AppDatabase.openFile(at: path)
            try database.managers.register(UserProfile(id: 7, displayName: "Marta Ruiz", username: "marta", language: "es", gender: .female), industry: "cleaning")
            let environment = ["BRIDGEOS_DATA_DIR": directory.appendingPathComponent("data").path]
            let refused = try await bridgeos("admin", "erase-user", "7", environment: environment, input: "8\n", in: directory)
            #expect(refused.status == 1 && refused.stderr.contains("not confirmed"))
            #expect(try database.users.find(7)?.displayName == "Marta Ruiz")
            let unknown = try await bridgeos("admin", "erase-user", "99", "--yes", environment: environment, in: directory)
            #expect(unknown.status == 1 && unknown.stderr.contains("no person has the id 99"))
            let erased = try await bridgeos("admin", "erase-user", "7", environment: environment, input: "7\n", in: directory)
            #expect(erased.status == 0 && erased.stdout.contains("erased 7"), "\(erased.stderr)")
            #expect(try database.users.find(7)?.displayName == "Erased user")
            #expect(try database.users.find(7)?.username == nil)
        }
    }
}
