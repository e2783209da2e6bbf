import Foundation
import Logging
import Testing
@testable import BridgeOSCore

@Suite("Env files")
struct EnvironmentFileTests {
    @Test("comments, export, quotes, escapes and trailing comments")
    func parsesCommonForms() throws {
        let text = """
            # BridgeOS settings
            BRIDGEOS_DATA_DIR=/var/lib/bridgeos   # where the database lives

            export BRIDGEOS_LOG_LEVEL = debug
            QUOTED="a \\"quoted\\" value # not a comment"
            SINGLE='literal \\n and $HOME'
            ESCAPES="line1\\nline2"
            EMPTY=
            URL=https://example.com/a#fragment\r
            """
        let values = try EnvironmentFile.parse(text)
        #expect(values == [
            "BRIDGEOS_DATA_DIR": "/var/lib/bridgeos",
            "BRIDGEOS_LOG_LEVEL": "debug",
            "QUOTED": "a \"quoted\" value # not a comment",
            "SINGLE": "literal \\n and $HOME",
            "ESCAPES": "line1\nline2",
            "EMPTY": "",
            "URL": "https://example.com/a#fragment",
        ])
    }

    @Test("lines systemd's EnvironmentFile= reads otherwise are named: export, a trailing comment on a bare value")
    func systemdDifferences() {
        let text = """
            # comment
            BRIDGEOS_DATA_DIR=/var/lib/bridgeos   # where the database lives
            export BRIDGEOS_LOG_LEVEL=debug
            QUOTED="a value # not a comment"
            URL=https://example.com/a#fragment
            """
        let differences = EnvironmentFile.systemdDifferences(text)
        #expect(differences.map(\.line) == [2, 3])
        #expect(differences.first?.reason.contains("systemd keeps it in the value") == true)
        #expect(EnvironmentFile.systemdDifferences("A=1\nB='x # y'\n").isEmpty)
    }

    @Test("mistakes name the line", arguments: [
        ("A=1\nthis is not a setting\n", 2, "expected KEY=value"),
        ("1ABC=x", 1, "invalid variable name '1ABC'"),
        ("KEY=\"unterminated", 1, "missing closing \" quote"),
        ("\n\nKEY='a' trailing", 3, "unexpected text after closing quote"),
        ("MY-KEY=x", 1, "invalid variable name 'MY-KEY'"),
    ])
    func reportsLine(text: String, line: Int, reason: String) {
        #expect(throws: EnvironmentFile.ParseError(line: line, reason: reason)) { try EnvironmentFile.parse(text) }
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test("defaults")
    func defaults() throws {
        let configuration = try AppConfiguration.load(environment: [:])
        #expect(configuration.dataDirectory == "./data")
        #expect(configuration.databasePath.hasSuffix("data/bridgeos.sqlite"))
        #expect(configuration.sqliteSynchronous == .normal)
        #expect(configuration.sqliteBusyTimeout == .milliseconds(5000))
        #expect(configuration.logLevel == .info)
        #expect(configuration.telegramAPIURL == "https://api.telegram.org")
    }

    @Test("backups: a directory beside the data by default, daily, keep 7; each setting checked")
    func backups() throws {
        let defaults = try AppConfiguration.load(environment: ["BRIDGEOS_DATA_DIR": "/var/lib/bridgeos"])
        #expect(defaults.backupDirectory == "/var/lib/bridgeos/backups")
        #expect(defaults.backupIntervalHours == 24 && defaults.backupKeep == 7)
        let set = try AppConfiguration.load(environment: [
            "BRIDGEOS_BACKUP_DIR": "/mnt/vault", "BRIDGEOS_BACKUP_INTERVAL_HOURS": "0", "BRIDGEOS_BACKUP_KEEP": "30",
        ])
        #expect(set.backupDirectory == "/mnt/vault" && set.backupIntervalHours == 0 && set.backupKeep == 30)
        for (name, value) in [("BRIDGEOS_BACKUP_KEEP", "0"), ("BRIDGEOS_BACKUP_KEEP", "2.5"), ("BRIDGEOS_BACKUP_INTERVAL_HOURS", "-1")] {
            #expect(throws: ConfigurationError.self, "\(name)=\(value)") { try AppConfiguration.load(environment: [name: value]) }
        }
        #expect(AppConfiguration.settings.contains { $0.name == "BRIDGEOS_BACKUP_DIR" })
    }

    @Test("webhook mode needs the https address of the reverse proxy, on a port Telegram delivers to")
    func webhook() throws {
        #expect(try AppConfiguration.load(environment: [:]).webhook == false)
        let set = try AppConfiguration.load(environment: ["BRIDGEOS_WEBHOOK": "1", "BRIDGEOS_PUBLIC_URL": "https://bridgeos.example.com/"])
        #expect(set.webhook && set.publicURL == "https://bridgeos.example.com")
        #expect(try AppConfiguration.load(environment: ["BRIDGEOS_WEBHOOK": "yes", "BRIDGEOS_PUBLIC_URL": "https://x.example:8443"]).webhook)
        #expect(try AppConfiguration.load(environment: ["BRIDGEOS_WEBHOOK": "0"]).webhook == false)
        for (webhook, url) in [("1", nil), ("1", "http://bridgeos.example.com"), ("1", "https://bridgeos.example.com:8080"), ("maybe", "https://x.example")] as [(String, String?)] {
            var environment = ["BRIDGEOS_WEBHOOK": webhook]
            environment["BRIDGEOS_PUBLIC_URL"] = url
            #expect(throws: ConfigurationError.self, "\(webhook) \(url ?? "no URL")") { try AppConfiguration.load(environment: environment) }
        }
        do {
            _ = try AppConfiguration.load(environment: ["BRIDGEOS_WEBHOOK": "1"])
        } catch {
            #expect(error.description.contains("BRIDGEOS_PUBLIC_URL set to the https address of the reverse proxy"), "\(error)")
        }
    }

    @Test("a self-hosted Bot API server URL is accepted, trailing slash trimmed")
    func telegramURL() throws {
        let configuration = try AppConfiguration.load(environment: ["BRIDGEOS_TELEGRAM_API_URL": "http://127.0.0.1:8081/"])
        #expect(configuration.telegramAPIURL == "http://127.0.0.1:8081")
        for bad in ["api.telegram.org", "ftp://x", "https://", "https://x/?token=1"] {
            #expect(throws: ConfigurationError.self) { try AppConfiguration.load(environment: ["BRIDGEOS_TELEGRAM_API_URL": bad]) }
        }
    }

    @Test("the process environment overrides the env file")
    func precedence() throws {
        let file = "BRIDGEOS_DATA_DIR=/from/file\nBRIDGEOS_SQLITE_SYNCHRONOUS=full\nBRIDGEOS_LOG_LEVEL=debug\n"
        let configuration = try AppConfiguration.load(
            environment: ["BRIDGEOS_DATA_DIR": "/from/env", "BRIDGEOS_ENV_FILE": "/etc/bridgeos.env"],
            readFile: { path in
                #expect(path == "/etc/bridgeos.env")
                return file
            })
        #expect(configuration.dataDirectory == "/from/env")
        #expect(configuration.sqliteSynchronous == .full)
        #expect(configuration.logLevel == .debug)
    }

    @Test("invalid values are refused in one clear line", arguments: [
        ("BRIDGEOS_SQLITE_SYNCHRONOUS", "fast", "BRIDGEOS_SQLITE_SYNCHRONOUS='fast' is invalid: expected NORMAL or FULL"),
        ("BRIDGEOS_SQLITE_BUSY_TIMEOUT_MS", "-1",
         "BRIDGEOS_SQLITE_BUSY_TIMEOUT_MS='-1' is invalid: expected whole milliseconds from 0 to 600000"),
        ("BRIDGEOS_SQLITE_BUSY_TIMEOUT_MS", "5s",
         "BRIDGEOS_SQLITE_BUSY_TIMEOUT_MS='5s' is invalid: expected whole milliseconds from 0 to 600000"),
        ("BRIDGEOS_LOG_LEVEL", "loud",
         "BRIDGEOS_LOG_LEVEL='loud' is invalid: expected trace, debug, info, notice, warning, error, critical"),
    ])
    func invalidValues(variable: String, value: String, message: String) {
        do {
            _ = try AppConfiguration.load(environment: [variable: value])
            Issue.record("\(variable)=\(value) was accepted")
        } catch {
            #expect(error.description == message)
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("env file problems say which file and line")
    func envFileErrors() {
        #expect(throws: ConfigurationError.envFileSyntax(path: "/x.env", line: 2, reason: "expected KEY=value")) {
            try AppConfiguration.load(environment: [:], envFile: "/x.env", readFile: { _ in "A=1\noops\n" })
        }
        #expect(throws: ConfigurationError.envFileUnreadable(path: "/nope.env", reason: "no such file")) {
            try AppConfiguration.load(environment: [:], envFile: "/nope.env")
        }
    }

    @Test("unknown BRIDGEOS_ variables are reported, others ignored")
    func unknownVariables() throws {
        let configuration = try AppConfiguration.load(environment: [
            "BRIDGEOS_DATADIR": "typo", "HOME": "/root", "BRIDGEOS_DATA_DIR": "/ok",
        ])
        #expect(configuration.unknownVariables == ["BRIDGEOS_DATADIR"])
    }

    @Test("blank values mean the default")
    func blankMeansDefault() throws {
        let configuration = try AppConfiguration.load(environment: ["BRIDGEOS_DATA_DIR": "  ", "BRIDGEOS_LOG_LEVEL": ""])
        #expect(configuration.dataDirectory == "./data")
        #expect(configuration.logLevel == .info)
    }
}

