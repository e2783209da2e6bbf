import Foundation

/// Why an export or import stopped, in words an operator can act on.
public enum MoveError: Error, Equatable, CustomStringConvertible {
    /// Something the operator typed or pointed at is wrong (a URL, a path, an option).
    case invalidInput(String)
    /// The target is not one an export may write into (not empty, another schema version, not UTF-8).
    case targetRefused(String)
    /// The source is not one this binary can move (pending migrations, a newer schema).
    case sourceRefused(String)
    /// A value PostgreSQL or SQLite cannot hold as it is.
    case notRepresentable(String)
    /// A file or server answer that is not what BridgeOS writes.
    case unreadable(String)
    /// The PostgreSQL server could not be reached or refused a statement.
    case postgres(String)

    public var description: String {
        switch self {
        case let .invalidInput(what): what
        case let .targetRefused(what): "refused: \(what)"
        case let .sourceRefused(what): "cannot move this database: \(what)"
        case let .notRepresentable(what): "a value cannot be moved: \(what)"
        case let .unreadable(what): "unreadable input: \(what)"
        case let .postgres(what): "PostgreSQL: \(what)"
        }
    }
}
