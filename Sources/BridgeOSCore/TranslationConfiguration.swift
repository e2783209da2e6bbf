import Foundation

/// Translation providers, their fallback chain, summaries and voice transcription: the part of the
/// configuration they read.
public struct TranslationConfiguration: Sendable, Equatable {
    /// Providers BRIDGEOS_TRANSLATOR and BRIDGEOS_TRANSLATOR_FALLBACK may name.
    public static let providers = ["openai", "anthropic", "gemini", "deepl", "libretranslate", "apertium"]
    /// The providers that are LLMs (they can also write summaries).
    public static let languageModels = ["openai", "anthropic", "gemini"]

    public static let settings: [AppConfiguration.Setting] = [
        .init(name: "BRIDGEOS_TRANSLATOR", defaultValue: "none",
              summary: "none; openai (any OpenAI-compatible Chat Completions server), anthropic, gemini, deepl, libretranslate, apertium; phrasebook (the demo's: knows only the demo's sentences)."),
        .init(name: "BRIDGEOS_TRANSLATOR_FALLBACK", defaultValue: "(none)",
              summary: "Comma-separated providers tried in order when BRIDGEOS_TRANSLATOR fails (an outage, a quota, a pair it lacks), e.g. deepl,apertium."),
        .init(name: "BRIDGEOS_TRANSLATOR_MODEL", defaultValue: "gpt-4o-mini", summary: "Model name sent to the OpenAI-compatible provider."),
        .init(name: "OPENAI_API_KEY", defaultValue: "(none)", summary: "Secret. Key of the OpenAI-compatible provider (local servers need none)."),
        .init(name: "OPENAI_BASE_URL", defaultValue: "https://api.openai.com/v1", summary: "The OpenAI-compatible server (Ollama: http://127.0.0.1:11434/v1)."),
        .init(name: "ANTHROPIC_API_KEY", defaultValue: "(none)", summary: "Secret. Anthropic API key (translator anthropic)."),
        .init(name: "ANTHROPIC_MODEL", defaultValue: "claude-haiku-4-5", summary: "Claude model for translation and summaries."),
        .init(name: "ANTHROPIC_BASE_URL", defaultValue: "https://api.anthropic.com", summary: "Anthropic's API (tests point it at a stand-in)."),
        .init(name: "GEMINI_API_KEY", defaultValue: "(none)", summary: "Secret. Google Gemini API key (translator gemini)."),
        .init(name: "GEMINI_MODEL", defaultValue: "gemini-2.5-flash", summary: "Gemini model for translation and summaries."),
        .init(name: "GEMINI_BASE_URL", defaultValue: "https://generativelanguage.googleapis.com/v1beta", summary: "Gemini's API (tests point it at a stand-in)."),
        .init(name: "DEEPL_API_KEY", defaultValue: "(none)", summary: "Secret. DeepL key; a free key (ending :fx) uses api-free.deepl.com."),
        .init(name: "DEEPL_BASE_URL", defaultValue: "(from the key)", summary: "DeepL's API, only to point at a stand-in."),
        .init(name: "LIBRETRANSLATE_URL", defaultValue: "(none)", summary: "A LibreTranslate server, e.g. http://127.0.0.1:5000 (translator libretranslate)."),
        .init(name: "LIBRETRANSLATE_API_KEY", defaultValue: "(none)", summary: "Secret. Its key, when the server asks for one."),
        .init(name: "APERTIUM_URL", defaultValue: "(none)", summary: "An Apertium APy server, self-hosted and offline, e.g. http://127.0.0.1:2737 (translator apertium)."),
        .init(name: "BRIDGEOS_SUMMARY_PROVIDER", defaultValue: "auto",
              summary: "Who writes /daily's AI summaries: auto (the first LLM among the translators), openai, anthropic, gemini, or none (then /daily lists the open tasks)."),
        .init(name: "BRIDGEOS_SUMMARY_MODEL", defaultValue: "(the provider's model)", summary: "Model name sent to the summary provider."),
        .init(name: "BRIDGEOS_TRANSCRIBER", defaultValue: "none",
              summary: "none, or openai: voice messages are transcribed by an OpenAI-compatible /audio/transcriptions server (OpenAI, or a local Whisper server) and translated."),
        .init(name: "BRIDGEOS_TRANSCRIBER_URL", defaultValue: "(OPENAI_BASE_URL)", summary: "The transcription server's base URL, e.g. http://127.0.0.1:8000/v1."),
        .init(name: "BRIDGEOS_TRANSCRIBER_KEY", defaultValue: "(OPENAI_API_KEY)", summary: "Secret. The transcription server's key."),
        .init(name: "BRIDGEOS_TRANSCRIBER_MODEL", defaultValue: "whisper-1", summary: "The transcription model."),
    ]

