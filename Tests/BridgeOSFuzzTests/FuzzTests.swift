import BridgeOSApp
import BridgeOSBilling
import BridgeOSCore
import BridgeOSOperations
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTestSupport
import Foundation
import PropertyBased
import Testing

/// Hostile and broken inputs, 100,000 in all per run, through decoding and the handlers that act on them:
/// nothing may crash, every refusal must be an error the caller handles, and the database stays sound.
/// Each case is seeded (PropertyBased reports the seed of a failing case; `.fixedSeed` replays it), and a
/// crash found becomes a test of its own.
@Suite("Fuzzing", .serialized)
struct FuzzTests {
    /// Cases of `batch` inputs each: the seed of a case fixes all of its inputs.
    static let batch = 100

    @Test("40,000 mutated real updates (the shared Bot API samples) through decoding, and those that decode through every handler, from known people and strangers")
    func updates() async throws {
        let corpus = try FileManager.default.contentsOfDirectory(at: corpusDirectory().appendingPathComponent("updates"), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.path < $1.path }
            .map { try JSONSerialization.jsonObject(with: Data(contentsOf: $0)) }
        #expect(corpus.count >= 10)
        let tally = FuzzTally()
        try await FuzzAppliance.run { fuzz in
            let intake = fuzz.appliance.runtime.intake
            await propertyCheck(count: 40_000 / Self.batch, input: Gen.uint64()) { seed in
                var mutator = Mutator(seed: seed)
                mutator.favouriteIDs = fuzz.favouriteIDs
                for _ in 0..<Self.batch {
                    // A fresh update id (the intake would take a repeated one as Telegram's redelivery), which
                    // the mutations may still change.
                    var base = mutator.pick(corpus) as? [String: Any] ?? [:]
                    base["update_id"] = 10_000_000 + tally.total
                    let data = mutator.mutatedJSON(base, rounds: 1 + mutator.int(3))
                    guard let update = try? JSONDecoder().decode(Update.self, from: data) else {
                        tally.count("undecodable")
                        continue
                    }
                    do {
                        switch try intake.process(update, slot: BotSlot(1 + mutator.int(5))!) {
                        case .handled: tally.count("handled")
                        case .duplicate: tally.count("duplicate")
                        }
                    } catch {
                        tally.refused(error, input: data)
                    }
                }
            }
            let problems = try StoreInspection(path: fuzz.databasePath).integrityProblems()
            #expect(problems.isEmpty, "\(problems)")
            #expect(tally["handled"] > 5_000, "too few inputs reached the handlers: \(tally.summary)")
            let secrets = ["sk-fuzz-secret"] + fuzz.bots.map(\.token.secret)
            #expect(!fuzz.logs.all.contains { entry in secrets.contains { entry.line.contains($0) } })
        }
        #expect(tally.total == 40_000)
        // An input the handlers fail on would be retried and then given up on (a webhook answered 500): none may be.
        #expect(!tally.summary.contains("refused:"), "\(tally.summary)")
        print("fuzz-figures updates: \(tally.summary)")
    }

    @Test("20,000 button presses with mutated and forged callback data, by managers, workers and strangers: each handled or refused, none crashes")
    func callbacks() async throws {
        let template = try JSONSerialization.jsonObject(with: Data(contentsOf: corpusDirectory().appendingPathComponent("updates/callback-query.json")))
        let tally = FuzzTally()
        try await FuzzAppliance.run { fuzz in
            let intake = fuzz.appliance.runtime.intake
            let people = fuzz.favouriteIDs.filter { $0 < 1_000_000 }
            await propertyCheck(count: 20_000 / Self.batch, input: Gen.uint64()) { seed in
                var mutator = Mutator(seed: seed)
                mutator.favouriteIDs = fuzz.favouriteIDs
                for index in 0..<Self.batch {
                    guard var update = template as? [String: Any], var query = update["callback_query"] as? [String: Any],
                          var from = query["from"] as? [String: Any], var message = query["message"] as? [String: Any],
                          var chat = message["chat"] as? [String: Any]
                    else { return }
                    let user = mutator.pick(people)
                    update["update_id"] = Int(seed % 1_000_000_000) * 1000 + index
                    query["id"] = "\(seed)-\(index)"
                    from["id"] = user
                    chat["id"] = user
                    message["chat"] = chat
                    message["message_id"] = 1 + mutator.int(50)
                    query["from"] = from
                    query["message"] = message
                    var data = mutator.pick(Mutator.callbackShapes)
                    for _ in 0..<mutator.int(3) { data = mutator.mutate(text: data) }
                    if mutator.chance(30) { data = data.split(separator: ":").dropLast().joined(separator: ":") + ":\(mutator.int(60))" }
                    query["data"] = String(data.prefix(64))
                    update["callback_query"] = query
                    guard let body = try? JSONSerialization.data(withJSONObject: update),
                          let decoded = try? JSONDecoder().decode(Update.self, from: body)
                    else {
                        tally.count("undecodable")
                        continue
                    }
                    do {
                        _ = try intake.process(decoded, slot: BotSlot(1 + mutator.int(5))!)
                        tally.count("handled")
                    } catch {
                        tally.refused(error, input: body)
                    }
                }
            }
            let problems = try StoreInspection(path: fuzz.databasePath).integrityProblems()
            #expect(problems.isEmpty, "\(problems)")
        }
        #expect(tally.total == 20_000)
        #expect(tally["handled"] > 15_000, "\(tally.summary)")
        // An input the handlers fail on would be retried and then given up on (a webhook answered 500): none may be.
        #expect(!tally.summary.contains("refused:"), "\(tally.summary)")
        print("fuzz-figures callbacks: \(tally.summary)")
    }

