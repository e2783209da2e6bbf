import ArgumentParser
import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The world around the appliance for `bridgeos-bench relay`, in a child process so that the appliance's
/// own CPU and memory can be measured alone: the Bot API sandbox with five bots, an OpenAI-compatible
/// translator answering at once, and simulated people writing at an offered rate.
///
/// Protocol on stdin/stdout, one line each: the child prints `READY <json>` (sandbox URL, translator URL,
/// bot tokens); the parent sends `PEOPLE <conversations>` (answered `OK` once the people exist and every
/// bot is polling), then `LOAD <rate> <seconds>` as often as it likes (answered `RESULT <json>`), and
/// `QUIT`.
struct RelayFixtures: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-fixtures", abstract: "(internal) The sandbox, translator and load for `relay`.", shouldDisplay: false)

    @Option var bots: Int = 5

    struct Ready: Codable {
        let sandbox: String
        let translator: String
        let tokens: [String]
    }

    struct LoadResult: Codable {
        let offered: Int
        let delivered: Int
        let seconds: Double
        let p50Milliseconds: Double
        let p99Milliseconds: Double
    }

    func run() async throws {
        let logger = Logger(label: "fixtures") { _ in SwiftLogNoOpLogHandler() }
        try await BotAPISandbox.run(bots: SandboxBot.make(bots, prefix: "bench")) { sandbox in
            try await FakeTranslatorServer.run(logger: logger) { translatorURL in
                let ready = Ready(sandbox: sandbox.baseURL, translator: translatorURL, tokens: sandbox.bots.map(\.token.secret))
                emit("READY " + String(decoding: try JSONEncoder().encode(ready), as: UTF8.self))
                var conversations = 0
                var serial = 0
                // stdin is read on a thread of its own: a blocking read must not hold a thread of the
                // cooperative pool, which the sandbox and the translator need.
                let (lines, continuation) = AsyncStream<String>.makeStream()
                Thread.detachNewThread {
                    while let line = readLine() { continuation.yield(line) }
                    continuation.finish()
                }
                for await line in lines {
                    let words = line.split(separator: " ").map(String.init)
                    switch words.first {
                    case "PEOPLE":
                        conversations = Int(words.dropFirst().first ?? "") ?? 50
                        for index in 0..<conversations {
                            let bot = sandbox.bots[index % sandbox.bots.count]
                            for (id, name, language) in [(RelayPeople.manager(index), "Manager \(index)", "en"), (RelayPeople.worker(index), "Worker \(index)", "es")] {
                                sandbox.addUser(id: id, firstName: name, languageCode: language)
                                sandbox.markStarted(bot, by: id)
                            }
                        }
                        if words.dropFirst(2).first != "nowait" {
                            try await sandbox.wait(timeout: .seconds(60), "every bot polling") { sandbox in sandbox.bots.allSatisfy { sandbox.isPolling($0) } }
                        }
                        emit("OK")
                    case "LOAD":
                        let rate = Double(words.dropFirst().first ?? "") ?? 50
                        let seconds = Double(words.dropFirst(2).first ?? "") ?? 10
                        let result = try await load(sandbox, conversations: conversations, rate: rate, seconds: seconds, serial: &serial)
                        emit("RESULT " + String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
                    default:
                        return
                    }
                }
            }
        }
    }

    /// Sends `rate` messages a second for `seconds`, alternating directions over the conversations, then
    /// waits (up to 5 s after the last) for them to be relayed. Latency: from the user's message entering
    /// the sandbox to the sandbox answering the relayed `sendMessage`.
    func load(_ sandbox: BotAPISandbox, conversations: Int, rate: Double, seconds: Double, serial: inout Int) async throws -> LoadResult {
        let clock = ContinuousClock()
        let total = max(1, Int(rate * seconds))
        let interval = Duration.seconds(1 / rate)
        let start = clock.now
        let callsBefore = sandbox.calls(since: .max).total
        var sentAt: [Int: ContinuousClock.Instant] = [:]
        for n in 0..<total {
            try await Task.sleep(until: start + interval * n, clock: clock)
            serial += 1
            let conversation = serial % conversations
            let bot = sandbox.bots[conversation % sandbox.bots.count]
            let fromManager = (serial / conversations) % 2 == 0
            let user = fromManager ? RelayPeople.manager(conversation) : RelayPeople.worker(conversation)
            sentAt[serial] = clock.now
            sandbox.send("message #\(serial)#", from: user, to: bot)
        }
        let loadEnd = clock.now
        // Relayed: a sendMessage whose text carries the token. The call log is read incrementally.
        var arrived: [Int: ContinuousClock.Instant] = [:]
        var scanned = callsBefore
        func scan() {
            let (calls, total) = sandbox.calls(since: scanned)
            for call in calls where call.method == "sendMessage" && call.status == 200 {
                guard let text = call.parameters["text"]?.string, let open = text.firstIndex(of: "#"),
                      let close = text[text.index(after: open)...].firstIndex(of: "#"),
                      let token = Int(text[text.index(after: open)..<close]), sentAt[token] != nil else { continue }
                arrived[token] = arrived[token] ?? call.answeredAt
            }
            scanned = total
        }
        scan()
        while arrived.count < total, clock.now < loadEnd + .seconds(5) {
            try await Task.sleep(for: .milliseconds(200))
            scan()
        }
        // What was relayed is counted: the stand-in forgets it, so a run of 100,000 messages stays small.
        sandbox.forgetHistory()
        let latencies = arrived.compactMap { token, at in sentAt[token].map { (at - $0).seconds * 1000 } }.sorted()
        func percentile(_ p: Int) -> Double { latencies.isEmpty ? 0 : latencies[(latencies.count - 1) * p / 100] }
        return LoadResult(offered: total, delivered: arrived.count, seconds: (loadEnd - start).seconds,
                          p50Milliseconds: percentile(50), p99Milliseconds: percentile(99))
    }

    /// One protocol line on stdout, unbuffered (stdout is a pipe).
    private func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// An OpenAI-compatible Chat Completions server on 127.0.0.1 that "translates" at once: "[tr] " + the
/// marked message.
enum FakeTranslatorServer {
    static func run<T>(logger: Logger, _ body: (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            var request = request
            let data = Data(buffer: try await request.collectBody(upTo: 1 << 20))
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            let user = ((object?["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
            let text = user.components(separatedBy: "<message>\n").last?.components(separatedBy: "\n</message>").first ?? user
            let answer = try JSONSerialization.data(withJSONObject: ["choices": [["message": ["role": "assistant", "content": "[tr] " + text]]]])
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer)))
        }
        return try await LoopbackServer.run(router, logger: logger) { port in try await body("http://127.0.0.1:\(port)/v1") }
    }
}
