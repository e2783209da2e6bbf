import BridgeOSCore
import BridgeOSFlows
import BridgeOSResources
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

@Suite("Conversation flows")
struct FlowTests {
    @Test("a manager registers in under a minute: language, gender, industry, all in one edited message")
    func managerRegistration() async throws {
        try await withFlows { h in
            let bot = h.bots[0]
            h.sandbox.addUser(id: 1, firstName: "Marta", languageCode: "es")
            let picker = try #require(try await h.say("/start", from: 1, to: bot))
            #expect(picker.text == text(.startChooseLanguage, "es"))  // Telegram's language until one is chosen
            #expect(picker.replyMarkup?.inlineKeyboard.joined().map(\.text).contains("Українська") == true)
            try await h.press("reg:lang:uk", by: 1, on: bot)
            #expect(h.last(bot, 1)?.text == text(.startChooseGender, "uk"))
            try await h.press("reg:gender:female", by: 1, on: bot)
            #expect(h.last(bot, 1)?.text == text(.startChooseIndustry, "uk"))
            try await h.press("reg:ind:cleaning", by: 1, on: bot)
            let manager = try #require(try h.database.managers.find(1))
            #expect(manager.industry == "cleaning" && manager.homeSlot == BotSlot(1))
            let user = try #require(try h.database.users.find(1))
            #expect(user.language == "uk" && user.gender == .female)
            let done = try #require(h.last(bot, 1))
            #expect(done.text == text(.managerRegistered, "uk", ["name": "Marta", "code": manager.code]))
            #expect(done.replyMarkup != nil)  // the menu
            #expect(h.sandbox.botMessages(bot, 1).count == 1)  // every step edited the same message
        }
    }