    @Test("20,000 mutated LemonSqueezy webhook bodies, signed so they get past the signature: each read as an event and applied, or refused with a reason")
    func billingWebhooks() async throws {
        let template = try JSONSerialization.jsonObject(with: Data(contentsOf: corpusDirectory().appendingPathComponent("lemonsqueezy/subscription_created.json")))
        let tally = FuzzTally()
        try await FuzzAppliance.run { fuzz in
            let intake = fuzz.appliance.runtime.intake
            let events = BillingEvents(localizer: localizer, freeMessages: 50)
            await propertyCheck(count: 20_000 / Self.batch, input: Gen.uint64()) { seed in
                var mutator = Mutator(seed: seed)
                mutator.favouriteIDs = fuzz.favouriteIDs
                for _ in 0..<Self.batch {
                    let body = mutator.mutatedJSON(template, rounds: 1 + mutator.int(4))
                    let signature = WebhookSignature.sign(body, secret: FuzzAppliance.billingSecret)
                    #expect(WebhookSignature.isValid(signature, body: body, secret: FuzzAppliance.billingSecret))
                    #expect(!WebhookSignature.isValid(signature, body: body + Data([0x20]), secret: FuzzAppliance.billingSecret))
                    let event: LemonSqueezyEvent
                    do {
                        event = try LemonSqueezyEvent(body: body)
                    } catch {
                        #expect(!"\(error)".isEmpty)
                        tally.count("malformed")
                        continue
                    }
                    do {
                        let result = try await intake.external { context in
                            try events.receive(event, digest: WebhookSignature.digest(body), context: context)
                        }
                        switch result {
                        case .applied: tally.count("applied")
                        case .stale: tally.count("stale")
                        case .ignored: tally.count("ignored")
                        case .duplicate: tally.count("duplicate")
                        }
                    } catch {
                        tally.refused(error, input: body)
                    }
                }
            }
            let problems = try StoreInspection(path: fuzz.databasePath).integrityProblems()
            #expect(problems.isEmpty, "\(problems)")
        }
        #expect(tally.total == 20_000)
        // An input the handlers fail on would be retried and then given up on (a webhook answered 500): none may be.
        #expect(!tally.summary.contains("refused:"), "\(tally.summary)")
        print("fuzz-figures lemonsqueezy: \(tally.summary)")
    }

