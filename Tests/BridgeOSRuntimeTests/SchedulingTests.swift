import BridgeOSRuntime
import BridgeOSTelegram
import Foundation
import Testing

@Suite("Rate limits, backoff, splitting")
struct SchedulingTests {
    let t0 = Date(timeIntervalSince1970: 1_000_000)

    @Test("per-chat bucket: a burst of 3, then one a second")
    func chatBucket() {
        var limiter = RateLimiter(limits: .telegram, now: t0)
        for _ in 0..<3 {
            #expect(limiter.earliestSend(chat: 1, isGroup: false, now: t0) == t0)
            limiter.record(chat: 1, isGroup: false, now: t0)
        }
        #expect(limiter.earliestSend(chat: 1, isGroup: false, now: t0) == t0.addingTimeInterval(1))
        // Another chat is not affected.
        #expect(limiter.earliestSend(chat: 2, isGroup: false, now: t0) == t0)
        // Immediate rows skip the chat bucket.
        #expect(limiter.earliestSend(chat: 1, isGroup: false, perChat: false, now: t0) == t0)
    }

    @Test("groups: 20 a minute after a burst of 3")
    func groupBucket() {
        var limiter = RateLimiter(limits: .telegram, now: t0)
        for _ in 0..<3 { limiter.record(chat: -5, isGroup: true, now: t0) }
        #expect(abs(limiter.earliestSend(chat: -5, isGroup: true, now: t0).timeIntervalSince(t0) - 3) < 0.001)
    }

    @Test("per-bot bucket caps all chats together")
    func botBucket() {
        var limiter = RateLimiter(limits: .telegram, now: t0)
        for chat in 0..<30 { limiter.record(chat: Int64(chat), isGroup: false, now: t0) }
        let next = limiter.earliestSend(chat: 999, isGroup: false, now: t0)
        #expect(abs(next.timeIntervalSince(t0) - 1.0 / 30) < 0.0001)
    }

    @Test("a 429 pauses one chat, or the whole bot")
    func pauses() {
        var limiter = RateLimiter(limits: .telegram, now: t0)
        limiter.pause(chat: 1, until: t0.addingTimeInterval(7))
        #expect(limiter.earliestSend(chat: 1, isGroup: false, now: t0) == t0.addingTimeInterval(7))
        #expect(limiter.earliestSend(chat: 2, isGroup: false, now: t0) == t0)
        limiter.pauseBot(until: t0.addingTimeInterval(3))
        #expect(limiter.earliestSend(chat: 2, isGroup: false, now: t0) == t0.addingTimeInterval(3))
        #expect(limiter.earliestSend(chat: 1, isGroup: false, now: t0) == t0.addingTimeInterval(7))
    }

    @Test("backoff doubles up to the cap, with jitter in [50%, 100%]")
    func backoff() {
        let backoff = Backoff(base: .seconds(1), cap: .seconds(60))
        #expect(backoff.delay(afterAttempt: 1, jitter: 1) == .seconds(1))
        #expect(backoff.delay(afterAttempt: 2, jitter: 1) == .seconds(2))
        #expect(backoff.delay(afterAttempt: 4, jitter: 1) == .seconds(8))
        #expect(backoff.delay(afterAttempt: 10, jitter: 1) == .seconds(60))
        #expect(backoff.delay(afterAttempt: 100, jitter: 1) == .seconds(60))
        #expect(backoff.delay(afterAttempt: 3, jitter: 0) == .seconds(2))
        for _ in 0..<100 {
            let delay = backoff.delay(afterAttempt: 3)
            #expect(delay >= .seconds(2) && delay <= .seconds(4))
        }
    }

    @Test("short texts are not split")
    func noSplit() {
        let parts = TextSplitter.split("hola", limit: 10)
        #expect(parts.map(\.text) == ["hola"] && parts[0].entities == nil)
    }

    @Test("prefers a paragraph, then a line, a sentence, a space")
    func boundaries() {
        let paragraph = TextSplitter.split("aaaa bbbb.\n\ncccc dddd", limit: 16)
        #expect(paragraph.map(\.text) == ["aaaa bbbb.", "cccc dddd"])
        let sentence = TextSplitter.split("One two. Three four five six", limit: 16)
        #expect(sentence.map(\.text) == ["One two.", "Three four five", "six"])
        let word = TextSplitter.split("abcdefghijklmnopqrstuvwxyz", limit: 10)
        #expect(word.map(\.text) == ["abcdefghij", "klmnopqrst", "uvwxyz"])
    }

    @Test("never splits a character: emoji and flags stay whole")
    func graphemes() {
        let text = String(repeating: "👷🏽‍♀️🇺🇦", count: 400)  // no spaces at all
        let parts = TextSplitter.split(text, limit: 100)
        #expect(parts.allSatisfy { $0.text.utf16.count <= 100 })
        #expect(parts.map(\.text).joined() == text)
    }

    @Test("entities are clipped to each part and re-based")
    func entities() {
        let text = "Call https://example.com/a now. Then write to @maria_b please."
        let url = MessageEntity(type: .url, offset: 5, length: 21)
        let mention = MessageEntity(type: .mention, offset: 46, length: 8)
        let parts = TextSplitter.split(text, entities: [url, mention], limit: 32)
        #expect(parts.map(\.text) == ["Call https://example.com/a now.", "Then write to @maria_b please."])
        #expect(parts[0].entities == [url])
        #expect(parts[1].entities == [MessageEntity(type: .mention, offset: 14, length: 8)])
        #expect(parts[1].entities?.first.flatMap { $0.text(in: parts[1].text) } == "@maria_b")
    }

    /// Tells a signal from a timeout without timing the machine: the timeouts that must not fire are a minute
    /// long, so only a lost signal (not a slow CI) can make an expectation fail.
    @Test("a wakeup signalled before the wait returns at once; otherwise it waits for a signal or the timeout")
    func wakeup() async {
        let wakeup = Wakeup()
        let clock = ContinuousClock()
        let never: Duration = .seconds(60)
        wakeup.signal()
        var start = clock.now
        await wakeup.wait(timeout: never)
        #expect(clock.now - start < never / 2, "a signal given before the wait was lost")
        start = clock.now
        await wakeup.wait(timeout: .milliseconds(100))
        #expect(clock.now - start >= .milliseconds(100), "no signal: the wait must last its timeout")
        start = clock.now
        async let waited: Void = wakeup.wait(timeout: never)
        try? await Task.sleep(for: .milliseconds(50))
        wakeup.signal()
        await waited
        #expect(clock.now - start < never / 2, "a signal given during the wait was lost")
    }
}
