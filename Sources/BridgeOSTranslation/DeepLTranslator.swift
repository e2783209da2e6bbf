import AsyncHTTPClient
import BridgeOSCore
import Foundation
import Logging

/// Settings of DeepL's API.
public struct DeepLConfiguration: Sendable {
    public var apiKey: String
    /// Free keys end in ":fx" and use api-free.deepl.com; others api.deepl.com. Set only to point at a stand-in.
    public var baseURL: String
    public var timeout: Duration

    public init(apiKey: String, baseURL: String? = nil, timeout: Duration = .seconds(30)) {
        self.apiKey = apiKey
        let url = baseURL ?? (apiKey.hasSuffix(":fx") ? "https://api-free.deepl.com" : "https://api.deepl.com")
        self.baseURL = url.withoutTrailingSlash
        self.timeout = timeout
    }
}

/// DeepL's `/v2/translate`. The conversation goes as `context` (not translated, not billed); the team's
/// glossary for the pair as a DeepL glossary (kept in sync by `DeepLGlossaries`); placeholders and
/// never-translate terms as XML tags DeepL leaves alone. 456 (quota used up) is final; pairs DeepL does
/// not have are reported as `unsupportedLanguage`, from its own `/v2/languages`.
public struct DeepLTranslator: Translator {
    public var provider: String { "deepl" }

    let configuration: DeepLConfiguration
    let exchange: ProviderExchange
    let glossaries: DeepLGlossaries
    let languages = Cached<LanguageSupport>(lifetime: .seconds(3600))
    let logger: Logger

    public init(configuration: DeepLConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.exchange = ProviderExchange(name: "DeepL", httpClient: httpClient, timeout: configuration.timeout,
                                         secrets: [configuration.apiKey], logger: logger)
        self.glossaries = DeepLGlossaries(baseURL: configuration.baseURL, apiKey: configuration.apiKey, exchange: exchange)
        self.logger = exchange.logger
    }

    var authorization: (String, String) { ("Authorization", "DeepL-Auth-Key \(configuration.apiKey)") }

    struct RequestBody: Encodable {
        let text: [String]
        let source_lang: String
        let target_lang: String
        let context: String?
        var glossary_id: String?
        let tag_handling: String?
        let ignore_tags: [String]?
        let preserve_formatting: Bool
    }

    struct ResponseBody: Decodable {
        struct Item: Decodable { let text: String }
        let translations: [Item]
    }

    struct Language: Decodable { let language: String }

    public func translate(_ request: TranslationRequest) async throws -> String {
        if let support = try? await languageSupport(), !support.contains(LanguagePair(LanguageCode.base(request.sourceLanguage), LanguageCode.base(request.targetLanguage))) {
            throw TranslationError.final(reason: "DeepL does not translate \(request.sourceLanguage) to \(request.targetLanguage)", kind: .unsupportedLanguage)
        }
        let terms = request.glossary.filter { !$0.keep }
        var glossaryID: String?
        if let owner = request.glossaryOwner, !terms.isEmpty {
            do {
                glossaryID = try await glossaries.id(owner: owner, source: LanguageCode.base(request.sourceLanguage), target: LanguageCode.base(request.targetLanguage), terms: terms)
            } catch {
                // A pair DeepL keeps no glossaries for, or a glossary refused: translate without it rather than not at all.
                logger.warning("DeepL glossary not available; translating without it", metadata: ["error": "\(error)"])
            }
        }
        let keep = request.glossary.filter(\.keep).map(\.source)
        let markup = DeepLMarkup(text: request.text, placeholders: request.placeholders, keep: keep)
        let context = request.context.map(\.text).joined(separator: "\n")
        let body = RequestBody(text: [markup.text], source_lang: LanguageCode.base(request.sourceLanguage).uppercased(),
                               target_lang: Self.targetCode(request.targetLanguage), context: context.isEmpty ? nil : context,
                               glossary_id: glossaryID, tag_handling: markup.usesTags ? "xml" : nil,
                               ignore_tags: markup.usesTags ? [DeepLMarkup.keepTag] : nil, preserve_formatting: true)
        var reply = try await exchange.send(try ProviderExchange.json(.POST, "\(configuration.baseURL)/v2/translate", body, headers: [authorization]),
                                            what: "translation")
        if let glossaryID, [400, 404].contains(reply.status) {
            // The glossary is gone on DeepL's side (deleted there, or by another installation): forgotten, and
            // this message translated without it (the next one makes it anew).
            await glossaries.forget(glossaryID)
            var plain = body
            plain.glossary_id = nil
            reply = try await exchange.send(try ProviderExchange.json(.POST, "\(configuration.baseURL)/v2/translate", plain, headers: [authorization]),
                                            what: "translation")
        }
        guard reply.status == 200 else { throw Self.classify(reply, exchange: exchange) }
        guard let text = (try? JSONDecoder().decode(ResponseBody.self, from: reply.body))?.translations.first?.text, !text.isEmpty else {
            throw TranslationError.final(reason: "DeepL's answer has no translation", kind: .invalidAnswer)
        }
        return markup.restore(text)
    }

