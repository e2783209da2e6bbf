import CoreMetrics
import Foundation
import Synchronization

/// Providers tried in order (`BRIDGEOS_TRANSLATOR`, then `BRIDGEOS_TRANSLATOR_FALLBACK`): a failure of any
/// kind (an outage, a quota, a pair the provider lacks, a refusal) moves to the next. When every one
/// fails, the chain fails retryably if any failure was retryable (an outage passes; the message waits),
/// otherwise finally. A member that asked to be left alone (429 with a delay), or is down, is skipped
/// until then, so one outage does not make every message wait for its timeout first.
/// Records, per member, `bridgeos_translation_duration_seconds` and `bridgeos_translation_errors_total`.
public struct TranslatorChain: Translator {
    public let members: [any Translator]
    let metrics: any MetricsFactory
    /// Each member's latency timer, made once (a lookup in the registry per translation would cost more).
    let latency: [CoreMetrics.Timer]
    private let resting = Resting()
    /// How long a member rests after a retryable failure that named no delay (only with a next member to use).
    let rest: Duration

    public init(_ members: [any Translator], metrics: any MetricsFactory, rest: Duration = .seconds(30)) {
        precondition(!members.isEmpty, "a chain needs a provider")
        self.members = members
        self.metrics = metrics
        self.latency = members.map {
            CoreMetrics.Timer(label: "bridgeos_translation_duration_seconds", dimensions: [("provider", $0.provider)], preferredDisplayUnit: .seconds, factory: metrics)
        }
        self.rest = rest
    }

    public var provider: String { members.count == 1 ? members[0].provider : members.map(\.provider).joined(separator: ",") }

    public func translate(_ request: TranslationRequest) async throws -> String {
        try await translation(request).text
    }

    public func translation(_ request: TranslationRequest) async throws -> Translation {
        try await translation(request, excluding: [])
    }

    /// The same, without the members named in `excluded` (one whose answer could not be used, e.g. it lost a
    /// placeholder); all of them are tried when none would be left.
    public func translation(_ request: TranslationRequest, excluding excluded: Set<String>) async throws -> Translation {
        var failures: [TranslationError] = []
        let skip = members.allSatisfy { excluded.contains($0.provider) } ? [] : excluded
        for (index, member) in members.enumerated() where !skip.contains(member.provider) {
            let now = ContinuousClock.now
            if members.count > 1, let until = resting.until.withLock({ $0[index] }), until > now {
                failures.append(.retryable(reason: "\(member.provider) is resting after a failure", retryAfter: until - now))
                continue
            }
            do {
                let text = try await member.translate(request)
                let elapsed = ContinuousClock.now - now
                latency[index].recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
                if members.count > 1 { resting.until.withLock { $0[index] = nil } }
                return Translation(text: text, provider: member.provider)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let failure = error as? TranslationError ?? .retryable(reason: "\(member.provider): \(error)", retryAfter: nil)
                Counter(label: "bridgeos_translation_errors_total", dimensions: [("provider", member.provider), ("kind", failure.kindLabel)],
                        factory: metrics).increment()
                if case let .retryable(_, after) = failure, members.count > 1 {
                    let pause = min(after ?? rest, .seconds(600))
                    resting.until.withLock { $0[index] = ContinuousClock.now + pause }
                }
                failures.append(failure)
            }
        }
        throw Self.outcome(failures)
    }

    /// What the chain reports when every member failed.
    static func outcome(_ failures: [TranslationError]) -> TranslationError {
        let retryable = failures.compactMap { failure -> Duration?? in
            if case let .retryable(_, after) = failure { return .some(after) }
            return nil
        }
        let reasons = failures.map(\.description).joined(separator: "; ")
        if !retryable.isEmpty {
            // Soonest any member said it could be back (nil when one named no time).
            let after = retryable.contains { $0 == nil } ? nil : retryable.compactMap { $0 }.min()
            return failures.count == 1 ? failures[0] : .retryable(reason: reasons, retryAfter: after)
        }
        if failures.count == 1 { return failures[0] }
        let decisive = failures.first { if case .final(_, .unsupportedLanguage) = $0 { false } else { true } }
        let kind: TranslationError.FinalKind = if case let .final(_, kind)? = decisive { kind } else { .unsupportedLanguage }
        return .final(reason: reasons, kind: kind)
    }

    /// Any pair a member translates.
    public func languageSupport() async throws -> LanguageSupport {
        var union: Set<LanguagePair> = []
        for member in members {
            switch try await member.languageSupport() {
            case .any: return .any
            case let .pairs(pairs): union.formUnion(pairs)
            }
        }
        return .pairs(union)
    }
}

/// Until when each member (by index) is skipped.
private final class Resting: Sendable {
    let until = Mutex<[Int: ContinuousClock.Instant]>([:])
}
