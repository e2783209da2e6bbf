import BridgeOSCore
import BridgeOSPostgres
import Foundation
import Logging
import PostgresNIO
#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL server for the tests: a new cluster (`initdb`) in a temporary directory, started with
/// `pg_ctl` on 127.0.0.1 and a free port, with its own socket directory. As root it runs as the `postgres`
/// user (PostgreSQL refuses root). One server per test process; a watchdog stops it and removes its files
/// when the test process ends, however it ends.
///
/// Locally a machine without PostgreSQL skips these tests; with `CI=true` they run and fail.
public final class PostgresServer: Sendable {
    public static let binDirectory = ProcessInfo.processInfo.environment["BRIDGEOS_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
    public static var installed: Bool { FileManager.default.isExecutableFile(atPath: binDirectory + "/initdb") }
    /// Whether the PostgreSQL tests run: PostgreSQL is here, or CI requires it (and then a missing one fails).
    public static var shouldRun: Bool { installed || ProcessInfo.processInfo.environment["CI"] == "true" }

    public let port: Int
    public let root: String
    public let password: String

    private init(port: Int, root: String, password: String) {
        self.port = port
        self.root = root
        self.password = password
    }

    /// initdb and pg_ctl take seconds: on a thread of their own, awaited, never blocking the cooperative pool
    /// that the other tests running meanwhile share.
    private static let started = Task { try await onOwnThread { try start() } }

    /// The test process's server, started on first use.
    public static func shared() async throws -> PostgresServer {
        guard installed else {
            throw PostgresTestError("PostgreSQL is not installed at \(binDirectory) (apt-get install postgresql-15; or set BRIDGEOS_PG_BIN)")
        }
        return try await started.value
    }

    private static func start() throws -> PostgresServer {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bridgeos-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let owner = getuid() == 0 ? "postgres" : nil
        if let owner {
            guard let account = getpwnam(owner) else { throw PostgresTestError("running as root needs the postgres user (from the postgresql package)") }
            guard chown(root, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else { throw PostgresTestError("cannot hand \(root) to postgres") }
        }
        try watch(owner: owner, root: root)
        // A password, not trust: any local user could otherwise reach a superuser on the TCP port meanwhile.
        let password = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 36) }.joined()
        let passwordFile = root + "/password"
        FileManager.default.createFile(atPath: passwordFile, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
        if let owner, let account = getpwnam(owner) { chown(passwordFile, account.pointee.pw_uid, account.pointee.pw_gid) }
        try run(owner, binDirectory + "/initdb", [
            "-D", root + "/data", "-U", "postgres", "--auth=scram-sha-256", "--pwfile=\(passwordFile)", "-E", "UTF8", "--locale=C", "-N",
        ])
        try? FileManager.default.removeItem(atPath: passwordFile)
        try FileManager.default.createDirectory(atPath: root + "/socket", withIntermediateDirectories: true)
        if let owner, let account = getpwnam(owner) { chown(root + "/socket", account.pointee.pw_uid, account.pointee.pw_gid) }
        var lastError: (any Error)?
        for _ in 1...3 {
            let port = try freePort()
            do {
                try run(owner, binDirectory + "/pg_ctl", [
                    "-D", root + "/data", "-l", root + "/server.log", "-w", "-t", "60",
                    "-o", "-c listen_addresses=127.0.0.1 -p \(port) -k \(root)/socket -c fsync=off -c full_page_writes=off -c synchronous_commit=off",
                    "start",
                ])
                return PostgresServer(port: port, root: root, password: password)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? PostgresTestError("PostgreSQL did not start")
    }

    /// Stops the server and removes its files once this process is gone.
    private static func watch(owner: String?, root: String) throws {
        let script = """
            while [ -d /proc/\(getpid()) ]; do sleep 1; done
            '\(binDirectory)/pg_ctl' -D '\(root)/data' -m immediate stop >/dev/null 2>&1
            rm -rf '\(root)'
            """
        _ = try spawn(owner, "/bin/sh", ["-c", script], output: "/dev/null")
    }

    private static func run(_ owner: String?, _ executable: String, _ arguments: [String]) throws {
        // posix_spawn and waitpid, not Foundation's Process: its exit monitor missed pg_ctl's exit here (the
        // child stayed a zombie), and the server pg_ctl starts would hold an output pipe open for its life.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bridgeos-pg-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let pid = try spawn(owner, executable, arguments, output: log)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited, code == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw PostgresTestError("\(executable) failed (status \(status)): \(text)")
        }
    }

    /// Starts a program (as `owner` when given), its output appended to a file.
    private static func spawn(_ owner: String?, _ executable: String, _ arguments: [String], output: String) throws -> pid_t {
        let argv = owner == nil ? [executable] + arguments : ["/usr/sbin/runuser", "-u", owner!, "--", executable] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process's: the server lives as long as the tests and would hold every descriptor
        // open at this moment — among them the sockets by which Foundation notices its other children exit (they
        // then stay zombies and their waits never end) and other tests' output files.
        closeInheritedDescriptors(&actions)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard result == 0 else { throw PostgresTestError("cannot start \(argv[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+; not in Swift's Glibc module), else a close
    /// action for each descriptor open now.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
            return
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let descriptor = Int32(name), descriptor > 2 { posix_spawn_file_actions_addclose(&actions, descriptor) }
        }
    }

    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw PostgresTestError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The URL of a database on this server.
    public func url(_ database: String) -> String { "postgres://postgres:\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    /// Creates a new database and returns its URL.
    public func createDatabase(_ name: String = "t_\(UUID().uuidString.prefix(8).lowercased())", encoding: String = "UTF8") async throws -> String {
        try await execute("CREATE DATABASE \"\(name)\" ENCODING '\(encoding)' TEMPLATE template0", in: "postgres")
        return url(name)
    }

    /// Runs one statement in a database.
    public func execute(_ sql: String, in database: String) async throws {
        _ = try await query(sql, in: database)
    }

    /// Runs one query and returns its rows as text.
    public func query(_ sql: String, in database: String) async throws -> [[String?]] {
        let address = try PostgresAddress(url(database))
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: "127.0.0.1", port: port, username: "postgres", password: password, database: address.database, tls: .disable),
            id: 1, logger: Logger(label: "test.postgres"))
        do {
            var result: [[String?]] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test.postgres")) {
                result.append(try row.map { try $0.decode(String?.self) })
            }
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Runs psql (as a client, over TCP) on a file.
    public func psql(file: String, database: String) async throws -> (status: Int32, output: String) {
        let (port, password) = (port, password)
        return try await onOwnThread { try Self.psql(file: file, database: database, port: port, password: password) }
    }

    private static func psql(file: String, database: String, port: Int, password: String) throws -> (status: Int32, output: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("psql-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = try SpawnedProcess(
            executable: binDirectory + "/psql",
            arguments: ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", database, "-f", file],
            environment: ["PGPASSWORD": password, "PATH": "/usr/bin:/bin"], directory: "/", output: output)
        process.waitUntilExit()
        let data = FileManager.default.contents(atPath: output) ?? Data()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

public struct PostgresTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The database name in a URL made by `createDatabase`.
public func databaseName(_ url: String) -> String {
    String(url.split(separator: "/").last!.split(separator: "?").first!)
}
