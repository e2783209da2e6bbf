/// Why a Bot API call failed. Descriptions never contain the bot token.
public enum TelegramError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 429: wait `retryAfter` seconds before calling again (for this chat, or the whole bot).
    case flood(retryAfter: Int, description: String)
    /// 403: the bot may not write to this chat.
    case forbidden(ForbiddenReason, description: String)
    /// 400: the call can never succeed as sent. A group that became a supergroup carries its new id.
    case badRequest(description: String, migrateToChatID: Int64?)
    /// 409: another getUpdates poll or a webhook holds this token.
    case conflict(description: String)
    /// 401: the token is wrong or was revoked.
    case unauthorized(description: String)
    /// 404: no such method (or a malformed token).
    case notFound(description: String)
    /// 5xx: Telegram's side failed; retry with backoff.
    case server(status: Int, description: String)
    /// Any other error code Telegram may introduce.
    case other(status: Int, description: String)
    /// The request did not complete: connection refused or reset, TLS, DNS.
    case transport(String)
    /// No answer within the call's deadline.
    case timeout
    /// The answer was not a Bot API envelope, or `result` did not decode.
    case invalidResponse(String)

    public enum ForbiddenReason: String, Hashable, Sendable {
        /// "Forbidden: bot was blocked by the user"
        case blocked
        /// "Forbidden: user is deactivated"
        case userDeactivated
        /// "Forbidden: bot can't initiate conversation with a user" (the user never pressed Start)
        case cannotInitiate
        /// Kicked from a group, or any other 403.
        case other
    }

    /// Builds the error from an error envelope.
    public init(status: Int, errorCode: Int?, description: String, parameters: ResponseParameters?) {
        let code = errorCode ?? status
        switch code {
        case 429:
            self = .flood(retryAfter: max(1, parameters?.retryAfter ?? 1), description: description)
        case 403:
            let reason: ForbiddenReason =
                if description.contains("blocked by the user") { .blocked }
                else if description.contains("deactivated") { .userDeactivated }
                else if description.contains("can't initiate conversation") { .cannotInitiate }
                else { .other }
            self = .forbidden(reason, description: description)
        case 400: self = .badRequest(description: description, migrateToChatID: parameters?.migrateToChatID)
        case 409: self = .conflict(description: description)
        case 401: self = .unauthorized(description: description)
        case 404: self = .notFound(description: description)
        case 500...599: self = .server(status: code, description: description)
        default: self = .other(status: code, description: description)
        }
    }

    /// Worth trying again later: flood waits, Telegram's 5xx, network failures and timeouts.
    public var isRetryable: Bool {
        switch self {
        case .flood, .server, .transport, .timeout: true
        case .forbidden, .badRequest, .conflict, .unauthorized, .notFound, .other, .invalidResponse: false
        }
    }

    /// Seconds Telegram asked us to wait, for a flood error.
    public var retryAfter: Int? {
        if case let .flood(seconds, _) = self { seconds } else { nil }
    }

    public var description: String {
        switch self {
        case let .flood(seconds, text): "flood control: retry after \(seconds) s (\(text))"
        case let .forbidden(reason, text): "forbidden (\(reason.rawValue)): \(text)"
        case let .badRequest(text, migrate):
            migrate.map { "bad request: \(text) (migrated to chat \($0))" } ?? "bad request: \(text)"
        case let .conflict(text): "conflict: \(text)"
        case let .unauthorized(text): "unauthorized: \(text)"
        case let .notFound(text): "not found: \(text)"
        case let .server(status, text): "Telegram server error \(status): \(text)"
        case let .other(status, text): "Telegram error \(status): \(text)"
        case let .transport(text): "network error: \(text)"
        case .timeout: "timed out"
        case let .invalidResponse(text): "invalid response: \(text)"
        }
    }
}