@Suite("Bot slots and clocks")
struct ValueTests {
    @Test("a bot slot is 1 to 5")
    func slots() throws {
        #expect(BotSlot(0) == nil && BotSlot(6) == nil)
        #expect(BotSlot.all.map(\.number) == [1, 2, 3, 4, 5])
        #expect(try JSONDecoder().decode([BotSlot].self, from: Data("[1,5]".utf8)) == [BotSlot(1)!, BotSlot(5)!])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(BotSlot.self, from: Data("7".utf8)) }
    }

    @Test("the manual clock moves only when told")
    func manualClock() {
        let clock = ManualWallClock(Date(timeIntervalSince1970: 100))
        #expect(clock.now() == Date(timeIntervalSince1970: 100))
        clock.advance(by: 5)
        #expect(clock.now() == Date(timeIntervalSince1970: 105))
    }
}

@Suite("Redaction")
struct RedactionTests {
    @Test("secrets are masked in messages, metadata (nested) and attached errors")
    func redactsEverywhere() {
        let store = CapturingLogHandlerStore()
        let secret = "123456:AAEverySecretTokenValue"
        let logger = RedactingLogHandler.redacting(store.logger(label: "t"), with: Redactor(secrets: [secret]))
        logger.info(
            "POST https://api.telegram.org/bot\(secret)/sendMessage",
            metadata: ["url": "\(secret)", "nested": .dictionary(["list": .array([.string("x\(secret)y")])])])
        var withContext = logger
        withContext[metadataKey: "request"] = "/bot\(secret)/getMe"
        withContext.debug("again")
        let lines = store.all.map(\.line)
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { !$0.contains("AAEverySecretTokenValue") })
        #expect(lines[0].contains("bot<redacted>/sendMessage"))
        #expect(lines[1].contains("request=/bot<redacted>/getMe"))
    }

    @Test("short strings are not treated as secrets")
    func ignoresShortSecrets() {
        #expect(Redactor(secrets: ["abc", ""]).redact("abc def") == "abc def")
        #expect(Redactor(secrets: ["longsecretvalue", "longsecret"]).redact("x longsecretvalue y") == "x <redacted> y")
    }
}

