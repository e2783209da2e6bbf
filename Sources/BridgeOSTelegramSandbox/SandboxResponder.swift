import BridgeOSTelegram
import Foundation
import Hummingbird
import NIOCore

/// Serves `/bot<token>/<method>` and `/file/bot<token>/<path>` like the Bot API does.
struct SandboxResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let state: SandboxState
    /// Telegram clamps long polls to 50 s.
    static let maxPollSeconds = 50

    func respond(to request: Request, context: Context) async throws -> Response {
        let components = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if components.first == "file" {
            return download(components.dropFirst())
        }
        guard components.count == 2, components[0].hasPrefix("bot") else {
            return Self.answer(.failure(.notFound))
        }
        guard let botID = state.botID(forToken: String(components[0].dropFirst(3))) else {
            return Self.answer(.failure(.unauthorized))
        }
        var request = request
        let parameters: [String: JSONValue]
        do {
            parameters = try await Self.parameters(of: &request)
        } catch let error as SandboxError {
            let outcome = Outcome.failure(error)
            record(botID: botID, method: components[1], parameters: [:], outcome: outcome, problems: error.problems)
            return Self.answer(outcome)
        }
        let (method, outcome, problems) = await handle(botID: botID, requested: components[1], parameters: parameters)
        record(botID: botID, method: method, parameters: parameters, outcome: outcome, problems: problems)
        return Self.answer(outcome)
    }

    enum Outcome {
        case success(JSONValue)
        case failure(SandboxError)
    }

    private func handle(botID: Int64, requested: String, parameters: [String: JSONValue]) async -> (String, Outcome, [String]) {
        // Method names are case-insensitive in the Bot API.
        guard let method = state.spec.methods[requested]?.name
            ?? state.spec.methods.keys.first(where: { $0.lowercased() == requested.lowercased() })
        else {
            return (requested, .failure(.notFound), ["unknown method \(requested)"])
        }
        let problems = state.spec.check(method: method, parameters: parameters)
        if let first = problems.first {
            return (method, .failure(Self.error(for: first, method: method)), problems.map(\.description))
        }
        let chatID = parameters["chat_id"]?.int64
        // At most one fault per call: a fault's count is the number of calls it affects.
        if let effect = state.takeFault(botID: botID, method: method, chatID: chatID) {
            switch effect {
            case let .latency(delay):
                try? await Task.sleep(for: delay)
            case let .flood(seconds):
                return (method, .failure(SandboxError(
                    status: 429, description: "Too Many Requests: retry after \(seconds)",
                    parameters: ResponseParameters(retryAfter: seconds))), [])
            case let .serverError(status):
                let text = status == 502 ? "Bad Gateway" : status == 503 ? "Service Unavailable" : "Internal Server Error"
                return (method, .failure(SandboxError(status: status, description: text)), [])
            case let .badRequest(text):
                return (method, .failure(SandboxError.badRequest(text)), [])
            }
        }
        if method == "getUpdates" {
            return (method, await poll(botID: botID, parameters), [])
        }
        do {
            return (method, .success(try state.execute(botID: botID, method: method, parameters)), [])
        } catch {
            return (method, .failure(error), error.problems)
        }
    }

    /// Telegram's wording for the first problem with a call.
    static func error(for problem: BotAPISpec.Problem, method: String) -> SandboxError {
        let text: String = switch (problem.kind, problem.path) {
        case (.missingParameter, "text"): "message text is empty"
        case (.missingParameter, "chat_id"): "chat_id is empty"
        case (.missingParameter, "message_id"): "message identifier is not specified"
        case (.missingParameter, "callback_query_id"): "query is too old and response timeout expired or query ID is invalid"
        case (.missingParameter, let path): "parameter \"\(path)\" is required"
        case (.unknownParameter, let path): "unknown parameter \"\(path)\""
        case (.wrongType, let path): "wrong type of parameter \"\(path)\": \(problem.detail)"
        case (.invalidValue, let path): "invalid value of \"\(path)\": \(problem.detail)"
        case (.unknownMethod, _): "method not found"
        }
        return SandboxError(status: 400, description: "Bad Request: \(text)")
    }

    // MARK: Long polling

    private func poll(botID: Int64, _ parameters: [String: JSONValue]) async -> Outcome {
        let limit = min(max(Int(parameters["limit"]?.int64 ?? 100), 1), 100)
        let timeout = min(max(Int(parameters["timeout"]?.int64 ?? 0), 0), Self.maxPollSeconds)
        let allowed = parameters["allowed_updates"]?.array?.compactMap(\.string)
        switch state.beginPoll(botID: botID, offset: parameters["offset"]?.int64, limit: limit, allowedUpdates: allowed) {
        case let .failure(error):
            return .failure(error)
        case let .ready(updates):
            return Self.updates(updates)
        case .wait:
            guard timeout > 0 else { return .success(.array([])) }
            let id = UUID()
            let reason = await withTaskGroup(of: SandboxState.WakeReason?.self) { group in
                group.addTask {
                    await withTaskCancellationHandler {
                        await withCheckedContinuation { continuation in
                            state.registerWaiter(botID: botID, id: id, continuation: continuation)
                        }
                    } onCancel: {
                        state.cancelWaiter(botID: botID, id: id)
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(timeout))
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first ?? .cancelled
            }
            state.forgetWaiter(id: id)
            switch reason {
            case .conflict:
                return .failure(SandboxError(status: 409, description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"))
            case .webhookSet:
                return .failure(SandboxError(status: 409, description: "Conflict: terminated by setWebhook request"))
            case .updates, .cancelled:
                return Self.updates(state.readyUpdates(botID: botID, limit: limit))
            }
        }
    }

    private static func updates(_ updates: [Update]) -> Outcome {
        do { return .success(try JSONValue(encoding: updates)) } catch {
            return .failure(SandboxError(status: 500, description: "Internal Server Error: \(error)"))
        }
    }

    // MARK: Files

    private func download(_ components: ArraySlice<String>) -> Response {
        guard let first = components.first, first.hasPrefix("bot"),
              let botID = state.botID(forToken: String(first.dropFirst(3))),
              let bytes = state.fileBytes(botID: botID, path: components.dropFirst().joined(separator: "/"))
        else { return Self.answer(.failure(.notFound)) }
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Wire

    /// Parameters from the query string and the body (JSON, or form-urlencoded), as Telegram accepts them.
    static func parameters(of request: inout Request) async throws -> [String: JSONValue] {
        var parameters: [String: JSONValue] = [:]
        for (key, value) in request.uri.queryParameters {
            parameters[String(key)] = JSONValue.parsingEmbeddedJSON(String(value))
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let body = try await request.collectBody(upTo: 64 << 20)
        guard body.readableBytes > 0 else { return parameters }
        let data = Data(buffer: body)
        if contentType.hasPrefix("application/json") {
            guard case let .object(object)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
                throw SandboxError.badRequest("can't parse JSON object", violation: "request body is not a JSON object")
            }
            parameters.merge(object) { _, body in body }
        } else if contentType.hasPrefix("application/x-www-form-urlencoded") {
            for pair in String(decoding: data, as: UTF8.self).split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = decodeForm(parts[0])
                let value = parts.count > 1 ? decodeForm(parts[1]) : ""
                parameters[key] = JSONValue.parsingEmbeddedJSON(value)
            }
        } else {
            throw SandboxError.badRequest(
                "unsupported content type \(contentType.isEmpty ? "(none)" : contentType)",
                violation: "the sandbox accepts JSON or form-urlencoded bodies; BridgeOS never uploads files")
        }
        return parameters
    }

    private static func decodeForm(_ text: Substring) -> String {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
    }

    static func answer(_ outcome: Outcome) -> Response {
        let status: Int
        var envelope: [String: JSONValue]
        switch outcome {
        case let .success(result):
            status = 200
            envelope = ["ok": .bool(true), "result": result]
        case let .failure(error):
            status = error.status
            envelope = ["ok": .bool(false), "error_code": .integer(Int64(error.status)), "description": .string(error.description)]
            if let parameters = error.parameters, let value = try? JSONValue(encoding: parameters) {
                envelope["parameters"] = value
            }
        }
        let data = (try? JSONEncoder().encode(JSONValue.object(envelope))) ?? Data("{\"ok\":false}".utf8)
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func record(botID: Int64, method: String, parameters: [String: JSONValue], outcome: Outcome, problems: [String]) {
        let (status, description): (Int, String?) = switch outcome {
        case .success: (200, nil)
        case let .failure(error): (error.status, error.description)
        }
        let violation = problems.isEmpty ? nil : SandboxViolation(botID: botID, method: method, problems: problems, answer: description ?? "")
        state.record(
            RecordedCall(botID: botID, method: method, parameters: parameters, status: status, errorDescription: description, answeredAt: .now),
            violation: violation)
    }
}
