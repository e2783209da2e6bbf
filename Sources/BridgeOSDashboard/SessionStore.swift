import BridgeOSStorage
import Foundation
import Hummingbird

/// hummingbird-auth's session storage, kept in the appliance's database (so a restart does not sign the admins
/// out), under the SHA-256 of each session id. Sessions are small JSON values.
public struct SessionStore: PersistDriver {
    let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        guard try database.admin.putSession(key: key, value: try Self.encode(value), expiresIn: expires.map(Self.seconds), create: true) else {
            throw PersistError.duplicate
        }
    }

    public func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        _ = try database.admin.putSession(key: key, value: try Self.encode(value), expiresIn: expires.map(Self.seconds), create: false)
    }

    public func get<Object: Codable & Sendable>(key: String, as: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: Object.self)?.object
    }

    public func getWithTTL<Object: Codable & Sendable>(key: String, as: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        guard let stored = try database.admin.session(key: key) else { return nil }
        guard let object = try? JSONDecoder().decode(Object.self, from: Data(stored.value.utf8)) else { throw PersistError.invalidConversion }
        return (object, stored.expiresIn.map { .milliseconds(Int64($0 * 1000)) })
    }

    public func remove(key: String) async throws {
        try database.admin.removeSession(key: key)
    }

    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        TimeInterval(duration.components.seconds) + TimeInterval(duration.components.attoseconds) / 1e18
    }
}
