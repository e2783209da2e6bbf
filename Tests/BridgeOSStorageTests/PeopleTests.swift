import BridgeOSCore
import Foundation
import GRDB
import Synchronization
import Testing
@testable import BridgeOSStorage

/// Hands out the given codes in order, then random ones.
final class ScriptedCodes: Sendable {
    private let codes: Mutex<[String]>
    init(_ codes: [String]) { self.codes = Mutex(codes) }
    func next() -> String { codes.withLock { $0.isEmpty ? ManagerCode.random() : $0.removeFirst() } }
}

@Suite("Users, managers, workers")
struct PeopleTests {
    @Test("saving a user creates it, saving again updates the profile in place")
    func userUpsert() throws {
        let clock = ManualWallClock()
        try withStore(clock: clock) { database, _ in
            let created = try database.users.save(
                UserProfile(id: 42, displayName: "  María ✨  ", username: "maria", language: "es", gender: .female))
            #expect(created.displayName == "María ✨")
            clock.advance(by: 10)
            let updated = try database.users.save(
                UserProfile(id: 42, displayName: "María G.", username: nil, language: "pt-BR", gender: .unspecified))
            #expect(updated.createdAt == created.createdAt)
            #expect(updated.updatedAt == clock.now())
            #expect(try database.users.find(42) == updated)
            #expect(try database.writer.read { try User.fetchCount($0) } == 1)
            #expect(try database.users.setLanguage(42, to: "uk").language == "uk")
        }
    }

