import Foundation

/// Random secrets and how to compare them: one way for every token BridgeOS makes or checks (one-time links,
/// webhook secret tokens, CSRF tokens).
public enum SecretTokens {
    /// `byteCount` random bytes, base64url without padding (A-Z a-z 0-9 _ -): 43 characters for 32 bytes.
    public static func urlSafe(byteCount: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Compares without stopping at the first difference (the time taken tells nothing of where they differ).
    public static func equal(_ given: String, _ expected: String) -> Bool {
        let (a, b) = (Array(given.utf8), Array(expected.utf8))
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
