import ArgumentParser
import BridgeOSCore
import BridgeOSStorage
import Foundation

/// Appends conversation messages to a database as fast as it can, one transaction each, until killed: the
/// "separate process writing continuously" of the backup tests and benchmark. Prints the id of every
/// 100th message it committed.
struct WriteLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write-load",
        abstract: "Append messages to a database continuously, one transaction each, until killed."
    )

    @Option(help: "Path of the SQLite database file (migrated).")
    var database: String

    @Option(help: "Characters per message (a larger value grows the file faster).")
    var size = 200

    @Option(help: "Messages per second (0: as fast as possible).")
    var rate: Double = 0

    func run() async throws {
        let store = try AppDatabase.openFile(at: database)
        if try store.managers.find(9_000_001) == nil {
            try store.managers.register(UserProfile(id: 9_000_001, displayName: "Load manager", language: "en", gender: .unspecified), industry: "other")
            try store.workers.register(UserProfile(id: 9_000_002, displayName: "Load worker", language: "es", gender: .unspecified))
            try store.connections.connect(manager: 9_000_001, worker: 9_000_002, slot: BotSlot(1)!)
        }
        guard let connection = try store.connections.active(worker: 9_000_002) else { throw ValidationError("no load connection") }
        let text = String(repeating: "x", count: max(1, size))
        var count = 0
        while true {
            let message = try store.messages.append(NewMessage(
                connectionID: connection.id, senderID: 9_000_001, originalText: text, sourceLanguage: "en", targetLanguage: "es"))
            count += 1
            if count % 100 == 0 { FileHandle.standardOutput.write(Data("\(message.id)\n".utf8)) }
            if rate > 0 { try await Task.sleep(for: .seconds(1 / rate)) }
        }
    }
}