@Suite("Business configuration")
struct BusinessConfigurationTests {
    @Test("LemonSqueezy, admins and the referral reward are read and checked")
    func readsBusinessSettings() throws {
        let configuration = try AppConfiguration.load(environment: [
            "LEMONSQUEEZY_API_KEY": "key", "LEMONSQUEEZY_STORE_ID": "12", "LEMONSQUEEZY_VARIANT_ID": "34",
            "LEMONSQUEEZY_WEBHOOK_SECRET": "s3cret!", "LEMONSQUEEZY_API_URL": "http://127.0.0.1:9/",
            "BRIDGEOS_ADMIN_IDS": "42, 7", "BRIDGEOS_REFERRAL_REWARD": "0",
        ])
        let business = configuration.business
        #expect(business.checkoutConfigured && business.lemonSqueezyStoreID == "12" && business.lemonSqueezyVariantID == "34")
        #expect(business.lemonSqueezyAPIURL == "http://127.0.0.1:9" && business.lemonSqueezyWebhookSecret == "s3cret!")
        #expect(business.adminIDs == [42, 7] && business.referralReward == 0)
        #expect(configuration.unknownVariables.isEmpty)
        let defaults = try AppConfiguration.load(environment: [:]).business
        #expect(!defaults.checkoutConfigured && defaults.adminIDs.isEmpty && defaults.referralReward == 50 && defaults.lemonSqueezyWebhookSecret.isEmpty)
    }