    @Test("bad profile input gets a clear error and stores nothing")
    func userValidation() throws {
        try withStore { database, _ in
            #expect(throws: DomainError.invalidInput("display name must not be empty")) {
                try database.users.save(UserProfile(id: 1, displayName: "   ", language: "en", gender: .male))
            }
            #expect(throws: DomainError.invalidInput("language 'english!' is not a language code")) {
                try database.users.save(UserProfile(id: 1, displayName: "A", language: "english!", gender: .male))
            }
            #expect(throws: DomainError.invalidInput("Telegram user id must be positive")) {
                try database.users.save(UserProfile(id: -5, displayName: "A", language: "en", gender: .male))
            }
            #expect(throws: DomainError.self) {
                try database.users.save(UserProfile(id: 1, displayName: String(repeating: "x", count: 257), language: "en", gender: .male))
            }
            let users = try database.writer.read { try User.fetchCount($0) }
            #expect(users == 0)
        }
    }

    @Test("a manager gets a readable unique code, found case-insensitively")
    func managerCode() throws {
        try withStore { database, _ in
            let manager = try database.managers.register(profile(1), industry: "restaurant", timeZone: "Europe/Madrid")
            #expect(manager.code.count == ManagerCode.length)
            #expect(manager.code.allSatisfy { ManagerCode.alphabet.contains($0) })
            #expect(try database.managers.find(code: manager.code.lowercased()) == manager)
            #expect(try database.managers.find(code: "no-such-code!") == nil)
            #expect(try database.users.role(of: 1) == .manager)
        }
    }

    @Test("a code that already exists is never handed out again")
    func codeCollisionRedraws() throws {
        let codes = ScriptedCodes(["AAAA2222", "AAAA2222", "bad code", "BBBB3333"])
        try withStore(makeManagerCode: { codes.next() }) { database, _ in
            let first = try database.managers.register(profile(1), industry: "retail")
            let second = try database.managers.register(profile(2), industry: "retail")
            #expect(first.code == "AAAA2222")
            #expect(second.code == "BBBB3333")
        }
    }

    @Test("manager input is validated")
    func managerValidation() throws {
        try withStore { database, _ in
            #expect(throws: DomainError.invalidInput("'Mars/Olympus' is not a known time zone")) {
                try database.managers.register(profile(1), industry: "retail", timeZone: "Mars/Olympus")
            }
            #expect(throws: DomainError.self) { try database.managers.register(profile(1), industry: "Fast Food!") }
            let user = try database.users.find(1)
            #expect(user == nil)
        }
    }

    @Test("a person is a manager or a worker, not both")
    func roleConflict() throws {
        try withStore { database, _ in
            try database.managers.register(profile(1), industry: "retail")
            try database.workers.register(profile(2))
            #expect(throws: DomainError.roleConflict(userID: 1, existingRole: .manager)) {
                try database.workers.register(profile(1))
            }
            #expect(throws: DomainError.roleConflict(userID: 2, existingRole: .worker)) {
                try database.managers.register(profile(2), industry: "retail")
            }
            // After a soft delete the other role is open (e.g. a former worker starts their own team).
            try database.workers.softDelete(2)
            #expect(try database.managers.register(profile(2), industry: "retail").id == 2)
        }
    }

    @Test("soft-deleting a manager disconnects everyone, keeps history, and re-registering restores the code")
    func managerSoftDelete() throws {
        let clock = ManualWallClock()
        try withStore(clock: clock) { database, _ in
            let a = try database.makeConnection(manager: 1, worker: 10, slot: 1)
            let b = try database.makeConnection(manager: 1, worker: 11, slot: 2)
            try database.messages.append(NewMessage(
                connectionID: a.id, senderID: 1, originalText: "Hola", sourceLanguage: "en", targetLanguage: "es"))
            try database.tasks.create(connection: b.id, description: "Sweep the floor")
            let code = try #require(try database.managers.find(1)).code

            clock.advance(by: 5)
            let ended = try database.managers.softDelete(1)
            #expect(Set(ended.map(\.workerID)) == [10, 11])
            #expect(ended.allSatisfy { $0.status == .disconnected && $0.disconnectedAt == clock.now() })
            #expect(try database.managers.softDelete(1).isEmpty)  // idempotent
            #expect(try database.managers.find(1) == nil)
            #expect(try database.managers.find(1, includeDeleted: true)?.deletedAt == clock.now())
            #expect(try database.managers.find(code: code) == nil)
            #expect(try database.users.role(of: 1) == nil)
            // History is still there.
            #expect(try database.messages.count(connection: a.id) == 1)
            #expect(try database.tasks.forManager(1).flatMap(\.tasks).count == 1)
            #expect(try database.connections.history(manager: 1).count == 2)

            let restored = try database.managers.register(profile(1), industry: "cleaning")
            #expect(restored.code == code)
            #expect(restored.deletedAt == nil)
            #expect(restored.industry == "cleaning")
            #expect(try database.connections.active(manager: 1).isEmpty)
        }
    }

    @Test("soft-deleting a worker ends their connection and keeps the messages")
    func workerSoftDelete() throws {
        try withStore { database, _ in
            let connection = try database.makeConnection(manager: 1, worker: 10, slot: 1)
            try database.messages.append(NewMessage(
                connectionID: connection.id, senderID: 10, originalText: "Listo", sourceLanguage: "es", targetLanguage: "en"))
            let ended = try #require(try database.workers.softDelete(10))
            #expect(ended.id == connection.id && ended.status == .disconnected)
            #expect(try database.workers.softDelete(10) == nil)
            #expect(try database.workers.find(10) == nil)
            #expect(try database.messages.count(connection: connection.id) == 1)
            // Re-registering restores the worker, who can then be connected again.
            try database.workers.register(profile(10))
            #expect(try database.connections.connect(manager: 1, worker: 10, slot: BotSlot(1)!).id != connection.id)
        }
    }

    @Test("no repository call can leave a dangling reference")
    func foreignKeys() throws {
        try withStore { database, _ in
            #expect(throws: DomainError.connectionNotFound(77)) {
                try database.messages.append(NewMessage(
                    connectionID: 77, senderID: 1, originalText: "x", sourceLanguage: "en", targetLanguage: "es"))
            }
            #expect(throws: DomainError.connectionNotFound(77)) { try database.tasks.create(connection: 77, description: "x") }
            #expect(throws: DomainError.userNotFound(5)) { try database.feedback.submit(user: 5, message: "hi") }
            #expect(throws: DomainError.managerNotFound(5)) { try database.usage.increment(manager: 5, limit: 10) }
            #expect(throws: DomainError.managerNotFound(5)) {
                try database.subscriptions.record(SubscriptionUpdate(managerID: 5, externalID: "sub_1", status: .active))
            }
            // And the schema enforces the same below the repositories.
            let error = try #require(throws: DatabaseError.self) {
                try database.writer.write { db in
                    try db.execute(sql: "INSERT INTO workers (id, created_at, updated_at) VALUES (99, '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')")
                }
            }
            #expect(error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY)
            #expect(try database.writer.read { try Row.fetchAll($0, sql: "PRAGMA foreign_key_check") }.isEmpty)
        }
    }
}
