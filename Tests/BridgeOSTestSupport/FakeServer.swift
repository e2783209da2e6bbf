import BridgeOSTelegramSandbox
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A stand-in for any HTTP API on 127.0.0.1 (Anthropic, Gemini, DeepL, LibreTranslate, Apertium, a Whisper
/// server): routes by "METHOD /path" (Hummingbird patterns, e.g. "POST /v1beta/models/:call"), records
/// every request, answers from the route's handler.
public final class FakeServer: Sendable {
    public struct Request: Sendable {
        public let route: String
        public let path: String
        public let query: String
        public let headers: [String: String]
        public let body: Data

        public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
        /// The body as `application/x-www-form-urlencoded` fields.
        public var form: [String: String] {
            var fields: [String: String] = [:]
            for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
                if parts.count == 2 { fields[parts[0]] = parts[1] }
            }
            return fields
        }
    }

    public typealias Handler = @Sendable (Request) -> FakeProvider.Answer

    let routes: [String: Handler]
    public let requests = Mutex<[Request]>([])

    public init(_ routes: [String: Handler]) { self.routes = routes }

    /// The requests a route received, in order.
    public func received(_ route: String) -> [Request] { requests.withLock { $0.filter { $0.route == route } } }

    /// Runs the server for `body`, giving it the base URL (`http://127.0.0.1:PORT`).
    public func run<T>(_ body: (String) async throws -> T) async throws -> T {
        let router = Router()
        for (route, handler) in routes {
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            let method = HTTPRequest.Method(rawValue: parts[0])!
            router.on(RouterPath(parts[1]), method: method) { request, _ -> Response in
                var request = request
                let data = Data(buffer: try await request.collectBody(upTo: 8 << 20))
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let recorded = Request(route: route, path: request.uri.path, query: request.uri.query ?? "", headers: headers, body: data)
                self.requests.withLock { $0.append(recorded) }
                return try await handler(recorded).respond()
            }
        }
        return try await LoopbackServer.run(router, logger: Logger(label: "fake") { _ in SwiftLogNoOpLogHandler() }) { port in
            try await body("http://127.0.0.1:\(port)")
        }
    }
}

extension FakeProvider.Answer {
    /// The answer as a response, after its delay.
    func respond() async throws -> Response {
        if delay > .zero { try await Task.sleep(for: delay) }
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (name, value) in headers { fields[.init(name)!] = value }
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// 200 with `object` as JSON.
    public static func json(_ object: Any, status: Int = 200, headers: [String: String] = [:]) -> FakeProvider.Answer {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return FakeProvider.Answer(status: status, body: String(decoding: data, as: UTF8.self), headers: headers)
    }
}

/// Answers from a script, one per call, then `fallback`.
public final class Script: Sendable {
    let answers: Mutex<[FakeProvider.Answer]>
    let fallback: FakeProvider.Answer

    public init(_ answers: [FakeProvider.Answer], then fallback: FakeProvider.Answer) {
        self.answers = Mutex(answers)
        self.fallback = fallback
    }

    public func next() -> FakeProvider.Answer { answers.withLock { $0.isEmpty ? fallback : $0.removeFirst() } }
}
