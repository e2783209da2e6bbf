import Foundation
import Testing

/// No SQL is built from input. Values reach SQL only as bound arguments (`?`); the few things interpolated
/// into SQL text are reviewed here one by one: table and column names from the schema itself (quoted),
/// integers, enum raw values, and fragments chosen from constants. A new interpolation fails this test
/// until someone has read it and added it with its reason.
@Suite struct SQLTextTests {
    /// Every expression interpolated into SQL text in Sources/BridgeOSStorage and Sources/BridgeOSPostgres,
    /// and why it cannot carry input.
    static let reviewed: [String: String] = [
        "options.synchronous.rawValue": "an enum's raw value (NORMAL, FULL, …), parsed from the configuration",
        "databaseTableName": "a record type's static table name",
        "migration.version": "an Int",
        "theirs": "a fixed subquery text (the erased person's connections, by bound parameter ?1)",
        "notices": "a fixed subquery text (bound parameter ?1)",
        "MessageChanges.notErased": "a constant condition",
        "notErased": "a constant condition",
        "filter": "one of two constant conditions (direction of paging)",
        "condition": "one of two constant conditions (by manager or by worker), its value bound",
        "open ? \"AND f.answered_at IS NULL\" : \"\"": "a constant fragment",
        "max(1, limit)": "an Int",
        "creating": "a constant list of Bot API method names",
        "finished": "quoted raw values of a Swift enum (outbox and job statuses)",
        "$0.rawValue": "a Swift enum's raw value, quoted",
        "column": "one of two constant column names (reminded_at, escalated_at)",
        "includeDone ? \"\" : \"AND tasks.status = 'open'\"": "a constant fragment",
        "name.quotedDatabaseIdentifier": "a table name read from sqlite_master, quoted as an identifier",
        "columns": "column names from the schema, each quoted as an identifier",
        "marks": "a list of ? placeholders",
        "table.name.quotedDatabaseIdentifier": "a table name from the schema, quoted as an identifier",
        "order": "key column names from the schema, each quoted as an identifier",
        "key.quotedDatabaseIdentifier": "a key column name from the schema, quoted",
        "PostgresSchema.migrationsTable": "a constant table name",
        "identifiers.map { \"(\\(literal($0)))\" }.joined(separator: \", \")": "migration identifiers from the embedded schema, each a quoted literal",
        "literal($0)": "a migration identifier from the embedded schema, as a quoted literal",
        "sequence": "a sequence name read from PostgreSQL's catalogue, as a quoted literal",
        "floor": "an Int64",
        "columns.joined(separator: \", \")": "column names from the schema, each quoted",
        "quoted(table.name)": "a table name from the schema, quoted as an identifier",
        "order.joined(separator: \", \")": "key column names from the schema, each quoted",
        "PostgresLoad.literal(PostgresLoad.quoted(table.name))": "a table name from the schema, quoted, as a literal",
        "PostgresLoad.literal(key)": "a key column name from the schema, as a literal",
        "name": "a sequence name from PostgreSQL's catalogue, quoted",
        "PostgresLoad.literal(PostgresSchema.migrationsTable)": "a constant table name, as a literal",
        "currentConnectionOnly ? \"AND connections.status = 'active'\" : \"\"": "a constant fragment",
        "account.id": "an Int64 inside a bound LIKE argument, not SQL text",
        "botID": "an Int64 inside a bound argument, not SQL text",
        "secret": "a generated token inside a bound argument, not SQL text",
        "(?:(?!\\);)[\\s\\S]": "a regular expression in a raw string: no interpolation at all",
        "shownSource": "the source file's path in a comment of the dump, control characters replaced so it cannot end the comment",
        "identifiers.last ?? \"none\"": "a migration identifier from the embedded schema, in a comment",
        "formatLine": "a constant comment line",
        "schemaPrefix": "a constant comment prefix",
        "identifiers.joined(separator: \" \")": "migration identifiers from the embedded schema, in a comment",
    ]

