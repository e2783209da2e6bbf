import BridgeOSFlows
import BridgeOSTestSupport
import Testing

@Suite("Localizer")
struct LocalizerTests {
    @Test("placeholders are filled in one pass: a value that looks like a placeholder stays as it is")
    func onePassFill() {
        let text = localizer.text(.relayWaitingForOpen, "en", ["name": "{bot} {slot}", "slot": "2", "bot": "crew_2_bot"])
        #expect(text == "{bot} {slot} wrote to you on line 2. Open it to read: https://t.me/crew_2_bot")
        // Unknown or unfilled placeholders stay visible rather than vanish.
        #expect(localizer.text(.relayWaitingForOpen, "en", ["name": "Xiomara"]) == "Xiomara wrote to you on line {slot}. Open it to read: https://t.me/{bot}")
    }
}