    @Test("invite, worker joins in their language, manager notified in the slot chat")
    func inviteAndJoin() async throws {
        try await withFlows { h in
            let (home, line2) = (h.bots[0], h.bots[1])
            try await h.registerManager(1, on: home)
            // The manager already has a chat with slot 2's bot.
            try await h.say("/help", from: 1, to: line2)
            let invite = try #require(try await h.say("/addworker", from: 1, to: home, replies: 1))
            #expect(invite.text?.contains("https://t.me/\(line2.username)?start=i2_") == false)  // slot 1 is free first
            #expect(invite.text?.contains("https://t.me/\(home.username)?start=i1_") == true)
            let payload = String(try #require(invite.text?.split(separator: "\n").first { $0.hasPrefix("https://") }).split(separator: "=").last!)
            try await h.join(2, payload: payload, on: home, language: "es")
            #expect(h.last(home, 2)?.text == text(.joinConnected, "es", ["manager": "Marta"]))
            let connection = try #require(try h.database.connections.active(worker: 2))
            #expect(connection.managerID == 1 && connection.slot == BotSlot(1))
            try await h.waitForTexts(home, 1, count: 3)
            #expect(h.texts(home, 1).last == en(.joinNotifyManager, ["worker": "Iván", "slot": "1", "bot": home.username]))

            // The next invite is for slot 2; the slot-2 bot greets the manager there.
            let second = try await h.invite(by: 1, on: home)
            #expect(second.hasPrefix("i2_"))
            try await h.waitForTexts(line2, 1, count: 2)
            #expect(h.texts(line2, 1).last == en(.inviteSlotGreeting, ["slot": "2"]))
            try await h.join(3, name: "Olena", payload: second, on: line2, language: "uk")
            try await h.waitForTexts(line2, 1, count: 3)
            #expect(h.texts(line2, 1).last == en(.joinNotifyManager, ["worker": "Olena", "slot": "2", "bot": line2.username]))
        }
    }

    @Test("a manager who never opened the slot's bot is notified in their home bot")
    func homeBotFallback() async throws {
        try await withFlows { h in
            let (home, line2) = (h.bots[0], h.bots[1])
            try await h.registerManager(1, on: home)
            // Slot 1 taken first, so the invite goes to slot 2, whose bot the manager never opened.
            try await h.join(2, payload: try await h.invite(by: 1, on: home), on: home)
            let payload = try await h.invite(by: 1, on: home)
            #expect(payload.hasPrefix("i2_"))
            let before = h.sandbox.botMessages(home, 1).count
            try await h.join(3, name: "Ali", payload: payload, on: line2, language: "ar")
            try await h.waitForTexts(home, 1, count: before + 1)
            #expect(h.texts(home, 1).last == en(.joinNotifyManager, ["worker": "Ali", "slot": "2", "bot": line2.username]))
            #expect(h.sandbox.botMessages(line2, 1).isEmpty)
        }
    }

    @Test("every invite problem gets its own clear answer")
    func inviteErrors() async throws {
        try await withFlows { h in
            let (home, line2) = (h.bots[0], h.bots[1])
            try await h.registerManager(1, on: home)
            let first = try await h.invite(by: 1, on: home)
            // A new invite for the same slot revokes the unused one.
            let second = try await h.invite(by: 1, on: home)
            #expect(second.hasPrefix("i1_") && second != first)
            h.sandbox.addUser(id: 10, firstName: "Ana", languageCode: "es")
            #expect(try await h.say("/start \(first)", from: 10, to: home)?.text == text(.joinRevoked, "es"))
            #expect(try await h.say("/start i1_ABCDEFGHIJKLMNOP", from: 10, to: home)?.text == text(.joinInvalid, "es"))
            #expect(try await h.say("/start i9_bad", from: 10, to: home)?.text == text(.joinInvalid, "es"))
            #expect(try await h.say("/start i1_\(String(repeating: "x", count: 80))", from: 10, to: home)?.text == text(.joinInvalid, "es"))
            // The link opened in another bot.
            #expect(try await h.say("/start \(second)", from: 10, to: line2)?.text == text(.joinWrongBot, "es"))
            // The manager's own link.
            #expect(try await h.say("/start \(second)", from: 1, to: home)?.text == en(.joinOwnLink))
            // Another manager trying to join as a worker.
            try await h.registerManager(20, name: "Lars", on: line2)
            #expect(try await h.say("/start \(second)", from: 20, to: home)?.text == en(.joinManagerCannotJoin))
            // Expired.
            try await h.database.writer.write { try $0.execute(sql: "UPDATE invites SET expires_at = '2000-01-01 00:00:00.000' WHERE status = 'active'") }
            #expect(try await h.say("/start \(second)", from: 10, to: home)?.text == text(.joinExpired, "es"))
            // Used, and already connected.
            let fresh = try await h.invite(by: 1, on: home)
            try await h.join(10, name: "Ana", payload: fresh, on: home)
            h.sandbox.addUser(id: 11, firstName: "Bo", languageCode: "en")
            #expect(try await h.say("/start \(fresh)", from: 11, to: home)?.text == en(.joinUsed))
            #expect(try await h.say("/start \(fresh)", from: 10, to: home)?.text == text(.joinAlreadyConnected, "es", ["manager": "Marta"]))
        }
    }

    @Test("the slot taken while a worker was choosing their language: told politely")
    func slotTakenMeanwhile() async throws {
        try await withFlows { h in
            let home = h.bots[0]
            try await h.registerManager(1, on: home)
            let payload = try await h.invite(by: 1, on: home)
            h.sandbox.addUser(id: 10, firstName: "Ana")
            h.sandbox.addUser(id: 11, firstName: "Bo")
            try await h.say("/start \(payload)", from: 10, to: home)
            try await h.say("/start \(payload)", from: 11, to: home)
            try await h.press("join:lang:en", by: 10, on: home)
            try await h.press("join:lang:en", by: 11, on: home)
            try await h.press("join:gender:male", by: 10, on: home)
            try await h.press("join:gender:male", by: 11, on: home)
            #expect(h.last(home, 10)?.text == en(.joinConnected, ["manager": "Marta"]))
            #expect(h.last(home, 11)?.text == en(.joinUsed))
            #expect(try h.database.workers.find(11) == nil)  // nothing half-done was kept
        }
    }

    @Test("20 workers race for one invite: one connected, 19 told politely")
    func raceForOneInvite() async throws {
        try await withFlows { h in
            let home = h.bots[0]
            try await h.registerManager(1, on: home)
            let payload = try await h.invite(by: 1, on: home)
            let workers = (100..<120).map(Int64.init)
            for worker in workers {
                h.sandbox.addUser(id: worker, firstName: "W\(worker)")
                h.sandbox.send("/start \(payload)", from: worker, to: home)
            }
            try await h.sandbox.wait(timeout: .seconds(20), "every worker answered") { sandbox in workers.allSatisfy { !sandbox.botMessages(home, $0).isEmpty } }
            for worker in workers { try await h.press("join:lang:en", by: worker, on: home) }
            for worker in workers {
                // All twenty press their last button before any of them is handled.
                let picker = try #require(h.last(home, worker))
                #expect(h.sandbox.press("join:gender:female", on: picker, by: worker, bot: home) != nil)
            }
            try await h.sandbox.wait(timeout: .seconds(20), "every worker settled") { sandbox in
                workers.allSatisfy { worker in
                    let text = sandbox.botMessages(home, worker).last?.text
                    return text == en(.joinConnected, ["manager": "Marta"]) || text == en(.joinUsed)
                }
            }
            let connected = workers.filter { h.last(home, $0)?.text == en(.joinConnected, ["manager": "Marta"]) }
            #expect(connected.count == 1)
            #expect(try h.database.connections.active(manager: 1).count == 1)
        }
    }

    @Test("a restart in the middle of registration continues where the user was")
    func resumeAfterRestart() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(2)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let path = directory.appendingPathComponent("bridgeos.sqlite").path
                try await withFlows(existingDatabase: path, sandbox: sandbox) { h in
                    h.sandbox.addUser(id: 1, firstName: "Marta")
                    try await h.say("/start", from: 1, to: h.bots[0])
                    try await h.press("reg:lang:de", by: 1, on: h.bots[0])
                }
                // A new process on the same database: the gender step is still there.
                try await withFlows(existingDatabase: path, sandbox: sandbox) { h in
                    try await h.press("reg:gender:unspecified", by: 1, on: h.bots[0])
                    #expect(h.last(h.bots[0], 1)?.text == text(.startChooseIndustry, "de"))
                    try await h.press("reg:ind:retail", by: 1, on: h.bots[0])
                    #expect(try h.database.managers.find(1)?.industry == "retail")
                }
                #expect(sandbox.violations.isEmpty)
            }
        }
    }

    @Test("old or expired buttons are answered, never ignored; /cancel leaves a flow")
    func staleButtons() async throws {
        try await withFlows { h in
            let bot = h.bots[0]
            h.sandbox.addUser(id: 1, firstName: "Marta")
            try await h.say("/start", from: 1, to: bot)
            let picker = try #require(h.last(bot, 1))
            #expect(try await h.say("/cancel", from: 1, to: bot)?.text == en(.cancelDone))
            let query = try #require(h.sandbox.press("reg:lang:en", on: picker, by: 1, bot: bot))
            try await h.sandbox.wait(timeout: .seconds(10), "stale press answered") { $0.isAnswered(callbackQuery: query) }
            let answer = h.sandbox.calls("answerCallbackQuery").last?.parameters["text"]
            #expect(answer == .string(en(.routeExpiredButton)))
            #expect(try await h.say("/cancel", from: 1, to: bot)?.text == en(.cancelNothing))
            // A state older than 24 hours is ignored.
            try await h.say("/start", from: 1, to: bot)
            try await h.database.writer.write { try $0.execute(sql: "UPDATE conversation_states SET expires_at = '2000-01-01 00:00:00.000'") }
            let old = try #require(h.last(bot, 1))
            let late = try #require(h.sandbox.press("reg:lang:en", on: old, by: 1, bot: bot))
            try await h.sandbox.wait(timeout: .seconds(10), "expired press answered") { $0.isAnswered(callbackQuery: late) }
            #expect(try h.database.users.find(1) == nil)
        }
    }

    @Test("/workers shows all five slots; /disconnect asks, ends, and tells the worker")
    func workersAndDisconnect() async throws {
        try await withFlows(bots: 3) { h in
            let (home, line2) = (h.bots[0], h.bots[1])
            try await h.registerManager(1, on: home)
            try await h.join(10, name: "Ana", payload: try await h.invite(by: 1, on: home), on: home)
            let list = try #require(try await h.say("/workers", from: 1, to: home))
            let lines = try #require(list.text?.split(separator: "\n").map(String.init))
            #expect(lines.count == 6)
            #expect(lines[1].hasPrefix("1. Ana (Español), since "))
            #expect(lines[2] == en(.workersSlotFree, ["slot": "2"]) && lines[3] == en(.workersSlotFree, ["slot": "3"]))
            #expect(lines[4] == en(.workersSlotNoBot, ["slot": "4"]) && lines[5] == en(.workersSlotNoBot, ["slot": "5"]))
            #expect(list.replyMarkup?.inlineKeyboard.joined().map(\.callbackData) == ["inv:2", "inv:3"])
            try await h.press("inv:3", by: 1, on: home, newMessages: 1)
            #expect(h.last(home, 1)?.text?.contains("start=i3_") == true)

            #expect(try await h.say("/disconnect", from: 1, to: line2)?.text == en(.disconnectNobody))
            try await h.say("/disconnect", from: 1, to: home)
            try await h.press("disc:no", by: 1, on: home)
            #expect(try h.database.connections.active(worker: 10) != nil)
            try await h.say("/disconnect", from: 1, to: home)
            let confirm = try #require(h.last(home, 1)?.replyMarkup?.inlineKeyboard.joined().first?.callbackData)
            try await h.press(confirm, by: 1, on: home)
            #expect(h.last(home, 1)?.text == en(.disconnectDone, ["worker": "Ana", "slot": "1"]))
            #expect(try h.database.connections.active(worker: 10) == nil)
            try await h.waitForTexts(home, 10, count: 2)
            #expect(h.texts(home, 10).last == text(.disconnectNotifyWorker, "es", ["manager": "Marta"]))
        }
    }

    @Test("/reset tells each counterpart through the bot they use, and keeps history")
    func resetNotifies() async throws {
        try await withFlows(bots: 3) { h in
            let (home, line2, line3) = (h.bots[0], h.bots[1], h.bots[2])
            try await h.registerManager(1, on: home)
            try await h.join(10, name: "Ana", payload: try await h.invite(by: 1, on: home), on: home)
            try await h.join(11, name: "Olena", payload: try await h.invite(by: 1, on: home), on: line2, language: "uk")
            try await h.join(12, name: "Bo", payload: try await h.invite(by: 1, on: home), on: line3, language: "en")
            // A worker leaves: the manager hears it in that line's bot? They never opened it, so in the home bot.
            try await h.say("/reset", from: 12, to: line3)
            try await h.press("reset:yes", by: 12, on: line3)
            #expect(h.last(line3, 12)?.text == en(.resetDone))
            try await h.sandbox.wait(timeout: .seconds(10), "manager told") { $0.botMessages(home, 1).last?.text == en(.resetNotifyManager, ["worker": "Bo", "slot": "3"]) }
            // The manager leaves: each worker hears it in their own line.
            try await h.say("/reset", from: 1, to: home)
            try await h.press("reset:yes", by: 1, on: home)
            try await h.waitForTexts(home, 10, count: 2)
            try await h.waitForTexts(line2, 11, count: 2)
            #expect(h.texts(home, 10).last == text(.resetNotifyWorker, "es", ["manager": "Marta"]))
            #expect(h.texts(line2, 11).last == text(.resetNotifyWorker, "uk", ["manager": "Marta"]))
            #expect(try h.database.managers.find(1) == nil)
            #expect(try h.database.connections.history(manager: 1).count == 3)  // history kept
        }
    }

    @Test("the routing rule: each misplaced message gets a helpful answer, nothing is stored")
    func routingRule() async throws {
        try await withFlows(bots: 3) { h in
            let (home, line2, line3) = (h.bots[0], h.bots[1], h.bots[2])
            h.sandbox.addUser(id: 99, firstName: "Stranger")
            #expect(try await h.say("hello?", from: 99, to: home)?.text == en(.routeUnregistered))
            try await h.registerManager(1, on: home)
            try await h.join(10, name: "Ana", payload: try await h.invite(by: 1, on: home), on: home)
            #expect(try await h.say("anyone on line 2?", from: 1, to: line2)?.text == en(.routeNoWorker))
            h.sandbox.send("/start", from: 10, to: line3)
            try await h.waitForTexts(line3, 10, count: 1)
            #expect(try await h.say("hola", from: 10, to: line3)?.text == text(.routeWrongBot, "es", ["bot": home.username]))
            // Connected people: the relay's turn (not switched on yet, and they are told so).
            #expect(try await h.say("hola Marta", from: 10, to: home)?.text == text(.routeRelayUnavailable, "es"))
            // A group.
            h.sandbox.addGroup(id: -100_1, title: "Crew", bots: [home])
            h.sandbox.send("hi all", from: 10, to: home, inGroup: -100_1)
            try await h.waitForTexts(home, -100_1, count: 1)
            #expect(h.texts(home, -100_1) == [text(.routeGroup, "es")])  // in the sender's language
            // A sticker in the middle of registration.
            h.sandbox.addUser(id: 50, firstName: "Zoë 👷🏽‍♀️ ‮evil‬", lastName: "\u{200F}ליה")
            try await h.say("/start", from: 50, to: line2)
            h.sandbox.sendMedia(.sticker, from: 50, to: line2)
            try await h.waitForTexts(line2, 50, count: 2)
            #expect(h.texts(line2, 50).last == en(.routeUseButtons))
            try await h.press("reg:lang:en", by: 50, on: line2)
            try await h.press("reg:gender:unspecified", by: 50, on: line2)
            try await h.press("reg:ind:other", by: 50, on: line2)
            // The bidi override is dropped; the emoji sequence and the right-to-left mark stay.
            #expect(try h.database.users.find(50)?.displayName == "Zoë 👷🏽‍♀️ evil \u{200F}ליה")
            let stored = try await h.database.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM messages") }
            #expect(stored == 0)
        }
    }

    @Test("/language changes the language; /help and /menu depend on the role")
    func languageAndHelp() async throws {
        try await withFlows { h in
            let home = h.bots[0]
            try await h.registerManager(1, on: home)
            #expect(try await h.say("/help", from: 1, to: home)?.text == en(.helpManager))
            try await h.say("/language", from: 1, to: home)
            try await h.press("lang:tr", by: 1, on: home)
            #expect(h.last(home, 1)?.text == text(.languageChanged, "tr", ["language": "Türkçe"]))
            #expect(try h.database.users.find(1)?.language == "tr")
            let menu = try #require(try await h.say("/menu", from: 1, to: home))
            #expect(menu.text == text(.menuTitle, "tr"))
            try await h.press("menu:workers", by: 1, on: home, newMessages: 1)
            #expect(h.last(home, 1)?.text?.hasPrefix(text(.workersTitle, "tr")) == true)
        }
    }
}

