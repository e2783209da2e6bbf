import BridgeOSCore
import BridgeOSResources
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// `/glossary`: the manager's trade terms and how they are translated, and names never translated. The
/// translator gets the entries that occur in a message (DeepL gets the pair's whole glossary).
///
///     /glossary                          the list, numbered, and how to change it
///     /glossary add es rebar = varilla   a term in the manager's language and its translation into es
///                                        (adding another language to a term already there extends it)
///     /glossary keep Hilti TE-30         a name or part number never translated
///     /glossary remove 3                 entry 3 of the list
extension Flow {
    func glossaryCommand(_ argument: String?, manager: User, language: String) throws {
        let text = (argument ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let (verb, rest) = Self.firstWord(text)
        switch verb.lowercased() {
        case "":
            try glossaryList(manager: manager, language: language)
        case "add":
            try glossaryAdd(rest, manager: manager, language: language)
        case "keep":
            guard !rest.isEmpty else { return try glossaryInvalid(language, to: manager.id) }
            try glossaryChange(manager: manager, language: language) {
                try tx.addGlossaryEntry(manager: manager.id, terms: ["*": rest], keep: true, origin: .manager, now: now)
                try replies.tell(.glossaryKept, to: manager.id, language: language, ["term": rest])
            }
        case "remove", "delete":
            let entries = try tx.glossary(manager: manager.id)
            guard let number = Int(rest), number >= 1, number <= entries.count else {
                return try replies.tell(.glossaryNotFound, to: manager.id, language: language, ["number": rest.isEmpty ? "?" : rest])
            }
            let entry = entries[number - 1]
            try tx.removeGlossaryEntry(manager: manager.id, id: entry.id)
            try replies.tell(.glossaryRemoved, to: manager.id, language: language, ["entry": Self.render(entry, first: manager.language)])
        default:
            try glossaryInvalid(language, to: manager.id)
        }
    }

    private func glossaryList(manager: User, language: String) throws {
        let entries = try tx.glossary(manager: manager.id)
        let help = localizer.text(.glossaryHelp, language)
        // The languages the team speaks now (the manager's workers'); the others are counted, not listed.
        let team = Set(try tx.activeConnections(manager: manager.id).values.compactMap { try tx.user($0.workerID)?.language }.map(LanguageCode.base))
        let lines = entries.enumerated().map { "\($0.offset + 1). " + Self.render($0.element, first: manager.language, only: team) }
        let list = entries.isEmpty ? localizer.text(.glossaryEmpty, language)
            : localizer.text(.glossaryList, language, ["count": "\(entries.count)", "entries": lines.joined(separator: "\n")])
        try context.send(SendMessage(chatID: .id(manager.id), text: list + "\n\n" + help), chatID: manager.id)
    }

    /// `es rebar = varilla`: a term in the manager's language, its translation into es.
    private func glossaryAdd(_ text: String, manager: User, language: String) throws {
        let (code, pair) = Self.firstWord(text)
        let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return try glossaryInvalid(language, to: manager.id) }
        let target = code.lowercased()
        guard Language.all.contains(where: { $0.code == target }) else {
            return try replies.tell(.glossaryBadLanguage, to: manager.id, language: language, ["code": code])
        }
        let source = LanguageCode.base(manager.language)
        guard target != source else { return try replies.tell(.glossaryBadLanguage, to: manager.id, language: language, ["code": code]) }
        try glossaryChange(manager: manager, language: language) {
            // A term the glossary has in the manager's language gains (or changes) its translation into `target`.
            if let existing = try tx.glossary(manager: manager.id).first(where: { !$0.keep && $0.terms[source]?.lowercased() == parts[0].lowercased() }) {
                var terms = existing.terms
                terms[target] = parts[1]
                try tx.savepoint {
                    try tx.removeGlossaryEntry(manager: manager.id, id: existing.id)
                    let entry = try tx.addGlossaryEntry(manager: manager.id, terms: terms, keep: false, origin: .manager, now: now)
                    try replies.tell(.glossaryAdded, to: manager.id, language: language, ["entry": Self.render(entry, first: manager.language)])
                }
                return
            }
            let entry = try tx.addGlossaryEntry(manager: manager.id, terms: [source: parts[0], target: parts[1]], keep: false, origin: .manager, now: now)
            try replies.tell(.glossaryAdded, to: manager.id, language: language, ["entry": Self.render(entry, first: manager.language)])
        }
    }

    /// Runs a change; what the store refuses is explained in the manager's language, nothing half-done.
    private func glossaryChange(manager: User, language: String, _ change: () throws -> Void) throws {
        do {
            try tx.savepoint(change)
        } catch let DomainError.invalidInput(reason) {
            if reason.contains("already in the glossary"), let term = reason.split(separator: "“").last?.split(separator: "”").first {
                try replies.tell(.glossaryDuplicate, to: manager.id, language: language, ["term": String(term)])
            } else if reason.contains("glossary is full") {
                try replies.tell(.glossaryFull, to: manager.id, language: language, ["limit": "\(StoreTransaction.glossaryLimit)"])
            } else {
                try glossaryInvalid(language, to: manager.id)
            }
        }
    }

    private func glossaryInvalid(_ language: String, to chat: Int64) throws {
        let text = localizer.text(.glossaryInvalid, language) + "\n\n" + localizer.text(.glossaryHelp, language)
        try context.send(SendMessage(chatID: .id(chat), text: text), chatID: chat)
    }

    /// "rebar · es: varilla · uk: арматура" (the manager's language first), or "🔒 Hilti TE-30". With `only`,
    /// just those languages, and "+N" for the others the entry has.
    static func render(_ entry: GlossaryEntry, first language: String, only: Set<String>? = nil) -> String {
        if entry.keep { return "🔒 " + (entry.terms["*"] ?? "") }
        let base = LanguageCode.base(language)
        let head = entry.terms[base]
        let others = entry.terms.filter { $0.key != base }.sorted { $0.key < $1.key }
        let shown = others.filter { only?.contains($0.key) ?? true }
        let hidden = others.count - shown.count
        return ([head].compactMap { $0 } + shown.map { "\($0.key): \($0.value)" } + (hidden > 0 ? ["+\(hidden)"] : [])).joined(separator: " · ")
    }


    static func firstWord(_ text: String) -> (String, String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(where: \.isWhitespace) else { return (trimmed, "") }
        return (String(trimmed[..<space]), trimmed[space...].trimmingCharacters(in: .whitespaces))
    }
}

/// The industries' starter glossaries (`glossary/starter.json`): a few trade terms in the 14 languages.
public enum StarterGlossary {
    struct File: Decodable { let industries: [String: [[String: String]]] }

    static let industries: [String: [[String: String]]] = {
        guard let data = EmbeddedResources.data("glossary/starter.json"),
              let file = try? JSONDecoder().decode(File.self, from: data)
        else { return [:] }
        return file.industries
    }()

    /// The entries a new manager of `industry` starts with (none for "other").
    public static func entries(industry: String) -> [[String: String]] { industries[industry] ?? [] }
}
