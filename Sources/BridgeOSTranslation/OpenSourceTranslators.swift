import BridgeOSCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// LibreTranslate (self-hosted or a hosted instance): `POST /translate` with an optional key. It takes no
/// context. Pairs come from its `/languages`; one it lacks is `unsupportedLanguage`, never a guess.
public struct LibreTranslateTranslator: Translator {
    public var provider: String { "libretranslate" }

    let baseURL: String
    let apiKey: String
    let exchange: ProviderExchange
    let languages = Cached<[String: Set<String>]>(lifetime: .seconds(3600))

    public init(baseURL: String, apiKey: String = "", httpClient: HTTPClient, timeout: Duration = .seconds(30), logger: Logger) {
        self.baseURL = baseURL.withoutTrailingSlash
        self.apiKey = apiKey
        self.exchange = ProviderExchange(name: "LibreTranslate", httpClient: httpClient, timeout: timeout, secrets: [apiKey], logger: logger)
    }

    struct RequestBody: Encodable {
        let q: String
        let source: String
        let target: String
        let format: String
        let api_key: String?
    }

    struct Language: Decodable {
        let code: String
        let targets: [String]?
    }

    public func translate(_ request: TranslationRequest) async throws -> String {
        let known = try? await languageTable()
        let source = Self.code(request.sourceLanguage, known: known), target = Self.code(request.targetLanguage, known: known)
        if let known, known[source]?.contains(target) != true {
            throw TranslationError.final(reason: "LibreTranslate here does not translate \(request.sourceLanguage) to \(request.targetLanguage)",
                                         kind: .unsupportedLanguage)
        }
        let body = RequestBody(q: request.text, source: source, target: target, format: "text", api_key: apiKey.isEmpty ? nil : apiKey)
        let reply = try await exchange.send(try ProviderExchange.json(.POST, "\(baseURL)/translate", body), what: "translation")
        struct Answer: Decodable {
            let translatedText: String?
            let error: String?
        }
        let answer = try? JSONDecoder().decode(Answer.self, from: reply.body)
        guard reply.status == 200 else {
            let reason = exchange.reason(reply.status, answer?.error)
            if reply.status == 400, answer?.error?.lowercased().contains("not supported") == true {
                throw TranslationError.final(reason: reason, kind: .unsupportedLanguage)
            }
            throw ProviderExchange.classify(status: reply.status, reason: reason, headers: reply.headers)
        }
        guard let text = answer?.translatedText, !text.isEmpty else {
            throw TranslationError.final(reason: "LibreTranslate's answer has no translation", kind: .invalidAnswer)
        }
        return text
    }

    public func languageSupport() async throws -> LanguageSupport {
        let table = try await languageTable()
        var pairs: Set<LanguagePair> = []
        for source in TranslationPrompt.languageCodes {
            for target in TranslationPrompt.languageCodes where target != source {
                if table[Self.code(source, known: table)]?.contains(Self.code(target, known: table)) == true { pairs.insert(LanguagePair(source, target)) }
            }
        }
        return .pairs(pairs)
    }

    /// Language code → the codes it translates into, from `/languages`.
    func languageTable() async throws -> [String: Set<String>] {
        try await languages.get { [baseURL, exchange] in
            let reply = try await exchange.send(HTTPClientRequest(url: "\(baseURL)/languages"), what: "language list")
            guard reply.status == 200 else { throw ProviderExchange.classify(status: reply.status, reason: exchange.reason(reply.status, nil), headers: reply.headers) }
            guard let list = try? JSONDecoder().decode([Language].self, from: reply.body) else {
                throw TranslationError.final(reason: "LibreTranslate's language list is unreadable", kind: .invalidAnswer)
            }
            let all = Set(list.map(\.code))
            return Dictionary(list.map { ($0.code, Set($0.targets ?? Array(all))) }) { first, _ in first }
        }
    }

    /// LibreTranslate's code for a BridgeOS language: Chinese is "zh" on older servers, "zh-Hans" on newer.
    static func code(_ language: String, known: [String: Set<String>]?) -> String {
        let base = LanguageCode.base(language)
        if base == "zh", let known, known["zh"] == nil, known["zh-Hans"] != nil { return "zh-Hans" }
        return base
    }
}

