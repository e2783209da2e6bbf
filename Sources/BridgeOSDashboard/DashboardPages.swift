import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import Foundation
import Hummingbird
import HummingbirdAuth

/// The dashboard's pages. Each reads what it shows in one short transaction (`DashboardQueries`).
extension Dashboard {
    // MARK: Overview

    struct SlotView {
        var number: Int
        var username: String?
        var state: String
        var stateClass: String
        var error: String?
        var connections: Int
        var lastPoll: String
    }

    struct AlertView {
        var title: String
        var since: String
        var cleared: String
        var detail: String?
    }

    struct OverviewView {
        var chrome: Chrome
        var managers: Int, workers: Int, activeConnections: Int, activeSubscriptions: Int
        var delayed: Int, held: Int, newFeedback: Int
        var delayedWarning: Bool, heldWarning: Bool, errorWarning: Bool
        var translationErrorRate: String, translations: Int
        var chart: String
        var messages30: Int, messagesToday: Int
        var slots: [SlotView]
        var alerts: [AlertView]
        var hasAlerts = false
    }

    func slotViews(active: [Int: Int]) -> [SlotView] {
        let board = status.all
        let now = database.clock.now()
        return settings.slots.map { slot in
            let known = board[slot]
            let state = known?.state.rawValue ?? "starting"
            let stateClass = switch known?.state {
            case .polling, .webhook where known?.isReceiving == true: "ok"
            case .unauthorized, .stopped: "bad"
            default: "warn"
            }
            return SlotView(number: slot.number, username: known?.username, state: state, stateClass: stateClass, error: known?.lastError,
                            connections: active[slot.number] ?? 0, lastPoll: Format.ago(known?.lastPollAt, now: now))
        }
    }

    func alertViews(activeOnly: Bool) throws -> [AlertView] {
        try database.alerts.all().filter { !activeOnly || $0.isActive }.map {
            AlertView(title: AlertCondition.title(of: $0.condition), since: Format.time($0.raisedAt), cleared: Format.time($0.clearedAt), detail: $0.detail)
        }
    }

    func overview(_ request: Request, _ context: DashboardContext) throws -> Response {
        let facts = try database.dashboard.overview(pastDays: try pastDays.counts(database))
        let translation = health.snapshot
        let chart = BarChart.svg(facts.messagesPerDay.map { ($0.day, $0.count) })
        var chrome = chrome("Overview", context)
        chrome.overview = true
        var view = OverviewView(
            chrome: chrome, managers: facts.managers, workers: facts.workers, activeConnections: facts.activeBySlot.values.reduce(0, +),
            activeSubscriptions: facts.activeSubscriptions, delayed: facts.delayed, held: facts.held, newFeedback: facts.newFeedback,
            delayedWarning: facts.delayed > 0, heldWarning: facts.held > 0, errorWarning: translation.translationErrorRate > 0.05,
            translationErrorRate: Format.percent(translation.translationErrorRate), translations: translation.translations, chart: chart,
            messages30: facts.messagesPerDay.map(\.count).reduce(0, +), messagesToday: facts.messagesPerDay.last?.count ?? 0,
            slots: slotViews(active: facts.activeBySlot), alerts: try alertViews(activeOnly: true))
        view.hasAlerts = !view.alerts.isEmpty
        return render(view, "overview")
    }

    // MARK: Managers

    struct ManagerView {
        var id: Int64, name: String, username: String?, code: String, language: String, workers: Int, subscription: String, since: String
    }

    struct ManagersView {
        var chrome: Chrome
        var query: String
        var rows: [ManagerView]
        var next: String?
    }