    /// "none", a provider, or "phrasebook" (the demo's).
    public var translator = "none"
    /// Tried after `translator`, in order.
    public var fallback: [String] = []
    public var translatorModel = "gpt-4o-mini"
    public var openAIAPIKey = ""
    public var openAIBaseURL = "https://api.openai.com/v1"
    public var anthropicAPIKey = ""
    public var anthropicModel = "claude-haiku-4-5"
    public var anthropicBaseURL = "https://api.anthropic.com"
    public var geminiAPIKey = ""
    public var geminiModel = "gemini-2.5-flash"
    public var geminiBaseURL = "https://generativelanguage.googleapis.com/v1beta"
    public var deepLAPIKey = ""
    public var deepLBaseURL: String?
    public var libreTranslateURL = ""
    public var libreTranslateAPIKey = ""
    public var apertiumURL = ""
    /// auto, none, or an LLM provider.
    public var summaryProvider = "auto"
    /// nil: the provider's model.
    public var summaryModel: String?
    /// none or openai.
    public var transcriber = "none"
    public var transcriberURL: String?
    public var transcriberKey: String?
    public var transcriberModel = "whisper-1"

    public init() {}

    /// The providers in the order they are tried (empty: translation off; ["phrasebook"]: the demo's).
    public var chain: [String] {
        guard translator != "none" else { return [] }
        var seen: Set<String> = []
        return ([translator] + fallback).filter { seen.insert($0).inserted }
    }

    /// The summary provider in effect: an LLM provider, or none (auto: the first LLM in the chain).
    public var effectiveSummaryProvider: String {
        guard summaryProvider == "auto" else { return summaryProvider }
        return chain.first { Self.languageModels.contains($0) } ?? "none"
    }

    /// What a provider needs and is not given, as a sentence (nil when it has what it needs).
    public func missing(for provider: String) -> String? {
        switch provider {
        case "openai" where openAIAPIKey.isEmpty && openAIBaseURL.contains("api.openai.com"):
            "openai needs OPENAI_API_KEY (or OPENAI_BASE_URL pointing at a local server)"
        case "anthropic" where anthropicAPIKey.isEmpty: "anthropic needs ANTHROPIC_API_KEY"
        case "gemini" where geminiAPIKey.isEmpty: "gemini needs GEMINI_API_KEY"
        case "deepl" where deepLAPIKey.isEmpty: "deepl needs DEEPL_API_KEY"
        case "libretranslate" where libreTranslateURL.isEmpty: "libretranslate needs LIBRETRANSLATE_URL"
        case "apertium" where apertiumURL.isEmpty: "apertium needs APERTIUM_URL"
        default: nil
        }
    }

    /// Every provider used (translation and summaries) that lacks its key or address.
    public var problems: [String] {
        var used = chain.filter { $0 != "phrasebook" }
        if effectiveSummaryProvider != "none" { used.append(effectiveSummaryProvider) }
        var problems = Array(Set(used.compactMap(missing(for:)))).sorted()
        if transcriber == "openai", (transcriberKey ?? openAIAPIKey).isEmpty, (transcriberURL ?? openAIBaseURL).contains("api.openai.com") {
            problems.append("BRIDGEOS_TRANSCRIBER=openai needs BRIDGEOS_TRANSCRIBER_KEY or OPENAI_API_KEY (or BRIDGEOS_TRANSCRIBER_URL pointing at a local server)")
        }
        return problems
    }