/// Apertium's APy server (self-hosted, offline, rule-based): `POST /translate` with `langpair=spa|eng`.
/// It has only the pairs installed on it, read from `/listPairs`; any other pair is `unsupportedLanguage`.
public struct ApertiumTranslator: Translator {
    public var provider: String { "apertium" }

    let baseURL: String
    let exchange: ProviderExchange
    let pairs = Cached<Set<LanguagePair>>(lifetime: .seconds(3600))

    public init(baseURL: String, httpClient: HTTPClient, timeout: Duration = .seconds(30), logger: Logger) {
        self.baseURL = baseURL.withoutTrailingSlash
        self.exchange = ProviderExchange(name: "Apertium", httpClient: httpClient, timeout: timeout, secrets: [], logger: logger)
    }

    /// ISO 639-3 codes Apertium names its languages by.
    static let codes = ["en": "eng", "es": "spa", "ru": "rus", "uk": "ukr", "pt": "por", "pl": "pol", "ro": "ron", "ar": "ara",
                        "hi": "hin", "zh": "zho", "vi": "vie", "tr": "tur", "fr": "fra", "de": "deu"]

    static func code(_ language: String) -> String? {
        codes[LanguageCode.base(language)]
    }

    struct Envelope<Payload: Decodable>: Decodable {
        let responseData: Payload?
        let responseStatus: Int?
        let message: String?
        let explanation: String?
    }

    struct Pair: Decodable {
        let sourceLanguage: String
        let targetLanguage: String
    }

    struct Translated: Decodable { let translatedText: String? }

    public func translate(_ request: TranslationRequest) async throws -> String {
        let pair = LanguagePair(LanguageCode.base(request.sourceLanguage), LanguageCode.base(request.targetLanguage))
        guard let source = Self.code(pair.source), let target = Self.code(pair.target) else {
            throw TranslationError.final(reason: "Apertium has no code for \(pair)", kind: .unsupportedLanguage)
        }
        if let installed = try? await installedPairs(), !installed.contains(pair) {
            throw TranslationError.final(reason: "Apertium here has no \(source)-\(target) pair installed", kind: .unsupportedLanguage)
        }
        var http = HTTPClientRequest(url: "\(baseURL)/translate")
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        http.body = .bytes(ByteBuffer(string: Self.form([("langpair", "\(source)|\(target)"), ("q", request.text), ("markUnknown", "no")])))
        let reply = try await exchange.send(http, what: "translation")
        let envelope = try? JSONDecoder().decode(Envelope<Translated>.self, from: reply.body)
        guard reply.status == 200 else {
            let reason = exchange.reason(reply.status, envelope?.explanation ?? envelope?.message)
            if reply.status == 400, envelope?.explanation?.lowercased().contains("pair") == true {
                throw TranslationError.final(reason: reason, kind: .unsupportedLanguage)
            }
            throw ProviderExchange.classify(status: reply.status, reason: reason, headers: reply.headers)
        }
        guard let text = envelope?.responseData?.translatedText, !text.isEmpty else {
            throw TranslationError.final(reason: "Apertium's answer has no translation", kind: .invalidAnswer)
        }
        return text
    }

    public func languageSupport() async throws -> LanguageSupport { .pairs(try await installedPairs()) }

    func installedPairs() async throws -> Set<LanguagePair> {
        try await pairs.get { [baseURL, exchange] in
            let reply = try await exchange.send(HTTPClientRequest(url: "\(baseURL)/listPairs"), what: "pair list")
            guard reply.status == 200 else { throw ProviderExchange.classify(status: reply.status, reason: exchange.reason(reply.status, nil), headers: reply.headers) }
            guard let list = try? JSONDecoder().decode(Envelope<[Pair]>.self, from: reply.body).responseData else {
                throw TranslationError.final(reason: "Apertium's pair list is unreadable", kind: .invalidAnswer)
            }
            let byCode = Dictionary(Self.codes.map { ($1, $0) }) { first, _ in first }
            // "por_BR", "spa" or "es": the language before any variant, three letters or two.
            func ours(_ code: String) -> String? {
                let base = String(code.split(separator: "_").first ?? "")
                return byCode[base] ?? (Self.codes[base] != nil ? base : nil)
            }
            return Set(list.compactMap { pair in
                guard let source = ours(pair.sourceLanguage), let target = ours(pair.targetLanguage) else { return nil }
                return LanguagePair(source, target)
            })
        }
    }

    static func form(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }
}
