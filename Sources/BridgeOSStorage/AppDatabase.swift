import BridgeOSCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// Options for opening the SQLite store.
public struct StoreOptions: Sendable, Equatable {
    public var synchronous: SQLiteSynchronous
    /// How long a writer waits for another connection's or process's write lock (SQLITE_BUSY).
    /// GRDB's default fails at once, which breaks as soon as the CLI and the daemon both write.
    public var busyTimeout: Duration

    public init(synchronous: SQLiteSynchronous = .normal, busyTimeout: Duration = .seconds(5)) {
        self.synchronous = synchronous
        self.busyTimeout = busyTimeout
    }

    public init(_ configuration: AppConfiguration) {
        self.init(synchronous: configuration.sqliteSynchronous, busyTimeout: configuration.sqliteBusyTimeout)
    }
}

/// The BridgeOS store: owns the SQLite connection(s) and the schema, and hands out repositories.
///
/// Creating an `AppDatabase` migrates the database, so an un-migrated store cannot exist. Every
/// repository write is one short IMMEDIATE transaction.
public struct AppDatabase: Sendable {
    /// Oldest SQLite the schema supports: STRICT tables need 3.37.
    public static let minimumSQLiteVersion = (number: Int32(3_037_000), text: "3.37")

    public let writer: any DatabaseWriter
    public let clock: any WallClock
    let makeManagerCode: @Sendable () -> String

    /// Wraps an opened database and migrates it.
    ///
    /// - Parameter makeManagerCode: source of candidate manager codes (injected so tests can force collisions).
    public init(
        _ writer: any DatabaseWriter,
        clock: any WallClock = SystemWallClock(),
        makeManagerCode: @escaping @Sendable () -> String = { ManagerCode.random() }
    ) throws {
        self.writer = writer
        self.clock = clock
        self.makeManagerCode = makeManagerCode
        try Self.migrate(writer)
    }

