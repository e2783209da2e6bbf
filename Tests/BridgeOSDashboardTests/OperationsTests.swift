import BridgeOSCore
import BridgeOSDashboard
import BridgeOSOperations
import BridgeOSStorage
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Synchronization
import Testing

extension DashboardTests {
    @Suite("Readiness, metrics, alerts")
    struct OperationsTests {
        @Test("/metrics is Prometheus text: updates, relayed and sent messages, outbox depth, write latency, translation by provider; no token or text")
        func metrics() async throws {
            try await withDashboard { h in
                let bot = h.bots[0]
                try await h.flows.registerManager(1, on: bot)
                try await h.flows.join(2, payload: try await h.flows.invite(by: 1, on: bot), on: bot)
                h.sandbox.send("secret words", from: 1, to: bot)
                try await h.flows.waitForTexts(bot, 2, count: h.flows.texts(bot, 2).count + 1)
                let page = try await h.browser().get("/metrics")
                #expect(page.status == 200 && page.headers.first(name: "content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
                let samples = try PrometheusText.parse(page.body)
                func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
                    samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
                }
                #expect((value("bridgeos_updates_handled_total", ["slot": "1"]) ?? 0) >= 5)
                #expect((value("bridgeos_messages_relayed_total") ?? 0) >= 1)
                #expect((value("bridgeos_messages_sent_total", ["slot": "1"]) ?? 0) >= 5)
                #expect(value("bridgeos_outbox_rows", ["status": "pending"]) != nil)
                #expect(value("bridgeos_outbox_oldest_waiting_seconds") != nil)
                #expect(value("bridgeos_jobs_waiting") != nil)
                #expect((value("bridgeos_db_write_duration_seconds_count", ["path": "update"]) ?? 0) >= 5)
                #expect((value("bridgeos_translation_duration_seconds_count", ["provider": "openai"]) ?? 0) >= 1)
                #expect(value("bridgeos_telegram_429_total", ["slot": "1", "call": "send"]) == 0)
                #expect(!page.body.contains("secret words") && !page.body.contains(bot.token.secret))
            }
        }

        @Test("/readyz: 200 with every slot polling and the database writable, JSON per slot")
        func readiness() async throws {
            try await withDashboard { h in
                try await h.sandbox.wait(timeout: .seconds(10), "both slots polled") { _ in
                    h.appliance.runtime.status.all.values.filter { $0.lastPollAt != nil }.count == 2
                }
                let page = try await h.browser().get("/readyz")
                #expect(page.status == 200, "\(page.body)")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(page.body.utf8)) as? [String: Any])
                #expect(json["ready"] as? Bool == true && json["database"] as? String == "writable")
                let slots = try #require(json["slots"] as? [[String: Any]])
                #expect(slots.count == 2 && slots.allSatisfy { $0["ready"] as? Bool == true && $0["state"] as? String == "polling" })
            }
        }

        @Test("alerts: a condition tells the admins once while it holds, once when it clears, and not again when it flaps back soon")
        func alertsFireOnceAndClear() async throws {
            let disk = Mutex<(free: Int64, total: Int64)>((50 << 30, 100 << 30))
            let backup = Mutex<BackupStatus?>(nil)
            let probes = AlertService.Probes(disk: { disk.withLock { $0 } }, backup: { backup.withLock { $0 } })
            let admin: Int64 = 900
            try await withDashboard(admins: [admin], alertProbes: probes) { h in
                let bot = h.bots[0]
                h.sandbox.addUser(id: admin, firstName: "Ada", languageCode: "en")
                try await h.flows.say("/start", from: admin, to: bot)
                try await h.sandbox.wait(timeout: .seconds(10), "both slots polled") { _ in
                    h.appliance.runtime.status.all.values.filter { $0.lastPollAt != nil }.count == 2
                }
                let alerts = h.appliance.alerts
                let before = h.flows.texts(bot, admin).count
                try await alerts.check()
                #expect(h.flows.texts(bot, admin).count == before, "all is well: nothing said")

                disk.withLock { $0 = (200 << 20, 100 << 30) }
                try await alerts.check()
                try await alerts.check()
                try await h.flows.waitForTexts(bot, admin, count: before + 1)
                let raised = try #require(h.flows.texts(bot, admin).last)
                #expect(raised.contains("disk space is low") && raised.contains("200 MB free") && raised.contains("/admin"))

                let failed = try JSONDecoder().decode(BackupStatus.self, from: Data(#"{"at":"2026-12-03 02:00","ok":false,"reason":"scheduled","error":"disk full"}"#.utf8))
                backup.withLock { $0 = failed }
                try await alerts.check()
                try await h.flows.waitForTexts(bot, admin, count: before + 2)
                #expect(h.flows.texts(bot, admin).last?.contains("the scheduled backup failed") == true)

                disk.withLock { $0 = (50 << 30, 100 << 30) }
                try await alerts.check()
                try await h.flows.waitForTexts(bot, admin, count: before + 3)
                #expect(h.flows.texts(bot, admin).last?.hasPrefix("✅ Resolved: disk space is low.") == true)
                // Back within the quiet time: recorded, not told again.
                disk.withLock { $0 = (100 << 20, 100 << 30) }
                try await alerts.check()
                try await Task.sleep(for: .milliseconds(500))
                #expect(h.flows.texts(bot, admin).count == before + 3)
                let recorded = try h.database.alerts.all()
                #expect(recorded.filter(\.isActive).map(\.condition).sorted() == ["backup_failed", "disk_low"])
                // The dashboard shows them.
                let browser = try await h.signedIn()
                let overview = try await browser.get("/admin")
                #expect(overview.body.contains("Disk space low") && overview.body.contains("Scheduled backup failed"))
            }
        }
    }
}

/// A strict reader of the Prometheus text format (0.0.4): comments, `name{labels} value` lines, nothing else.
enum PrometheusText {
    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    struct Malformed: Error, CustomStringConvertible {
        let line: String
        var description: String { "not Prometheus text: \(line)" }
    }

    static func parse(_ text: String) throws -> [Sample] {
        var samples: [Sample] = []
        let name = #/^[a-zA-Z_:][a-zA-Z0-9_:]*/#
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else { throw Malformed(line: String(line)) }
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let match = line.prefixMatch(of: name) else { throw Malformed(line: String(line)) }
            var rest = line[match.range.upperBound...]
            var labels: [String: String] = [:]
            if rest.hasPrefix("{") {
                guard let close = rest.firstIndex(of: "}") else { throw Malformed(line: String(line)) }
                for pair in rest[rest.index(after: rest.startIndex)..<close].split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2, kv[1].hasPrefix("\""), kv[1].hasSuffix("\""), kv[0].prefixMatch(of: name) != nil else { throw Malformed(line: String(line)) }
                    labels[String(kv[0])] = String(kv[1].dropFirst().dropLast())
                }
                rest = rest[rest.index(after: close)...]
            }
            let fields = rest.split(separator: " ")
            guard (1...2).contains(fields.count), let value = Double(fields[0]) ?? (fields[0] == "+Inf" ? .infinity : nil) else {
                throw Malformed(line: String(line))
            }
            samples.append(Sample(name: String(line[match.range]), labels: labels, value: value))
        }
        return samples
    }
}
