import AsyncHTTPClient
import BridgeOSCore
import BridgeOSStorage
import Foundation
import NIOCore
import NIOHTTP1

/// The story's admin scene: Ada opens the dashboard with a one-time link and sees the team's day; /metrics
/// and /readyz tell a monitoring system the same.
extension DemoStory {
    func dashboard() async throws {
        out.heading("9. Ada, the admin, opens the dashboard")
        let base = "http://127.0.0.1:\(serve.httpPort() ?? 0)"
        driver.narrate("On the server Ada runs `bridgeos admin set-password` once; today she uses `bridgeos admin login-link`, a link that signs her in once, within 15 minutes.")
        let account = try database.admin.setPassword(username: "ada", passwordHash: "$2b$12$" + String(repeating: "d", count: 53)).account
        let token = try database.admin.makeLink(account: account.id, validFor: 15 * 60)
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let browser = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let signIn = try await Self.fetch(browser, base + "/admin/link?token=\(token)", cookie: nil)
            let cookie = signIn.headers["set-cookie"].first { $0.hasPrefix("bridgeos_admin=") }?.split(separator: ";").first.map(String.init)
            let again = try await Self.fetch(browser, base + "/admin/link?token=\(token)", cookie: nil)
            driver.check(signIn.status == 303 && cookie != nil && again.status == 410, "Ada signed in to the dashboard with a one-time link (used again: HTTP \(again.status))")

            let overview = try await Self.fetch(browser, base + "/admin", cookie: cookie)
            let managers = Self.stat(overview.body, "managers"), workers = Self.stat(overview.body, "workers")
            driver.narrate("The overview: \(managers ?? "?") manager, \(workers ?? "?") workers, \(Self.stat(overview.body, "active connections") ?? "?") active connections, \(Self.stat(overview.body, "active subscriptions") ?? "?") subscription, messages per day as a chart.")
            driver.check(overview.status == 200 && managers == "1" && workers == "2" && overview.body.contains("<svg class=\"chart\""),
                         "the overview counts 1 manager and 2 workers, with the month's messages charted")

            let line = try database.overview().lines.first { $0.worker == ivan.name && $0.active }
            let connection = try database.dashboard.person(ivan.id)?.connections.first { $0.active }
            let page = try await Self.fetch(browser, base + "/admin/conversations/\(connection?.id ?? 0)", cookie: cookie)
            let original = Self.escaped(book.text("morning", "en")), translation = Self.escaped(book.text("morning", "es"))
            driver.check(page.status == 200 && line != nil && page.body.contains(original) && (driver.phrasebook == nil || page.body.contains(translation)),
                         "the dashboard shows Marta's conversation with Iván, original beside translation")
            let anonymous = try await Self.fetch(browser, base + "/admin/conversations/\(connection?.id ?? 0)", cookie: nil)
            driver.check(anonymous.status == 303 && anonymous.headers.first(name: "location")?.hasPrefix("/admin/login") == true,
                         "without a session the same page sends the browser to the sign-in form")

            let metrics = try await Self.fetch(browser, base + "/metrics", cookie: nil)
            let relayed = metrics.body.split(separator: "\n").first { $0.hasPrefix("bridgeos_messages_relayed_total") }?.split(separator: " ").last
                .flatMap { Double($0) } ?? 0
            let ready = try await Self.fetch(browser, base + "/readyz", cookie: nil)
            driver.narrate("For a monitoring system: /metrics in Prometheus format, /readyz for the load balancer.")
            driver.check(metrics.status == 200 && relayed > 0 && ready.status == 200 && ready.body.contains("\"ready\":true"),
                         "/metrics counts \(Int(relayed)) relayed messages; /readyz says every slot is ready")
            try await browser.shutdown()
        } catch {
            try? await browser.shutdown()
            throw error
        }
    }

    struct Fetched {
        let status: Int
        let headers: HTTPHeaders
        let body: String
    }

    static func fetch(_ client: HTTPClient, _ url: String, cookie: String?) async throws -> Fetched {
        var request = HTTPClientRequest(url: url)
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 8 << 20)
        return Fetched(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }

    /// The overview's number labelled `label`.
    static func stat(_ html: String, _ label: String) -> String? {
        guard let end = html.range(of: "</span><span class=\"label\">\(label)</span>") else { return nil }
        let before = html[..<end.lowerBound]
        guard let start = before.range(of: "<span class=\"value\">", options: .backwards) else { return nil }
        return String(before[start.upperBound...])
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }
}
