import AsyncHTTPClient
import BridgeOSCore
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation
import Logging
import Testing

/// A method the Bot API does not have, to provoke a 404.
struct NoSuchMethod: TelegramMethod {
    typealias Result = Bool
    static let name = "frobnicate"
}

@Suite("Bot API client against the sandbox")
struct ClientTests {
    func expectError(_ expected: (TelegramError) -> Bool, _ what: String, _ call: () async throws -> Void) async {
        do {
            try await call()
            Issue.record("\(what): no error")
        } catch let error as TelegramError {
            #expect(expected(error), "\(what): got \(error)")
        } catch {
            Issue.record("\(what): not a TelegramError: \(error)")
        }
    }

    @Test("getMe, sendMessage with a keyboard, edit, answer a button press")
    func happyPath() async throws {
        try await withSandbox { sandbox, clients, _ in
            let bot = sandbox.bots[0]
            let me = try await clients[0].call(GetMe())
            #expect(me.username == bot.username && me.id == bot.token.botID)

            sandbox.startedUser(501, on: bot)
            let keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(text: "Español", callbackData: "lang:es")]])
            let sent = try await clients[0].call(SendMessage(chatID: 501, text: "Choose your language", replyMarkup: .inline(keyboard)))
            #expect(sent.chat.id == 501 && sent.from?.id == bot.token.botID)
            #expect(sandbox.botMessages(bot, 501).last?.text == "Choose your language")

            let queryID = try #require(sandbox.press("lang:es", on: sent, by: 501, bot: bot))
            #expect(try await clients[0].call(AnswerCallbackQuery(callbackQueryID: queryID)))
            #expect(sandbox.isAnswered(callbackQuery: queryID))
            let edited = try await clients[0].call(EditMessageText(chatID: 501, messageID: sent.messageID, text: "Español ✓"))
            guard case let .message(message) = edited else { Issue.record("edit answered true"); return }
            #expect(message.text == "Español ✓" && message.editDate != nil)
            #expect(try await clients[0].call(SetMyCommands([BotCommand("help", "What I can do")])))
            #expect(sandbox.commands(bot) == [BotCommand("help", "What I can do")])
            #expect(sandbox.violations.isEmpty, "\(sandbox.violations)")
        }
    }

    @Test("pre-encoded parameters go as they are: the message id and the answer come back; errors stay typed")
    func encodedCalls() async throws {
        try await withSandbox { sandbox, clients, _ in
            let bot = sandbox.bots[0]
            sandbox.startedUser(520, on: bot)
            let sent = try await clients[0].call(encoded: "sendMessage", parameters: Data(#"{"chat_id":520,"text":"Trae la escalera"}"#.utf8))
            let first = try #require(sandbox.botMessages(bot, 520).last)
            #expect(first.text == "Trae la escalera" && sent.messageID == first.messageID)
            #expect(sent.answer.contains(#""ok":true"#) && sent.answer.contains("Trae la escalera"))
            let copied = try await clients[0].call(
                encoded: "copyMessage", parameters: Data(#"{"chat_id":520,"from_chat_id":520,"message_id":\#(first.messageID)}"#.utf8))
            #expect(copied.messageID != nil && copied.messageID != first.messageID)
            let answered = try await clients[0].call(
                encoded: "setMyCommands", parameters: Data(#"{"commands":[{"command":"help","description":"Help"}]}"#.utf8))
            #expect(answered.messageID == nil)
            sandbox.inject(SandboxFault(.flood(retryAfter: 3), method: "sendMessage", chatID: 520))
            await expectError({ if case .flood(retryAfter: 3, _) = $0 { true } else { false } }, "429 through the encoded path") {
                _ = try await clients[0].call(encoded: "sendMessage", parameters: Data(#"{"chat_id":520,"text":"x"}"#.utf8))
            }
            await expectError({ if case .badRequest = $0 { true } else { false } }, "a malformed call") {
                _ = try await clients[0].call(encoded: "sendMessage", parameters: Data(#"{"chat_id":520}"#.utf8))
            }
            #expect(sandbox.violations.count == 1, "only the malformed call is a violation: \(sandbox.violations)")
        }
    }

    @Test("getUpdates long-polls, returns what the user sent, and confirms by offset")
    func polling() async throws {
        try await withSandbox { sandbox, clients, _ in
            let bot = sandbox.bots[0]
            sandbox.addUser(id: 600, firstName: "Iván", languageCode: "ru")
            async let polled = clients[0].call(GetUpdates(timeout: 20))
            try await Task.sleep(for: .milliseconds(100))
            sandbox.send("/start i1_AbC123", from: 600, to: bot)
            let updates = try await polled
            #expect(updates.count == 1)
            guard case let .message(message) = updates.first?.kind else { Issue.record("\(updates)"); return }
            #expect(message.command?.name == "start" && message.command?.argument == "i1_AbC123")
            #expect(message.from?.languageCode == "ru")

            // Not confirmed yet: delivered again. Confirmed by offset: gone.
            #expect(try await clients[0].call(GetUpdates(timeout: 0)).map(\.updateID) == updates.map(\.updateID))
            let next = updates[0].updateID + 1
            #expect(try await clients[0].call(GetUpdates(offset: next, timeout: 0)).isEmpty)
            #expect(sandbox.pendingUpdates(bot).isEmpty)
            // A short poll with nothing to deliver answers an empty list after its timeout.
            let start = ContinuousClock.now
            #expect(try await clients[0].call(GetUpdates(offset: next, timeout: 1)).isEmpty)
            #expect(ContinuousClock.now - start >= .milliseconds(900))
        }
    }

    @Test("every typed error, over real HTTP")
    func typedErrors() async throws {
        try await withSandbox { sandbox, clients, http in
            let bot = sandbox.bots[0]
            let client = clients[0]
            sandbox.startedUser(700, on: bot)

            sandbox.inject(SandboxFault(.flood(retryAfter: 7), method: "sendMessage", chatID: 700))
            await expectError({ $0 == .flood(retryAfter: 7, description: "Too Many Requests: retry after 7") }, "429") {
                _ = try await client.call(SendMessage(chatID: 700, text: "hi"))
            }
            sandbox.inject(SandboxFault(.serverError(status: 502), method: "sendMessage"))
            await expectError({ $0 == .server(status: 502, description: "Bad Gateway") }, "5xx") {
                _ = try await client.call(SendMessage(chatID: 700, text: "hi"))
            }
            let afterFaults = try await client.call(SendMessage(chatID: 700, text: "after the faults"))
            #expect(afterFaults.text == "after the faults")

            sandbox.block(bot, by: 700)
            await expectError({ $0 == .forbidden(.blocked, description: "Forbidden: bot was blocked by the user") }, "blocked") {
                _ = try await client.call(SendMessage(chatID: 700, text: "hi"))
            }
            sandbox.addUser(id: 701, firstName: "Never Started")
            await expectError({ if case .forbidden(.cannotInitiate, _) = $0 { true } else { false } }, "not started") {
                _ = try await client.call(SendMessage(chatID: 701, text: "hi"))
            }
            sandbox.startedUser(702, on: bot)
            sandbox.deactivate(userID: 702)
            await expectError({ $0 == .forbidden(.userDeactivated, description: "Forbidden: user is deactivated") }, "deactivated") {
                _ = try await client.call(SendMessage(chatID: 702, text: "hi"))
            }
            sandbox.startedUser(703, on: bot)
            await expectError({ $0 == .badRequest(description: "Bad Request: message to edit not found", migrateToChatID: nil) }, "400") {
                _ = try await client.call(EditMessageText(chatID: 703, messageID: 999, text: "x"))
            }
            await expectError({ if case .notFound = $0 { true } else { false } }, "404") {
                _ = try await client.call(NoSuchMethod())
            }
            let stranger = BotAPIClient(
                token: BotToken("42:AAEunknownTokenUnknownToken")!, httpClient: http,
                configuration: BotAPIConfiguration(baseURL: sandbox.baseURL), logger: Logger(label: "test"))
            await expectError({ $0 == .unauthorized(description: "Unauthorized") }, "401") {
                _ = try await stranger.call(GetMe())
            }
        }
    }

    @Test("two overlapping polls on one token: the earlier gets 409, the other goes on")
    func pollConflict() async throws {
        try await withSandbox { sandbox, clients, _ in
            async let first: Result<[Update], any Error> = { () async -> Result<[Update], any Error> in
                do { return .success(try await clients[0].call(GetUpdates(timeout: 20))) } catch { return .failure(error) }
            }()
            // The first poll is waiting in the sandbox before the second one starts (whatever the load).
            try await sandbox.wait(timeout: .seconds(10), "first poll waiting") { $0.isPolling($0.bots[0]) }
            async let second = clients[0].call(GetUpdates(timeout: 20))
            let firstResult = await first
            guard case let .failure(error as TelegramError) = firstResult, case let .conflict(text) = error else {
                Issue.record("first poll: \(firstResult)")
                return
            }
            #expect(text == "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
            sandbox.addUser(id: 800, firstName: "Li", languageCode: "zh")
            sandbox.send("你好", from: 800, to: sandbox.bots[0])
            #expect(try await second.count == 1)
            // Another bot's poll is unaffected by either.
            #expect(try await clients[1].call(GetUpdates(timeout: 0)).isEmpty)
        }
    }

    @Test("a webhook blocks polling until deleted")
    func webhookConflict() async throws {
        try await withSandbox { sandbox, clients, _ in
            let set = try await clients[0].call(SetWebhook(url: "https://bridgeos.example/telegram/1"))
            #expect(set)
            await expectError({ if case .conflict = $0 { true } else { false } }, "webhook 409") {
                _ = try await clients[0].call(GetUpdates(timeout: 0))
            }
            let info = try await clients[0].call(GetWebhookInfo())
            #expect(info.url == "https://bridgeos.example/telegram/1")
            let deleted = try await clients[0].call(DeleteWebhook())
            #expect(deleted)
            let afterDelete = try await clients[0].call(GetUpdates(timeout: 0))
            #expect(afterDelete.isEmpty)
        }
    }

    @Test("the call deadline turns a slow answer into .timeout; long polls get their own deadline")
    func timeouts() async throws {
        try await withSandbox(requestTimeout: .milliseconds(300)) { sandbox, clients, _ in
            // The answer would take 10 s; the 300 ms deadline must cut the call long before (a loaded CI machine
            // may be slow to fire it, so the bound is half the answer's time, not a tight one).
            sandbox.inject(SandboxFault(.latency(.seconds(10)), method: "getMe"))
            let start = ContinuousClock.now
            await expectError({ $0 == .timeout }, "timeout") { _ = try await clients[0].call(GetMe()) }
            #expect(ContinuousClock.now - start < .seconds(5))
            // A 1 s long poll outlives the 300 ms default deadline.
            let longPoll = try await clients[0].call(GetUpdates(timeout: 1))
            #expect(longPoll.isEmpty)
        }
    }

    @Test("a refused connection is a transport error")
    func transportError() async throws {
        try await withHTTPClient { http in
            // Port 9 (discard) on loopback: nothing listens there in the test environment.
            let client = BotAPIClient(
                token: BotToken("42:AAEnobodyListensHereAtAll")!, httpClient: http,
                configuration: BotAPIConfiguration(baseURL: "http://127.0.0.1:9", requestTimeout: .seconds(1)), logger: Logger(label: "test"))
            await expectError({ if case .transport = $0 { true } else { false } }, "transport") { _ = try await client.call(GetMe()) }
        }
    }

    @Test("getFile and download return the user's bytes")
    func fileDownload() async throws {
        try await withSandbox { sandbox, clients, _ in
            let bot = sandbox.bots[0]
            sandbox.addUser(id: 900, firstName: "Olga")
            let bytes = Data((0..<5000).map { UInt8($0 % 251) })
            let sent = try #require(sandbox.sendMedia(.voice, from: 900, to: bot, bytes: bytes))
            let voice = try #require(sent.voice)
            let file = try await clients[0].call(GetFile(fileID: voice.fileID))
            #expect(file.fileSize == 5000)
            let path = try #require(file.filePath)
            #expect(try await clients[0].downloadFile(path: path) == bytes)
            await expectError({ if case .notFound = $0 { true } else { false } }, "missing file") {
                _ = try await clients[0].downloadFile(path: "voice/nope.oga")
            }
            // File ids belong to the bot that received them.
            await expectError({ if case .badRequest = $0 { true } else { false } }, "foreign file id") {
                _ = try await clients[1].call(GetFile(fileID: voice.fileID))
            }
        }
    }

    @Test("the token appears in no log line, error or metadata, even at trace level")
    func tokenNeverLogged() async throws {
        let logs = CapturingLogHandlerStore()
        // Only the call with injected latency may time out: ordinary calls get a deadline a loaded CI machine meets.
        try await withSandbox(logs: logs, requestTimeout: .seconds(5)) { sandbox, clients, _ in
            let bot = sandbox.bots[0]
            sandbox.startedUser(1000, on: bot)
            var errors: [String] = []
            _ = try await clients[0].call(GetMe())
            _ = try await clients[0].call(SendMessage(chatID: 1000, text: "hello"))
            sandbox.inject(SandboxFault(.flood(retryAfter: 3)))
            sandbox.inject(SandboxFault(.latency(.seconds(8)), method: "getMe"))
            for _ in 0..<2 {
                do { _ = try await clients[0].call(GetMe()) } catch { errors.append("\(error)") }
            }
            do { _ = try await clients[0].call(SendMessage(chatID: 4242, text: "nobody")) } catch { errors.append("\(error)") }
            do { _ = try await clients[0].downloadFile(path: "missing") } catch { errors.append("\(error)") }
            #expect(errors.count == 4)

            let secret = bot.token.secret
            let secretPart = String(secret.split(separator: ":")[1])
            let lines = logs.all.map(\.line) + errors
            #expect(logs.all.contains { $0.level == .trace }, "AsyncHTTPClient's trace logs were captured")
            #expect(lines.count > 10)
            let leaks = lines.filter { $0.contains(secretPart) }
            #expect(leaks.isEmpty, "token leaked in: \(leaks.prefix(3))")
        }
        // And a transport failure's description is redacted too.
        try await withHTTPClient { http in
            let token = BotToken("42:AAEsecretThatMustNotLeak99")!
            let client = BotAPIClient(
                token: token, httpClient: http,
                configuration: BotAPIConfiguration(baseURL: "http://127.0.0.1:9", requestTimeout: .seconds(1)), logger: logs.logger(label: "test.refused"))
            do { _ = try await client.call(GetMe()) } catch { #expect(!"\(error)".contains("AAEsecretThatMustNotLeak99")) }
        }
        #expect(!logs.all.contains { $0.line.contains("AAEsecretThatMustNotLeak99") })
    }
}

@Suite("Relay methods against the sandbox")
struct RelayMethodTests {
    @Test("copy, forward, media groups, chat actions, markup edits and deletes")
    func relayMethods() async throws {
        try await withSandbox { sandbox, clients, _ in
            let bot = sandbox.bots[0]
            let client = clients[0]
            sandbox.startedUser(20, "Manager", on: bot, language: "en")
            sandbox.startedUser(21, "Worker", on: bot, language: "uk")
            let photo = try #require(sandbox.sendMedia(.photo, from: 20, to: bot, caption: "Site plan"))
            let second = try #require(sandbox.sendMedia(.document, from: 20, to: bot))

            #expect(try await client.call(SendChatAction(chatID: 21, action: .uploadPhoto)))
            let copied = try await client.call(CopyMessage(chatID: 21, fromChatID: 20, messageID: photo.messageID, caption: "План ділянки"))
            let copy = try #require(sandbox.message(copied.messageID, bot: bot, chatID: 21))
            #expect(copy.photo?.first?.fileID == photo.photo?.first?.fileID)
            #expect(copy.caption == "План ділянки")
            let both = try await client.call(CopyMessages(chatID: 21, fromChatID: 20, messageIDs: [photo.messageID, second.messageID]))
            #expect(both.count == 2)
            let forwarded = try await client.call(ForwardMessage(chatID: 21, fromChatID: 20, messageID: second.messageID))
            #expect(forwarded.document != nil)

            let video = try #require(sandbox.sendMedia(.video, from: 20, to: bot)?.video?.fileID)
            let album = try await client.call(SendMediaGroup(chatID: 21, media: [
                InputMedia(.photo, media: try #require(photo.photo?.first?.fileID), caption: "1"),
                InputMedia(.video, media: video),
            ]))
            #expect(album.count == 2 && album[0].mediaGroupID != nil && album[0].mediaGroupID == album[1].mediaGroupID)
            do {
                _ = try await client.call(SendMediaGroup(chatID: 21, media: [
                    InputMedia(.photo, media: try #require(photo.photo?.first?.fileID)),
                    InputMedia(.document, media: try #require(second.document?.fileID)),
                ]))
                Issue.record("a photo and a document formed an album")
            } catch let error as TelegramError {
                #expect(error == .badRequest(description: "Bad Request: document and audio can't be mixed with other media types", migrateToChatID: nil))
            }
            let voiceFile = try #require(sandbox.sendMedia(.voice, from: 20, to: bot)?.voice?.fileID)
            let voice = try await client.call(SendMedia(.voice, chatID: 21, file: voiceFile, caption: "🔊"))
            #expect(voice.voice?.fileID == voiceFile && voice.caption == "🔊")
            let location = try await client.call(SendLocation(chatID: 21, latitude: 50.45, longitude: 30.52))
            #expect(location.location?.latitude == 50.45)
            let contact = try await client.call(SendContact(chatID: 21, phoneNumber: "+380441234567", firstName: "Olena"))
            #expect(contact.contact?.phoneNumber == "+380441234567")

            let menu = try await client.call(SendMessage(chatID: 21, text: "Menu", replyMarkup: .inline(InlineKeyboardMarkup([[
                InlineKeyboardButton(text: "Tasks", callbackData: "menu:tasks")]]))))
            _ = try await client.call(EditMessageReplyMarkup(chatID: 21, messageID: menu.messageID, replyMarkup: nil))
            #expect(sandbox.message(menu.messageID, bot: bot, chatID: 21)?.replyMarkup == nil)
            #expect(try await client.call(DeleteMessage(chatID: 21, messageID: menu.messageID)))
            #expect(sandbox.message(menu.messageID, bot: bot, chatID: 21) == nil)
            do {
                _ = try await client.call(DeleteMessage(chatID: 21, messageID: menu.messageID))
                Issue.record("deleted twice")
            } catch let error as TelegramError {
                #expect(error == .badRequest(description: "Bad Request: message to delete not found", migrateToChatID: nil))
            }
            // A file id another bot received is not valid here: a violation, as with real Telegram.
            sandbox.addUser(id: 30, firstName: "X")
            let foreign = try #require(sandbox.sendMedia(.photo, from: 30, to: sandbox.bots[1])?.photo?.first?.fileID)
            do {
                _ = try await client.call(SendMedia(.photo, chatID: 21, file: foreign))
                Issue.record("foreign file id accepted")
            } catch let error as TelegramError {
                #expect(error == .badRequest(description: "Bad Request: wrong file identifier/HTTP URL specified", migrateToChatID: nil))
            }
            #expect(sandbox.violations.count == 2)
            #expect(sandbox.violations.last?.problems.first?.contains("unknown to this bot") == true)
        }
    }
}
