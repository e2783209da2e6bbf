import GRDB

extension DatabaseWriter {
    /// Runs `sql` — a DELETE whose last parameter is the batch size (a `LIMIT ?` in an id subselect, since
    /// Debian's SQLite is built without `DELETE … LIMIT`) — one short transaction per batch, until a batch
    /// deletes fewer rows than `batchSize`. The bots keep writing in between.
    /// - Returns: how many rows were deleted.
    func deleteInBatches(sql: String, arguments: StatementArguments, batchSize: Int) throws -> Int {
        guard batchSize > 0 else { return 0 }
        var total = 0
        while true {
            let deleted = try write { db in
                try db.execute(sql: sql, arguments: arguments + [batchSize])
                return db.changesCount
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }
}
