import BridgeOSTelegram
import Foundation
import Testing

@Suite("Wire types")
struct WireTests {
    static let updateFixtures = [
        "message-text-private.json", "message-start-plain.json", "message-start-deeplink.json", "message-photo-caption.json",
        "message-voice.json", "message-document.json", "callback-query.json", "edited-message.json",
        "my-chat-member-blocked.json", "my-chat-member-unblocked.json", "message-supergroup-reply.json",
        "official-legacy/callback-query.json", "official-legacy/document.json", "official-legacy/edited-message.json",
        "official-legacy/text-start.json", "official-legacy/voice.json",
    ]

    @Test("every shared update fixture is listed here", .tags())
    func fixturesAreAllCovered() throws {
        var onDisk: [String] = []
        for folder in ["updates", "updates/official-legacy"] {
            let url = sharedTelegram.appendingPathComponent(folder)
            onDisk += try FileManager.default.contentsOfDirectory(atPath: url.path)
                .filter { $0.hasSuffix(".json") }
                .map { folder == "updates" ? $0 : "official-legacy/\($0)" }
        }
        #expect(Set(onDisk) == Set(Self.updateFixtures))
    }

    @Test("every shared update fixture decodes to the kind it shows", arguments: updateFixtures)
    func decodesFixture(_ name: String) throws {
        let update = try JSONDecoder().decode(Update.self, from: try sharedFile("updates/\(name)"))
        #expect(update.updateID > 0)
        switch update.kind {
        case let .message(message):
            #expect(!name.contains("edited") && !name.contains("callback") && !name.contains("member"))
            #expect(message.chat.id != 0)
            if name.contains("photo") {
                guard case let .photo(sizes) = message.content else { Issue.record("not a photo"); return }
                #expect(sizes.count == 4)
                #expect(message.caption != nil)
            }
            if name.contains("voice") { #expect({ if case .voice = message.content { true } else { false } }()) }
            if name.contains("document") { #expect({ if case .document = message.content { true } else { false } }()) }
            if name.contains("start-deeplink") {
                let command = try #require(message.command)
                #expect(command.name == "start")
                #expect(command.argument?.isEmpty == false)
            }
            if name.contains("supergroup") {
                #expect(message.chat.type == .supergroup)
                #expect(message.replyToMessage != nil)
                #expect(message.command?.name == "cmd" || message.command != nil)
            }
        case let .editedMessage(message):
            #expect(name.contains("edited"))
            #expect(message.editDate != nil)
        case let .callbackQuery(query):
            #expect(name.contains("callback"))
            #expect(query.data != nil)
        case let .myChatMember(member):
            #expect(name.contains("member"))
            #expect(member.newChatMember.status == (name.contains("unblocked") ? .member : .kicked))
        case .messageReaction:
            Issue.record("\(name) decoded as a reaction")
        case let .unsupported(kind), let .undecodable(kind, _):
            Issue.record("\(name) decoded as \(update.kind) (\(kind))")
        }
    }

    @Test("a message_reaction update decodes: emoji, custom emoji and paid reactions, old and new")
    func decodesReaction() throws {
        let json = #"""
            {"update_id": 7, "message_reaction": {"chat": {"id": 42, "type": "private", "first_name": "Ana"},
             "message_id": 17, "user": {"id": 42, "is_bot": false, "first_name": "Ana"}, "date": 1760000000,
             "old_reaction": [{"type": "emoji", "emoji": "👌"}],
             "new_reaction": [{"type": "custom_emoji", "custom_emoji_id": "5368324170671202286"}, {"type": "paid"}, {"type": "emoji", "emoji": "🔥"}]}}
            """#
        let update = try JSONDecoder().decode(Update.self, from: Data(json.utf8))
        guard case let .messageReaction(reaction) = update.kind else { Issue.record("\(update.kind)"); return }
        #expect(reaction.messageID == 17)
        #expect(reaction.user?.id == 42)
        #expect(reaction.oldReaction == [.emoji("👌")])
        #expect(reaction.newReaction == [.customEmoji("5368324170671202286"), .other("paid"), .emoji("🔥")])
        #expect(update.sender?.id == 42)
        // And back: what a bot sends in setMessageReaction.
        let encoded = String(decoding: try JSONEncoder().encode(SetMessageReaction(chatID: .id(42), messageID: 17, reaction: [.emoji("👌")])), as: UTF8.self)
        #expect(encoded.contains(#""reaction":[{"#) && encoded.contains(#""type":"emoji""#))
        #expect(Update.allowedUpdates.contains("message_reaction"))
    }

    @Test("polls, venues and dice are told apart: the first two are relayed, a dice is not")
    func contentKinds() throws {
        var message = Message(messageID: 1, from: nil, date: 1, chat: Chat(id: 1, type: .private))
        message.poll = Poll(id: "p", question: "Lunch?", options: ["12:00", "13:00"])
        #expect(message.content == .poll(Poll(id: "p", question: "Lunch?", options: ["12:00", "13:00"])))
        message.poll = nil
        let place = Location(latitude: 40.4, longitude: -3.7)
        message.location = place
        message.venue = Venue(location: place, title: "Site 4", address: "Calle Mayor 1")
        #expect({ if case .venue = message.content { true } else { false } }())
        message.venue = nil
        message.location = nil
        message.dice = Dice(emoji: "🎲", value: 3)
        #expect(message.content == .unsupported)
    }

    @Test("unknown update kinds and broken payloads are kept, not thrown")
    func tolerantDecoding() throws {
        let poll = try JSONDecoder().decode(Update.self, from: Data(#"{"update_id": 5, "poll": {"id": "1"}}"#.utf8))
        #expect(poll.kind == .unsupported("poll"))
        let broken = try JSONDecoder().decode(Update.self, from: Data(#"{"update_id": 6, "message": {"message_id": "x"}}"#.utf8))
        guard case let .undecodable(kind, reason) = broken.kind else { Issue.record("\(broken.kind)"); return }
        #expect(kind == "message")
        #expect(!reason.isEmpty)
        // Unknown fields and unknown enum values are fine.
        let future = try JSONDecoder().decode(Update.self, from: Data(#"""
            {"update_id": 7, "future_field": 1, "message": {"message_id": 1, "date": 1, "brand_new": true,
             "chat": {"id": 9007199254740993, "type": "direct_messages"}, "text": "hi",
             "entities": [{"type": "future_entity", "offset": 0, "length": 2}]}}
            """#.utf8))
        guard case let .message(message) = future.kind else { Issue.record("\(future.kind)"); return }
        #expect(message.chat.id == 9_007_199_254_740_993)  // beyond 2^53: Int64, not Double
        #expect(message.chat.type.rawValue == "direct_messages")
        #expect(message.entities?.first?.type.rawValue == "future_entity")
    }

    @Test("getUpdates-ok decodes three updates of three kinds")
    func getUpdatesFixture() throws {
        let updates = try BotAPIClient.decodeEnvelope([Update].self, status: 200, body: try sharedFile("responses/getUpdates-ok.json"))
        #expect(updates.map(\.updateID) == [100_000_007, 100_000_008, 100_000_006])
        guard case .callbackQuery = updates[0].kind, case .editedMessage = updates[1].kind, case .message = updates[2].kind else {
            Issue.record("\(updates.map(\.kind))")
            return
        }
    }

    @Test("each shared response maps to its result or typed error")
    func responses() throws {
        func error(_ file: String, status: Int) throws -> TelegramError? {
            do {
                _ = try BotAPIClient.decodeEnvelope(Bool.self, status: status, body: try sharedFile("responses/\(file)"))
                return nil
            } catch let error as TelegramError {
                return error
            }
        }
        #expect(try BotAPIClient.decodeEnvelope(Bool.self, status: 200, body: try sharedFile("responses/answerCallbackQuery-ok.json")))
        let me = try BotAPIClient.decodeEnvelope(BotInfo.self, status: 200, body: try sharedFile("responses/getMe-ok.json"))
        #expect(me.username == "example_translator_bot" && me.isBot)
        #expect(try BotAPIClient.decodeEnvelope([Update].self, status: 200, body: try sharedFile("responses/getUpdates-empty.json")).isEmpty)
        let sent = try BotAPIClient.decodeEnvelope(Message.self, status: 200, body: try sharedFile("responses/sendMessage-ok.json"))
        #expect(sent.messageID == 1010 && sent.text == "Good morning, how are you?")
        let webhook = try BotAPIClient.decodeEnvelope(WebhookInfo.self, status: 200, body: try sharedFile("responses/getWebhookInfo-polling.json"))
        #expect(webhook.url.isEmpty)

        #expect(try error("error-429-flood.json", status: 429) == .flood(retryAfter: 5, description: "Too Many Requests: retry after 5"))
        #expect(try error("error-403-blocked.json", status: 403) == .forbidden(.blocked, description: "Forbidden: bot was blocked by the user"))
        #expect(try error("error-403-user-deactivated.json", status: 403) == .forbidden(.userDeactivated, description: "Forbidden: user is deactivated"))
        #expect(try error("error-400-chat-not-found.json", status: 400) == .badRequest(description: "Bad Request: chat not found", migrateToChatID: nil))
        #expect(try error("error-400-migrated.json", status: 400)
                == .badRequest(description: "Bad Request: group chat was upgraded to a supergroup chat", migrateToChatID: -1_001_234_567_890))
        #expect(try error("error-401-unauthorized.json", status: 401) == .unauthorized(description: "Unauthorized"))
        guard case .conflict = try error("error-409-getupdates-conflict.json", status: 409),
              case .conflict = try error("error-409-webhook-active.json", status: 409)
        else { Issue.record("409s are not conflicts"); return }
        #expect(try error("error-429-flood.json", status: 429)?.retryAfter == 5)
        #expect(try error("error-429-flood.json", status: 429)?.isRetryable == true)
        #expect(try error("error-403-blocked.json", status: 403)?.isRetryable == false)
    }

    @Test("entity offsets count UTF-16 units")
    func utf16Entities() {
        let text = "👷 Call @maria_b at https://example.com/ñ"
        #expect(text.telegramLength == text.utf16.count)
        #expect(text.telegramLength != text.count)
        let url = MessageEntity(type: .url, offset: 20, length: 21)
        #expect(url.text(in: text) == "https://example.com/ñ")
        #expect(MessageEntity(type: .mention, offset: 8, length: 8).text(in: text) == "@maria_b")
        #expect(MessageEntity(type: .url, offset: 40, length: 5).text(in: text) == nil)
    }

    @Test("method bodies use the wire names")
    func encodesMethods() throws {
        var send = SendMessage(chatID: 42, text: "hola", replyMarkup: .inline(InlineKeyboardMarkup([[InlineKeyboardButton(text: "Sí", callbackData: "yes")]])))
        send.replyParameters = ReplyParameters(messageID: 7)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(send)) as? [String: Any]
        #expect(json?["chat_id"] as? Int == 42)
        #expect((json?["reply_markup"] as? [String: Any])?["inline_keyboard"] != nil)
        #expect((json?["reply_parameters"] as? [String: Any])?["message_id"] as? Int == 7)
        #expect(json?["parse_mode"] == nil)  // nil parameters are omitted
        let voice = SendMedia(.videoNote, chatID: .username("@chan"), file: "FILE", caption: "ignored")
        #expect(voice.methodName == "sendVideoNote")
        let voiceJSON = try JSONSerialization.jsonObject(with: JSONEncoder().encode(voice)) as? [String: Any]
        #expect(voiceJSON?["video_note"] as? String == "FILE")
        #expect(voiceJSON?["caption"] == nil)  // video notes take no caption
        #expect(GetUpdates(timeout: 30).requestTimeout == .seconds(45))
    }

    @Test("a bot token never shows its secret")
    func tokenRedaction() throws {
        let token = try #require(BotToken("123456789:AAEabcdefghijklmnopqrstuvwxyz012345"))
        #expect(token.botID == 123_456_789)
        #expect("\(token)" == "bot 123456789")
        #expect(!String(reflecting: token).contains("AAEabc"))
        #expect(BotToken("not-a-token") == nil)
        #expect(BotToken("123:short") == nil)
        #expect(BotToken("abc:AAEabcdefghijklmnop") == nil)
    }
}
