import Foundation
import HummingbirdBcrypt
import NIOPosix

/// Dashboard passwords: bcrypt (hummingbird-auth) at cost 12, a random salt each time, hashed and checked on
/// NIO's thread pool so a login never holds up the server's other requests.
public enum Passwords {
    public static let cost: UInt8 = 12
    /// bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut.
    public static let maxBytes = 72
    public static let minCharacters = 10

    /// Why a new password is refused (nil: acceptable).
    public static func problem(with password: String) -> String? {
        if password.count < minCharacters { return "at least \(minCharacters) characters" }
        if password.utf8.count > maxBytes { return "at most \(maxBytes) bytes" }
        if password.contains(where: { $0.isNewline }) { return "one line" }
        return nil
    }

    public static func hash(_ password: String, cost: UInt8 = cost) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks `password` against `hash`; with no hash (no such account) against a decoy, so that a wrong
    /// account name takes as long as a wrong password — and is never accepted.
    public static func verify(_ password: String, hash: String?) async throws -> Bool {
        guard password.utf8.count <= maxBytes else { return false }
        return try await NIOThreadPool.singleton.runIfActive {
            guard let hash else {
                _ = Bcrypt.verify(password, hash: decoyHash)
                return false
            }
            return Bcrypt.verify(password, hash: hash)
        }
    }

    /// Made once, on the thread pool, the first time an unknown account name is tried.
    static let decoyHash = Bcrypt.hash(UUID().uuidString, cost: cost)
}