    /// Opens (creating if needed) the database file at `path` as a WAL-mode `DatabasePool`.
    public static func openFile(
        at path: String,
        options: StoreOptions = StoreOptions(),
        clock: any WallClock = SystemWallClock(),
        makeManagerCode: @escaping @Sendable () -> String = { ManagerCode.random() }
    ) throws -> AppDatabase {
        try requireSupportedSQLite()
        // Conversations are private: a new database file is readable by its owner only (its -wal and -shm
        // take the same mode). O_EXCL: never touches a file another process created meanwhile.
        #if canImport(Glibc)
        let created = Glibc.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if created >= 0 { Glibc.close(created) }
        #else
        let created = Darwin.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if created >= 0 { Darwin.close(created) }
        #endif
        // Switching a new file to WAL takes an exclusive lock that SQLite's busy handler does not wait for:
        // when several processes open a new file at once, the losers retry for up to the busy timeout.
        let deadline = ContinuousClock.now + options.busyTimeout
        var pool: DatabasePool
        while true {
            do {
                pool = try DatabasePool(path: path, configuration: configuration(options))
                break
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        // GRDB's WAL set-up runs after `prepareDatabase` and sets NORMAL on the pool's single writer
        // connection, so the chosen level is applied here, once, to that connection.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(options.synchronous.rawValue)")
        }
        return try AppDatabase(pool, clock: clock, makeManagerCode: makeManagerCode)
    }

    /// Opens the store in `configuration.dataDirectory`, creating the directory if needed.
    public static func open(
        _ configuration: AppConfiguration, clock: any WallClock = SystemWallClock()
    ) throws -> AppDatabase {
        do {
            // Conversations are private: a directory BridgeOS creates is readable by its own user only.
            try FileManager.default.createDirectory(
                atPath: configuration.dataDirectory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError.dataDirectoryUnavailable(
                path: configuration.dataDirectory, reason: (error as NSError).localizedDescription)
        }
        return try openFile(at: configuration.databasePath, options: StoreOptions(configuration), clock: clock)
    }

    /// The GRDB configuration every BridgeOS connection uses.
    public static func configuration(_ options: StoreOptions, readonly: Bool = false) -> GRDB.Configuration {
        var config = GRDB.Configuration()
        config.foreignKeysEnabled = true
        config.readonly = readonly
        let seconds = Double(options.busyTimeout.components.seconds)
            + Double(options.busyTimeout.components.attoseconds) / 1e18
        config.busyMode = .timeout(seconds)
        // A reader's page cache is dropped whenever another connection wrote (WAL), so a large one buys
        // nothing but memory that grows with the file: readers keep 512 KiB, the writer SQLite's 2 MiB.
        config.prepareDatabase { db in
            if db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -512") }
        }
        return config
    }

    /// Refuses SQLite libraries that cannot run the schema.
    public static func requireSupportedSQLite() throws {
        guard Database.sqliteLibVersionNumber >= minimumSQLiteVersion.number else {
            throw StoreError.sqliteTooOld(found: sqliteVersionText, required: minimumSQLiteVersion.text)
        }
    }

    /// e.g. "3.40.1"
    public static var sqliteVersionText: String {
        let number = Int(Database.sqliteLibVersionNumber)
        return "\(number / 1_000_000).\(number / 1000 % 1000).\(number % 1000)"
    }

    /// Applies pending migrations; refuses a database written by a newer binary.
    ///
    /// Safe when several processes open a new file at once: each migration is one IMMEDIATE transaction,
    /// and a process that loses the race to another one's identical migration re-reads the applied set
    /// and carries on.
    static func migrate(_ writer: any DatabaseWriter) throws {
        let migrator = try SchemaMigrations.migrator()
        let known = try SchemaMigrations.all().map(\.identifier)
        // A process that loses a race has seen another apply at least one migration: it may lose at most once
        // per migration, so the attempts are bounded by their number (not by a fixed count, which twelve
        // processes opening a new file at once could exhaust).
        let attempts = known.count + 2
        for attempt in 1...attempts {
            let (superseded, complete, applied) = try writer.read { db in
                (try migrator.hasBeenSuperseded(db), try migrator.hasCompletedMigrations(db),
                 try migrator.appliedIdentifiers(db))
            }
            if superseded {
                throw StoreError.newerSchema(
                    unknownMigrations: applied.subtracting(known).sorted(), knownLatest: known.last ?? "none")
            }
            if complete { return }
            do {
                try migrator.migrate(writer)
                return
            } catch {
                // Another process may have applied the same migration between our read and our write.
                let advanced = try writer.read { try migrator.appliedIdentifiers($0) }
                if attempt == attempts || advanced == applied { throw error }
            }
        }
    }

    /// The identifiers of all migrations this binary knows, in order.
    public static func knownMigrations() throws -> [String] {
        try SchemaMigrations.all().map(\.identifier)
    }

    // MARK: Repositories

    public var users: UserRepository { UserRepository(writer: writer, clock: clock) }
    public var managers: ManagerRepository {
        ManagerRepository(writer: writer, clock: clock, makeCode: makeManagerCode)
    }
    public var workers: WorkerRepository { WorkerRepository(writer: writer, clock: clock) }
    public var connections: ConnectionRepository { ConnectionRepository(writer: writer, clock: clock) }
    public var messages: MessageRepository { MessageRepository(writer: writer, clock: clock) }
    public var tasks: TaskRepository { TaskRepository(writer: writer, clock: clock) }
    public var usage: UsageRepository { UsageRepository(writer: writer, clock: clock) }
    public var subscriptions: SubscriptionRepository { SubscriptionRepository(writer: writer, clock: clock) }
    public var feedback: FeedbackRepository { FeedbackRepository(writer: writer, clock: clock) }
    public var updateLog: UpdateLog { UpdateLog(writer: writer, clock: clock) }
    public var outbox: OutboxRepository { OutboxRepository(writer: writer, clock: clock) }
    public var jobs: JobRepository { JobRepository(writer: writer, clock: clock) }
}

/// Manager codes: short, human-readable, [A-Za-z0-9] only.
public enum ManagerCode {
    /// Upper-case letters and digits without the look-alikes 0/O, 1/I/L, so a code read aloud or copied by
    /// hand survives. 31 symbols.
    public static let alphabet = Array("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
    /// 31^8 ≈ 8.5·10^11 codes: with 100,000 managers a new code hits an existing one with probability
    /// ≈ 1.2·10^-7, and registration checks for that and draws again.
    public static let length = 8

    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func random(using generator: inout some RandomNumberGenerator) -> String {
        String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }

    /// Whether `code` has the shape of a manager code (any case; codes are matched case-insensitively).
    public static func isWellFormed(_ code: String) -> Bool {
        (6...32).contains(code.count) && code.unicodeScalars.allSatisfy {
            ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0)
        }
    }
}
