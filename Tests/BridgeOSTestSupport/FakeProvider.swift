import BridgeOSTelegramSandbox
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A stand-in for an OpenAI-compatible server on 127.0.0.1: records requests, answers from a script.
public final class FakeProvider: Sendable {
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
        public var headers: [String: String] = [:]
        public var delay: Duration = .zero

        public init(status: Int, body: String, headers: [String: String] = [:], delay: Duration = .zero) {
            self.status = status
            self.body = body
            self.headers = headers
            self.delay = delay
        }
    }

    public let answers: Mutex<[Answer]>
    public let requests = Mutex<[(headers: [String: String], body: Data)]>([])
    /// Answers when the script is empty (nil: a fixed completion).
    public let fallback: Mutex<(@Sendable (Data) -> Answer)?> = Mutex(nil)

    /// Whether `requests` keeps what arrives (a long load turns it off so the stand-in stays small).
    let recordsRequests: Bool

    public init(_ answers: [Answer] = [], recordsRequests: Bool = true) {
        self.answers = Mutex(answers)
        self.recordsRequests = recordsRequests
    }

    public static func completion(_ text: String) -> Answer {
        let body = try! JSONSerialization.data(withJSONObject: ["choices": [["message": ["role": "assistant", "content": text]]]])
        return Answer(status: 200, body: String(decoding: body, as: UTF8.self))
    }

    /// Runs the server for `body`, giving it the base URL.
    public func run<T>(_ body: (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/v1/chat/completions") { request, context -> Response in
            var request = request
            let data = Data(buffer: try await request.collectBody(upTo: 1 << 20))
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            if self.recordsRequests { self.requests.withLock { $0.append((headers, data)) } }
            let scripted = self.answers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            let answer = scripted ?? self.fallback.withLock { $0 }?(data) ?? FakeProvider.completion("(no script)")
            return try await answer.respond()
        }
        return try await LoopbackServer.run(router, logger: Logger(label: "fake") { _ in SwiftLogNoOpLogHandler() }) { port in
            try await body("http://127.0.0.1:\(port)/v1")
        }
    }

    public var lastRequest: [String: Any]? {
        requests.withLock { $0.last.flatMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] } }
    }
}


extension FakeProvider {
    /// Translates "<message>\ntext\n</message>" into "[xx] text" for the prompt's target language `xx`:
    /// any sentence, so tests can see what was translated into which language.
    public static func taggedTranslation(_ body: Data) -> Answer {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let messages = object["messages"] as? [[String: Any]], messages.count >= 2,
              let system = messages[0]["content"] as? String, let user = messages.last?["content"] as? String,
              let into = system.range(of: "into "), let close = system[into.upperBound...].range(of: ").")
        else { return completion("(unreadable request)") }
        let target = system[into.upperBound..<close.lowerBound].split(separator: "(").last.map(String.init) ?? "?"
        let text = user.components(separatedBy: "<message>\n").last?.components(separatedBy: "\n</message>").first ?? ""
        return completion("[\(target)] \(text)")
    }
}
