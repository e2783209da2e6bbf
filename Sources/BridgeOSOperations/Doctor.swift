import BridgeOSCore
import BridgeOSStorage
import Foundation

/// One line of a doctor report.
public struct DoctorCheck: Sendable, Equatable {
    public enum Status: String, Sendable {
        case ok, warning, failed
    }

    public let name: String
    public let status: Status
    public let detail: String

    public init(_ name: String, _ status: Status, _ detail: String) {
        self.name = name
        self.status = status
        self.detail = detail
    }
}

public struct DoctorReport: Sendable, Equatable {
    public let databasePath: String
    public let checks: [DoctorCheck]

    /// No check failed (warnings are allowed).
    public var passed: Bool { !checks.contains { $0.status == .failed } }

    /// The worst result: failed, warning or ok.
    public var worst: DoctorCheck.Status {
        checks.contains { $0.status == .failed } ? .failed : checks.contains { $0.status == .warning } ? .warning : .ok
    }
}

/// Health checks of a BridgeOS database, for `bridgeos doctor`. Read-only: it never creates, migrates or
/// repairs anything, so it is safe to run next to a live `serve`.
public struct Doctor: Sendable {
    public init() {}


    public func run(databasePath: String, options: StoreOptions = StoreOptions()) -> DoctorReport {
        var checks: [DoctorCheck] = []

        let libraryOK = StoreInspection.sqliteIsSupported
        checks.append(DoctorCheck(
            "SQLite library", libraryOK ? .ok : .failed,
            "\(AppDatabase.sqliteVersionText) (\(AppDatabase.minimumSQLiteVersion.text) or newer required)"))

        guard let fileCheck = Self.checkFile(databasePath) else {
            checks.append(DoctorCheck(
                "database file", .failed, "\(databasePath) does not exist: run `bridgeos migrate` to create it"))
            return DoctorReport(databasePath: databasePath, checks: checks)
        }
        checks.append(fileCheck)
        guard fileCheck.status != .failed, libraryOK else {
            return DoctorReport(databasePath: databasePath, checks: checks)
        }

        let store: StoreInspection
        do {
            store = try StoreInspection(path: databasePath, options: options)
        } catch {
            checks.append(DoctorCheck("open", .failed, Self.describe(error)))
            return DoctorReport(databasePath: databasePath, checks: checks)
        }

        checks.append(Self.check("journal mode") {
            let mode = try store.journalMode()
            return mode.lowercased() == "wal"
                ? DoctorCheck("journal mode", .ok, "wal")
                : DoctorCheck("journal mode", .failed, "\(mode), expected wal (run `bridgeos migrate` to set it)")
        })
        checks.append(Self.check("integrity") {
            let problems = try store.integrityProblems()
            guard !problems.isEmpty else { return DoctorCheck("integrity", .ok, "quick_check: ok") }
            let shown = problems.prefix(3).joined(separator: "; ")
            let more = problems.count > 3 ? " … \(problems.count - 3) more" : ""
            return DoctorCheck(
                "integrity", .failed,
                "quick_check found \(problems.count) problem(s): \(shown)\(more); restore from a backup")
        })
        checks.append(Self.check("foreign keys") {
            let rows = try store.foreignKeyViolations()
            guard !rows.isEmpty else { return DoctorCheck("foreign keys", .ok, "no violations") }
            let examples = rows.prefix(3).map { row -> String in
                "\(row.table) row \(row.rowid.map(String.init) ?? "?") → missing \(row.parent)"
            }
            return DoctorCheck(
                "foreign keys", .failed, "\(rows.count) violations, e.g. " + examples.joined(separator: ", "))
        })
        checks.append(Self.check("migrations") {
            let state = try store.migrationState()
            if !state.unknown.isEmpty {
                return DoctorCheck(
                    "migrations", .failed,
                    "written by a newer BridgeOS (unknown: \(state.unknown.joined(separator: ", "))): upgrade bridgeos")
            }
            if !state.pending.isEmpty {
                return DoctorCheck(
                    "migrations", .failed,
                    "\(state.pending.count) pending (\(state.pending.joined(separator: ", "))): run `bridgeos migrate`")
            }
            return DoctorCheck(
                "migrations", .ok,
                "\(state.applied.count) of \(state.known.count) applied, schema version \(state.userVersion)")
        })
        checks.append(Self.check("strict tables") {
            let appTables = try store.tables()
            let loose = appTables.filter { !$0.strict }.map(\.name)
            return loose.isEmpty
                ? DoctorCheck("strict tables", .ok, "\(appTables.count) tables, all STRICT")
                : DoctorCheck("strict tables", .failed, "not STRICT: " + loose.joined(separator: ", "))
        })
        return DoctorReport(databasePath: databasePath, checks: checks)
    }

    /// Exists, is a regular file, and starts with the SQLite header. Nil when the file does not exist.
    static func checkFile(_ path: String) -> DoctorCheck? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        guard !isDirectory.boolValue else { return DoctorCheck("database file", .failed, "\(path) is a directory") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return DoctorCheck("database file", .failed, "\(path) is not readable")
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        guard header == Data("SQLite format 3\0".utf8) else {
            return DoctorCheck("database file", .failed, "\(path) is not an SQLite database")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return DoctorCheck("database file", .ok, "\(path), \(ByteCountFormatter.string(fromByteCount: Int64(size), countStyle: .file))")
    }

    private static func check(_ name: String, _ body: () throws -> DoctorCheck) -> DoctorCheck {
        do { return try body() } catch { return DoctorCheck(name, .failed, describe(error)) }
    }

    private static func describe(_ error: any Error) -> String {
        StoreInspection.describe(error)
    }
}