    @Test("no SQL is built from input: every expression interpolated into SQL text is a reviewed one that carries no input")
    func noSQLFromInput() throws {
        var found: [String: [String]] = [:]
        for directory in ["Sources/BridgeOSStorage", "Sources/BridgeOSPostgres"] {
            let root = packageRoot.appendingPathComponent(directory)
            let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
                .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
            for file in files {
                let relative = file.path.replacingOccurrences(of: packageRoot.path + "/", with: "")
                for (line, expression) in Self.sqlInterpolations(in: try String(contentsOf: file, encoding: .utf8)) {
                    found[expression, default: []].append("\(relative):\(line)")
                }
            }
        }
        #expect(found.count >= 10, "the scan found too little to be looking at the right thing: \(found.keys.sorted())")
        let unreviewed = found.filter { Self.reviewed[$0.key] == nil }
        #expect(unreviewed.isEmpty, """
            interpolated into SQL text and not reviewed (bind values with ? instead, or add the expression to \
            `reviewed` with why it carries no input):
            \(unreviewed.sorted { $0.key < $1.key }.map { "\($0.key)  at \($0.value.joined(separator: ", "))" }.joined(separator: "\n"))
            """)
    }

    /// A check of the scanner itself, so the test above cannot pass by finding nothing.
    @Test func scannerFindsInterpolations() {
        let source = #"""
            let a = try Row.fetchAll(db, sql: "SELECT * FROM users WHERE name = '\(name)'")
            let message = "hello \(name)"
            let b = """
                DELETE FROM jobs
                WHERE id IN (\(ids.map { "\($0)" }.joined(separator: ",")))
                """
            """#
        let found = Self.sqlInterpolations(in: source).map(\.expression)
        #expect(found == ["name", #"ids.map { "\($0)" }.joined(separator: ",")"#, "$0"])
    }

    static let keyword = try! NSRegularExpression(
        pattern: #"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|PRAGMA|WHERE|VALUES|ORDER BY|CREATE TABLE|ALTER TABLE|DROP TABLE|JOIN|SET)\b"#)

    /// The interpolated expressions of string literals that hold SQL: a line with an SQL keyword in upper case,
    /// or any line of a multi-line literal that has one.
    static func sqlInterpolations(in source: String) -> [(line: Int, expression: String)] {
        let lines = source.components(separatedBy: "\n")
        var results: [(Int, String)] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let code = line.trimmingCharacters(in: .whitespaces)
            if code.hasPrefix("//") { index += 1; continue }
            if line.components(separatedBy: "\"\"\"").count == 2 {
                // A multi-line literal opens here: take it whole.
                var end = index + 1
                while end < lines.count, !lines[end].contains("\"\"\"") { end += 1 }
                let block = lines[index...min(end, lines.count - 1)].joined(separator: "\n")
                if hasKeyword(block) {
                    for (offset, text) in lines[index...min(end, lines.count - 1)].enumerated() {
                        results += interpolations(in: text).map { (index + offset + 1, $0) }
                    }
                }
                index = end + 1
                continue
            }
            if hasKeyword(line) { results += interpolations(in: line).map { (index + 1, $0) } }
            index += 1
        }
        return results
    }

    static func hasKeyword(_ text: String) -> Bool {
        keyword.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// Each `\( … )` of a line, with nested parentheses, and those nested inside it.
    static func interpolations(in line: String) -> [String] {
        let characters = Array(line)
        var results: [String] = []
        var index = 0
        while index + 1 < characters.count {
            guard characters[index] == "\\", characters[index + 1] == "(" else { index += 1; continue }
            var depth = 1
            var end = index + 2
            while end < characters.count, depth > 0 {
                if characters[end] == "(" { depth += 1 } else if characters[end] == ")" { depth -= 1 }
                end += 1
            }
            let expression = String(characters[(index + 2)..<max(index + 2, end - 1)])
            results.append(expression)
            results += interpolations(in: expression)
            index = end
        }
        return results
    }
}