    @Test("a partial LemonSqueezy setup, a non-numeric id, a bad admin id or reward are refused in one line; a secret is never shown")
    func refusesBadBusinessSettings() throws {
        func refusal(_ environment: [String: String]) -> String? {
            do { _ = try AppConfiguration.load(environment: environment); return nil } catch { return error.description }
        }
        #expect(refusal(["LEMONSQUEEZY_API_KEY": "key"])?.contains("all three set") == true)
        #expect(refusal(["LEMONSQUEEZY_API_KEY": "k", "LEMONSQUEEZY_STORE_ID": "store", "LEMONSQUEEZY_VARIANT_ID": "1"])?.contains("LEMONSQUEEZY_STORE_ID='store'") == true)
        #expect(refusal(["BRIDGEOS_ADMIN_IDS": "42,bob"])?.contains("BRIDGEOS_ADMIN_IDS") == true)
        #expect(refusal(["BRIDGEOS_REFERRAL_REWARD": "-1"])?.contains("BRIDGEOS_REFERRAL_REWARD") == true)
        let secret = refusal(["LEMONSQUEEZY_WEBHOOK_SECRET": "abc"])
        #expect(secret?.contains("LEMONSQUEEZY_WEBHOOK_SECRET") == true && secret?.contains("abc") == false)
        #expect(refusal(["LEMONSQUEEZY_API_URL": "ftp://x"])?.contains("LEMONSQUEEZY_API_URL") == true)
        // The API key never crosses a network in clear text.
        #expect(refusal(["LEMONSQUEEZY_API_URL": "http://api.lemonsqueezy.com"])?.contains("http only to 127.0.0.1") == true)
        // Checkout links without the webhook would take payments that are never recorded.
        let noWebhook = refusal(["LEMONSQUEEZY_API_KEY": "key", "LEMONSQUEEZY_STORE_ID": "12", "LEMONSQUEEZY_VARIANT_ID": "34"])
        #expect(noWebhook?.contains("LEMONSQUEEZY_WEBHOOK_SECRET") == true && noWebhook?.contains("never recorded") == true)
    }

    @Test("a misspelt LEMONSQUEEZY_ variable is reported like a misspelt BRIDGEOS_ one")
    func misspeltLemonSqueezy() throws {
        let configuration = try AppConfiguration.load(environment: ["LEMONSQUEEZY_WEBHOOK_SECRT": "s3cret!"])
        #expect(configuration.unknownVariables == ["LEMONSQUEEZY_WEBHOOK_SECRT"])
    }
}

@Suite("Translation settings")
struct TranslationSettingsTests {
    @Test("providers, the fallback chain, summaries and transcription are read; auto summaries follow the first LLM of the chain")
    func reads() throws {
        let configuration = try AppConfiguration.load(environment: [
            "BRIDGEOS_TRANSLATOR": "DeepL", "BRIDGEOS_TRANSLATOR_FALLBACK": "anthropic, apertium,deepl", "DEEPL_API_KEY": "k:fx",
            "ANTHROPIC_API_KEY": "sk-ant", "ANTHROPIC_MODEL": "claude-x", "APERTIUM_URL": "http://127.0.0.1:2737/",
            "BRIDGEOS_TRANSCRIBER": "openai", "BRIDGEOS_TRANSCRIBER_URL": "http://127.0.0.1:8000/v1",
        ])
        let translation = configuration.translation
        #expect(translation.chain == ["deepl", "anthropic", "apertium"])
        #expect(translation.effectiveSummaryProvider == "anthropic" && translation.anthropicModel == "claude-x")
        #expect(translation.apertiumURL == "http://127.0.0.1:2737" && translation.transcriber == "openai")
        #expect(translation.problems.isEmpty && configuration.unknownVariables.isEmpty)
        #expect(translation.summary == "deepl, then anthropic (claude-x), then apertium")
        #expect(try AppConfiguration.load(environment: ["BRIDGEOS_TRANSLATOR": "deepl", "DEEPL_API_KEY": "k"]).translation.effectiveSummaryProvider == "none")
        // The same settings again, as a child process gets them.
        #expect(try AppConfiguration.load(environment: translation.environment).translation == translation)
    }

