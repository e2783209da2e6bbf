import Foundation
import Synchronization

/// What the running appliance knows of its own health beyond the database and the slots: how translation is
/// going. Written by the relay, read by the dashboard and the alerts. In memory: it describes this process
/// since it started. (The last scheduled backup is in the backup directory's `last-backup.json`.)
public final class ApplianceHealth: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var translations: Int = 0
        public var translationFailures: Int = 0
        public var lastTranslationSuccess: Date?
        /// Since when every translation attempt failed (nil while they succeed).
        public var translationFailingSince: Date?
        public var lastTranslationError: String?

        /// Failed attempts out of all, 0...1 (0 before any).
        public var translationErrorRate: Double {
            translations == 0 ? 0 : Double(translationFailures) / Double(translations)
        }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func translationSucceeded(at date: Date) {
        state.withLock {
            $0.translations += 1
            $0.lastTranslationSuccess = date
            $0.translationFailingSince = nil
        }
    }

    /// `kind`: a short, fixed word (never the provider's message, which may quote the text).
    public func translationFailed(at date: Date, kind: String) {
        state.withLock {
            $0.translations += 1
            $0.translationFailures += 1
            $0.lastTranslationError = kind
            if $0.translationFailingSince == nil { $0.translationFailingSince = date }
        }
    }
}
