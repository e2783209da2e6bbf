import BridgeOSCore
import Foundation
import GRDB

/// One open transaction on the store: the only way code outside Storage reads or writes it. Its methods are
/// named for what they mean (`activeConnection(worker:)`, `appendMessage(_:now:)`); the SQL behind them is
/// Storage's, and runs through the connection's statement cache (prepared once per connection).
///
/// A handle is valid only inside the `AppDatabase.write`/`read` closure that produced it.
public struct StoreTransaction {
    let db: Database

    init(_ db: Database) { self.db = db }

    /// Runs `body` after this transaction commits (never if it rolls back).
    public func afterCommit(_ body: @escaping @Sendable () -> Void) {
        db.afterNextTransaction(onCommit: { _ in body() })
    }

    /// Runs `body` in a savepoint: what it wrote is kept if it returns, undone if it throws (the error is
    /// rethrown). The enclosing transaction goes on either way.
    public func savepoint<T>(_ body: () throws -> T) throws -> T {
        var result: T?
        try db.inSavepoint {
            result = try body()
            return .commit
        }
        return result!
    }

    /// Like `savepoint`, but `body` decides: `nil` undoes what it wrote (without an error).
    public func savepointUnlessNil<T>(_ body: () throws -> T?) throws -> T? {
        var result: T?
        try db.inSavepoint {
            result = try body()
            return result == nil ? .rollback : .commit
        }
        return result
    }
}

extension AppDatabase {
    /// One short IMMEDIATE write transaction: everything `body` does commits together, or nothing does.
    public func write<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try writer.write { db in try body(StoreTransaction(db)) }
    }

    /// `write`, without blocking the caller's thread while the transaction waits for the writer.
    public func write<T: Sendable>(_ body: @Sendable (StoreTransaction) throws -> T) async throws -> T {
        try await writer.write { db in try body(StoreTransaction(db)) }
    }

    /// A read-only snapshot (in WAL mode it runs beside the writer).
    public func read<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try writer.read { db in try body(StoreTransaction(db)) }
    }

    // (No async `read`: GRDB's holds a pooled reader across a suspension, and once every cooperative thread
    // waits in a synchronous read for a reader, the suspended one can never resume to give its reader back —
    // a deadlock seen with three readers on two cores. Reads are short; they run on the caller's thread.)
}
