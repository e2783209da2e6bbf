import BridgeOSStorage
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// SQL that the dump file and a live load share.
enum PostgresLoad {
    static func quoted(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    static func migrationsTableSQL(_ identifiers: [String]) -> String {
        """
        CREATE TABLE \(PostgresSchema.migrationsTable) (
            identifier  TEXT PRIMARY KEY,
            applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        INSERT INTO \(PostgresSchema.migrationsTable) (identifier) VALUES \(identifiers.map { "(\(literal($0)))" }.joined(separator: ", "));
        """
    }

    /// Sets a table's identity sequence so its next id is above `floor` (a table without one is left alone:
    /// `setval` of NULL is NULL).
    static func setvalSQL(table: String, column: String, floor: Int64) -> String {
        let sequence = "pg_get_serial_sequence(\(literal(quoted(table))), \(literal(column)))"
        return floor > 0
            ? "SELECT setval(\(sequence), \(floor), true);"
            : "SELECT setval(\(sequence), 1, false);"
    }

    /// A SELECT that gives each column in canonical form (`CanonicalValue`), rows in primary-key order, text
    /// keys in byte order as SQLite sorts them.
    static func canonicalSelect(_ table: PortableTable) -> String {
        let columns = table.columns.map { column -> String in
            let name = quoted(column.name)
            switch column.kind {
            case .integer, .text: return "\(name)::text"
            case .boolean: return "(\(name)::int)::text"
            // to_char gives NULL for ±infinity and drops the era of BC dates: those come out as PostgreSQL's own
            // text, which no SQLite timestamp equals and which import refuses.
            case .timestamp:
                return "CASE WHEN isfinite(\(name)) AND \(name) >= '0001-01-01 00:00:00+00' "
                    + "THEN to_char(\(name) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') ELSE \(name)::text END"
            case .json: return "\(name)::text"
            }
        }
        // Qualified: an unqualified name would sort by the output column (the text form: 10 before 9).
        let order = table.primaryKey.map { key in
            let column = "\(quoted(table.name)).\(quoted(key))"
            return table.kind(of: key) == .integer || table.kind(of: key) == .boolean ? column : "\(column) COLLATE \"C\""
        }
        return "SELECT \(columns.joined(separator: ", ")) FROM \(quoted(table.name)) ORDER BY \(order.joined(separator: ", "))"
    }
}

/// One connection to a PostgreSQL database, with what an export and an import ask of it.
final class PostgresTarget: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    let address: PostgresAddress

    private init(connection: PostgresConnection, logger: Logger, address: PostgresAddress) {
        self.connection = connection
        self.logger = logger
        self.address = address
    }

    static func connect(_ address: PostgresAddress, logger: Logger) async throws -> PostgresTarget {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try address.configuration(), id: 1, logger: logger)
            let target = PostgresTarget(connection: connection, logger: logger, address: address)
            do {
                // Text travels as UTF-8 whatever the database's or role's default (a LATIN1 client_encoding would
                // store garbled text that reads back as the original, and still verify).
                try await target.execute("SET client_encoding = 'UTF8'")
                try await target.execute("SET standard_conforming_strings = on")
                try await target.execute("SET TIME ZONE 'UTC'")
            } catch {
                await target.close()
                throw error
            }
            return target
        } catch {
            throw MoveError.postgres("cannot connect to \(address): \(Self.describe(error))")
        }
    }

    func close() async {
        try? await connection.close()
    }

    func execute(_ sql: String) async throws {
        do {
            for try await _ in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {}
        } catch {
            throw MoveError.postgres(Self.describe(error))
        }
    }

    /// Every row of a query, each value as text (NULL as nil).
    func texts(_ sql: String) async throws -> [[String?]] {
        var result: [[String?]] = []
        try await eachRow(sql) { result.append($0) }
        return result
    }

    /// Streams a query's rows, each value as text.
    func eachRow(_ sql: String, _ consume: ([String?]) async throws -> Void) async throws {
        do {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            for try await row in rows {
                var values: [String?] = []
                values.reserveCapacity(row.count)
                for cell in row { values.append(try cell.decode(String?.self)) }
                try await consume(values)
            }
        } catch let error as MoveError {
            throw error
        } catch let error as StoreError {
            throw error
        } catch {
            throw MoveError.postgres(Self.describe(error))
        }
    }

    /// Sends COPY data to a table: `lines` produces the next line (with its newline) until nil.
    func copy(into table: PortableTable, lines: () throws -> String?) async throws {
        do {
            try await connection.copyFrom(
                table: table.name, columns: table.columns.map(\.name), logger: logger
            ) { writer in
                var buffer = ByteBuffer()
                buffer.reserveCapacity(1 << 16)
                while let line = try lines() {
                    buffer.writeString(line)
                    if buffer.readableBytes >= 1 << 16 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
        } catch let error as MoveError {
            throw error
        } catch {
            throw MoveError.postgres("loading \(table.name): \(Self.describe(error))")
        }
    }

    /// The digest of a table as PostgreSQL holds it.
    func digest(of table: PortableTable) async throws -> TableDigest {
        var digest = TableDigest()
        try await eachRow(PostgresLoad.canonicalSelect(table)) { digest.add($0) }
        _ = digest.finish()
        return digest
    }

    /// The highest id a table's identity sequence has given (nil: the table has no identity column).
    func sequenceFloor(of table: PortableTable) async throws -> Int64? {
        guard let key = table.integerKey else { return nil }
        let sequence = try await texts(
            "SELECT pg_get_serial_sequence(\(PostgresLoad.literal(PostgresLoad.quoted(table.name))), \(PostgresLoad.literal(key)))")
        guard let name = sequence.first?.first ?? nil else { return nil }
        let state = try await texts("SELECT last_value::text, is_called::int::text FROM \(name)")
        guard let row = state.first, let last = row[0].flatMap({ Int64($0) }) else { return nil }
        return row[1] == "1" ? last : last - 1
    }

    /// The twins recorded as applied (nil: the database has no BridgeOS schema).
    func appliedTwins() async throws -> [String]? {
        let exists = try await texts("SELECT to_regclass(\(PostgresLoad.literal(PostgresSchema.migrationsTable)))::text")
        guard (exists.first?.first ?? nil) != nil else { return nil }
        return try await texts("SELECT identifier FROM \(PostgresSchema.migrationsTable) ORDER BY identifier").compactMap { $0[0] }
    }

    /// Tables, views and sequences in the database's own schemas.
    func relations() async throws -> [(name: String, kind: String)] {
        try await texts("""
            SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
              AND n.nspname NOT LIKE 'pg_temp%' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
            ORDER BY c.relname
            """).map { ($0[0] ?? "?", $0[1] ?? "?") }
    }

    /// The server's version number and the database's encoding.
    func serverFacts() async throws -> (version: Int, encoding: String) {
        let rows = try await texts("""
            SELECT current_setting('server_version_num'), pg_encoding_to_char(encoding)
            FROM pg_database WHERE datname = current_database()
            """)
        return (Int(rows.first?[0] ?? "") ?? 0, rows.first?[1] ?? "?")
    }

    /// A PostgreSQL error in one line: the server's message and SQLSTATE (never query parameters).
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let message = info[.message] {
                var text = message
                if let detail = info[.detail] { text += " (\(detail))" }
                if let state = info[.sqlState] { text += " [SQLSTATE \(state)]" }
                return text
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}
