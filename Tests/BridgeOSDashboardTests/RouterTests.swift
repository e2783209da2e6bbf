import BridgeOSCore
import BridgeOSDashboard
import BridgeOSStorage
import BridgeOSTestSupport
import BridgeOSWeb
import Foundation
import Hummingbird
import Testing

extension DashboardTests {
    @Suite("Dashboard: routes and security")
    struct RouterTests {
        @Test("every registered /admin route: without a session a page redirects to the sign-in, anything else gets 401; only the public ones answer")
        func everyRouteNeedsASession() async throws {
            try await withDashboard { h in
                let routes = WebServer.router(h.appliance.routes).routes.filter { $0.path.description.hasPrefix("/admin") }
                #expect(routes.count >= 15, "\(routes.map(\.path.description))")
                let browser = h.browser()
                for route in routes {
                    let path = route.path.description.replacingOccurrences(of: ":id", with: "1")
                    let page = try await browser.request(path, method: .init(rawValue: route.method.rawValue), body: route.method == .post ? "csrf=x" : nil,
                                                         headers: [("Content-Type", "application/x-www-form-urlencoded")])
                    if Dashboard.publicPaths.contains(route.path.description) {
                        #expect(page.status < 500, "\(route.method) \(path) → \(page.status)")
                        continue
                    }
                    if route.method == .get {
                        #expect(page.status == 303 && page.location?.hasPrefix("/admin/login") == true, "\(route.method) \(path) → \(page.status)")
                    } else {
                        #expect(page.status == 401, "\(route.method) \(path) → \(page.status)")
                    }
                    #expect(!page.body.contains("Sign out"), "\(path) showed a signed-in page")
                }
            }
        }

        @Test("sign-in: a wrong password is 401; the cookie is HttpOnly and SameSite=Strict; the page has no script and a strict content policy")
        func signIn() async throws {
            try await withDashboard { h in
                try h.database.admin.setPassword(username: "ada", passwordHash: try await Passwords.hash("correct horse battery"))
                let browser = h.browser()
                let form = try await browser.get("/admin/login")
                #expect(form.status == 200 && form.body.contains("Sign in"))
                let loginCookie = try #require(form.headers[canonicalForm: "set-cookie"].first { $0.hasPrefix("bridgeos_login=") })
                #expect(loginCookie.contains("HttpOnly") && loginCookie.contains("SameSite=Strict"))
                #expect(try await browser.signIn("ada", "wrong password!").status == 401)
                #expect(try await browser.signIn("nobody", "correct horse battery").status == 401)
                let ok = try await browser.signIn("ADA", "correct horse battery")
                #expect(ok.status == 303 && ok.location == "/admin")
                let session = try #require(ok.headers[canonicalForm: "set-cookie"].first { $0.hasPrefix("bridgeos_admin=") })
                #expect(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Path=/admin"))
                #expect(!session.contains("Secure"), "plain http on 127.0.0.1: not Secure (BRIDGEOS_PUBLIC_URL https makes it so)")
                let overview = try await browser.get("/admin")
                #expect(overview.status == 200 && overview.body.contains("Overview") && overview.body.contains("Sign out"))
                #expect(!overview.body.contains("<script"))
                #expect(overview.headers.first(name: "content-security-policy")?.contains("default-src 'none'") == true)
                #expect(overview.headers.first(name: "x-frame-options") == "DENY")
                // The session is stored only as a digest of its id.
                let id = try #require(browser.cookies.withLock { $0["bridgeos_admin"] })
                #expect(try h.database.admin.session(key: "admin." + (id.removingPercentEncoding ?? id)) != nil)
                // Signing out ends it.
                let out = try await browser.post("/admin/logout", form: ["csrf": Browser.csrf(in: overview) ?? ""])
                #expect(out.status == 303)
                #expect(try await browser.get("/admin").status == 303)
            }
        }

        @Test("CSRF: a form without the session's token, or with another, is 403 and changes nothing; the sign-in form needs its cookie")
        func csrf() async throws {
            try await withDashboard { h in
                let browser = try await h.signedIn()
                let overview = try await browser.get("/admin")
                let token = try #require(Browser.csrf(in: overview))
                #expect(try await browser.post("/admin/logout", form: [:]).status == 403)
                #expect(try await browser.post("/admin/logout", form: ["csrf": token + "0"]).status == 403)
                #expect(try await browser.post("/admin/people/1/erase", form: ["confirm": "yes"]).status == 403)
                #expect(try await browser.get("/admin").status == 200, "still signed in")
                // Another site's form: no login cookie.
                let stranger = h.browser()
                let page = try await stranger.post("/admin/login", form: ["csrf": "abc", "username": "ada", "password": "correct horse battery"])
                #expect(page.status == 403)
            }
        }

