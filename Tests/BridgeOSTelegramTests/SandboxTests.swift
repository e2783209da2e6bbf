import AsyncHTTPClient
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation
import Testing

@Suite("Bot API sandbox")
struct SandboxTests {
    /// The body a refused call gets: the real Bot API error envelope.
    func expectBadRequest(_ result: (status: Int, body: JSONValue), _ description: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 400, sourceLocation: sourceLocation)
        #expect(result.body == .object([
            "ok": .bool(false), "error_code": .integer(400), "description": .string(description),
        ]), sourceLocation: sourceLocation)
    }

    @Test("the embedded spec is Bot API 10.1 with every method the sandbox implements")
    func spec() throws {
        let spec = try BotAPISpec.embedded()
        #expect(spec.version == "Bot API 10.1")
        #expect(spec.methods.count == 180)
        for method in ["getUpdates", "sendMessage", "copyMessages", "sendVideoNote", "answerCallbackQuery", "getFile"] {
            #expect(spec.methods[method] != nil, "\(method)")
        }
    }

    @Test("a missing required parameter: real 400 body and a violation")
    func missingParameter() async throws {
        try await withSandbox { sandbox, _, http in
            let bot = sandbox.bots[0]
            sandbox.startedUser(10, on: bot)
            expectBadRequest(try await rawCall(sandbox, http, bot: bot, "sendMessage", json: #"{"chat_id": 10}"#), "Bad Request: message text is empty")
            expectBadRequest(try await rawCall(sandbox, http, bot: bot, "sendMessage", json: #"{"text": "hi"}"#), "Bad Request: chat_id is empty")
            #expect(sandbox.violations.count == 2)
            #expect(sandbox.violations[0].problems == ["text: required, expected String"])
            #expect(sandbox.violations[0].method == "sendMessage")
            #expect(sandbox.botMessages(bot, 10).isEmpty)
        }
    }

    @Test("an unknown parameter, nested too: 400 and a violation")
    func unknownParameter() async throws {
        try await withSandbox { sandbox, _, http in
            let bot = sandbox.bots[0]
            sandbox.startedUser(10, on: bot)
            expectBadRequest(
                try await rawCall(sandbox, http, bot: bot, "sendMessage", json: #"{"chat_id": 10, "text": "hi", "parse_mod": "HTML"}"#),
                "Bad Request: unknown parameter \"parse_mod\"")
            let nested = try await rawCall(sandbox, http, bot: bot, "sendMessage", json: #"""
                {"chat_id": 10, "text": "hi", "reply_markup": {"inline_keyboard": [[{"text": "a", "callback": "x"}]]}}
                """#)
            #expect(nested.status == 400)
            #expect(sandbox.violations.map(\.problems).joined().contains { $0.hasPrefix("reply_markup.inline_keyboard[0][0].callback:") })
        }
    }

    @Test("a wrong type: 400 and a violation")
    func wrongType() async throws {
        try await withSandbox { sandbox, _, http in
            let bot = sandbox.bots[0]
            sandbox.startedUser(10, on: bot)
            expectBadRequest(
                try await rawCall(sandbox, http, bot: bot, "sendMessage", json: #"{"chat_id": 10, "text": 42}"#),
                "Bad Request: wrong type of parameter \"text\": expected String, got a number")
            expectBadRequest(
                try await rawCall(sandbox, http, bot: bot, "deleteMessage", json: #"{"chat_id": 10, "message_id": true}"#),
                "Bad Request: wrong type of parameter \"message_id\": expected Integer, got a boolean")
            // A union (reply_markup) that matches none of its four types.
            let union = try await rawCall(sandbox, http, bot: bot, "sendMessage", json: #"{"chat_id": 10, "text": "x", "reply_markup": {"keyboard": "no"}}"#)
            #expect(union.status == 400)
            #expect(sandbox.violations.count == 3)
        }
    }

    @Test("text limits count UTF-16 units: 4096 passes, 4097 is refused")
    func textLength() async throws {
        try await withSandbox { sandbox, clients, _ in
            let bot = sandbox.bots[0]
            sandbox.startedUser(10, on: bot)
            // 2048 emoji are 2048 characters but 4096 UTF-16 units: exactly at the limit.
            let atLimit = String(repeating: "😀", count: 2048)
            #expect(atLimit.count == 2048 && atLimit.utf16.count == 4096)
            let sent = try await clients[0].call(SendMessage(chatID: 10, text: atLimit))
            #expect(sent.text == atLimit)
            do {
                _ = try await clients[0].call(SendMessage(chatID: 10, text: atLimit + "a"))
                Issue.record("4097 units were accepted")
            } catch let error as TelegramError {
                #expect(error == .badRequest(description: "Bad Request: message is too long", migrateToChatID: nil))
            }
            #expect(sandbox.violations.map(\.problems) == [["text is 4097 UTF-16 units, the limit is 4096"]])
        }
    }

    @Test("caption over 1024, callback data over 64 bytes, entities out of range, empty text")
    func otherLimits() async throws {
        try await withSandbox { sandbox, clients, _ in
            let bot = sandbox.bots[0]
            sandbox.addUser(id: 10, firstName: "Ana")
            let photo = try #require(sandbox.sendMedia(.photo, from: 10, to: bot)?.photo?.first?.fileID)
            var refused: [String] = []
            func attempt<M: TelegramMethod>(_ method: M) async {
                do { _ = try await clients[0].call(method) } catch let error as TelegramError { refused.append("\(error)") } catch {}
            }
            await attempt(SendMedia(.photo, chatID: 10, file: photo, caption: String(repeating: "a", count: 1025)))
            await attempt(SendMedia(.photo, chatID: 10, file: photo, caption: String(repeating: "a", count: 1024)))
            // "é" is 2 UTF-8 bytes: 33 of them are 66 bytes, though only 33 characters.
            await attempt(SendMessage(chatID: 10, text: "pick", replyMarkup: .inline(InlineKeyboardMarkup([[
                InlineKeyboardButton(text: "x", callbackData: String(repeating: "é", count: 33))]]))))
            await attempt(SendMessage(chatID: 10, text: "pick", replyMarkup: .inline(InlineKeyboardMarkup([[
                InlineKeyboardButton(text: "x", callbackData: String(repeating: "é", count: 32))]]))))
            await attempt(SendMessage(chatID: 10, text: "short", entities: [MessageEntity(type: .bold, offset: 2, length: 10)]))
            await attempt(SendMessage(chatID: 10, text: "   "))
            await attempt(AnswerCallbackQuery(callbackQueryID: "1", text: String(repeating: "a", count: 201)))
            #expect(refused.count == 5, "\(refused)")
            #expect(refused[0].contains("message caption is too long"))
            #expect(refused[1].contains("BUTTON_DATA_INVALID"))
            #expect(refused[2].contains("can't parse entities"))
            #expect(refused[3].contains("message text is empty"))
            #expect(refused[4].contains("MESSAGE_TOO_LONG"))
            #expect(sandbox.violations.count == 5)
            #expect(sandbox.botMessages(bot, 10).count == 2)
        }
    }

    @Test("an unknown method is 404 and a violation; method names are case-insensitive")
    func methods() async throws {
        try await withSandbox { sandbox, _, http in
            let bot = sandbox.bots[0]
            let unknown = try await rawCall(sandbox, http, bot: bot, "sendTelegram", json: "{}")
            #expect(unknown.status == 404)
            #expect(unknown.body.object?["description"] == .string("Not Found"))
            #expect(sandbox.violations.count == 1)
            let lower = try await rawCall(sandbox, http, bot: bot, "getme", json: "{}")
            #expect(lower.status == 200)
            #expect(lower.body.object?["result"]?.object?["username"] == .string(bot.username))
        }
    }

    @Test("form-urlencoded and query-string parameters work like JSON")
    func formEncoding() async throws {
        try await withSandbox { sandbox, _, http in
            let bot = sandbox.bots[0]
            sandbox.startedUser(10, on: bot)
            let markup = #"{"inline_keyboard":[[{"text":"OK","callback_data":"ok"}]]}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let sent = try await rawCall(sandbox, http, bot: bot, "sendMessage", form: "chat_id=10&text=Hola+mundo%21&reply_markup=\(markup)")
            #expect(sent.status == 200, "\(sent.body)")
            #expect(sandbox.botMessages(bot, 10).last?.text == "Hola mundo!")
            #expect(sandbox.botMessages(bot, 10).last?.replyMarkup?.inlineKeyboard.first?.first?.callbackData == "ok")
            #expect(sandbox.violations.isEmpty)
        }
    }

    @Test("injected faults: a 429 for one chat leaves other chats and bots alone; latency delays")
    func faults() async throws {
        try await withSandbox { sandbox, clients, _ in
            let (a, b) = (sandbox.bots[0], sandbox.bots[1])
            sandbox.startedUser(10, on: a)
            sandbox.startedUser(11, on: a)
            sandbox.startedUser(10, on: b)
            sandbox.inject(SandboxFault(.flood(retryAfter: 30), method: "sendMessage", chatID: 10, botID: a.token.botID, count: 2))
            for _ in 0..<2 {
                do {
                    _ = try await clients[0].call(SendMessage(chatID: 10, text: "x"))
                    Issue.record("no 429")
                } catch let error as TelegramError {
                    #expect(error.retryAfter == 30)
                }
            }
            _ = try await clients[0].call(SendMessage(chatID: 11, text: "other chat"))
            _ = try await clients[1].call(SendMessage(chatID: 10, text: "other bot"))
            _ = try await clients[0].call(SendMessage(chatID: 10, text: "fault used up"))
            sandbox.inject(SandboxFault(.latency(.milliseconds(300)), method: "getMe", count: 2))
            for remaining in [1, 0] {
                let start = ContinuousClock.now
                _ = try await clients[0].call(GetMe())
                #expect(ContinuousClock.now - start >= .milliseconds(300))
                // Each affected call uses up one count: it waited once, not once per remaining count.
                #expect(sandbox.remainingFaults.map(\.count) == (remaining == 0 ? [] : [remaining]))
            }
            #expect(sandbox.calls("sendMessage").map(\.status) == [429, 429, 200, 200, 200])
            #expect(sandbox.violations.isEmpty)
        }
    }

    @Test("people: commands, media, edits, button presses, blocking and groups become the right updates")
    func simulatedPeople() async throws {
        try await withSandbox { sandbox, clients, _ in
            let bot = sandbox.bots[0]
            sandbox.addUser(id: 10, firstName: "Ana", languageCode: "es")
            sandbox.send("/start r_ABC23456", from: 10, to: bot)
            let original = try #require(sandbox.send("Mira https://example.com y escribe a @maria_b", from: 10, to: bot))
            #expect(original.entities?.map(\.type) == [.url, .mention])
            #expect(original.entities?.first.flatMap { $0.text(in: original.text!) } == "https://example.com")
            sandbox.sendMedia(.voice, from: 10, to: bot)
            sandbox.sendLocation(latitude: 40.4, longitude: -3.7, from: 10, to: bot)
            sandbox.edit(messageID: original.messageID, from: 10, to: bot, newText: "Mira esto")
            let prompt = try await clients[0].call(SendMessage(chatID: 10, text: "OK?", replyMarkup: .inline(InlineKeyboardMarkup([[
                InlineKeyboardButton(text: "Sí", callbackData: "yes")]]))))
            #expect(sandbox.press(buttonText: "Sí", on: prompt, by: 10, bot: bot) != nil)
            #expect(sandbox.press("no-such-button", on: prompt, by: 10, bot: bot) == nil)
            sandbox.block(bot, by: 10)
            sandbox.unblock(bot, by: 10)
            sandbox.addGroup(id: -100_555, title: "Crew", bots: [bot])
            sandbox.send("hello group", from: 10, to: bot, inGroup: -100_555)

            let updates = try await clients[0].call(GetUpdates(timeout: 0))
            let kinds: [String] = updates.map {
                switch $0.kind {
                case let .message(message):
                    switch message.content {
                    case .text: message.chat.type == .group ? "group text" : message.command != nil ? "command" : "text"
                    case .voice: "voice"
                    case .location: "location"
                    default: "other message"
                    }
                case .editedMessage: "edit"
                case .callbackQuery: "press"
                case let .myChatMember(change): change.newChatMember.status.rawValue
                case .messageReaction: "reaction"
                case .unsupported, .undecodable: "unsupported"
                }
            }
            #expect(kinds == ["command", "text", "voice", "location", "edit", "press", "kicked", "member", "group text"])
            #expect(updates.map(\.updateID) == Array(updates[0].updateID...(updates[0].updateID + 8)))
            #expect(sandbox.violations.isEmpty)
        }
    }

    @Test("sandboxes run in parallel on their own ports")
    func parallelSandboxes() async throws {
        let ports = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await withSandbox(bots: 1) { sandbox, clients, _ in
                        _ = try await clients[0].call(GetMe())
                        return sandbox.port
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(Set(ports).count == 4)
        #expect(ports.allSatisfy { $0 > 0 })
    }

    /// Stopping by cancellation trapped in SwiftNIO when a connection was accepted but not yet taken; the
    /// sandbox now stops gracefully, and a poll waiting at that moment gets its answer instead of a cut line.
    @Test("a sandbox stops gracefully: a waiting long poll is answered, an idle kept-alive connection is closed")
    func gracefulStop() async throws {
        try await withHTTPClient { http in
            let bot = SandboxBot.make(1)[0]
            let poll = try await BotAPISandbox.run(bots: [bot]) { sandbox in
                _ = try await rawCall(sandbox, http, bot: bot, "getMe")  // leaves an idle pooled connection
                let poll = Task { try await rawCall(sandbox, http, bot: bot, "getUpdates", json: #"{"timeout":50}"#) }
                for _ in 0..<500 where sandbox.waitingPolls == 0 {
                    try await Task.sleep(for: .milliseconds(10))
                }
                return poll
            }
            let answered = try await poll.value
            #expect(answered.status == 200)
            #expect(answered.body.object?["result"] == .array([]))
        }
    }
}
