/// Parser for env files (`KEY=value` lines), the format systemd's `EnvironmentFile=` and Docker's
/// `--env-file` also read.
///
/// Accepted: blank lines, `#` comments, an optional `export ` prefix, values in double quotes (with `\"`,
/// `\\`, `\n` escapes), in single quotes (taken literally), or bare (trailing ` # comment` removed,
/// surrounding spaces trimmed). Anything else is an error naming the line, so a typo never silently
/// drops a setting.
public enum EnvironmentFile {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> [String: String] {
        var values: [String: String] = [:]
        // Split on any newline convention; keep empty lines so numbering matches an editor's.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            var line = Substring(rawLine).trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count).trimmingSpaces() }
            guard let equals = line.firstIndex(of: "=") else {
                throw ParseError(line: lineNumber, reason: "expected KEY=value")
            }
            let key = String(line[..<equals].trimmingSpaces())
            guard isValidKey(key) else {
                throw ParseError(line: lineNumber, reason: "invalid variable name '\(key)'")
            }
            let rawValue = line[line.index(after: equals)...].trimmingSpaces()
            values[key] = try parseValue(rawValue, line: lineNumber)
        }
        return values
    }

    /// Lines systemd's `EnvironmentFile=` (which the packaged service reads) takes otherwise than BridgeOS does:
    /// an `export ` line is ignored there, and a bare value's trailing ` # comment` stays in the value.
    public static func systemdDifferences(_ text: String) -> [(line: Int, reason: String)] {
        var differences: [(line: Int, reason: String)] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, rawLine) in lines.enumerated() {
            let line = Substring(rawLine).trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") {
                differences.append((index + 1, "`export`: systemd ignores the line"))
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let value = line[line.index(after: equals)...].trimmingSpaces()
            if let first = value.first, first != "\"", first != "'", value.contains(" #") {
                differences.append((index + 1, "a trailing comment: systemd keeps it in the value"))
            }
        }
        return differences
    }

    static func isValidKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, first == "_" || first.isASCIILetter else { return false }
        return key.unicodeScalars.allSatisfy { $0 == "_" || $0.isASCIILetter || ("0"..."9").contains($0) }
    }

    private static func parseValue(_ raw: Substring, line: Int) throws(ParseError) -> String {
        guard let quote = raw.first, quote == "\"" || quote == "'" else {
            // Bare value: an unquoted ` #` starts a comment.
            var value = raw
            if let hash = value.range(of: " #") { value = value[..<hash.lowerBound] }
            return String(value.trimmingSpaces())
        }
        var result = ""
        var index = raw.index(after: raw.startIndex)
        while index < raw.endIndex {
            let character = raw[index]
            if character == quote {
                let rest = raw[raw.index(after: index)...].trimmingSpaces()
                guard rest.isEmpty || rest.hasPrefix("#") else {
                    throw ParseError(line: line, reason: "unexpected text after closing quote")
                }
                return result
            }
            if quote == "\"" && character == "\\" {
                let next = raw.index(after: index)
                guard next < raw.endIndex else { break }
                switch raw[next] {
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "\"", "\\", "$": result.append(raw[next])
                default: result.append("\\"); result.append(raw[next])
                }
                index = raw.index(after: next)
                continue
            }
            result.append(character)
            index = raw.index(after: index)
        }
        throw ParseError(line: line, reason: "missing closing \(quote) quote")
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result.removeLast() }
        return result
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
