// Build-time tool run by the EmbedResources plugin: writes a Swift file that carries the
// given files, byte for byte, so the `bridgeos` binary never depends on the source tree.
//
// Usage: bridgeos-embed <output.swift> <root directory> <relative path>...
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: bridgeos-embed <output.swift> <root> <relative path>...\n".utf8))
    exit(64)
}
let output = URL(fileURLWithPath: arguments[arguments.startIndex])
let root = URL(fileURLWithPath: arguments[arguments.startIndex + 1], isDirectory: true)
let relativePaths = arguments.dropFirst(2).sorted()

var source = """
// Generated at build time by bridgeos-embed from the package's top-level resource folders.
// Do not edit: change the files under schema/, locales/ or spec/ instead.

enum GeneratedResources {
    /// Relative path (from the package root) and the file's bytes, base64-encoded.
    static let files: [(path: String, base64: String)] = [

"""
for relativePath in relativePaths {
    let url = root.appendingPathComponent(relativePath)
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        FileHandle.standardError.write(Data("bridgeos-embed: cannot read \(url.path): \(error)\n".utf8))
        exit(1)
    }
    // Paths are plain ASCII file names chosen by us; escape quotes and backslashes anyway.
    let escapedPath = relativePath
        .replacingOccurrences(of: "\\", with: "\\\\")
        .replacingOccurrences(of: "\"", with: "\\\"")
    source += "        (\"\(escapedPath)\", \"\(data.base64EncodedString())\"),\n"
}
source += "    ]\n}\n"

do {
    // Write only when the content changed, so an unchanged resource set does not force a rebuild.
    if let existing = try? Data(contentsOf: output), existing == Data(source.utf8) {
        exit(0)
    }
    try FileManager.default.createDirectory(
        at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(source.utf8).write(to: output, options: .atomic)
} catch {
    FileHandle.standardError.write(Data("bridgeos-embed: cannot write \(output.path): \(error)\n".utf8))
    exit(1)
}
