@testable import BridgeOSFlows
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

    @Test("a feedback notice's id is read back from its header in every language, whatever the name holds")
    func feedbackIDFromNotice() {
        for language in Language.all.map(\.code) {
            let template = localizer.text(.feedbackNotice, language, Flow.noticeMarkers)
            let notice = localizer.text(.feedbackNotice, language, [
                "id": "1234", "name": "Iván (#99) №7", "role": "worker", "language": "Español", "text": "Feedback #55 in the text itself",
            ])
            #expect(Flow.feedbackID(inNotice: notice, template: template) == 1234, "\(language)")
            #expect(Flow.feedbackID(inNotice: "Feedback text #1234", template: template) == nil, "\(language)")
        }
    }
}
