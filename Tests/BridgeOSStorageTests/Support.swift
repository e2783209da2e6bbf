import BridgeOSCore
import BridgeOSTestSupport
import Foundation
import GRDB
@testable import BridgeOSStorage

/// A migrated database in a real temp file (WAL and concurrency need a file, not memory).
func withStore<T>(
    clock: ManualWallClock = ManualWallClock(),
    makeManagerCode: @escaping @Sendable () -> String = { ManagerCode.random() },
    _ body: (AppDatabase, String) throws -> T
) throws -> T {
    try withTemporaryDirectory { directory in
        let path = directory.appendingPathComponent("bridgeos.sqlite").path
        return try body(try AppDatabase.openFile(at: path, clock: clock, makeManagerCode: makeManagerCode), path)
    }
}

/// `withStore` for tests that race tasks.
func withStoreAsync<T>(_ body: (AppDatabase, String) async throws -> T) async throws -> T {
    try await withTemporaryDirectoryAsync { directory in
        let path = directory.appendingPathComponent("bridgeos.sqlite").path
        return try await body(try AppDatabase.openFile(at: path, clock: ManualWallClock()), path)
    }
}

func profile(_ id: Int64, _ name: String? = nil, language: String = "en", gender: Gender = .unspecified) -> UserProfile {
    UserProfile(id: id, displayName: name ?? "User \(id)", language: language, gender: gender)
}

extension AppDatabase {
    /// Registers manager `managerID` and worker `workerID` and connects them through `slot`.
    @discardableResult
    func makeConnection(manager managerID: Int64, worker workerID: Int64, slot: Int = 1) throws -> Connection {
        if try managers.find(managerID) == nil {
            try managers.register(profile(managerID, language: "en"), industry: "construction")
        }
        if try workers.find(workerID) == nil {
            try workers.register(profile(workerID, language: "es"))
        }
        return try connections.connect(manager: managerID, worker: workerID, slot: BotSlot(slot)!)
    }
}

/// The package root, found from this file's path (Tests/BridgeOSStorageTests/Support.swift).
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
