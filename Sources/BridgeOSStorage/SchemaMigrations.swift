import BridgeOSResources
import Foundation
import GRDB

/// The schema migrations, read from the SQL files under `schema/` (embedded at build time).
///
/// A file `schema/NNNN_name.sql` is migration `NNNN_name`. Files are applied in order, each in one
/// IMMEDIATE transaction that also sets `PRAGMA user_version` to NNNN, so external tools (and `doctor`)
/// see the schema version. Shipped migrations are never edited; a change is a new file.
public enum SchemaMigrations {
    public struct Migration: Sendable, Equatable {
        /// e.g. `0001_initial`
        public let identifier: String
        /// The NNNN prefix.
        public let version: Int
        public let sql: String
    }

    /// All migrations, ordered. A malformed file name or a gap in the numbering is a build defect,
    /// caught by the test suite; such files are reported here rather than skipped silently.
    public static func all() throws -> [Migration] {
        var migrations: [Migration] = []
        // Only the folder's own files: schema/postgres/ holds the PostgreSQL twins, not SQLite migrations.
        for path in EmbeddedResources.paths(in: "schema") where path.hasSuffix(".sql")
            && !path.dropFirst("schema/".count).contains("/") {
            let name = String(path.dropFirst("schema/".count).dropLast(".sql".count))
            guard let underscore = name.firstIndex(of: "_"),
                  let version = Int(name[..<underscore]), version > 0,
                  let sql = EmbeddedResources.text(path)
            else {
                throw DomainError.invalidInput("schema file \(path) must be named NNNN_description.sql")
            }
            migrations.append(Migration(identifier: name, version: version, sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw DomainError.invalidInput(
                "schema migrations must be numbered 0001, 0002, … without gaps; found \(migration.identifier)")
        }
        return migrations
    }

    static func migrator() throws -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in try all() {
            migrator.registerMigration(migration.identifier) { db in
                try db.execute(sql: migration.sql)
                try db.execute(sql: "PRAGMA user_version = \(migration.version)")
            }
        }
        return migrator
    }
}

/// Which migrations a database has, compared with those this binary knows.
public struct MigrationState: Sendable, Equatable {
    /// Known migrations, in order.
    public let known: [String]
    /// Migrations recorded in the database, in order.
    public let applied: [String]
    /// `PRAGMA user_version`: the number of the last migration applied.
    public let userVersion: Int

    public var pending: [String] { known.filter { !applied.contains($0) } }
    /// Applied migrations this binary does not know: the file was written by a newer BridgeOS.
    public var unknown: [String] { applied.filter { !known.contains($0) } }
    public var isCurrent: Bool { pending.isEmpty && unknown.isEmpty }

    /// Reads the state without changing anything (works on read-only connections).
    static func read(_ db: Database) throws -> MigrationState {
        let known = try SchemaMigrations.all().map(\.identifier)
        let applied = try db.tableExists("grdb_migrations")
            ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
            : []
        let userVersion = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        return MigrationState(known: known, applied: applied, userVersion: userVersion)
    }
}