    @Test("a provider without its key or address is named; bad names and a fallback without a translator are refused", arguments: [
        (["BRIDGEOS_TRANSLATOR": "gemini"], ["gemini needs GEMINI_API_KEY"]),
        (["BRIDGEOS_TRANSLATOR": "openai", "BRIDGEOS_TRANSLATOR_FALLBACK": "libretranslate"],
         ["libretranslate needs LIBRETRANSLATE_URL", "openai needs OPENAI_API_KEY (or OPENAI_BASE_URL pointing at a local server)"]),
        (["BRIDGEOS_TRANSLATOR": "deepl", "DEEPL_API_KEY": "k", "BRIDGEOS_SUMMARY_PROVIDER": "anthropic"], ["anthropic needs ANTHROPIC_API_KEY"]),
        (["BRIDGEOS_TRANSCRIBER": "openai"],
         ["BRIDGEOS_TRANSCRIBER=openai needs BRIDGEOS_TRANSCRIBER_KEY or OPENAI_API_KEY (or BRIDGEOS_TRANSCRIBER_URL pointing at a local server)"]),
    ])
    func problems(_ environment: [String: String], _ expected: [String]) throws {
        #expect(try AppConfiguration.load(environment: environment).translation.problems == expected)
    }

    @Test("invalid values say what is expected", arguments: [
        (["BRIDGEOS_TRANSLATOR": "google"], "BRIDGEOS_TRANSLATOR='google' is invalid: expected none, openai, anthropic, gemini, deepl, libretranslate, apertium or phrasebook"),
        (["BRIDGEOS_TRANSLATOR": "openai", "BRIDGEOS_TRANSLATOR_FALLBACK": "deepl,bing"],
         "BRIDGEOS_TRANSLATOR_FALLBACK='deepl,bing' is invalid: expected comma-separated providers from openai, anthropic, gemini, deepl, libretranslate, apertium"),
        (["BRIDGEOS_TRANSLATOR_FALLBACK": "deepl"], "BRIDGEOS_TRANSLATOR_FALLBACK='deepl' is invalid: expected a fallback for a BRIDGEOS_TRANSLATOR (which is none)"),
        (["APERTIUM_URL": "apertium.local"], "APERTIUM_URL='apertium.local' is invalid: expected an http(s) URL such as http://127.0.0.1:2737"),
        (["BRIDGEOS_TRANSCRIBER": "whisper"], "BRIDGEOS_TRANSCRIBER='whisper' is invalid: expected none or openai (an OpenAI-compatible /audio/transcriptions server)"),
        (["BRIDGEOS_SUMMARY_PROVIDER": "deepl"], "BRIDGEOS_SUMMARY_PROVIDER='deepl' is invalid: expected auto, openai, anthropic, gemini or none"),
    ])
    func invalid(_ environment: [String: String], _ message: String) {
        #expect(throws: ConfigurationError.self) { try AppConfiguration.load(environment: environment) }
        do { _ = try AppConfiguration.load(environment: environment) } catch { #expect(error.description == message) }
    }
}

@Suite("Appliance health")
struct ApplianceHealthTests {
    @Test("translation counts as failing only when every attempt for over the duration failed and the latest is recent; refusals do not count")
    func failing() {
        let health = ApplianceHealth()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        health.translationFailed(at: t0, kind: "retryable")
        #expect(!health.snapshot.translationFailing(longerThan: 300, recent: 300, now: t0.addingTimeInterval(200)))
        // One failure, then a quiet evening: not an outage.
        #expect(!health.snapshot.translationFailing(longerThan: 300, recent: 300, now: t0.addingTimeInterval(3600)))
        health.translationFailed(at: t0.addingTimeInterval(360), kind: "retryable")
        #expect(health.snapshot.translationFailing(longerThan: 300, recent: 300, now: t0.addingTimeInterval(400)))
        health.translationSucceeded(at: t0.addingTimeInterval(420))
        #expect(!health.snapshot.translationFailing(longerThan: 300, recent: 300, now: t0.addingTimeInterval(430)))
        // A text a safety filter refused: the provider works.
        health.translationFailed(at: t0.addingTimeInterval(500), kind: "refused")
        health.translationFailed(at: t0.addingTimeInterval(900), kind: "unsupported_language")
        #expect(!health.snapshot.translationFailing(longerThan: 300, recent: 300, now: t0.addingTimeInterval(950)))
        #expect(health.snapshot.translationFailures == 4)
    }
}
