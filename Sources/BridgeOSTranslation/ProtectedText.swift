import BridgeOSTelegram

/// A message text whose spans that must not change (links, mentions, e-mail addresses, phone numbers,
/// code) are replaced by placeholders before translation and put back after.
public struct ProtectedText: Sendable, Equatable {
    /// The text with placeholders, for the translator.
    public let text: String
    /// Placeholder → original span, in order of appearance.
    public let spans: [(placeholder: String, original: String)]
    /// The entity each span came from (offset and length relative to the original text).
    let entities: [MessageEntity]

    public static func == (lhs: ProtectedText, rhs: ProtectedText) -> Bool {
        lhs.text == rhs.text && lhs.spans.map(\.placeholder) == rhs.spans.map(\.placeholder)
            && lhs.spans.map(\.original) == rhs.spans.map(\.original)
    }

    /// Entity types whose text is copied, not translated.
    public static let protectedTypes: Set<MessageEntityType> = [.url, .textLink, .mention, .textMention, .email, .phoneNumber, .code, .pre]

    public static func placeholder(_ index: Int) -> String { "⟦\(index)⟧" }

    /// Replaces protected entities (by their UTF-16 offsets) with numbered placeholders. Entities that
    /// overlap an earlier protected one, or fall outside the text, are left as they are.
    public init(_ text: String, entities: [MessageEntity]?) {
        let protected = (entities ?? [])
            .filter { Self.protectedTypes.contains($0.type) && $0.length > 0 && $0.offset >= 0 && $0.offset + $0.length <= text.utf16.count }
            .sorted { $0.offset < $1.offset }
        var result = ""
        var spans: [(String, String)] = []
        var kept: [MessageEntity] = []
        var cursor = 0
        let utf16 = Array(text.utf16)
        for entity in protected where entity.offset >= cursor {
            result += String(decoding: utf16[cursor..<entity.offset], as: UTF16.self)
            let original = String(decoding: utf16[entity.offset..<(entity.offset + entity.length)], as: UTF16.self)
            let placeholder = Self.placeholder(spans.count + 1)
            spans.append((placeholder, original))
            kept.append(entity)
            result += placeholder
            cursor = entity.offset + entity.length
        }
        result += String(decoding: utf16[cursor...], as: UTF16.self)
        self.text = result
        self.spans = spans
        self.entities = kept
    }

    public var placeholders: [String] { spans.map(\.placeholder) }

    /// The protected entities as they were in the original text.
    public var originalEntities: [MessageEntity]? { entities.isEmpty ? nil : entities }

    /// Puts the originals back into a translation. Nil when a placeholder is missing or repeated (the
    /// translation cannot be trusted to keep links and names intact).
    public func restore(in translation: String) -> String? {
        var result = translation
        for (placeholder, original) in spans {
            guard result.components(separatedBy: placeholder).count == 2 else { return nil }
            result = result.replacingOccurrences(of: placeholder, with: original)
        }
        return result
    }

    /// `restore(in:)`, plus the protected spans' entities at their new UTF-16 positions in the result, so
    /// links, mentions and code keep their formatting. Nil like `restore(in:)`.
    public func restoreWithEntities(in translation: String) -> (text: String, entities: [MessageEntity])? {
        guard restore(in: translation) != nil else { return nil }
        var text = ""
        var entities: [MessageEntity] = []
        var rest = translation[...]
        while let open = rest.range(of: "⟦") {
            // An unclosed bracket: the rest (with what comes before it) is appended once, below.
            guard let close = rest[open.upperBound...].range(of: "⟧") else { break }
            text += rest[..<open.lowerBound]
            let token = String(rest[open.lowerBound..<close.upperBound])
            if let index = spans.firstIndex(where: { $0.placeholder == token }) {
                var entity = self.entities[index]
                entity.offset = text.utf16.count
                entity.length = spans[index].original.utf16.count
                entities.append(entity)
                text += spans[index].original
            } else {
                text += token
            }
            rest = rest[close.upperBound...]
        }
        text += rest
        return (text, entities)
    }

    /// Whether the text needs a translator at all: not when the languages are the same, or when there are no
    /// letters to translate (emoji, numbers, only protected spans).
    public static func needsTranslation(_ text: String, from source: String, to target: String) -> Bool {
        guard source.lowercased().prefix(2) != target.lowercased().prefix(2) else { return false }
        var stripped = text
        for index in 1...max(1, stripped.components(separatedBy: "⟦").count) {
            stripped = stripped.replacingOccurrences(of: placeholder(index), with: "")
        }
        return stripped.unicodeScalars.contains { $0.properties.isAlphabetic }
    }
}