    @Test("10,000 mutated env files through the parser and the configuration: a configuration, or an error that names the line or the setting; never the value of a secret")
    func envFiles() async throws {
        let example = try String(contentsOf: corpusDirectory().appendingPathComponent("env-file.txt"), encoding: .utf8)
        let lines = example.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let tally = FuzzTally()
        await propertyCheck(count: 10_000 / Self.batch, input: Gen.uint64()) { seed in
            var mutator = Mutator(seed: seed)
            for _ in 0..<Self.batch {
                var mutated = lines
                for _ in 0..<(1 + mutator.int(4)) {
                    let index = mutator.int(mutated.count)
                    switch mutator.int(4) {
                    case 0: mutated[index] = mutator.mutate(text: mutated[index])
                    case 1: mutated.insert(mutator.pick(lines), at: index)
                    case 2: mutated.remove(at: index)
                    default:
                        let bytes = mutator.mutate(bytes: Array(mutated[index].utf8))
                        mutated[index] = String(decoding: bytes, as: UTF8.self)
                    }
                    if mutated.isEmpty { mutated = [""] }
                }
                let text = mutated.joined(separator: mutator.chance(10) ? "\r\n" : "\n")
                _ = EnvironmentFile.systemdDifferences(text)
                let values: [String: String]
                do throws(EnvironmentFile.ParseError) {
                    values = try EnvironmentFile.parse(text)
                } catch {
                    let lineCount = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).count
                    #expect(error.line >= 1 && error.line <= lineCount, "\(error)")
                    tally.count("refused-line")
                    continue
                }
                do {
                    _ = try AppConfiguration.load(environment: values)
                    tally.count("configuration")
                } catch {
                    // A refused setting names itself and never echoes a token's secret part.
                    #expect(!"\(error)".isEmpty)
                    #expect(!"\(error)".contains("AAEsecretPartOfTheToken"), "\(error)")
                    tally.count("refused-setting")
                }
            }
        }
        #expect(tally.total == 10_000)
        print("fuzz-figures env-files: \(tally.summary)")
    }

    @Test("10,000 mutated backup manifests beside a real backup: verify accepts only the true one and says why it refuses the rest")
    func backupManifests() async throws {
        let tally = FuzzTally()
        try await withTemporaryDirectoryAsync { directory in
            let configuration = try AppConfiguration.load(environment: ["BRIDGEOS_DATA_DIR": directory.path])
            let database = try AppDatabase.open(configuration)
            try RelayPeople.seed(database, conversations: 2)
            let backup = try Backups.take(databasePath: configuration.databasePath, output: directory.appendingPathComponent("backup.sqlite").path,
                                          directory: directory.appendingPathComponent("backups").path, keep: nil)
            let manifestPath = BackupManifest.path(for: backup.path)
            let original = try Data(contentsOf: URL(fileURLWithPath: manifestPath))
            let document = try JSONSerialization.jsonObject(with: original)
            #expect(try Backups.verify(backup: backup.path) == backup.manifest)
            await propertyCheck(count: 10_000 / Self.batch, input: Gen.uint64()) { seed in
                var mutator = Mutator(seed: seed)
                for _ in 0..<Self.batch {
                    let mutated = mutator.mutatedJSON(document, rounds: 1 + mutator.int(3))
                    FileManager.default.createFile(atPath: manifestPath, contents: mutated)
                    do {
                        let manifest = try Backups.verify(backup: backup.path)
                        // Accepted: it must describe the file as the true manifest does.
                        #expect(manifest.sha256 == backup.manifest.sha256 && manifest.sizeBytes == backup.manifest.sizeBytes)
                        tally.count("accepted")
                    } catch {
                        #expect(!"\(error)".isEmpty)
                        tally.count("refused")
                    }
                }
            }
            FileManager.default.createFile(atPath: manifestPath, contents: original)
            #expect(try Backups.verify(backup: backup.path) == backup.manifest)
        }
        #expect(tally.total == 10_000)
        print("fuzz-figures manifests: \(tally.summary)")
    }
}

/// What the fuzzing found, kept as tests of their own.
@Suite("Fuzzing's findings")
struct FuzzFindingsTests {
    @Test("ids Telegram never sends (a user id of 0 or below, a private chat that is not its sender's): the update is set aside once, nothing is written or sent, no endless retry")
    func impossibleIDs() async throws {
        try await FuzzAppliance.run { fuzz in
            let intake = fuzz.appliance.runtime.intake
            let worker = RelayPeople.worker(0)
            let before = try StoreInspection(path: fuzz.databasePath).queueSummary()
            let updates = [
                #"{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":-7,"type":"private","first_name":"A"},"from":{"id":-7,"is_bot":false,"first_name":"A"},"text":"/start"}}"#,
                #"{"update_id":2,"message":{"message_id":2,"date":1,"chat":{"id":0,"type":"private","first_name":"A"},"from":{"id":0,"is_bot":false,"first_name":"A"},"text":"hello"}}"#,
                #"{"update_id":3,"message":{"message_id":3,"date":1,"chat":{"id":\#(worker),"type":"private","first_name":"W"},"from":{"id":777,"is_bot":false,"first_name":"M"},"text":"/start"}}"#,
                #"{"update_id":4,"my_chat_member":{"chat":{"id":-9223372036854775808,"type":"private","first_name":"A"},"from":{"id":5,"is_bot":false,"first_name":"A"},"date":1,"old_chat_member":{"status":"member","user":{"id":1,"is_bot":true,"first_name":"B"}},"new_chat_member":{"status":"kicked","user":{"id":1,"is_bot":true,"first_name":"B"},"until_date":0}}}"#,
                #"{"update_id":5,"callback_query":{"id":"q","from":{"id":-1,"is_bot":false,"first_name":"A"},"chat_instance":"1","data":"task:done:1"}}"#,
            ]
            for (index, json) in updates.enumerated() {
                let update = try JSONDecoder().decode(Update.self, from: Data(json.utf8))
                #expect(update.implausibility != nil, "update \(index + 1)")
                #expect(try intake.process(update, slot: BotSlot(1)!) == .handled)
                #expect(try intake.process(update, slot: BotSlot(1)!) == .duplicate)
            }
            let after = try StoreInspection(path: fuzz.databasePath).queueSummary()
            #expect(after == before)
            #expect(fuzz.logs.all.filter { $0.message.contains("Telegram could not have sent it") }.count == updates.count)
        }
    }
}