    init(value: (String) -> String?) throws(ConfigurationError) {
        func url(_ name: String, example: String) throws(ConfigurationError) -> String? {
            guard let raw = value(name) else { return nil }
            guard let parsed = URL(string: raw), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host?.isEmpty == false,
                  parsed.query == nil, parsed.fragment == nil
            else { throw .invalidValue(variable: name, value: raw, expected: "an http(s) URL such as \(example)") }
            return raw.withoutTrailingSlash
        }
        if let raw = value("BRIDGEOS_TRANSLATOR") {
            let name = raw.lowercased()
            guard name == "none" || name == "phrasebook" || Self.providers.contains(name) else {
                throw .invalidValue(variable: "BRIDGEOS_TRANSLATOR", value: raw, expected: "none, " + Self.providers.joined(separator: ", ") + " or phrasebook")
            }
            translator = name
        }
        if let raw = value("BRIDGEOS_TRANSLATOR_FALLBACK") {
            let names = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
            guard !names.isEmpty, names.allSatisfy(Self.providers.contains) else {
                throw .invalidValue(variable: "BRIDGEOS_TRANSLATOR_FALLBACK", value: raw,
                                    expected: "comma-separated providers from " + Self.providers.joined(separator: ", "))
            }
            guard translator != "none" else {
                throw .invalidValue(variable: "BRIDGEOS_TRANSLATOR_FALLBACK", value: raw, expected: "a fallback for a BRIDGEOS_TRANSLATOR (which is none)")
            }
            fallback = names
        }
        if let model = value("BRIDGEOS_TRANSLATOR_MODEL") { translatorModel = model }
        if let key = value("OPENAI_API_KEY") { openAIAPIKey = key }
        if let base = try url("OPENAI_BASE_URL", example: "https://api.openai.com/v1") { openAIBaseURL = base }
        if let key = value("ANTHROPIC_API_KEY") { anthropicAPIKey = key }
        if let model = value("ANTHROPIC_MODEL") { anthropicModel = model }
        if let base = try url("ANTHROPIC_BASE_URL", example: "https://api.anthropic.com") { anthropicBaseURL = base }
        if let key = value("GEMINI_API_KEY") { geminiAPIKey = key }
        if let model = value("GEMINI_MODEL") { geminiModel = model }
        if let base = try url("GEMINI_BASE_URL", example: "https://generativelanguage.googleapis.com/v1beta") { geminiBaseURL = base }
        if let key = value("DEEPL_API_KEY") { deepLAPIKey = key }
        deepLBaseURL = try url("DEEPL_BASE_URL", example: "https://api.deepl.com")
        if let base = try url("LIBRETRANSLATE_URL", example: "http://127.0.0.1:5000") { libreTranslateURL = base }
        if let key = value("LIBRETRANSLATE_API_KEY") { libreTranslateAPIKey = key }
        if let base = try url("APERTIUM_URL", example: "http://127.0.0.1:2737") { apertiumURL = base }
        if let raw = value("BRIDGEOS_SUMMARY_PROVIDER") {
            let name = raw.lowercased()
            guard ["auto", "none"].contains(name) || Self.languageModels.contains(name) else {
                throw .invalidValue(variable: "BRIDGEOS_SUMMARY_PROVIDER", value: raw, expected: "auto, openai, anthropic, gemini or none")
            }
            summaryProvider = name
        }
        if let model = value("BRIDGEOS_SUMMARY_MODEL") { summaryModel = model }
        if let raw = value("BRIDGEOS_TRANSCRIBER") {
            guard ["none", "openai"].contains(raw.lowercased()) else {
                throw .invalidValue(variable: "BRIDGEOS_TRANSCRIBER", value: raw, expected: "none or openai (an OpenAI-compatible /audio/transcriptions server)")
            }
            transcriber = raw.lowercased()
        }
        transcriberURL = try url("BRIDGEOS_TRANSCRIBER_URL", example: "http://127.0.0.1:8000/v1")
        transcriberKey = value("BRIDGEOS_TRANSCRIBER_KEY")
        if let model = value("BRIDGEOS_TRANSCRIBER_MODEL") { transcriberModel = model }
    }
}

extension TranslationConfiguration {
    /// Whether a real provider translates (not none, not the demo's phrasebook).
    public var hasProvider: Bool { !chain.isEmpty && chain != ["phrasebook"] }

    /// The settings as environment variables (for a child process that must translate the same way).
    public var environment: [String: String] {
        var values: [String: String] = [
            "BRIDGEOS_TRANSLATOR": translator, "BRIDGEOS_TRANSLATOR_MODEL": translatorModel, "OPENAI_BASE_URL": openAIBaseURL,
            "ANTHROPIC_MODEL": anthropicModel, "ANTHROPIC_BASE_URL": anthropicBaseURL, "GEMINI_MODEL": geminiModel, "GEMINI_BASE_URL": geminiBaseURL,
            "BRIDGEOS_SUMMARY_PROVIDER": summaryProvider, "BRIDGEOS_TRANSCRIBER": transcriber, "BRIDGEOS_TRANSCRIBER_MODEL": transcriberModel,
        ]
        let optional: [String: String?] = [
            "BRIDGEOS_TRANSLATOR_FALLBACK": fallback.isEmpty ? nil : fallback.joined(separator: ","),
            "OPENAI_API_KEY": openAIAPIKey, "ANTHROPIC_API_KEY": anthropicAPIKey, "GEMINI_API_KEY": geminiAPIKey, "DEEPL_API_KEY": deepLAPIKey,
            "DEEPL_BASE_URL": deepLBaseURL, "LIBRETRANSLATE_URL": libreTranslateURL, "LIBRETRANSLATE_API_KEY": libreTranslateAPIKey,
            "APERTIUM_URL": apertiumURL, "BRIDGEOS_SUMMARY_MODEL": summaryModel, "BRIDGEOS_TRANSCRIBER_URL": transcriberURL,
            "BRIDGEOS_TRANSCRIBER_KEY": transcriberKey,
        ]
        for (name, value) in optional {
            if let value, !value.isEmpty { values[name] = value }
        }
        return values
    }

    /// One line naming the providers, for people (never a key).
    public var summary: String {
        chain.map { name -> String in
            switch name {
            case "openai": "openai (\(translatorModel))"
            case "anthropic": "anthropic (\(anthropicModel))"
            case "gemini": "gemini (\(geminiModel))"
            default: name
            }
        }.joined(separator: ", then ")
    }
}
