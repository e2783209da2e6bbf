import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTranslation
import Foundation

/// The demo's hands: simulated people act through the sandbox, the driver waits for what the appliance does
/// in answer (never for a fixed time), then shows the people's screens and records what did not hold.
final class DemoDriver {
    let sandbox: BotAPISandbox
    let screens: DemoScreens
    let out: DemoOutput
    /// Nil when a real provider translates: the texts are then not known in advance.
    let phrasebook: Phrasebook?
    private(set) var failures: [String] = []
    /// How long to wait for the appliance's answer before calling it a failure.
    let patience: Duration = .seconds(45)

    /// The child `serve`: a wait gives up at once when it has stopped (unless the story stopped it).
    let serve: ServeChild

    struct ServeStopped: Error {
        let status: Int32
    }

    /// A wait ran out: the appliance did not do what the story needs next, so the story ends here.
    struct StoryStopped: Error {
        let what: String
    }

    init(sandbox: BotAPISandbox, out: DemoOutput, phrasebook: Phrasebook?, serve: ServeChild) {
        self.serve = serve
        self.sandbox = sandbox
        self.out = out
        self.phrasebook = phrasebook
        self.screens = DemoScreens(sandbox: sandbox, out: out)
    }

    /// Records a check; a failed one is printed at once and fails the demo at the end.
    func check(_ holds: Bool, _ what: String) {
        screens.breakScreen()
        if holds {
            out.line("  ✓ \(what)")
        } else {
            out.line("  ✗ \(what)")
            failures.append(what)
        }
    }

    /// Records a check that is shown only when it fails (per message checks would drown the story).
    func verify(_ holds: Bool, _ what: @autoclosure () -> String) {
        if !holds { check(false, what()) }
    }

    func narrate(_ text: String) {
        screens.breakScreen()
        out.note(text)
    }

    /// Waits for `condition`. A timeout is recorded as a failure and ends the story (`StoryStopped`); serve
    /// found dead ends it at once (`ServeStopped`).
    @discardableResult
    func wait(_ what: String, _ condition: @escaping @Sendable (BotAPISandbox) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + patience
        while !condition(sandbox) {
            if !serve.isRunning { throw ServeStopped(status: serve.process?.terminationStatus ?? -1) }
            guard ContinuousClock.now < deadline else {
                check(false, "\(what) (waited \(patience))")
                throw StoryStopped(what: what)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// A short pause after the awaited answer, so notices that follow it show in the same scene.
    func settle() async { try? await Task.sleep(for: .milliseconds(300)) }

    func count(_ bot: SandboxBot, _ person: DemoPerson) -> Int { sandbox.botMessages(bot, person.id).count }

    func botTexts(_ bot: SandboxBot, _ person: DemoPerson) -> [String] {
        sandbox.botMessages(bot, person.id).map(DemoScreens.content)
    }

    /// `person` sends `text` to `bot`; waits until each chat in `then` has at least that many more bot
    /// messages; shows the sender's screen and those chats.
    @discardableResult
    func say(_ person: DemoPerson, _ bot: SandboxBot, _ text: String,
             then expected: [(DemoPerson, SandboxBot, Int)] = []) async throws -> Message? {
        let targets = expected.isEmpty ? [(person, bot, 1)] : expected
        let before = targets.map { count($0.1, $0.0) }
        let sent = sandbox.send(text, from: person.id, to: bot)
        screens.show(person, bot)
        try await waitForMore(targets, before: before)
        for (other, otherBot, _) in targets { screens.show(other, otherBot) }
        screens.show(person, bot)
        return sent
    }

    /// `person` sends a photo with a caption.
    func sendPhoto(_ person: DemoPerson, _ bot: SandboxBot, caption: String, then expected: [(DemoPerson, SandboxBot, Int)]) async throws {
        let before = expected.map { count($0.1, $0.0) }
        sandbox.sendMedia(.photo, from: person.id, to: bot, caption: caption, bytes: Data("demo photo of a cracked window".utf8))
        screens.show(person, bot)
        try await waitForMore(expected, before: before)
        for (other, otherBot, _) in expected { screens.show(other, otherBot) }
    }

    private func waitForMore(_ targets: [(DemoPerson, SandboxBot, Int)], before: [Int]) async throws {
        let wanted = zip(targets, before).map { ($0.0.1, $0.0.0.id, $0.1 + $0.0.2) }
        let names = targets.map { "\($0.0.name) (@\($0.1.username))" }.joined(separator: ", ")
        try await wait("an answer reaches \(names)") { sandbox in
            wanted.allSatisfy { bot, chat, count in sandbox.botMessages(bot, chat).count >= count }
        }
        await settle()
    }

    /// `person` taps the button with `data` on the newest bot message that has it; waits until the press
    /// is answered and the message changed or `newMessages` arrived.
    func tap(_ person: DemoPerson, _ bot: SandboxBot, _ data: String, newMessages: Int = 0) async throws {
        let messages = sandbox.botMessages(bot, person.id)
        guard let target = messages.last(where: { $0.replyMarkup?.inlineKeyboard.joined().contains { $0.callbackData == data } == true }),
              let label = target.replyMarkup?.inlineKeyboard.joined().first(where: { $0.callbackData == data })?.text
        else {
            check(false, "\(person.name) finds the button \(data) in @\(bot.username)")
            return
        }
        screens.show(person, bot)
        screens.action(person, bot, "taps [\(label)]")
        let before = messages.count
        guard let query = sandbox.press(data, on: target, by: person.id, bot: bot) else {
            check(false, "\(person.name) can press [\(label)]")
            return
        }
        try await wait("the answer to [\(label)]") { $0.isAnswered(callbackQuery: query) }
        try await wait("what [\(label)] does") { sandbox in
            let now = sandbox.botMessages(bot, person.id)
            return now.count >= before + newMessages && (newMessages > 0 || now.first { $0.messageID == target.messageID } != target)
        }
        await settle()
        screens.show(person, bot)
    }

}
