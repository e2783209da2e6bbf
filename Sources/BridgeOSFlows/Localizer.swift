import BridgeOSCore
import BridgeOSResources
import Foundation
import Logging
import Synchronization

/// A language BridgeOS speaks, named in itself (that is how people find theirs in a list).
public struct Language: Hashable, Sendable {
    public let code: String
    public let nativeName: String
    public let rightToLeft: Bool

    public static let all: [Language] = [
        Language(code: "en", nativeName: "English", rightToLeft: false),
        Language(code: "es", nativeName: "Español", rightToLeft: false),
        Language(code: "ru", nativeName: "Русский", rightToLeft: false),
        Language(code: "uk", nativeName: "Українська", rightToLeft: false),
        Language(code: "pt", nativeName: "Português", rightToLeft: false),
        Language(code: "pl", nativeName: "Polski", rightToLeft: false),
        Language(code: "ro", nativeName: "Română", rightToLeft: false),
        Language(code: "ar", nativeName: "العربية", rightToLeft: true),
        Language(code: "hi", nativeName: "हिन्दी", rightToLeft: false),
        Language(code: "zh", nativeName: "中文", rightToLeft: false),
        Language(code: "vi", nativeName: "Tiếng Việt", rightToLeft: false),
        Language(code: "tr", nativeName: "Türkçe", rightToLeft: false),
        Language(code: "fr", nativeName: "Français", rightToLeft: false),
        Language(code: "de", nativeName: "Deutsch", rightToLeft: false),
    ]

    public static func named(_ code: String) -> Language? {
        let base = code.lowercased().split(separator: "-").first.map(String.init) ?? code
        return all.first { $0.code == base }
    }
}

/// UI texts by key, per language, from `locales/<code>.json` (embedded). Lookup falls back from the
/// user's language to English to the key itself, and logs each missing key once.
public final class Localizer: Sendable {
    let tables: [String: [String: String]]
    let logger: Logger
    private let reported = Mutex<Set<String>>([])

    public init(tables: [String: [String: String]], logger: Logger) {
        self.tables = tables
        self.logger = logger
    }

    /// The locales embedded in the binary.
    public static func embedded(logger: Logger) throws -> Localizer {
        var tables: [String: [String: String]] = [:]
        for path in EmbeddedResources.paths(in: "locales") where path.hasSuffix(".json") {
            let code = String(path.dropFirst("locales/".count).dropLast(".json".count))
            guard let data = EmbeddedResources.data(path) else { continue }
            tables[code] = try JSONDecoder().decode([String: String].self, from: data)
        }
        return Localizer(tables: tables, logger: logger)
    }

    /// The text for `key` in `language`, with `{placeholders}` filled from `values`.
    public func text(_ key: TextKey, _ language: String, _ values: [String: String] = [:]) -> String {
        let code = Language.named(language)?.code ?? "en"
        let template: String
        if let text = tables[code]?[key.rawValue] {
            template = text
        } else if let text = tables["en"]?[key.rawValue] {
            if code != "en" { reportMissing(key.rawValue, in: code) }
            template = text
        } else {
            reportMissing(key.rawValue, in: "en")
            template = key.rawValue
        }
        return Self.fill(template, values)
    }

    /// Fills `{name}` placeholders in one pass over the template: a value is never scanned again, so a
    /// display name that contains `{bot}` stays as it is. Unknown placeholders are left in place.
    static func fill(_ template: String, _ values: [String: String]) -> String {
        guard template.contains("{"), !values.isEmpty else { return template }
        var result = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            let afterOpen = rest.index(after: open)
            if let close = rest[afterOpen...].firstIndex(where: { $0 == "}" || $0 == "{" }), rest[close] == "}",
               let value = values[String(rest[afterOpen..<close])] {
                result += value
                rest = rest[rest.index(after: close)...]
            } else {
                result += "{"
                rest = rest[afterOpen...]
            }
        }
        result += rest
        return result
    }

    /// `{name}`-style placeholders in a template.
    public static func placeholders(in template: String) -> Set<String> {
        var names: Set<String> = []
        var rest = template[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            let name = rest[rest.index(after: open)..<close]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0 == "_" }) { names.insert(String(name)) }
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    private func reportMissing(_ key: String, in language: String) {
        let id = "\(language):\(key)"
        let first = reported.withLock { $0.insert(id).inserted }
        if first { logger.warning("missing UI text", metadata: ["key": "\(key)", "language": "\(language)"]) }
    }
}
