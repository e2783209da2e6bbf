import Foundation

/// The files of the package's top-level `schema/`, `locales/` and `spec/` folders, embedded at build time.
///
/// Paths are relative to the package root, e.g. `schema/0001_initial.sql` or `locales/en.json`.
public enum EmbeddedResources {
    /// Every embedded file, keyed by its path relative to the package root.
    public static let files: [String: Data] = {
        var files: [String: Data] = [:]
        for (path, base64) in GeneratedResources.files {
            // The generator wrote this base64 itself; a failure here means a broken build, not bad input.
            files[path] = Data(base64Encoded: base64) ?? Data()
        }
        return files
    }()

    /// The bytes of one embedded file, or nil if there is no such file.
    public static func data(_ path: String) -> Data? {
        files[path]
    }

    /// The UTF-8 text of one embedded file, or nil if there is no such file or it is not UTF-8.
    public static func text(_ path: String) -> String? {
        files[path].flatMap { String(data: $0, encoding: .utf8) }
    }

    /// The sorted paths of the files directly or indirectly inside `folder` (e.g. `"schema"`).
    public static func paths(in folder: String) -> [String] {
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return files.keys.filter { $0.hasPrefix(prefix) }.sorted()
    }
}
