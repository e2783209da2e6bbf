import AsyncHTTPClient
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import NIOFoundationCompat
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `bridgeos demo`'s refusals and the `/sandbox` web chat's answers to bad input. The whole story runs in CI
/// (`.ci/run` checks its exit code and transcript) and the web chat is driven there in headless Chromium.
@Suite("bridgeos demo")
struct DemoTests {
    @Test("a data directory that already holds a database, or a bad --listen, is refused with a clear line")
    func refusals() async throws {
        try await withTemporaryDirectoryAsync { directory in
            #expect(try await bridgeos("migrate", "--data-dir", directory.path, in: directory).status == 0)
            let used = try await bridgeos("demo", "--data-dir", directory.path, in: directory)
            #expect(used.status == 78)
            #expect(used.stderr.contains("the demo needs an empty data directory"), "\(used.stderr)")
            let listen = try await bridgeos("demo", "--interactive", "--listen", "somewhere", "--data-dir",
                                      directory.appendingPathComponent("fresh").path, in: directory)
            #expect(listen.status == 78)
            #expect(listen.stderr.contains("expected host:port"), "\(listen.stderr)")
        }
    }

    @Test("the web chat: a page per person and bot; bad forms get 400 or a problem shown, never a crash; SIGTERM stops it cleanly")
    func webChat() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let demo = try launch(try product("bridgeos"), ["demo", "--interactive", "--listen", "127.0.0.1:0", "--data-dir", directory.appendingPathComponent("data").path],
                                  in: directory)
            defer { if demo.0.isRunning { kill(demo.0.processIdentifier, SIGKILL) } }
            var port: Int?
            let deadline = ContinuousClock.now + .seconds(60)
            while port == nil, ContinuousClock.now < deadline, demo.0.isRunning {
                let out = (try? String(contentsOf: demo.1, encoding: .utf8)) ?? ""
                if let range = out.range(of: #"http://127\.0\.0\.1:(\d+)/sandbox"#, options: .regularExpression) {
                    port = Int(out[range].split(separator: ":").last!.split(separator: "/").first!)
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let base = "http://127.0.0.1:\(try #require(port, "the demo never printed its address"))"
            // Redirects are checked, not followed.
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
            do {
                func call(_ method: NIOHTTP1.HTTPMethod, _ path: String, form: String? = nil,
                          headers: [(String, String)] = []) async throws -> (status: UInt, location: String, body: String) {
                    var request = HTTPClientRequest(url: base + path)
                    request.method = method
                    for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
                    if let form {
                        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                        request.body = .bytes(ByteBuffer(string: form))
                    }
                    let response = try await http.execute(request, timeout: .seconds(10))
                    let body = try await response.body.collect(upTo: 1 << 20)
                    return (response.status.code, response.headers.first(name: "location") ?? "", String(buffer: body))
                }
                let empty = try await call(.GET, "/sandbox")
                #expect(empty.status == 200 && empty.body.contains("Add person"))
                let added = try await call(.POST, "/sandbox/people", form: "name=Marta&language=en")
                #expect(added.status == 303 && added.location.contains("user=1001"))
                let nameless = try await call(.POST, "/sandbox/people", form: "name=%20&language=en")
                #expect(nameless.status == 303 && nameless.location.contains("problem="))
                let page = try await call(.GET, "/sandbox?user=1001&bot=2")
                #expect(page.body.contains("Marta's chat with @acme_crew_2_bot"))
                let script = try await call(.POST, "/sandbox/send", form: "user=1001&bot=1&text=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
                #expect(script.status == 303)
                let chat = try await call(.GET, "/sandbox/chat?user=1001&bot=1")
                #expect(chat.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !chat.body.contains("<script>"), "text is escaped")
                #expect(try await call(.POST, "/sandbox/send", form: "bot=1&text=hi").status == 400)
                #expect(try await call(.POST, "/sandbox/send", form: "user=1001&bot=9&text=hi").status == 400)
                #expect(try await call(.POST, "/sandbox/send", form: "%%%").status == 400)
                let blank = try await call(.POST, "/sandbox/send", form: "user=1001&bot=1&text=%20")
                #expect(blank.location.contains("problem="))
                let foreign = try await call(.POST, "/sandbox/open", form: "user=1001&bot=1&link=https%3A%2F%2Ft.me%2Fsomeone_else_bot%3Fstart%3Dx")
                #expect(foreign.status == 303 && foreign.location.contains("problem="))
                #expect(try await call(.POST, "/sandbox/press", form: "user=1001&bot=1&message=999&data=x").status == 400)
                #expect(try await call(.POST, "/sandbox/photo?user=1001&bot=1").status == 400)
                #expect(try await call(.GET, "/healthz").status == 200)
                // Another site's page cannot post to it, and a rebound DNS name cannot read it.
                let forged = try await call(.POST, "/sandbox/send", form: "user=1001&bot=1&text=hi", headers: [("Origin", "https://evil.example")])
                #expect(forged.status == 403)
                #expect(try await call(.GET, "/sandbox", headers: [("Host", "evil.example:8080")]).status == 403)
                let own = try await call(.POST, "/sandbox/send", form: "user=1001&bot=1&text=hi", headers: [("Origin", base)])
                #expect(own.status == 303)
                // A crafted link cannot put its own words on the page.
                let crafted = try await call(.GET, "/sandbox?user=1001&problem=Your%20account%20is%20locked")
                #expect(!crafted.body.contains("account is locked"))
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
            kill(demo.0.processIdentifier, SIGTERM)
            let stopDeadline = ContinuousClock.now + .seconds(30)
            while demo.0.isRunning, ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!demo.0.isRunning && demo.0.terminationStatus == 0)
        }
    }

    @Test("a serve started by the demo stops by itself when the demo is gone (--parent-pid)")
    func orphanStops() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(1)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let environment = [
                    "BRIDGEOS_DATA_DIR": directory.appendingPathComponent("data").path, "BRIDGEOS_TELEGRAM_API_URL": sandbox.baseURL,
                    "BRIDGEOS_HTTP_ADDRESS": "127.0.0.1:0", "BRIDGEOS_BOT1_TOKEN": sandbox.bots[0].token.secret,
                ]
                // Its parent is this test process, not the pid it is told: as if the demo had died.
                let serve = try launch(try product("bridgeos"), ["serve", "--parent-pid", "\(Int32.max)"], environment: environment, in: directory)
                defer { if serve.0.isRunning { kill(serve.0.processIdentifier, SIGKILL) } }
                let deadline = ContinuousClock.now + .seconds(30)
                while serve.0.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                let log = (try? String(contentsOf: serve.2, encoding: .utf8)) ?? ""
                #expect(!serve.0.isRunning && serve.0.terminationStatus == 0, "\(log)")
                #expect(log.contains("the process that started serve is gone"))
            }
        }
    }
}
