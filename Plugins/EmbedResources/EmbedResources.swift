import Foundation
import PackagePlugin

/// Embeds the package's top-level `schema/`, `locales/`, `spec/`, `dashboard/` and `glossary/` folders into the target it is applied to.
///
/// SwiftPM resources must live inside a target and are looked up at run time through `Bundle.module`,
/// which fails when the binary is installed without its resource bundle. Embedding at build time keeps
/// the folders as the single source of truth and makes the binary self-contained.
@main
struct EmbedResources: BuildToolPlugin {
    /// Folders, relative to the package root, whose files are embedded.
    static let folders = ["schema", "locales", "spec", "dashboard", "glossary"]

    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let packageRoot = context.package.directoryURL
        var relativePaths: [String] = []
        for folder in Self.folders {
            relativePaths += try Self.files(in: packageRoot.appending(path: folder), relativeTo: packageRoot)
        }
        relativePaths.sort()
        let output = context.pluginWorkDirectoryURL.appending(path: "GeneratedResources.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(relativePaths.count) resource files into \(target.name)",
                executable: try context.tool(named: "bridgeos-embed").url,
                arguments: [output.path(percentEncoded: false), packageRoot.path(percentEncoded: false)]
                    + relativePaths,
                inputFiles: relativePaths.map { packageRoot.appending(path: $0) },
                outputFiles: [output]
            )
        ]
    }

    private static func files(in folder: URL, relativeTo root: URL) throws -> [String] {
        let fileManager = FileManager.default
        guard let enumerator = fileManager.enumerator(
            at: folder,
            includingPropertiesForKeys: [.isRegularFileKey],
            options: [.skipsHiddenFiles]
        ) else { return [] }
        let rootPath = root.standardizedFileURL.path(percentEncoded: false)
        var result: [String] = []
        for case let url as URL in enumerator {
            guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
            let path = url.standardizedFileURL.path(percentEncoded: false)
            guard path.hasPrefix(rootPath) else { continue }
            var relative = String(path.dropFirst(rootPath.count))
            while relative.hasPrefix("/") { relative.removeFirst() }
            result.append(relative)
        }
        return result
    }
}
