import BridgeOSTestSupport
import Foundation

/// Runs `bridgeos` with `arguments` in `directory` and waits for it.
func bridgeos(_ arguments: String..., environment: [String: String] = [:], in directory: URL) async throws -> ProcessResult {
    try await finish(launch(try product("bridgeos"), arguments, environment: environment, in: directory))
}

/// `bridgeos` with `input` on its stdin (not a terminal).
func bridgeos(_ arguments: String..., environment: [String: String] = [:], input: String, in directory: URL) async throws -> ProcessResult {
    try await finish(launch(try product("bridgeos"), arguments, environment: environment, input: input, in: directory))
}
