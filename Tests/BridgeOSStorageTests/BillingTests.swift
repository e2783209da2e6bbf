import BridgeOSCore
import Foundation
import GRDB
import Testing
@testable import BridgeOSStorage

@Suite("Usage, subscriptions, feedback")
struct BillingTests {
    static let november = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18 11:06:40 UTC

    @Test("the period is the calendar month in UTC")
    func period() {
        let start = UsageRepository.periodStart(for: Self.november)
        #expect(start == Date(timeIntervalSince1970: 1_793_491_200))  // 2026-11-01 00:00:00 UTC
        #expect(UsageRepository.periodStart(for: start) == start)
        #expect(UsageRepository.periodStart(for: start.addingTimeInterval(-0.001)) == Date(timeIntervalSince1970: 1_790_812_800))
    }

    @Test("increment counts up to the limit, then refuses without counting")
    func incrementToLimit() throws {
        try withStore(clock: ManualWallClock(Self.november)) { database, _ in
            try database.managers.register(profile(1), industry: "retail")
            for expected in 1...2 {
                let result = try database.usage.increment(manager: 1, limit: 3)
                #expect(result == UsageIncrement(count: expected, limit: 3, accepted: true))
                #expect(!result.limitReached)
            }
            let third = try database.usage.increment(manager: 1, limit: 3)
            #expect(third.accepted && third.limitReached && third.count == 3)
            #expect(try database.usage.current(manager: 1).isBlocked)
            let fourth = try database.usage.increment(manager: 1, limit: 3)
            #expect(!fourth.accepted && fourth.count == 3)
            // Unlimited (subscribers) still counts.
            #expect(try database.usage.increment(manager: 1, limit: nil) == UsageIncrement(count: 4, limit: nil, accepted: true))
            #expect(throws: DomainError.invalidInput("a usage limit cannot be negative")) {
                try database.usage.increment(manager: 1, limit: -1)
            }
        }
    }

    @Test("a new month starts from zero")
    func newPeriod() throws {
        let clock = ManualWallClock(Self.november)
        try withStore(clock: clock) { database, _ in
            try database.managers.register(profile(1), industry: "retail")
            for _ in 0..<5 { try database.usage.increment(manager: 1, limit: 5) }
            #expect(try database.usage.current(manager: 1).messagesCount == 5)
            clock.set(Date(timeIntervalSince1970: 1_796_083_200))  // 2026-12-01 00:00:00 UTC
            #expect(try database.usage.current(manager: 1).messagesCount == 0)
            #expect(try database.usage.increment(manager: 1, limit: 5) == UsageIncrement(count: 1, limit: 5, accepted: true))
            try database.usage.reset(manager: 1)
            #expect(try database.usage.current(manager: 1).messagesCount == 0)
        }
    }

    @Test("concurrent increments from separate pools never overshoot the limit")
    func concurrentIncrements() async throws {
        try await withStoreAsync { setup, path in
            try setup.managers.register(profile(1), industry: "retail")
            let pools = try (0..<20).map { _ in try AppDatabase.openFile(at: path) }
            let accepted = await withTaskGroup(of: Int.self) { group in
                for pool in pools {
                    group.addTask {
                        var accepted = 0
                        for _ in 0..<5 where (try? pool.usage.increment(manager: 1, limit: 42))?.accepted == true {
                            accepted += 1
                        }
                        return accepted
                    }
                }
                return await group.reduce(0, +)
            }
            #expect(accepted == 42)
            #expect(try setup.usage.current(manager: 1).messagesCount == 42)
        }
    }

    @Test("subscriptions: one per manager, updated in place, active by provider status")
    func subscriptions() throws {
        let clock = ManualWallClock(Self.november)
        try withStore(clock: clock) { database, _ in
            try database.managers.register(profile(1), industry: "retail")
            try database.managers.register(profile(2), industry: "retail")
            #expect(try !database.subscriptions.isActive(manager: 1))
            let created = try database.subscriptions.record(SubscriptionUpdate(
                managerID: 1, externalID: "sub_1", status: .active,
                renewsAt: clock.now().addingTimeInterval(30 * 86400), portalURL: "https://billing.example/p/1"))
            #expect(try database.subscriptions.isActive(manager: 1))
            #expect(try database.subscriptions.find(externalID: "sub_1") == created)

            let cancelled = try database.subscriptions.record(SubscriptionUpdate(
                managerID: 1, externalID: "sub_1", status: .cancelled, endsAt: clock.now().addingTimeInterval(86400)))
            #expect(cancelled.id == created.id && cancelled.createdAt == created.createdAt)
            #expect(try database.subscriptions.isActive(manager: 1))  // paid up until it ends
            clock.advance(by: 86400 + 1)
            #expect(try !database.subscriptions.isActive(manager: 1))

            for status in SubscriptionStatus.allCases {
                let subscription = Subscription(
                    id: 0, managerID: 1, externalID: nil, status: status, renewsAt: nil, endsAt: nil, portalURL: nil,
                    createdAt: clock.now(), updatedAt: clock.now())
                #expect(subscription.isActive(at: clock.now()) == [.onTrial, .active, .pastDue].contains(status))
            }
            #expect(throws: DomainError.invalidInput("subscription sub_1 already belongs to manager 1")) {
                try database.subscriptions.record(SubscriptionUpdate(managerID: 2, externalID: "sub_1", status: .active))
            }
            #expect(throws: DomainError.invalidInput("the customer portal URL must start with https://")) {
                try database.subscriptions.record(SubscriptionUpdate(
                    managerID: 2, externalID: "sub_2", status: .active, portalURL: "http://insecure.example"))
            }
        }
    }

    @Test("feedback: submit, list, idempotent read")
    func feedback() throws {
        let clock = ManualWallClock(Self.november)
        try withStore(clock: clock) { database, _ in
            try database.users.save(profile(5))
            let first = try database.feedback.submit(user: 5, message: " The translation of 'rebar' was wrong ")
            #expect(first.message == "The translation of 'rebar' was wrong")
            let second = try database.feedback.submit(user: 5, message: "Love it")
            #expect(try database.feedback.list(status: .new).map(\.id) == [second.id, first.id])
            clock.advance(by: 60)
            let read = try database.feedback.markRead(first.id)
            #expect(read.status == .read && read.readAt == clock.now())
            clock.advance(by: 60)
            #expect(try database.feedback.markRead(first.id) == read)
            #expect(try database.feedback.count(status: .new) == 1)
            #expect(try database.feedback.count(status: .read) == 1)
            #expect(throws: DomainError.invalidInput("feedback must not be empty")) { try database.feedback.submit(user: 5, message: "") }
            #expect(throws: DomainError.invalidInput("feedback is longer than 4096 characters")) {
                try database.feedback.submit(user: 5, message: String(repeating: "é", count: 4097))
            }
            #expect(throws: DomainError.feedbackNotFound(999)) { try database.feedback.markRead(999) }
        }
    }
}
