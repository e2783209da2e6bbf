import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// Subscriptions, referrals and feedback as this appliance offers them.
public struct BusinessSettings: Sendable {
    /// Translated messages per month without a subscription.
    public var freeMessages: Int
    /// Whether a payment provider is configured (else /subscription says subscriptions are not offered).
    public var checkoutAvailable: Bool
    /// Extra free messages a manager gets for each manager who registers through their link.
    public var referralReward: Int
    /// Telegram ids of the people who read and answer feedback.
    public var adminIDs: Set<Int64>

    public init(freeMessages: Int = 50, checkoutAvailable: Bool = false, referralReward: Int = 50, adminIDs: Set<Int64> = []) {
        self.freeMessages = freeMessages
        self.checkoutAvailable = checkoutAvailable
        self.referralReward = max(0, referralReward)
        self.adminIDs = adminIDs
    }
}

/// The jobs subscriptions and feedback queue (their handlers make network calls: a checkout, a translation).
public enum BusinessJobs {
    public static let checkout = "billing-checkout"
    public static let feedbackNotice = "feedback-notice"
    public static let feedbackAnswer = "feedback-answer"

    /// A checkout link for the manager, sent with their usage through `slot`'s bot.
    public struct Checkout: Codable, Sendable {
        public let manager: Int64
        public let slot: Int
        public init(manager: Int64, slot: Int) {
            self.manager = manager
            self.slot = slot
        }
    }

    /// Feedback to pass on to the admins.
    public struct Notice: Codable, Sendable {
        public let feedback: Int64
        public init(feedback: Int64) { self.feedback = feedback }
    }

    /// An admin's answer to pass on (the text as written: a later answer may replace the stored one).
    public struct Answer: Codable, Sendable {
        public let feedback: Int64
        /// The admin's Telegram id (0: answered on the dashboard).
        public let admin: Int64
        /// The bot the admin answered through (told there that it went); 0 on the dashboard.
        public let adminSlot: Int
        public let text: String
        /// The answer's language when the admin chose it (the dashboard); else the admin's own.
        public let language: String?
        public init(feedback: Int64, admin: Int64, adminSlot: Int, text: String, language: String? = nil) {
            self.feedback = feedback
            self.admin = admin
            self.adminSlot = adminSlot
            self.language = language
            self.text = text
        }
    }
}

/// What /subscription says of a manager's plan.
public enum SubscriptionText {
    /// The active plan, or nil when the free plan applies (the caller adds usage and a checkout link).
    public static func active(_ subscription: Subscription?, language: String, zone: TimeZone, now: Date, localizer: Localizer) -> String? {
        guard let subscription, subscription.isActive(at: now) else { return nil }
        var lines = [localizer.text(.subscriptionActive, language, ["plan": subscription.plan ?? "BridgeOS"])]
        if subscription.status == .cancelled, let end = subscription.endsAt {
            lines.append(localizer.text(.subscriptionEnds, language, ["date": day(end, language: language, zone: zone)]))
        } else if let renews = subscription.renewsAt {
            lines.append(localizer.text(.subscriptionRenews, language, ["date": day(renews, language: language, zone: zone)]))
        }
        if subscription.status == .pastDue || subscription.paymentStatus == .failed {
            lines.append(localizer.text(.subscriptionPastDue, language))
        }
        if let portal = subscription.portalURL {
            lines.append(localizer.text(.subscriptionPortal, language, ["link": portal]))
        }
        return lines.joined(separator: "\n")
    }

    /// The free plan's usage this month (and the extra messages left).
    public static func free(_ usage: UsageRecord, limit: Int, language: String, localizer: Localizer) -> String {
        let reset = UTCDate(usage.periodStart.addingTimeInterval(32 * 86400)).monthStart
        var text = localizer.text(.subscriptionFree, language, [
            "used": "\(min(usage.messagesCount, limit))", "limit": "\(limit)", "reset": day(reset, language: language, zone: .gmt),
        ])
        if usage.bonusMessages > 0 {
            text += "\n" + localizer.text(.subscriptionBonus, language, ["bonus": "\(usage.bonusMessages)"])
        }
        return text
    }

    /// "5 January 2027", in the reader's language.
    public static func day(_ date: Date, language: String, zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: language)
        formatter.timeZone = zone
        formatter.setLocalizedDateFormatFromTemplate("dMMMMyyyy")
        return formatter.string(from: date)
    }
}

extension Flow {
    // MARK: Subscription

    func subscription(manager: Int64, language: String) throws {
        let zone = try WorkClock.timeZone(manager: manager, tx)
        if let text = SubscriptionText.active(try tx.subscription(manager: manager), language: language, zone: zone, now: now, localizer: localizer) {
            try context.send(SendMessage(chatID: .id(manager), text: text), chatID: manager)
            return
        }
        guard router.business.checkoutAvailable else {
            let usage = SubscriptionText.free(try tx.usage(manager: manager, now: now), limit: router.business.freeMessages,
                                              language: language, localizer: localizer)
            try context.send(SendMessage(chatID: .id(manager), text: usage + "\n\n" + localizer.text(.subscriptionUnavailable, language)),
                             chatID: manager)
            return
        }
        // The checkout link comes from the payment provider: a job asks for it (no network call in here), and
        // sends it with the usage, or says the page could not be opened.
        try context.enqueueJob(kind: BusinessJobs.checkout, queueKey: "billing:\(manager)",
                               payload: BusinessJobs.Checkout(manager: manager, slot: slot.number))
    }

