import BridgeOSTelegram

/// Splits a text longer than Telegram's limit into valid messages: at a paragraph break if there is one
/// in the second half of the window, else a line break, a sentence end, a space, and only as a last resort
/// mid-word (never inside a character). Entities are clipped to each part and re-based.
public enum TextSplitter {
    public struct Part: Sendable, Equatable {
        public let text: String
        public let entities: [MessageEntity]?
    }

    public static func split(_ text: String, entities: [MessageEntity]? = nil, limit: Int = 4096) -> [Part] {
        guard text.utf16.count > limit, limit > 0 else { return [Part(text: text, entities: entities)] }
        var parts: [Part] = []
        func append(_ range: Range<String.Index>) {
            let offset = text.utf16.distance(from: text.startIndex, to: range.lowerBound)
            let length = text.utf16.distance(from: range.lowerBound, to: range.upperBound)
            parts.append(Part(text: String(text.unicodeScalars[range]), entities: clip(entities, offset: offset, length: length)))
        }
        var start = text.startIndex
        while start < text.endIndex {
            let remaining = text.utf16.distance(from: start, to: text.endIndex)
            let cut = remaining <= limit ? text.endIndex : cutPosition(in: text, from: start, limit: limit)
            guard cut > start else {
                // One character (a grapheme cluster: a long run of combining marks, a giant emoji sequence)
                // is longer than the limit by itself: it goes in pieces cut between Unicode scalars.
                let next = text.index(after: start)
                var piece = start
                while piece < next {
                    let end = scalarCut(in: text, from: piece, to: next, limit: limit)
                    append(piece..<end)
                    piece = end
                }
                start = next
                continue
            }
            // Whitespace at the cut belongs to neither part.
            var end = cut
            while end > start, text[text.index(before: end)].isWhitespace { end = text.index(before: end) }
            if end > start { append(start..<end) }
            start = cut
            while start < text.endIndex, text[start].isWhitespace { start = text.index(after: start) }
        }
        return parts
    }

    /// The best place to end a part that starts at `start`, within `limit` UTF-16 units.
    private static func cutPosition(in text: String, from start: String.Index, limit: Int) -> String.Index {
        var index = start
        var units = 0
        var paragraph: String.Index?, line: String.Index?, sentence: String.Index?, space: String.Index?
        var previous: Character?
        while index < text.endIndex {
            let character = text[index]
            let width = character.utf16.count
            if units + width > limit { break }
            units += width
            let next = text.index(after: index)
            let past = units >= limit / 2
            if character == "\n" || character == "\r\n" {
                if past { line = next }
                if past, previous == "\n" || previous == "\r\n" { paragraph = next }
            } else if character.isWhitespace {
                if past { space = next }
                if past, let previous, ".!?…。".contains(previous) { sentence = next }
            }
            previous = character
            index = next
        }
        return paragraph ?? line ?? sentence ?? space ?? index
    }

    /// The furthest scalar boundary after `start` (before `limitIndex`) within `limit` UTF-16 units; at least one scalar.
    private static func scalarCut(in text: String, from start: String.Index, to limitIndex: String.Index, limit: Int) -> String.Index {
        let scalars = text.unicodeScalars
        var index = start
        var units = 0
        while index < limitIndex {
            let width = scalars[index].utf16.count
            if units + width > limit, index > start { break }
            units += width
            index = scalars.index(after: index)
        }
        return index
    }

    private static func clip(_ entities: [MessageEntity]?, offset: Int, length: Int) -> [MessageEntity]? {
        guard let entities else { return nil }
        let clipped = entities.compactMap { entity -> MessageEntity? in
            let start = max(entity.offset, offset)
            let end = min(entity.offset + entity.length, offset + length)
            guard end > start else { return nil }
            var part = entity
            part.offset = start - offset
            part.length = end - start
            return part
        }
        return clipped.isEmpty ? nil : clipped
    }
}
