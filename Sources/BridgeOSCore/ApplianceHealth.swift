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
        /// Since when every translation attempt failed (nil while they succeed). A refusal of one text (a
        /// safety filter) or a language pair no provider has does not count: the provider works.
        public var translationFailingSince: Date?
        /// The latest failure that counts.
        public var lastTranslationFailure: Date?
        public var lastTranslationError: String?

        /// Failing now: every attempt since `since` failed, and the latest within `recent` of `now` (one failure
        /// followed by a quiet evening is not an outage).
        public func translationFailing(longerThan duration: TimeInterval, recent: TimeInterval, now: Date) -> Bool {
            guard let since = translationFailingSince, let last = lastTranslationFailure else { return false }
            return now.timeIntervalSince(since) > duration && now.timeIntervalSince(last) <= recent
        }

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
            guard !["refused", "unsupported_language"].contains(kind) else { return }
            $0.lastTranslationFailure = date
            if $0.translationFailingSince == nil { $0.translationFailingSince = date }
        }
    }
}