    // MARK: Referrals

    func refer(manager: Int64, language: String) throws {
        guard let record = try tx.manager(manager), let bot = context.bots[slot] else { return }
        let (count, earned) = try tx.referrals(referrer: manager)
        try replies.send(.referLink, to: manager, language: language, [
            "reward": "\(router.business.referralReward)", "link": "https://t.me/\(bot.username)?start=r_\(record.code)",
            "count": "\(count)", "earned": "\(earned)",
        ])
    }

    /// A new manager registered through `code`'s link: the referrer gets the reward and is told, once.
    func referred(_ profile: UserProfile, code: String) throws {
        guard let referrer = try tx.recordReferral(code: code, referred: profile.id, reward: router.business.referralReward, now: now),
              let user = try tx.user(referrer.id), router.business.referralReward > 0
        else { return }
        try notifyManager(user, .referRewarded, about: referrer.homeSlot ?? slot,
                          ["name": profile.displayName, "reward": "\(router.business.referralReward)"])
    }

    // MARK: Feedback

    func feedbackCommand(_ argument: String?, user: User, language: String) throws {
        if let text = argument?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            return try submitFeedback(text, user: user, language: language)
        }
        try startFlow("feedback", step: "text", user: user.id)
        try replies.send(.feedbackPrompt, to: user.id, language: language)
    }

    /// The message after /feedback: its text is the feedback (media without a caption is asked for again).
    func feedbackText(_ message: Message, user: User, language: String) throws -> Bool {
        guard let text = (message.text ?? message.caption)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            try replies.send(.feedbackTextOnly, to: user.id, language: language)
            return true
        }
        try tx.clearConversationState(slot: slot, user: user.id)
        try submitFeedback(text, user: user, language: language)
        return true
    }

    /// Stores the feedback, thanks its writer and queues the admins' notices (translated for each).
    func submitFeedback(_ text: String, user: User, language: String) throws {
        let feedback = try tx.submitFeedback(user: user.id, text: text,
                                             language: user.language, slot: slot, now: now)
        let admins = router.business.adminIDs
        try replies.send(admins.isEmpty ? .feedbackSaved : .feedbackThanks, to: user.id, language: language)
        guard !admins.isEmpty else { return }
        try context.enqueueJob(kind: BusinessJobs.feedbackNotice, queueKey: "feedback:\(feedback.id)",
                               payload: BusinessJobs.Notice(feedback: feedback.id))
    }

    /// An admin replied to a feedback notice: the reply is the answer, translated for the writer by a job.
    /// False when the message is not such a reply.
    func feedbackAnswer(_ message: Message, from: TelegramUser, language: String) throws -> Bool {
        guard router.business.adminIDs.contains(from.id), let target = message.replyToMessage else { return false }
        // The notice's message id is recorded when Telegram takes it; a reply racing that record (or to a part of
        // a notice that was not recorded) is known by the notice's own header, so it never reaches a worker.
        let recorded = try tx.feedbackForNotice(slot: slot, admin: from.id, chatMessageID: target.messageID)
        let named = target.from?.isBot == true ? try target.text.flatMap { try noticedFeedback(in: $0, language: language) } : nil
        guard let feedback = recorded ?? named else { return false }
        guard let text = (message.text ?? message.caption)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            try replies.send(.feedbackAnswerTextOnly, to: from.id, language: language)
            return true
        }
        // (Telegram's own limits keep a message within the 4096 characters stored.)
        let answer = text
        _ = try tx.answerFeedback(feedback.id, by: from.id, answer: answer, now: now)
        try context.enqueueJob(kind: BusinessJobs.feedbackAnswer, queueKey: "feedback:\(feedback.id)",
                               payload: BusinessJobs.Answer(feedback: feedback.id, admin: from.id, adminSlot: slot.number, text: answer))
        return true
    }

    /// The feedback a bot's notice text names in its header ("Feedback #12 from …"), in the admin's language
    /// or English.
    func noticedFeedback(in text: String, language: String) throws -> Feedback? {
        for language in Set([language, "en"]) {
            guard let id = Self.feedbackID(inNotice: text, template: localizer.text(.feedbackNotice, language, Self.noticeMarkers)) else { continue }
            return try tx.feedback(id)
        }
        return nil
    }

    static let noticeMarkers = ["id": "\u{1}I\u{1}", "name": "\u{1}A\u{1}", "role": "\u{1}A\u{1}", "language": "\u{1}A\u{1}", "text": "\u{1}T\u{1}"]

    /// Reads the id out of a notice's header, the template's text before the feedback itself.
    static func feedbackID(inNotice text: String, template: String) -> Int64? {
        guard let header = template.components(separatedBy: "\u{1}T\u{1}").first?.trimmingCharacters(in: .whitespacesAndNewlines),
              header.contains("\u{1}I\u{1}")
        else { return nil }
        let pattern = "^" + NSRegularExpression.escapedPattern(for: header)
            .replacingOccurrences(of: "\u{1}I\u{1}", with: "([0-9]{1,18})")
            .replacingOccurrences(of: "\u{1}A\u{1}", with: ".{0,300}?")
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return Int64(text[range])
    }
}
