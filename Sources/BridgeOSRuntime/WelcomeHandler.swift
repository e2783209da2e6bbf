import BridgeOSTelegram

/// What `serve` answers until the conversation flows arrive: `/start` and `/help` in a private chat get a
/// short note that BridgeOS runs on this bot. Everything else is recorded and left alone.
public struct WelcomeHandler: UpdateHandler {
    public init() {}

    public func handle(_ update: Update, context: IntakeContext) throws {
        guard case let .message(message) = update.kind, message.chat.type == .private,
              let command = message.command, ["start", "help"].contains(command.name), let slot = context.slot
        else { return }
        let text = "BridgeOS is running on this bot (line \(slot.number) of your team). "
            + "Registration and translation are being switched on by your administrator."
        try context.send(SendMessage(chatID: .id(message.chat.id), text: text), chatID: message.chat.id)
    }
}