    func managers(_ request: Request, _ context: DashboardContext) throws -> Response {
        let query = String((request.uri.queryParameters.get("q") ?? "").prefix(64))
        let page = try database.dashboard.managers(search: query, after: try Self.cursor(request, "after"))
        var chrome = chrome("Managers", context)
        chrome.managers = true
        let rows = page.rows.map {
            ManagerView(id: $0.id, name: $0.name, username: $0.username, code: $0.code, language: $0.language, workers: $0.activeWorkers,
                        subscription: $0.subscription ?? "free", since: Format.day($0.createdAt))
        }
        let next = page.next.map { "/admin/managers?after=\($0)" + (query.isEmpty ? "" : "&q=" + (query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")) }
        return render(ManagersView(chrome: chrome, query: query, rows: rows, next: next), "managers")
    }

    // MARK: One person

    struct ConnectionView {
        var id: Int64, slot: Int, managerID: Int64, managerName: String, workerID: Int64, workerName: String, workerLanguage: String
        var state: String, lastMessage: String
    }

    struct TaskView {
        var description: String
        var due: String?
    }

    struct PersonView {
        var chrome: Chrome
        var id: Int64, name: String, role: String, username: String?, language: String, code: String?, timeZone: String?
        var since: String, erasedAt: String?, usage: String?, subscription: String?, referrals: String?, referredBy: Int64?
        var connections: [ConnectionView]
        var tasks: [TaskView]
        var hasTasks = false
        /// Not erased, or back since (registered again, with a name and conversations of their own).
        var erasable = true
    }

    static func connectionViews(_ rows: [DashboardQueries.ConnectionRow]) -> [ConnectionView] {
        rows.map {
            ConnectionView(id: $0.id, slot: $0.slot, managerID: $0.managerID, managerName: $0.managerName, workerID: $0.workerID,
                           workerName: $0.workerName, workerLanguage: $0.workerLanguage, state: $0.active ? "active" : "ended",
                           lastMessage: Format.time($0.lastMessageAt))
        }
    }

    func person(_ request: Request, _ context: DashboardContext, notice: String? = nil) throws -> Response {
        let id = try Self.pathID(context)
        guard let person = try database.dashboard.person(id) else { throw HTTPError(.notFound, message: "No person has the id \(id).") }
        let subscription = person.subscription.map { subscription -> String in
            var text = subscription.status.rawValue + (subscription.plan.map { " — \($0)" } ?? "")
            if let renews = subscription.renewsAt { text += ", renews \(Format.day(renews))" }
            if let ends = subscription.endsAt { text += ", ends \(Format.day(ends))" }
            if subscription.paymentStatus == .failed { text += ", last payment failed" }
            return text
        }
        let usage = person.usage.map { "\($0.messagesCount) translated messages" + ($0.bonusMessages > 0 ? ", \($0.bonusMessages) extra left" : "") }
        var view = PersonView(
            chrome: chrome(person.user.displayName, context, notice: notice), id: id, name: person.user.displayName, role: person.role,
            username: person.user.username, language: Language.named(person.user.language)?.nativeName ?? person.user.language,
            code: person.code, timeZone: person.timeZone, since: Format.day(person.user.createdAt), erasedAt: person.erasedAt.map { Format.time($0) },
            usage: usage, subscription: subscription,
            referrals: person.referrals.count > 0 ? "\(person.referrals.count) managers, \(person.referrals.reward) extra messages earned" : nil,
            referredBy: person.referredBy, connections: Self.connectionViews(person.connections),
            tasks: person.openTasks.map { TaskView(description: $0.description, due: $0.dueAt.map { Format.time($0) }) })
        view.hasTasks = !view.tasks.isEmpty
        view.erasable = person.erasedAt == nil || person.user.displayName != StoreTransaction.erasedName || person.connections.contains { $0.active }
        return render(view, "person")
    }

    func erase(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let id = try Self.pathID(context)
        var request = request
        let form = try await DashboardForm.read(&request, context: context)
        guard form["confirm"] == "yes" else { throw HTTPError(.badRequest, message: "Tick the box to confirm the erasure.") }
        let now = database.clock.now()
        let report: ErasureReport
        do {
            report = try await database.write { tx in try tx.eraseUser(id, now: now) }
        } catch DomainError.userNotFound {
            throw HTTPError(.notFound, message: "No person has the id \(id).")
        }
        logger.notice("a person was erased from the dashboard", metadata: [
            "user": "\(id)", "by": "\(context.identity?.id ?? 0)", "messages": "\(report.messages)", "tasks": "\(report.tasks)",
        ])
        return try person(request, context, notice: "Erased: \(report.messages) messages, \(report.tasks) tasks and \(report.feedback) feedback texts removed; \(report.connectionsEnded) connections ended.")
    }

    // MARK: One conversation

    struct LineView {
        var time: String, sender: String, side: String, original: String, translation: String
        var sourceLanguage: String, targetLanguage: String, kindNote: String?, edited: Bool, withdrawn: Bool, provider: String?
    }

    struct ConversationView {
        var chrome: Chrome
        var managerName: String, workerName: String, managerID: Int64, workerID: Int64, workerLanguage: String, slot: Int, active: Bool
        var lines: [LineView]
        var older: Bool
        var next: String?
    }

    func conversation(_ request: Request, _ context: DashboardContext) throws -> Response {
        let id = try Self.pathID(context)
        let before = try Self.cursor(request, "before")
        guard let page = try database.dashboard.conversation(id, before: before) else { throw HTTPError(.notFound, message: "No conversation has the id \(id).") }
        let header = page.connection
        let lines = page.lines.map { line in
            let fromManager = line.senderID == header.managerID
            return LineView(time: Format.time(line.createdAt), sender: fromManager ? header.managerName : header.workerName,
                            side: fromManager ? "manager" : "worker",
                            original: [line.original, line.transcript.map { "🎤 " + $0 }].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "\n"),
                            translation: line.translation ?? "",
                            sourceLanguage: line.sourceLanguage, targetLanguage: line.targetLanguage,
                            kindNote: line.kind == "text" ? nil : "media", edited: line.edited, withdrawn: line.withdrawn, provider: line.translatedBy)
        }
        let view = ConversationView(
            chrome: chrome("\(header.managerName) ⇄ \(header.workerName)", context), managerName: header.managerName, workerName: header.workerName,
            managerID: header.managerID, workerID: header.workerID, workerLanguage: header.workerLanguage, slot: header.slot, active: header.active,
            lines: lines, older: before != nil, next: page.next.map { "/admin/conversations/\(id)?before=\($0)" })
        return render(view, "conversation")
    }

    // MARK: Feedback

    struct LanguageOption {
        var code: String, name: String, selected: Bool
    }

    struct FeedbackView {
        var id: Int64, userID: Int64, writer: String, role: String, language: String, time: String, message: String
        var answer: String?, answeredAt: String?
        var languages: [LanguageOption]
        var chrome: Chrome
    }

    struct FeedbackPage {
        var chrome: Chrome
        var open: Bool
        var rows: [FeedbackView]
        var next: String?
    }

    func feedback(_ request: Request, _ context: DashboardContext, notice: String? = nil) throws -> Response {
        let open = request.uri.queryParameters.get("open") == "1"
        let page = try database.dashboard.feedback(open: open, before: try Self.cursor(request, "before"))
        var chrome = chrome("Feedback", context, notice: notice)
        chrome.feedback = true
        let rows = page.rows.map { row in
            FeedbackView(id: row.feedback.id, userID: row.feedback.userID, writer: row.writerName, role: row.role,
                         language: row.feedback.language ?? "", time: Format.time(row.feedback.createdAt), message: row.feedback.message,
                         answer: row.feedback.answer, answeredAt: row.feedback.answeredAt.map { Format.time($0) },
                         languages: Language.all.map { LanguageOption(code: $0.code, name: $0.nativeName, selected: $0.code == "en") },
                         chrome: chrome)
        }
        let next = page.next.map { "/admin/feedback?before=\($0)" + (open ? "&open=1" : "") }
        return render(FeedbackPage(chrome: chrome, open: open, rows: rows, next: next), "feedback")
    }

    /// The answer goes to the writer through their bot, translated by the feedback answer job.
    func answer(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let id = try Self.pathID(context)
        var request = request
        let form = try await DashboardForm.read(&request, context: context)
        let text = (form["answer"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.count <= 4000 else { throw HTTPError(.badRequest, message: "An answer is 1 to 4000 characters.") }
        let language = Language.named(form["language"] ?? "en")?.code ?? "en"
        do {
            _ = try await intake.external { context in
                // The same answer again within ten minutes is the form sent twice (a double click, a reload):
                // it went once.
                if let current = try context.tx.feedback(id), current.answer == text,
                   let at = current.answeredAt, context.now.timeIntervalSince(at) < 600 {
                    return
                }
                _ = try context.tx.answerFeedback(id, by: nil, answer: text, now: context.now)
                try context.enqueueJob(kind: BusinessJobs.feedbackAnswer, queueKey: "feedback:\(id)",
                                       payload: BusinessJobs.Answer(feedback: id, admin: 0, adminSlot: 0, text: text, language: language))
            }
        } catch DomainError.feedbackNotFound {
            throw HTTPError(.notFound, message: "No feedback has the id \(id).")
        }
        logger.notice("feedback answered from the dashboard", metadata: ["feedback": "\(id)", "by": "\(context.identity?.id ?? 0)"])
        return DashboardPage.redirect("/admin/feedback?answered=\(id)#f\(id)")
    }

    // MARK: Subscriptions

    struct SubscriptionView {
        var managerID: Int64, manager: String, plan: String, status: String, stateClass: String, dates: String, payment: String, externalID: String
    }

    struct SubscriptionsPage {
        var chrome: Chrome
        var rows: [SubscriptionView]
        var next: String?
    }

    func subscriptions(_ request: Request, _ context: DashboardContext) throws -> Response {
        let page = try database.dashboard.subscriptions(before: try Self.cursor(request, "before"))
        var chrome = chrome("Subscriptions", context)
        chrome.subscriptions = true
        let now = database.clock.now()
        let rows = page.rows.map { row in
            let s = row.subscription
            let dates = [s.renewsAt.map { "renews \(Format.day($0))" }, s.endsAt.map { "ends \(Format.day($0))" }].compactMap { $0 }.joined(separator: ", ")
            return SubscriptionView(
                managerID: s.managerID, manager: row.managerName, plan: s.plan ?? "", status: s.status.rawValue,
                stateClass: s.isActive(at: now) ? (s.paymentStatus == .failed || s.status == .pastDue ? "warn" : "ok") : "bad", dates: dates,
                payment: s.paymentStatus.map { "\($0.rawValue) \(Format.day(s.paymentUpdatedAt))" } ?? "", externalID: s.externalID ?? "")
        }
        return render(SubscriptionsPage(chrome: chrome, rows: rows, next: page.next.map { "/admin/subscriptions?before=\($0)" }), "subscriptions")
    }
}
