import Foundation

/// One glossary entry for a language pair: how a trade term is to be translated, or that a name or part
/// number is never translated (`keep`, where `target == source`).
public struct GlossaryTerm: Sendable, Equatable, Hashable {
    public var source: String
    public var target: String
    public var keep: Bool

    public init(source: String, target: String) {
        self.source = source
        self.target = target
        self.keep = false
    }

    public init(keep term: String) {
        self.source = term
        self.target = term
        self.keep = true
    }

    /// Whether the term occurs in `text` as a whole word or phrase, ignoring case: "Rebar" matches
    /// "bring the rebar", "bar" does not match "rebar".
    public func occurs(in text: String) -> Bool {
        Self.occurs(source, in: text)
    }

    static func occurs(_ term: String, in text: String) -> Bool {
        guard !term.isEmpty else { return false }
        var searchRange = text.startIndex..<text.endIndex
        while let found = text.range(of: term, options: [.caseInsensitive], range: searchRange) {
            let before = found.lowerBound == text.startIndex ? nil : text[text.index(before: found.lowerBound)]
            let after = found.upperBound == text.endIndex ? nil : text[found.upperBound]
            // A word boundary on each side (scripts without spaces, such as Chinese, match anywhere).
            let boundaryBefore = before.map { !$0.isLetter && !$0.isNumber } ?? true
            let boundaryAfter = after.map { !$0.isLetter && !$0.isNumber } ?? true
            let spaceless = term.unicodeScalars.contains { (0x3000...0x9FFF).contains($0.value) }
            if spaceless || (boundaryBefore && boundaryAfter) { return true }
            searchRange = found.upperBound..<text.endIndex
        }
        return false
    }

    /// The lines the prompt gives the model.
    public static func promptLines(_ terms: [GlossaryTerm]) -> [String] {
        terms.map { $0.keep ? "\"\($0.source)\": keep unchanged (a name or part number)" : "\"\($0.source)\" → \"\($0.target)\"" }
    }
}