    /// The pairs of BridgeOS languages DeepL translates, from `/v2/languages` (cached for an hour).
    public func languageSupport() async throws -> LanguageSupport {
        try await languages.get { [exchange, configuration, authorization] in
            func fetch(_ type: String) async throws -> Set<String> {
                var request = HTTPClientRequest(url: "\(configuration.baseURL)/v2/languages?type=\(type)")
                request.headers.add(name: authorization.0, value: authorization.1)
                let reply = try await exchange.send(request, what: "language list")
                guard reply.status == 200 else { throw Self.classify(reply, exchange: exchange) }
                guard let list = try? JSONDecoder().decode([Language].self, from: reply.body) else {
                    throw TranslationError.final(reason: "DeepL's language list is unreadable", kind: .invalidAnswer)
                }
                return Set(list.map { $0.language.lowercased() })
            }
            let sources = try await fetch("source")
            let targets = try await fetch("target")
            var pairs: Set<LanguagePair> = []
            for source in TranslationPrompt.languageCodes where sources.contains(source) {
                for target in TranslationPrompt.languageCodes where target != source
                    && (targets.contains(target) || targets.contains(Self.targetCode(target).lowercased())) {
                    pairs.insert(LanguagePair(source, target))
                }
            }
            return .pairs(pairs)
        }
    }

    /// DeepL wants a variant for some targets: English (US), Portuguese (Brazil), Chinese (simplified).
    static func targetCode(_ code: String) -> String {
        let upper = code.uppercased()
        if upper.contains("-") { return upper }
        return ["EN": "EN-US", "PT": "PT-BR", "ZH": "ZH-HANS"][upper] ?? upper
    }

    static func classify(_ reply: ProviderExchange.Reply, exchange: ProviderExchange) -> TranslationError {
        struct ErrorBody: Decodable { let message: String? }
        let reason = exchange.reason(reply.status, (try? JSONDecoder().decode(ErrorBody.self, from: reply.body))?.message)
        if reply.status == 456 { return .final(reason: reason, kind: .quotaExhausted) }
        return ProviderExchange.classify(status: reply.status, reason: reason, headers: reply.headers)
    }
}