@Suite("Locales")
struct LocaleTests {
    static let tables: [String: [String: String]] = {
        var tables: [String: [String: String]] = [:]
        for path in EmbeddedResources.paths(in: "locales") where path.hasSuffix(".json") {
            let code = String(path.dropFirst("locales/".count).dropLast(".json".count))
            tables[code] = try? JSONDecoder().decode([String: String].self, from: EmbeddedResources.data(path)!)
        }
        return tables
    }()

    @Test("English has every text the code uses, and nothing else")
    func englishIsComplete() throws {
        let english = try #require(Self.tables["en"])
        let used = Set(TextKey.allCases.map(\.rawValue))
        #expect(used.subtracting(english.keys).sorted() == [])
        #expect(Set(english.keys).subtracting(used).sorted() == [])
    }

    @Test("all fourteen languages have a complete locale file, and each language is named in itself")
    func everyLanguageComplete() throws {
        let english = Set(try #require(Self.tables["en"]).keys)
        #expect(Set(Self.tables.keys) == Set(Language.all.map(\.code)))
        for language in Language.all {
            let table = try #require(Self.tables[language.code], "locales/\(language.code).json is missing")
            #expect(english.subtracting(table.keys).sorted() == [], "\(language.code) lacks texts")
            #expect(table.values.allSatisfy { !$0.trimmingCharacters(in: .whitespaces).isEmpty }, "\(language.code) has empty texts")
        }
        #expect(Language.named("ar")?.rightToLeft == true)
        #expect(Language.named("pt-BR")?.code == "pt")
    }

    @Test("every locale's placeholders match English's, key by key")
    func placeholdersMatch() throws {
        let english = try #require(Self.tables["en"])
        for (code, table) in Self.tables where code != "en" {
            #expect(Set(table.keys).subtracting(english.keys).sorted() == [], "\(code) has keys English lacks")
            for (key, text) in table {
                #expect(Localizer.placeholders(in: text) == Localizer.placeholders(in: english[key] ?? ""), "\(code): \(key)")
            }
        }
    }

    @Test("missing texts fall back to English, then to the key")
    func fallback() {
        let localizer = Localizer(tables: ["en": ["menu.title": "Menu {x}"], "es": [:]], logger: .init(label: "t"))
        #expect(localizer.text(.menuTitle, "es", ["x": "1"]) == "Menu 1")
        #expect(localizer.text(.menuTitle, "xx") == "Menu {x}")
        #expect(localizer.text(.helpManager, "es") == "help.manager")
    }

    @Test("deep-link payloads: invites and referrals, [A-Za-z0-9_] only, at most 64 characters")
    func payloads() {
        #expect(StartPayload("i3_AbCdEf123456XyZ9") == .invite(slot: BotSlot(3)!, token: "AbCdEf123456XyZ9"))
        #expect(StartPayload("r_ABCD2345") == .referral(code: "ABCD2345"))
        #expect(StartPayload("i6_AbCdEf123456XyZ9") == .malformedInvite)
        #expect(StartPayload("i3_short") == .malformedInvite)
        #expect(StartPayload("i3_AbCdEf12345-XyZ9") == .malformedInvite)
        #expect(StartPayload("hello") == StartPayload.none)
        #expect(StartPayload(nil) == StartPayload.none)
        let payload = StartPayload.encodeInvite(slot: BotSlot(5)!, token: Invites.randomToken())
        #expect(payload.count <= 64 && payload.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
    }
}
