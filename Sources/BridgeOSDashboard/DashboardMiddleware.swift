import BridgeOSCore
import BridgeOSStorage
import Foundation
import Hummingbird
import HummingbirdAuth
import NIOCore

/// Every protected `/admin` route: without a signed-in admin, a page (GET) redirects to the login form and
/// anything else answers 401. A new route added to the protected group cannot skip it.
struct RequireAdmin: RouterMiddleware {
    typealias Context = DashboardContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.identity != nil else {
            if request.method == .get || request.method == .head {
                let target = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
                let back = target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/admin"
                return Response(status: .seeOther, headers: [.location: "/admin/login?next=\(back)", .cacheControl: "no-store"])
            }
            throw HTTPError(.unauthorized, message: "sign in first")
        }
        return try await next(request, context)
    }
}

/// Forms change things only with the session's CSRF token (field `csrf`): missing or wrong is 403.
/// The form body is read once here and handed on (`DashboardForm`).
struct RequireCSRF: RouterMiddleware {
    typealias Context = DashboardContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post else { return try await next(request, context) }
        var request = request
        let form = try await DashboardForm.read(&request, context: context)
        guard let expected = context.sessions.session?.csrf, let given = form["csrf"], CSRF.matches(given, expected) else {
            throw HTTPError(.forbidden, message: "this form has expired: reload the page and try again")
        }
        return try await next(request, context)
    }
}

/// Security headers on every dashboard answer: no framing, no sniffing, no referrer, no caching, and a
/// content policy that allows only the dashboard's own stylesheet (no scripts at all).
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        let start = ContinuousClock.now
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            response = DashboardPage.errorPage(error.status, error.body ?? error.status.reasonPhrase)
        } catch let error as DomainError {
            // Input the store refused: said plainly (escaped like every page), with the same headers.
            response = DashboardPage.errorPage(.badRequest, error.description)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // Anything else still gets this page's headers (and no detail: it may name internals).
            response = DashboardPage.errorPage(.internalServerError, "Something went wrong on the server; the log says what.")
        }
        // How long the server took (the benchmark reads it; so can a browser's developer tools).
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        response.headers[.init("Server-Timing")!] = "app;dur=" + String(format: "%.2f", milliseconds)
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

enum CSRF {
    static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "")
    }

    /// Constant-time comparison; an empty token matches nothing.
    static func matches(_ given: String, _ expected: String) -> Bool {
        !expected.isEmpty && SecretTokens.equal(given, expected)
    }
}

/// An `application/x-www-form-urlencoded` body, at most 64 KB.
struct DashboardForm: Sendable {
    let fields: [String: String]

    subscript(_ name: String) -> String? { fields[name] }

    static func read(_ request: inout Request, context: some RequestContext) async throws -> DashboardForm {
        let buffer = try await request.collectBody(upTo: 64 * 1024)
        return DashboardForm(fields: parse(String(buffer: buffer)))
    }

    static func parse(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String? { String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = parts.first.flatMap(decode), !name.isEmpty else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) ?? "" : ""
        }
        return fields
    }
}
