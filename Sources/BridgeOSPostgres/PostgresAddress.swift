import Foundation
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL database is: `postgres://user[:password]@host[:port]/database[?sslmode=…&host=/socket/dir]`.
///
/// The password may also come from `PGPASSWORD` (so it stays out of the process list and shell history).
/// `sslmode` is `disable`, `prefer`, `require`, `verify-ca` or `verify-full`; `sslrootcert=/path/ca.pem` names a
/// CA of one's own (the system's CAs otherwise) and, as in libpq, turns `require` into `verify-ca`. The default is `require` for another machine (all conversations cross that network; a `prefer`
/// an attacker can strip is no default) and `disable` for this one (loopback, a Unix socket). A `host`
/// parameter naming a directory connects through the server's Unix socket there.
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable { case disable, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full" }

    public let user: String
    public let password: String?
    public let host: String
    public let port: Int
    public let database: String
    public let tls: TLSMode
    public let socketDirectory: String?
    public let rootCertificate: String?

    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql" else {
            throw MoveError.invalidInput("\"\(Self.redacted(text, whole: true))\" is not a postgres:// URL (postgres://user@host:5432/database)")
        }
        // A password with an unencoded `/`, `?` or `#` moves its rest (and the `@`) into the path, the query or
        // the fragment, where it would show in messages: such a URL is refused without being repeated. (An `@`
        // in a known parameter's value, `user=alice@server`, is fine.)
        let known: Set<String> = ["sslmode", "sslrootcert", "host", "port", "user", "password", "dbname"]
        if components.path.contains("@") || (components.fragment ?? "").contains("@")
            || (components.queryItems ?? []).contains(where: { !known.contains($0.name) && $0.name.contains("@") }) {
            throw MoveError.invalidInput(
                "the URL has an @ after its host part: percent-encode a password's / ? # @ (%2F %3F %23 %40), or pass it in PGPASSWORD")
        }
        let query = Dictionary(components.queryItems?.map { ($0.name, $0.value ?? "") } ?? [], uniquingKeysWith: { $1 })
        let unknown = Set(query.keys).subtracting(known)
        guard unknown.isEmpty else {
            throw MoveError.invalidInput("unknown URL parameter(s) \(unknown.sorted().joined(separator: ", ")) (known: sslmode, sslrootcert, host)")
        }
        user = query["user"] ?? components.user ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        password = query["password"] ?? components.password ?? environment["PGPASSWORD"]
        socketDirectory = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        host = socketDirectory == nil ? (query["host"] ?? components.host ?? "localhost") : "localhost"
        guard let port = Int(query["port"] ?? components.port.map(String.init) ?? "5432"), (1...65535).contains(port) else {
            throw MoveError.invalidInput("the URL's port is not a port number")
        }
        self.port = port
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = query["dbname"] ?? path
        guard !database.isEmpty, !database.contains("/") else {
            throw MoveError.invalidInput("the URL names no database (postgres://user@host:5432/database)")
        }
        let local = socketDirectory != nil || ["127.0.0.1", "::1", "localhost"].contains(host)
        // A CA given means a certificate to check: verify-ca unless sslmode says more (or says to check nothing).
        let mode = query["sslmode"] ?? (query["sslrootcert"] != nil ? "verify-ca" : local ? "disable" : "require")
        guard let mode = TLSMode(rawValue: mode) else {
            throw MoveError.invalidInput("sslmode \(mode) is not one of disable, prefer, require, verify-ca, verify-full")
        }
        rootCertificate = query["sslrootcert"]
        if let rootCertificate {
            // A CA that would not be checked is a mistake to report, not to ignore.
            guard socketDirectory == nil else {
                throw MoveError.invalidInput("sslrootcert has no use over a Unix socket (host=\(socketDirectory!)), which has no TLS")
            }
            guard mode != .disable, mode != .prefer else {
                throw MoveError.invalidInput("sslrootcert needs sslmode=verify-full or verify-ca (sslmode=\(mode.rawValue) checks no certificate)")
            }
            guard FileManager.default.isReadableFile(atPath: rootCertificate) else {
                throw MoveError.invalidInput("sslrootcert \(rootCertificate) cannot be read")
            }
        }
        tls = mode == .require && rootCertificate != nil ? .verifyCA : mode
    }

    /// The address without its password, for messages and logs.
    public var description: String {
        let place = socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } ?? "\(host.contains(":") ? "[\(host)]" : host):\(port)"
        return "postgres://\(user)@\(place)/\(database)"
    }

    /// A URL as typed, without its password (in the user part, up to the last `@`, or a `password=` parameter).
    /// `whole`: the text is the URL alone, so everything up to its last `@` goes (a password with spaces too).
    public static func redacted(_ text: String, whole: Bool = false) -> String {
        // Up to the last `@`: a password may hold `/`, `?`, `#` or `@` that its author did not percent-encode.
        text.replacingOccurrences(of: whole ? #"://([^:/@]*):.*@"# : #"://([^:/@\s]*):\S*@"#, with: "://$1:***@", options: .regularExpression)
            .replacingOccurrences(of: #"([?&]password=)[^&#]*"#, with: "$1***", options: .regularExpression)
    }

    func configuration() throws -> PostgresConnection.Configuration {
        if let socketDirectory {
            return .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        let tlsSetting: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable:
            tlsSetting = .disable
        case .prefer, .require:
            // Like libpq's prefer and require: encrypted, without checking the certificate.
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.certificateVerification = .none
            let context = try NIOSSLContext(configuration: settings)
            tlsSetting = tls == .prefer ? .prefer(context) : .require(context)
        case .verifyCA, .verifyFull:
            var settings = TLSConfiguration.makeClientConfiguration()
            if let rootCertificate { settings.trustRoots = .file(rootCertificate) }
            // verify-ca: the chain must lead to the CA, whatever name the certificate gives.
            if tls == .verifyCA { settings.certificateVerification = .noHostnameVerification }
            tlsSetting = .require(try NIOSSLContext(configuration: settings))
        }
        return .init(host: host, port: port, username: user, password: password, database: database, tls: tlsSetting)
    }
}
