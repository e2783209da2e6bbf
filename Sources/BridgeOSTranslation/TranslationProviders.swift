import AsyncHTTPClient
import BridgeOSCore
import CoreMetrics
import Logging

/// The providers the configuration names, built in one place for `serve`, `demo`, `doctor` and the benches.
public enum TranslationProviders {
    /// The chat model of an LLM provider (openai, anthropic, gemini); `model` overrides its configured model.
    public static func chatModel(_ name: String, _ configuration: TranslationConfiguration, model: String? = nil,
                                 httpClient: HTTPClient, logger: Logger) -> (any ChatModel)? {
        switch name {
        case "openai":
            ChatCompletionsClient(configuration: OpenAIConfiguration(baseURL: configuration.openAIBaseURL, apiKey: configuration.openAIAPIKey,
                                                                     model: model ?? configuration.translatorModel),
                                  httpClient: httpClient, logger: logger)
        case "anthropic":
            AnthropicClient(configuration: AnthropicConfiguration(baseURL: configuration.anthropicBaseURL, apiKey: configuration.anthropicAPIKey,
                                                                  model: model ?? configuration.anthropicModel),
                            httpClient: httpClient, logger: logger)
        case "gemini":
            GeminiClient(configuration: GeminiConfiguration(baseURL: configuration.geminiBaseURL, apiKey: configuration.geminiAPIKey,
                                                            model: model ?? configuration.geminiModel),
                         httpClient: httpClient, logger: logger)
        default:
            nil
        }
    }

    /// One translation provider by name.
    public static func translator(_ name: String, _ configuration: TranslationConfiguration, httpClient: HTTPClient, logger: Logger) -> (any Translator)? {
        if let model = chatModel(name, configuration, httpClient: httpClient, logger: logger) { return LLMTranslator(model) }
        switch name {
        case "deepl":
            return DeepLTranslator(configuration: DeepLConfiguration(apiKey: configuration.deepLAPIKey, baseURL: configuration.deepLBaseURL),
                                   httpClient: httpClient, logger: logger)
        case "libretranslate":
            return LibreTranslateTranslator(baseURL: configuration.libreTranslateURL, apiKey: configuration.libreTranslateAPIKey,
                                            httpClient: httpClient, logger: logger)
        case "apertium":
            return ApertiumTranslator(baseURL: configuration.apertiumURL, httpClient: httpClient, logger: logger)
        case "phrasebook":
            return PhrasebookTranslator(phrasebook: .demo)
        default:
            return nil
        }
    }

    /// The configured chain (nil: translation is off).
    public static func chain(_ configuration: TranslationConfiguration, httpClient: HTTPClient, metrics: any MetricsFactory,
                             logger: Logger) -> TranslatorChain? {
        let members = configuration.chain.compactMap { translator($0, configuration, httpClient: httpClient, logger: logger) }
        return members.isEmpty ? nil : TranslatorChain(members, metrics: metrics)
    }

    /// The configured summary writer (nil: none; /daily then lists the open tasks).
    public static func summarizer(_ configuration: TranslationConfiguration, httpClient: HTTPClient, logger: Logger) -> (any Summarizer)? {
        let name = configuration.effectiveSummaryProvider
        return chatModel(name, configuration, model: configuration.summaryModel, httpClient: httpClient, logger: logger).map(LLMSummarizer.init)
    }
}
