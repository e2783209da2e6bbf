import Foundation
import Testing

/// Storage owns every query: no product module but Storage imports GRDB or reaches past the transaction
/// handle to the database writer. (The hot queries are prepared once because they all live in Storage; a
/// PostgreSQL backend plugs in at the same seam.)
@Suite struct ArchitectureTests {
    @Test func onlyStorageTouchesGRDB() throws {
        let sources = packageRoot.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        #expect(files.count > 50)
        var offenders: [String] = []
        for file in files where !file.path.contains("/Sources/BridgeOSStorage/") {
            let text = try String(contentsOf: file, encoding: .utf8)
            let relative = file.path.replacingOccurrences(of: packageRoot.path + "/", with: "")
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                if code.hasPrefix("import GRDB") || code.contains(".writer.") || code.contains("executeCached(") {
                    offenders.append("\(relative):\(number + 1): \(code)")
                }
            }
        }
        #expect(offenders.isEmpty, "outside Storage: \(offenders.joined(separator: "\n"))")
    }
}
