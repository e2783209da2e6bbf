import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import Foundation
import Logging

/// A voice message's file, as the relay job needs it to transcribe.
struct VoiceFile: Codable, Sendable, Equatable {
    let fileID: String
    let mimeType: String?
    let fileSize: Int64?

    /// Telegram's `mime_type` is the sender's word: only a plain `type/subtype` goes into the upload.
    static func cleanMIME(_ raw: String?) -> String {
        guard let raw, raw.count <= 64, raw.split(separator: "/").count == 2,
              raw.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/.+-".contains($0)) })
        else { return "audio/ogg" }
        return raw.lowercased()
    }

    /// The servers tell the format by the file name's extension.
    static func fileExtension(_ mime: String) -> String {
        ["audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mp4": "m4a", "audio/x-m4a": "m4a", "audio/m4a": "m4a", "audio/aac": "m4a",
         "audio/wav": "wav", "audio/x-wav": "wav", "audio/webm": "webm", "audio/flac": "flac"][mime] ?? "ogg"
    }
}

extension ConversationMessage {
    /// A voice message's text as translated and shown: its caption (if any), then its words.
    func spoken(_ transcript: String) -> String {
        originalText.isEmpty ? transcript : originalText + "\n\n" + transcript
    }
}

/// Where voice files come from: the bot of the slot the voice was sent through (`getFile`, then the download).
public protocol VoiceFiles: Sendable {
    /// The file's bytes. Throws `TelegramError` (or any error: the voice then goes untranscribed).
    func download(fileID: String, slot: BotSlot) async throws -> Data
}

/// The live one: each slot's Bot API client.
public struct BotVoiceFiles: VoiceFiles {
    let clients: [BotSlot: any TelegramBotAPI]

    public init(clients: [BotSlot: any TelegramBotAPI]) { self.clients = clients }

    public func download(fileID: String, slot: BotSlot) async throws -> Data {
        guard let client = clients[slot] else { throw TelegramError.invalidResponse("no bot in \(slot)") }
        let file = try await client.call(GetFile(fileID: fileID))
        guard let path = file.filePath else {
            throw TelegramError.invalidResponse("getFile gave no file_path (a file over 20 MB)")
        }
        return try await client.downloadFile(path: path)
    }
}

/// Voice messages transcribed, then translated like text: the recipient gets the voice with the translated
/// transcript under it. The transcript is stored with the message (so a retried job does not transcribe
/// twice). A file that cannot be fetched, or a transcriber that refuses it, leaves the voice untranscribed
/// (labelled so); an outage is retried a few times first.
public struct VoiceTranscription: Sendable {
    let transcriber: any Transcriber
    let files: any VoiceFiles
    let database: AppDatabase
    let logger: Logger
    /// Attempts of the job (counting the first) before an outage gives up and the voice goes untranscribed.
    let attempts: Int
    /// Telegram lets bots download files up to 20 MB.
    static let maxBytes: Int64 = 20 << 20

    public init(transcriber: any Transcriber, files: any VoiceFiles, database: AppDatabase, attempts: Int = 4, logger: Logger) {
        self.transcriber = transcriber
        self.files = files
        self.database = database
        self.attempts = attempts
        self.logger = logger
    }

    /// The voice's words; nil when it cannot be transcribed (it then goes with the untranscribed label).
    func transcript(of message: ConversationMessage, voice: VoiceFile, slot: BotSlot, language: String, job: JobRow) async throws -> String? {
        // Transcribed already ("" : a voice without words).
        if let stored = message.transcript { return stored.isEmpty ? nil : stored }
        if let size = voice.fileSize, size > Self.maxBytes { return nil }
        let audio: Data
        do {
            audio = try await files.download(fileID: voice.fileID, slot: slot)
        } catch let error as TelegramError where error.isRetryable && job.attempts < attempts {
            throw JobFailure.retryable("voice download: \(error)", after: error.retryAfter.map { .seconds($0) } ?? .seconds(5))
        } catch {
            logger.warning("voice message not downloaded; it goes untranscribed", metadata: ["message": "\(message.id)", "error": "\(error)"])
            return nil
        }
        let text: String
        do {
            let mime = VoiceFile.cleanMIME(voice.mimeType)
            text = try await transcriber.transcribe(audio, fileName: "voice." + VoiceFile.fileExtension(mime), mimeType: mime, language: language)
        } catch let TranslationError.retryable(reason, after) where job.attempts < attempts {
            // (A timeout is final at the transcriber: the whole recording would be sent and paid for again.)
            throw JobFailure.retryable("transcription: \(reason)", after: after ?? .seconds(5))
        } catch {
            logger.warning("voice message not transcribed", metadata: ["message": "\(message.id)", "error": "\(error)"])
            return nil
        }
        // Kept, so a retried job does not transcribe (and pay for) it again; a failure to keep it loses nothing.
        do {
            try await database.write { tx in try tx.setTranscript(of: message.id, to: text) }
        } catch {
            logger.warning("voice transcript not stored; it is delivered all the same", metadata: ["message": "\(message.id)", "error": "\(error)"])
        }
        return text.isEmpty ? nil : text
    }
}
