import Foundation

/// Input checks shared by repositories. They mirror the CHECK constraints in schema/ so that bad input
/// gets a clear `DomainError` instead of a raw SQLite constraint failure. Lengths count Unicode scalars,
/// as SQLite's length() does for TEXT.
enum Validate {
    static func text(_ value: String, field: String, maxLength: Int) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw DomainError.invalidInput("\(field) must not be empty") }
        guard trimmed.unicodeScalars.count <= maxLength else {
            throw DomainError.invalidInput("\(field) is longer than \(maxLength) characters")
        }
        return trimmed
    }

    /// A language code such as `en`, `pt-BR` or `zh-Hans`.
    static func language(_ value: String, field: String = "language") throws -> String {
        guard (2...16).contains(value.count),
              value.unicodeScalars.allSatisfy({ $0 == "-" || $0.properties.isAlphabetic && $0.isASCII })
        else { throw DomainError.invalidInput("\(field) '\(value)' is not a language code") }
        return value
    }
}
