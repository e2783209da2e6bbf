import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation

/// A simulated person of the story.
struct DemoPerson: Sendable, Hashable {
    let id: Int64
    let name: String
    let language: String
}

/// What people see: each person's chat with each bot, printed as it changes — new messages from both sides,
/// messages the bot edited in place, buttons under them — so the transcript reads like their screens.
final class DemoScreens {
    private struct Key: Hashable {
        let bot: Int64
        let chat: Int64
    }

    private struct Seen: Equatable {
        let text: String
        let buttons: [[String]]
    }

    let sandbox: BotAPISandbox
    let out: DemoOutput
    private var seen: [Key: [Int64: Seen]] = [:]
    private var lastScreen: Key?

    init(sandbox: BotAPISandbox, out: DemoOutput) {
        self.sandbox = sandbox
        self.out = out
    }

    /// Prints what changed on `person`'s chat with `bot` since it was last shown.
    func show(_ person: DemoPerson, _ bot: SandboxBot) {
        let key = Key(bot: bot.token.botID, chat: person.id)
        var known = seen[key] ?? [:]
        for entry in sandbox.chat(bot, person.id) {
            let message = entry.message
            let now = Seen(text: Self.content(message), buttons: Self.buttons(message))
            let before = known[message.messageID]
            guard before != now else { continue }
            known[message.messageID] = now
            header(key, person, bot)
            if !entry.fromBot {
                out.line("  \(person.name.padding(toLength: 8, withPad: " ", startingAt: 0))│ \(now.text)")
            } else {
                let who = before == nil ? "bot" : "bot ✎"
                out.block("  \(who.padding(toLength: 8, withPad: " ", startingAt: 0))│ ", now.text)
                for row in now.buttons { out.line("          │   " + row.map { "[\($0)]" }.joined(separator: " ")) }
            }
        }
        seen[key] = known
    }

    /// Marks everything on the chat as shown, without printing it.
    func skip(_ person: DemoPerson, _ bot: SandboxBot) {
        let key = Key(bot: bot.token.botID, chat: person.id)
        var known = seen[key] ?? [:]
        for entry in sandbox.chat(bot, person.id) {
            known[entry.message.messageID] = Seen(text: Self.content(entry.message), buttons: Self.buttons(entry.message))
        }
        seen[key] = known
    }

    /// A line about a person's action that is not a message (a button press, blocking the bot).
    func action(_ person: DemoPerson, _ bot: SandboxBot, _ text: String) {
        header(Key(bot: bot.token.botID, chat: person.id), person, bot)
        out.line("  \(person.name.padding(toLength: 8, withPad: " ", startingAt: 0))│ » \(text)")
    }

    private func header(_ key: Key, _ person: DemoPerson, _ bot: SandboxBot) {
        guard lastScreen != key else { return }
        lastScreen = key
        out.line("  ┌ \(person.name)'s chat with @\(bot.username)")
    }

    /// Forget which screen was last, so the next line names its chat again (after a narration line).
    func breakScreen() { lastScreen = nil }

    static func content(_ message: Message) -> String {
        var media = ""
        if message.photo != nil { media = "[photo]" }
        else if message.document != nil { media = "[document]" }
        else if message.video != nil { media = "[video]" }
        else if message.voice != nil { media = "[voice message]" }
        else if message.videoNote != nil { media = "[video message]" }
        else if message.animation != nil { media = "[GIF]" }
        else if message.audio != nil { media = "[audio]" }
        else if message.sticker != nil { media = "[sticker]" }
        else if message.poll != nil { media = "[poll]" }
        else if message.contact != nil { media = "[contact]" }
        else if message.venue != nil { media = "[place]" }
        else if message.location != nil { media = "[location]" }
        if !media.isEmpty, message.mediaGroupID != nil { media = media.dropLast() + " · album]" }
        // A reply shows what it answers, as Telegram shows the quoted message above it.
        let reply = message.replyToMessage.map { replied -> String in
            let quoted = replied.text ?? replied.caption ?? "…"
            return "↩ “\(quoted.count > 30 ? quoted.prefix(30) + "…" : quoted)”"
        } ?? ""
        let text = message.text ?? message.caption ?? ""
        return [reply, media, text].filter { !$0.isEmpty }.joined(separator: " ")
    }

    static func buttons(_ message: Message) -> [[String]] {
        message.replyMarkup?.inlineKeyboard.map { $0.map(\.text) } ?? []
    }
}

/// Where the transcript goes: standard output, wrapped to a readable width.
struct DemoOutput: Sendable {
    var width = 100

    func line(_ text: String = "") {
        // The throwing write: a reader that went away (`bridgeos demo | head`) ends the transcript, not the demo.
        try? FileHandle.standardOutput.write(contentsOf: Data((text + "\n").utf8))
    }

    /// `text` after `prefix`, its lines (and long lines, at spaces) indented under the first.
    func block(_ prefix: String, _ text: String) {
        let indent = "          │ "
        var first = true
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            for piece in wrap(String(paragraph), to: width - indent.count) {
                line((first ? prefix : indent) + piece)
                first = false
            }
        }
        if first { line(prefix) }
    }

    func heading(_ text: String) {
        line()
        line("── \(text) " + String(repeating: "─", count: max(3, width - text.count - 4)))
    }

    func note(_ text: String) {
        for piece in wrap(text, to: width - 2) { line("  " + piece) }
    }

    private func wrap(_ text: String, to width: Int) -> [String] {
        guard text.count > width else { return [text] }
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !current.isEmpty, current.count + 1 + word.count > width {
                lines.append(current)
                current = String(word)
            } else {
                current = current.isEmpty ? String(word) : current + " " + word
            }
        }
        lines.append(current)
        return lines
    }
}