        @Test("sign-in attempts are limited per account: after 5 failures even the right password waits (429)")
        func throttled() async throws {
            try await withDashboard { h in
                try h.database.admin.setPassword(username: "ada", passwordHash: try await Passwords.hash("correct horse battery"))
                let browser = h.browser()
                for _ in 0..<5 { #expect(try await browser.signIn("ada", "guess guess guess").status == 401) }
                let blocked = try await browser.signIn("ada", "correct horse battery")
                #expect(blocked.status == 429 && blocked.body.contains("Too many attempts"), "\(blocked.status): \(blocked.body.prefix(600))")
            }
        }

        @Test("a burst of parallel guesses, the name typed with stray line breaks: at most 5 are tried, the rest wait")
        func throttledBurst() async throws {
            try await withDashboard { h in
                try h.database.admin.setPassword(username: "ada", passwordHash: try await Passwords.hash("correct horse battery"))
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<12 {
                        group.addTask {
                            let name = ["ada", "ada\n", "\nADA", "ada\r\n"][index % 4]
                            return try await h.browser().signIn(name, "guess guess guess").status
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == 401 }.count == 5 && statuses.filter { $0 == 429 }.count == 7, "\(statuses.sorted())")
            }
        }

        @Test("the limits: an IPv6 /64 is one client; a flood of other names never evicts a real account's block")
        func throttleKeys() {
            let throttle = LoginThrottle(limits: .init(perClient: 3, perAccount: 2, window: 900, capacity: 50))
            let now = Date()
            for host in ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:0db8:0001:0002:0:0:0:7"] {
                #expect(throttle.begin(client: host, account: .unknown("x\(host)"), now: now) == nil)
            }
            #expect(throttle.begin(client: "2001:db8:1:2::42", account: .unknown("y"), now: now) != nil, "same /64")
            #expect(throttle.begin(client: "2001:db8:1:3::1", account: .unknown("z"), now: now) == nil, "another /64")
            #expect(throttle.begin(client: "203.0.113.1", account: .id(1), now: now) == nil)
            #expect(throttle.begin(client: "203.0.113.2", account: .id(1), now: now) == nil)
            for index in 0..<200 { _ = throttle.begin(client: "198.51.100.\(index % 250)", account: .unknown("n\(index)"), now: now) }
            #expect(throttle.begin(client: "203.0.113.3", account: .id(1), now: now) != nil, "account 1 is still blocked")
            // A success gives the account a fresh start and takes the client's attempt back.
            let later = now.addingTimeInterval(901)
            #expect(throttle.begin(client: "192.0.2.7", account: .id(2), now: later) == nil)
            throttle.succeeded(client: "192.0.2.7", account: .id(2), now: later)
            for index in 0..<3 { #expect(throttle.begin(client: "192.0.2.7", account: .unknown("q\(index)"), now: later) == nil) }
            #expect(throttle.begin(client: "192.0.2.7", account: .unknown("q9"), now: later) != nil, "the fourth from that client waits")
        }

        @Test("a one-time setup link makes the first account once; a login link signs in once")
        func links() async throws {
            try await withDashboard { h in
                let token = try h.database.admin.makeLink(account: nil, validFor: 3600)
                let browser = h.browser()
                let form = try await browser.get("/admin/setup?token=\(token)")
                #expect(form.status == 200 && form.body.contains("Create the first admin account"))
                let short = try await browser.post("/admin/setup", form: ["csrf": Browser.csrf(in: form) ?? "", "token": token, "username": "ada",
                                                                          "password": "short", "repeat": "short"])
                #expect(short.status == 400 && short.body.contains("at least 10 characters"))
                let again = try await browser.get("/admin/setup?token=\(token)")
                let made = try await browser.post("/admin/setup", form: ["csrf": Browser.csrf(in: again) ?? "", "token": token, "username": "Ada",
                                                                         "password": "correct horse battery", "repeat": "correct horse battery"])
                #expect(made.status == 303)
                #expect(try await browser.get("/admin").status == 200)
                #expect(try h.database.admin.account(username: "ada") != nil)
                #expect(try await h.browser().get("/admin/setup?token=\(token)").status == 410, "used once")

                let account = try #require(try h.database.admin.account(username: "ada"))
                let login = try h.database.admin.makeLink(account: account.id, validFor: 600)
                let other = h.browser()
                #expect(try await other.get("/admin/link?token=\(login)").status == 303)
                #expect(try await other.get("/admin").status == 200)
                #expect(try await h.browser().get("/admin/link?token=\(login)").status == 410)
                #expect(try await h.browser().get("/admin/link?token=nonsense").status == 410)
            }
        }
    }
}
