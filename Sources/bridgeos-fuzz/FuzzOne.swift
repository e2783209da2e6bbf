import BridgeOSBilling
import BridgeOSCore
import BridgeOSOperations
import BridgeOSTelegram
import Foundation

/// One input of the libFuzzer target: its first byte picks what reads the rest, as BridgeOS reads what comes
/// from outside: a Telegram update, an env file and the configuration built from it, a LemonSqueezy webhook
/// body and its signature, or a backup manifest. Nothing may crash; a refusal is an error value.
enum FuzzOne {
    static let signingSecret = "fuzz-signing-secret"

    static func run(_ input: [UInt8]) {
        guard let selector = input.first else { return }
        let body = Data(input.dropFirst())
        switch selector % 4 {
        case 0:
            guard let update = try? JSONDecoder().decode(Update.self, from: body) else { return }
            // What the intake reads of an update before any handler: its kind, sender and chat.
            _ = update.updateID
            _ = update.implausibility
            _ = String(describing: update.kind)
            if let data = try? JSONEncoder().encode(update) { _ = try? JSONDecoder().decode(Update.self, from: data) }
        case 1:
            let text = String(decoding: body, as: UTF8.self)
            _ = EnvironmentFile.systemdDifferences(text)
            guard let values = try? EnvironmentFile.parse(text) else { return }
            var environment = values
            environment["BRIDGEOS_DATA_DIR"] = "/nonexistent/bridgeos-fuzz"
            _ = try? AppConfiguration.load(environment: environment)
        case 2:
            let signature = WebhookSignature.sign(body, secret: signingSecret)
            guard WebhookSignature.isValid(signature, body: body, secret: signingSecret) else { fatalError("a signature of its own body was refused") }
            _ = WebhookSignature.isValid(String(decoding: body.prefix(64), as: UTF8.self), body: body, secret: signingSecret)
            _ = try? LemonSqueezyEvent(body: body)
        default:
            _ = try? JSONDecoder().decode(BackupManifest.self, from: body)
        }
    }
}