/// The team's glossary for one pair as a DeepL glossary, created when the terms change and the old one
/// deleted. Named `bridgeos-m<manager>-<src>-<tgt>-<hash>`, so a restart finds them again (one listing)
/// instead of creating more.
actor DeepLGlossaries {
    let baseURL: String
    let apiKey: String
    let exchange: ProviderExchange
    /// Name → glossary id; nil until the first listing.
    private var known: [String: String]?
    private var creating: [String: Task<String, any Error>] = [:]

    init(baseURL: String, apiKey: String, exchange: ProviderExchange) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.exchange = exchange
    }

    struct Glossary: Decodable {
        let glossary_id: String
        let name: String
    }

    struct Listing: Decodable { let glossaries: [Glossary] }

    struct CreateBody: Encodable {
        let name: String
        let source_lang: String
        let target_lang: String
        let entries: String
        let entries_format: String
    }

    /// TSV entries: one `source<TAB>target` per line, tabs and line breaks inside terms replaced by spaces,
    /// one entry per source term.
    static func entries(_ terms: [GlossaryTerm]) -> String {
        func clean(_ text: String) -> String {
            text.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
                .trimmingCharacters(in: .whitespaces)
        }
        var seen: Set<String> = []
        return terms.compactMap { term -> String? in
            let source = clean(term.source), target = clean(term.target)
            guard !source.isEmpty, !target.isEmpty, seen.insert(source).inserted else { return nil }
            return "\(source)\t\(target)"
        }.sorted().joined(separator: "\n")
    }

    func id(owner: Int64, source: String, target: String, terms: [GlossaryTerm]) async throws -> String {
        let entries = Self.entries(terms)
        let prefix = "bridgeos-m\(owner)-\(source)-\(target)-"
        let name = prefix + TextDigest.of(entries)
        if let id = try await listing()[name] { return id }
        // One creation per name at a time (an actor's awaits let other calls in): the others wait for it.
        if let pending = creating[name] { return try await pending.value }
        let task = Task { try await create(name: name, prefix: prefix, source: source, target: target, entries: entries) }
        creating[name] = task
        defer { creating[name] = nil }
        return try await task.value
    }

    /// Forgets a glossary DeepL no longer has (deleted on its dashboard, or by another installation).
    func forget(_ id: String) {
        known = known?.filter { $0.value != id }
    }

    private func create(name: String, prefix: String, source: String, target: String, entries: String) async throws -> String {
        let request = try ProviderExchange.json(.POST, "\(baseURL)/v2/glossaries",
                                                CreateBody(name: name, source_lang: source, target_lang: target, entries: entries, entries_format: "tsv"),
                                                headers: [("Authorization", "DeepL-Auth-Key \(apiKey)")])
        let reply = try await exchange.send(request, what: "glossary")
        guard reply.status == 200 || reply.status == 201, let created = try? JSONDecoder().decode(Glossary.self, from: reply.body) else {
            throw DeepLTranslator.classify(reply, exchange: exchange)
        }
        // Recorded at once (the cache as it is now, not a copy from before the awaits).
        known = (known ?? [:]).merging([name: created.glossary_id]) { _, new in new }
        // The team's earlier versions of this pair's glossary are no longer used.
        for (oldName, oldID) in (known ?? [:]) where oldName.hasPrefix(prefix) && oldName != name {
            var delete = HTTPClientRequest(url: "\(baseURL)/v2/glossaries/\(oldID)")
            delete.method = .DELETE
            delete.headers.add(name: "Authorization", value: "DeepL-Auth-Key \(apiKey)")
            if let reply = try? await exchange.send(delete, what: "glossary"), reply.status == 204 || reply.status == 404 {
                known?[oldName] = nil
            }
        }
        return created.glossary_id
    }

    private func listing() async throws -> [String: String] {
        if let known { return known }
        var request = HTTPClientRequest(url: "\(baseURL)/v2/glossaries")
        request.headers.add(name: "Authorization", value: "DeepL-Auth-Key \(apiKey)")
        let reply = try await exchange.send(request, what: "glossary list")
        guard reply.status == 200, let listing = try? JSONDecoder().decode(Listing.self, from: reply.body) else {
            throw DeepLTranslator.classify(reply, exchange: exchange)
        }
        let found = Dictionary(listing.glossaries.filter { $0.name.hasPrefix("bridgeos-") }.map { ($0.name, $0.glossary_id) }) { first, _ in first }
        known = found
        return found
    }
}

/// The text as DeepL gets it: with placeholders or never-translate terms, XML whose tags DeepL keeps
/// (`<x i="1"/>` for a placeholder, `<keep>term</keep>` ignored); otherwise the plain text.
struct DeepLMarkup {
    static let keepTag = "keep"
    let text: String
    let usesTags: Bool
    let placeholders: [String]

    init(text: String, placeholders: [String], keep: [String]) {
        self.placeholders = placeholders
        let keepHere = keep.filter { GlossaryTerm.occurs($0, in: text) }
        guard !placeholders.isEmpty || !keepHere.isEmpty else {
            self.text = text
            self.usesTags = false
            return
        }
        var xml = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        for (index, placeholder) in placeholders.enumerated() {
            xml = xml.replacingOccurrences(of: placeholder, with: "<x i=\"\(index)\"/>")
        }
        for term in keepHere.sorted(by: { $0.count > $1.count }) {
            let escaped = term.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            // As written in the message (any case), wrapped.
            // Whole words only, and never inside a tag or an entity already written.
            let pattern = "(?<![\\p{L}\\p{N}<&/])" + NSRegularExpression.escapedPattern(for: escaped) + "(?![\\p{L}\\p{N}])(?![^<]*>)"
            xml = xml.replacingOccurrences(of: pattern, with: "<keep>$0</keep>", options: [.regularExpression, .caseInsensitive])
        }
        self.text = xml
        self.usesTags = true
    }

    /// DeepL's answer with the placeholders back and the markup gone.
    func restore(_ answer: String) -> String {
        guard usesTags else { return answer }
        var text = answer
        for (index, placeholder) in placeholders.enumerated() {
            for form in ["<x i=\"\(index)\"/>", "<x i=\"\(index)\" />", "<x i=\"\(index)\"></x>"] {
                text = text.replacingOccurrences(of: form, with: placeholder)
            }
        }
        text = text.replacingOccurrences(of: "<keep>", with: "").replacingOccurrences(of: "</keep>", with: "")
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
    }
}
