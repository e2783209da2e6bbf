import BridgeOSCore
import Foundation
import GRDB

/// One entry of a manager's glossary: a term in several languages, or a name never translated.
public struct GlossaryEntry: Sendable, Equatable {
    public enum Origin: String, Sendable { case starter, manager }
    public var id: Int64
    public var keep: Bool
    public var origin: Origin
    /// Language code → term; a kept name has one term under "*".
    public var terms: [String: String]
}

/// A term and its translation for one language pair, as the translator gets it.
public struct GlossaryPairTerm: Sendable, Equatable {
    public var source: String
    public var target: String
    public var keep: Bool
}

/// The teams' glossaries (`/glossary`): trade terms and how they are translated, names never translated.
extension StoreTransaction {
    /// Entries a glossary holds at most (a prompt stays short; DeepL keeps one glossary per pair).
    public static let glossaryLimit = 300

    /// The manager's glossary, oldest entry first.
    public func glossary(manager: Int64) throws -> [GlossaryEntry] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT e.id, e.keep, e.origin, t.language, t.term FROM glossary_entries e
            JOIN glossary_terms t ON t.entry_id = e.id
            WHERE e.manager_id = ? ORDER BY e.id, t.language
            """, arguments: [manager])
        var entries: [GlossaryEntry] = []
        for row in rows {
            let id: Int64 = row["id"]
            if entries.last?.id != id {
                entries.append(GlossaryEntry(id: id, keep: row["keep"], origin: GlossaryEntry.Origin(rawValue: row["origin"]) ?? .manager, terms: [:]))
            }
            entries[entries.count - 1].terms[row["language"]] = row["term"]
        }
        return entries
    }

    /// The glossary for translating from `source` into `target`: entries with a term in both, and every kept name.
    public func glossaryPair(manager: Int64, source: String, target: String) throws -> [GlossaryPairTerm] {
        try Row.fetchAll(db, sql: """
            SELECT s.term AS source, coalesce(t.term, s.term) AS target, e.keep FROM glossary_entries e
            JOIN glossary_terms s ON s.entry_id = e.id AND s.language = (CASE WHEN e.keep THEN '*' ELSE ?1 END)
            LEFT JOIN glossary_terms t ON t.entry_id = e.id AND t.language = ?2 AND NOT e.keep
            WHERE e.manager_id = ?3 AND (e.keep OR t.term IS NOT NULL)
            ORDER BY e.id
            """, arguments: [Self.baseLanguage(source), Self.baseLanguage(target), manager])
            .map { GlossaryPairTerm(source: $0["source"], target: $0["target"], keep: $0["keep"]) }
    }

    /// Adds an entry: `terms` by language (two or more), or one name to keep under "*". A term the glossary
    /// already has in that language is refused (`DomainError.invalidInput`), as is a full glossary.
    @discardableResult
    public func addGlossaryEntry(manager: Int64, terms: [String: String], keep: Bool, origin: GlossaryEntry.Origin, now: Date) throws -> GlossaryEntry {
        var clean: [String: String] = [:]
        for (language, term) in terms {
            let language = language == "*" ? "*" : try Validate.language(Self.baseLanguage(language))
            let term = try Validate.text(term, field: "term", maxLength: 100)
            guard !term.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "\r" }) else { throw DomainError.invalidInput("a term is one line") }
            clean[language] = term
        }
        if keep {
            guard clean.count == 1, clean["*"] != nil else { throw DomainError.invalidInput("a name to keep is one term") }
        } else {
            guard clean.count >= 2, clean["*"] == nil else { throw DomainError.invalidInput("a glossary entry needs a term in two languages") }
        }
        let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM glossary_entries WHERE manager_id = ?", arguments: [manager]) ?? 0
        guard count < Self.glossaryLimit else { throw DomainError.invalidInput("the glossary is full (\(Self.glossaryLimit) entries)") }
        for (language, term) in clean {
            let taken = try Bool.fetchOne(db, sql: "SELECT 1 FROM glossary_terms WHERE manager_id = ? AND language = ? AND term_key = ?",
                                          arguments: [manager, language, Self.termKey(term)]) ?? false
            if taken { throw DomainError.invalidInput("“\(term)” is already in the glossary") }
        }
        guard let id = try Int64.fetchOne(db, sql: "INSERT INTO glossary_entries (manager_id, keep, origin, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                                          arguments: [manager, keep, origin.rawValue, StoreDate(now)])
        else { throw StoreError.unexpectedResult("the glossary insert returned no id") }
        for (language, term) in clean.sorted(by: { $0.key < $1.key }) {
            try db.execute(sql: "INSERT INTO glossary_terms (entry_id, manager_id, language, term, term_key) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, manager, language, term, Self.termKey(term)])
        }
        return GlossaryEntry(id: id, keep: keep, origin: origin, terms: clean)
    }

    /// The industry's starter entries, for a new manager: each one the glossary has no term of yet.
    /// Returns how many were added.
    @discardableResult
    public func seedGlossary(manager: Int64, entries: [[String: String]], now: Date) throws -> Int {
        var added = 0
        for terms in entries {
            guard (try? savepoint({ try addGlossaryEntry(manager: manager, terms: terms, keep: false, origin: .starter, now: now) })) != nil else { continue }
            added += 1
        }
        return added
    }

    /// Removes entry `id` of `manager`'s glossary; false when it has no such entry.
    @discardableResult
    public func removeGlossaryEntry(manager: Int64, id: Int64) throws -> Bool {
        try db.execute(sql: "DELETE FROM glossary_terms WHERE entry_id = ? AND manager_id = ?", arguments: [id, manager])
        try db.execute(sql: "DELETE FROM glossary_entries WHERE id = ? AND manager_id = ?", arguments: [id, manager])
        return db.changesCount == 1
    }

    /// How terms are compared: lowercased in every script ("HORMIGÓN" is "hormigón", "Бетон" is "бетон").
    static func termKey(_ term: String) -> String { term.lowercased() }

    /// "pt-BR" → "pt": glossaries are kept per base language.
    static func baseLanguage(_ code: String) -> String {
        code == "*" ? code : LanguageCode.base(code)
    }
}
