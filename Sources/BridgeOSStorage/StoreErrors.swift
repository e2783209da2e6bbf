import BridgeOSCore
import GRDB

/// A store-level failure, described in one line a person can act on.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The SQLite library is older than the features the schema relies on (STRICT tables, RETURNING).
    case sqliteTooOld(found: String, required: String)
    /// The database was migrated by a newer BridgeOS: this binary does not know these migrations.
    case newerSchema(unknownMigrations: [String], knownLatest: String)
    /// The data directory could not be created.
    case dataDirectoryUnavailable(path: String, reason: String)
    /// SQLite answered in a way its documentation rules out (e.g. INSERT … RETURNING without a row).
    case unexpectedResult(String)
    /// The schema has something the move to PostgreSQL cannot carry (a table without a key, an unknown type).
    case unsupportedSchema(String)
    /// A value cannot be carried as it is (e.g. a NUL character, which PostgreSQL text cannot hold).
    case notPortable(String)
    /// An import's destination already exists: an import never overwrites a database.
    case destinationExists(String)

    public var description: String {
        switch self {
        case let .sqliteTooOld(found, required):
            "SQLite \(found) is too old: BridgeOS needs SQLite \(required) or newer (install a newer libsqlite3)"
        case let .newerSchema(unknown, knownLatest):
            "the database was written by a newer BridgeOS (it has migrations \(unknown.joined(separator: ", ")); "
                + "this binary knows up to \(knownLatest)): upgrade bridgeos or restore a backup"
        case let .dataDirectoryUnavailable(path, reason):
            "cannot use data directory \(path): \(reason)"
        case let .unexpectedResult(what):
            "unexpected database result: \(what)"
        case let .unsupportedSchema(what):
            "the schema cannot be moved: \(what)"
        case let .notPortable(what):
            "a value cannot be moved: \(what)"
        case let .destinationExists(path):
            "\(path) already exists; an import never overwrites a database (import into a new file with --output)"
        }
    }
}

/// The slot already has an active worker: the partial unique index on (manager_id, bot_slot) refused a second.
public struct SlotOccupied: Error, Equatable, CustomStringConvertible {
    public let managerID: Int64
    public let slot: BotSlot
    /// The active connection holding the slot.
    public let occupant: Connection

    public var description: String { "manager \(managerID)'s \(slot) is already taken by worker \(occupant.workerID)" }
}

/// The worker already has an active connection: the partial unique index on worker_id refused a second.
public struct WorkerAlreadyConnected: Error, Equatable, CustomStringConvertible {
    public let workerID: Int64
    /// The worker's current active connection.
    public let existing: Connection

    public var description: String {
        "worker \(workerID) is already connected to manager \(existing.managerID) in \(existing.slot)"
    }
}

/// A repository call that cannot proceed because of the state of the data (not a database fault).
public enum DomainError: Error, Equatable, CustomStringConvertible {
    case userNotFound(Int64)
    case managerNotFound(Int64)
    case workerNotFound(Int64)
    case connectionNotFound(Int64)
    case taskNotFound(Int64)
    case feedbackNotFound(Int64)
    /// The user is already registered in the other role (a person is a manager or a worker, not both).
    case roleConflict(userID: Int64, existingRole: Role)
    /// The connection is no longer active, so nothing new can be attached to it.
    case connectionNotActive(Int64)
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .userNotFound(id): "user \(id) is not registered"
        case let .managerNotFound(id): "manager \(id) is not registered (or was deleted)"
        case let .workerNotFound(id): "worker \(id) is not registered (or was deleted)"
        case let .connectionNotFound(id): "connection \(id) does not exist"
        case let .taskNotFound(id): "task \(id) does not exist"
        case let .feedbackNotFound(id): "feedback \(id) does not exist"
        case let .roleConflict(userID, role): "user \(userID) is already registered as a \(role.rawValue)"
        case let .connectionNotActive(id): "connection \(id) is not active"
        case let .invalidInput(reason): reason
        }
    }
}

/// Failures of the store itself — the database is locked by another process, the disk is full, an I/O
/// error, a read-only file — as opposed to a handler refusing the data. They say nothing about the update
/// or row being handled: the work is kept and tried again until the store works again.
public enum StoreFailure {
    public static func isEnvironmental(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN,
             .SQLITE_NOMEM, .SQLITE_PROTOCOL, .SQLITE_INTERRUPT, .SQLITE_NOLFS:
            return true
        default:
            return false
        }
    }
}
