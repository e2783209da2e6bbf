import BridgeOSResources
import BridgeOSStorage
import Foundation

/// The PostgreSQL twins of the SQLite migrations: `schema/postgres/NNNN_name.sql`, one per `schema/NNNN_name.sql`.
public enum PostgresSchema {
    public struct Twin: Sendable, Equatable {
        public let identifier: String
        public let sql: String
    }

    /// The table where a PostgreSQL database records the twins applied to it (GRDB's `grdb_migrations` in SQLite).
    public static let migrationsTable = "schema_migrations"

    /// Every twin, in migration order. Throws when a SQLite migration has no twin or a twin has no migration.
    public static func twins() throws -> [Twin] {
        let known = try AppDatabase.knownMigrations()
        var twins: [String: String] = [:]
        for path in EmbeddedResources.paths(in: "schema/postgres") where path.hasSuffix(".sql") {
            let name = String(path.dropFirst("schema/postgres/".count).dropLast(".sql".count))
            twins[name] = EmbeddedResources.text(path)
        }
        let missing = known.filter { twins[$0] == nil }
        let orphans = twins.keys.filter { !known.contains($0) }.sorted()
        guard missing.isEmpty, orphans.isEmpty else {
            throw MoveError.sourceRefused(
                (missing.isEmpty ? "" : "schema/postgres/ lacks the twin of \(missing.joined(separator: ", ")). ")
                    + (orphans.isEmpty ? "" : "schema/postgres/ has twins of no migration: \(orphans.joined(separator: ", ")).")
            )
        }
        return known.map { Twin(identifier: $0, sql: twins[$0]!) }
    }

    /// The statements of a twin, one by one (the extended query protocol takes one at a time).
    ///
    /// A statement ends at a `;` outside quotes, comments and dollar-quoted bodies.
    public static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var characters = Array(sql)
        characters.append("\n")
        var index = 0
        var dollarTag: String?
        var inQuote = false
        while index < characters.count {
            let character = characters[index]
            if let tag = dollarTag {
                current.append(character)
                if character == "$", String(characters[index..<min(characters.count, index + tag.count)]) == tag {
                    current += String(characters[(index + 1)..<(index + tag.count)])
                    index += tag.count
                    dollarTag = nil
                    continue
                }
            } else if inQuote {
                current.append(character)
                if character == "'" { inQuote = false }
            } else if character == "-", index + 1 < characters.count, characters[index + 1] == "-" {
                while index < characters.count, characters[index] != "\n" { index += 1 }
                current.append("\n")
            } else if character == "'" {
                inQuote = true
                current.append(character)
            } else if character == "$", let close = characters[(index + 1)...].firstIndex(of: "$"),
                      characters[(index + 1)..<close].allSatisfy({ $0.isLetter || $0 == "_" }) {
                let tag = String(characters[index...close])
                current += tag
                index = close + 1
                dollarTag = tag
                continue
            } else if character == ";" {
                let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !statement.isEmpty { statements.append(statement) }
                current = ""
            } else {
                current.append(character)
            }
            index += 1
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}
