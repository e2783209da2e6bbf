import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import Foundation
import Logging

/// `/check`: how the counterpart reads a message, translated back into the sender's language, so a
/// misunderstanding is caught before it costs a day's work. The intake picks the message (the one replied
/// to, else the sender's last) and queues the job behind the conversation's other jobs, so the message's own
/// translation is done by the time it runs.
struct BackTranslationJob: Codable {
    static let kind = "relay-check"
    let messageID: Int64
    /// The sender's message in their chat (the answer replies to it).
    let chatMessageID: Int64?
    /// Who asked, and the bot they asked through (told if the check fails for good).
    var requester: Int64? = nil
    var slot: Int? = nil
}

struct BackTranslationIntake {
    func check(_ command: Message, connection: Connection, sender: User, context: IntakeContext, replies: Replies) throws {
        let tx = context.tx
        let chat = command.chat.id
        let other = try connection.counterpart(of: sender.id).flatMap { try tx.user($0) }
        let name = other?.displayName ?? "?"
        let message: ConversationMessage
        if let replied = command.replyToMessage {
            guard let mine = try tx.message(connection: connection.id, sender: sender.id, sourceMessageID: replied.messageID) else {
                return try replies.tell(.checkNotYours, to: chat, language: sender.language, ["name": name])
            }
            message = mine
        } else {
            guard let last = try tx.lastMessage(connection: connection.id, sender: sender.id) else {
                return try replies.tell(.checkNothing, to: chat, language: sender.language, ["name": name])
            }
            message = last
        }
        guard message.withdrawnAt == nil else { return try replies.tell(.checkWithdrawn, to: chat, language: sender.language) }
        guard !message.originalText.isEmpty || message.transcript != nil else {
            return try replies.tell(.checkNothing, to: chat, language: sender.language, ["name": name])
        }
        if let other, LanguageCode.base(other.language) == LanguageCode.base(sender.language) {
            return try replies.tell(.checkSameLanguage, to: chat, language: sender.language, ["name": name])
        }
        try context.enqueueJob(kind: BackTranslationJob.kind, queueKey: "connection:\(connection.id)",
                               payload: BackTranslationJob(messageID: message.id, chatMessageID: message.sourceMessageID,
                                                           requester: sender.id, slot: connection.slot.number))
    }
}

/// Translates what the recipient got back into the sender's language and sends it as a reply to the message.
/// The translator down: the sender is told at once rather than kept waiting (they can ask again).
struct BackTranslationJobHandler: JobHandler {
    let kind = BackTranslationJob.kind
    let database: AppDatabase
    let localizer: Localizer
    let translator: any Translator
    let logger: Logger

    /// Failed for good (the message gone meanwhile, or something unforeseen): the asker is told, not left waiting.
    func failed(_ job: JobRow, reason: String, context: IntakeContext) throws {
        guard let payload = try? JSONDecoder().decode(BackTranslationJob.self, from: Data(job.payload.utf8)),
              let requester = payload.requester, let user = try context.tx.user(requester)
        else { return }
        try context.send(SendMessage(chatID: .id(requester), text: localizer.text(.checkFailed, user.language)),
                         chatID: requester, slot: payload.slot.flatMap(BotSlot.init))
    }

    func run(_ job: JobRow) async throws -> JobCompletion {
        let payload = try JSONDecoder().decode(BackTranslationJob.self, from: Data(job.payload.utf8))
        guard let input = try TranslationInput.load(payload.messageID, contextMessages: 0, database: database) else {
            throw JobFailure.final("message \(payload.messageID) or its connection no longer exists")
        }
        let (message, sender, recipient, connection) = (input.message, input.sender, input.recipient, input.connection)
        let localizer = localizer
        func answer(_ key: TextKey, _ values: [String: String] = [:]) -> JobCompletion {
            let text = localizer.text(key, sender.language, values.merging(["name": recipient.displayName]) { mine, _ in mine })
            return JobCompletion { context in
                try context.send(SendMessage(chatID: .id(sender.id), text: text,
                                             replyParameters: payload.chatMessageID.map { ReplyParameters(messageID: $0, allowSendingWithoutReply: true) }),
                                 chatID: sender.id, slot: connection.slot)
            }
        }
        guard message.withdrawnAt == nil else { return answer(.checkWithdrawn) }
        // What the recipient read: the translation, unless it went untranslated (no provider made it).
        guard let received = message.translatedText, !received.isEmpty else { return answer(.checkNothing) }
        guard message.translatedBy != nil else { return answer(.checkUntranslated) }
        let glossary = input.glossary.map { $0.keep ? $0 : GlossaryTerm(source: $0.target, target: $0.source) }
        let request = TranslationRequest(
            text: received, sourceLanguage: recipient.language, targetLanguage: sender.language,
            speaker: sender.id == connection.managerID ? .manager : .worker,
            speakerGender: sender.gender.rawValue, addresseeGender: recipient.gender.rawValue, industry: input.industry,
            glossary: glossary)
        do {
            let back = try await translator.translation(request)
            return answer(.checkResult, ["text": back.text])
        } catch let error as TranslationError {
            logger.warning("back-translation failed", metadata: ["message": "\(message.id)", "error": "\(error)"])
            return answer(.checkFailed)
        }
    }
}
