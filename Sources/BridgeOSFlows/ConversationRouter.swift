import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// The conversation flows: registration, invites and joining, commands, and the routing rule (a manager's
/// conversation with worker N lives in slot N's bot chat). Runs inside the intake transaction, so every
/// step and the messages it causes commit together, and a restart continues where the user was.
public struct ConversationRouter: UpdateHandler {
    let localizer: Localizer
    let relay: any RelayHandler
    let work: WorkSettings
    let business: BusinessSettings

    public init(localizer: Localizer, relay: any RelayHandler = UnavailableRelay(), work: WorkSettings = WorkSettings(),
                business: BusinessSettings = BusinessSettings()) {
        self.localizer = localizer
        self.relay = relay
        self.work = work
        self.business = business
    }

    public func handle(_ update: Update, context: IntakeContext) throws {
        guard let slot = context.slot else { return }
        let replies = Replies(context: context, localizer: localizer)
        let flow = Flow(router: self, context: context, slot: slot, replies: replies)
        switch update.kind {
        case let .message(message):
            try flow.message(message)
        case let .callbackQuery(query):
            try flow.callback(query)
        case let .editedMessage(message):
            try flow.edited(message)
        case let .messageReaction(reaction):
            try flow.reacted(reaction)
        case .myChatMember, .unsupported, .undecodable:
            break
        }
    }

    /// An update that failed again and again: its sender gets an answer, never silence.
    public func updateFailed(_ update: Update, context: IntakeContext) throws {
        let from: TelegramUser
        switch update.kind {
        case let .message(message) where message.chat.type == .private:
            guard let sender = message.from, !sender.isBot else { return }
            from = sender
        case let .callbackQuery(query):
            from = query.from
            try context.send(AnswerCallbackQuery(callbackQueryID: query.id, text: nil), chatID: from.id, lane: .immediate)
        default:
            return
        }
        let language = (try? context.tx.user(from.id))??.language ?? from.languageCode ?? "en"
        try Replies(context: context, localizer: localizer).send(.updateFailed, to: from.id, language: language)
    }
}

/// One update's worth of flow logic.
struct Flow {
    let router: ConversationRouter
    let context: IntakeContext
    let slot: BotSlot
    let replies: Replies
    var tx: StoreTransaction { context.tx }
    var now: Date { context.now }

    var localizer: Localizer { router.localizer }

    // MARK: Messages

    func message(_ message: Message) throws {
        guard let from = message.from, !from.isBot else { return }
        guard message.chat.type == .private else {
            try replies.send(.routeGroup, to: message.chat.id, language: from.languageCode ?? "en")
            return
        }
        // (`bot_chats` is recorded by the runtime's reachability tracker before any handler runs.)
        let user = try tx.user(from.id)
        let language = user?.language ?? uiLanguage(from)
        if let command = message.command {
            try self.command(command.name.lowercased(), argument: command.argument, from: from, user: user, language: language, message: message)
            return
        }
        // An admin's reply to a feedback notice is the answer to it.
        if try feedbackAnswer(message, from: from, language: language) { return }
        if let state = try tx.conversationState(slot: slot, user: from.id, now: now) {
            if try flowText(message, state: state, from: from, user: user, language: language) { return }
            try replies.send(.routeUseButtons, to: from.id, language: language)
            return
        }
        try route(message, from: from, user: user, language: language)
    }

    /// The routing rule for everything that is not a command or a flow step.
    func route(_ message: Message, from: TelegramUser, user: User?, language: String) throws {
        guard let user, let role = try tx.role(of: from.id) else {
            try replies.send(.routeUnregistered, to: from.id, language: language)
            return
        }
        switch role {
        case .manager:
            guard let connection = try tx.activeConnection(manager: from.id, slot: slot) else {
                try replies.send(.routeNoWorker, to: from.id, language: language)
                return
            }
            if try managerWork(message, connection: connection, sender: user) { return }
            try router.relay.relay(message, connection: connection, sender: user, context: context, replies: replies)
        case .worker:
            guard let connection = try tx.activeConnection(worker: from.id) else {
                // Disconnected: say so, and what to do, instead of a generic answer.
                if let ended = try tx.latestConnection(worker: from.id), !ended.isActive,
                   let manager = try tx.user(ended.managerID) {
                    try replies.send(.routeConnectionEnded, to: from.id, language: language, ["manager": manager.displayName])
                } else {
                    try replies.send(.routeUnregistered, to: from.id, language: language)
                }
                return
            }
            guard connection.slot == slot else {
                try replies.send(.routeWrongBot, to: from.id, language: language, ["bot": context.bots[connection.slot]?.username ?? "?"])
                return
            }
            try router.relay.relay(message, connection: connection, sender: user, context: context, replies: replies)
        }
    }

    // MARK: Commands

    func command(_ name: String, argument: String?, from: TelegramUser, user: User?, language: String, message: Message? = nil) throws {
        let role = try tx.role(of: from.id)
        switch (name, role) {
        case ("start", _):
            try start(StartPayload(argument), from: from, role: role, language: language)
        case ("cancel", _):
            let had = try tx.conversationState(slot: slot, user: from.id, now: now) != nil
            try tx.clearConversationState(slot: slot, user: from.id)
            try replies.send(had ? .cancelDone : .cancelNothing, to: from.id, language: language)
        case (_, nil):
            try replies.send(.routeUnregistered, to: from.id, language: language)
        case ("help", .manager?):
            try replies.send(.helpManager, to: from.id, language: language)
        case ("help", .worker?):
            try replies.send(.helpWorker, to: from.id, language: language)
        case ("menu", let role?):
            try replies.send(.menuTitle, to: from.id, language: language, keyboard: menu(role, language))
        case ("workers", .manager?):
            try workers(manager: from.id, language: language, chat: from.id)
        case ("addworker", .manager?):
            try addWorker(manager: from.id, language: language, slot: nil)
        case ("disconnect", .manager?):
            try confirmDisconnect(manager: from.id, language: language)
        case ("task", .manager?):
            guard let user else { return }
            try taskCommand(message, argument: argument, manager: user, language: language)
        case ("tasks", .manager?):
            try managerTasks(from.id, language: language, page: 1)
        case ("tasks", .worker?):
            try workerTasks(from.id, language: language, page: 1)
        case ("all", .manager?):
            guard let user else { return }
            try announce(message, text: argument, manager: user, language: language)
        case ("daily", .manager?):
            guard let user else { return }
            try daily(argument, manager: user, language: language)
        case ("timezone", .manager?):
            guard let user else { return }
            try timeZoneCommand(argument, manager: user, language: language)
        case ("unsend", _?):
            guard let user, let message else { return }
            try unsend(message, user: user, language: language)
        case ("check", _?):
            guard let user, let message else { return }
            try check(message, user: user, language: language)
        case ("glossary", .manager?):
            guard let user else { return }
            try glossaryCommand(argument, manager: user, language: language)
        case ("glossary", .worker?):
            try replies.send(.glossaryManagersOnly, to: from.id, language: language)
        case ("subscription", .manager?):
            try subscription(manager: from.id, language: language)
        case ("subscription", .worker?):
            try replies.send(.subscriptionWorker, to: from.id, language: language)
        case ("refer", .manager?):
            try refer(manager: from.id, language: language)
        case ("refer", .worker?):
            try replies.send(.referManagersOnly, to: from.id, language: language)
        case ("feedback", _?):
            guard let user else { return }
            try feedbackCommand(argument, user: user, language: language)
        case ("settings", _?):
            guard let user else { return }
            try replies.tell(.settingsTitle, to: from.id, language: language, keyboard: settingsKeyboard(user, language: language))
        case ("language", _?):
            try startFlow("language", step: "choose", user: from.id)
            try replies.send(.languageChoose, to: from.id, language: language, keyboard: languagePicker(prefix: "lang"))
        case ("reset", let role?):
            try startFlow("reset", step: "confirm", user: from.id)
            try replies.send(role == .manager ? .resetConfirmManager : .resetConfirmWorker, to: from.id, language: language,
                             keyboard: yesNo("reset", language))
        case (_, .worker?):
            try replies.send(.helpWorker, to: from.id, language: language)
        case (_, .manager?):
            try replies.send(.helpManager, to: from.id, language: language)
        }
    }

    func start(_ payload: StartPayload, from: TelegramUser, role: Role?, language: String) throws {
        switch payload {
        case let .invite(inviteSlot, token):
            try beginJoin(inviteSlot: inviteSlot, token: token, from: from, role: role, language: language)
        case .malformedInvite:
            try replies.send(.joinInvalid, to: from.id, language: language)
        case .referral, .none:
            if let role {
                try replies.send(role == .manager ? .helpManager : .helpWorker, to: from.id, language: language,
                                 keyboard: menu(role, language))
                return
            }
            var data = FlowData()
            if case let .referral(code) = payload { data.referral = code }
            try startFlow("register", step: "language", user: from.id, data: data)
            try replies.send(.startChooseLanguage, to: from.id, language: language, keyboard: languagePicker(prefix: "reg:lang"))
        }
    }

    // MARK: Button presses

    func callback(_ query: CallbackQuery) throws {
        let from = query.from
        guard let data = query.data, let message = query.message, message.date != 0 else {
            try replies.answer(query, localizer.text(.routeExpiredButton, from.languageCode ?? "en"))
            return
        }
        let user = try tx.user(from.id)
        let language = user?.language ?? uiLanguage(from)
        let parts = data.split(separator: ":").map(String.init)
        let state = try tx.conversationState(slot: slot, user: from.id, now: now)
        let chat = message.chat.id
        func expired() throws { try replies.answer(query, localizer.text(.routeExpiredButton, language)) }

        switch parts.first {
        case "reg" where state?.flow == "register" && parts.count == 3:
            try registrationStep(query, state: state!, field: parts[1], value: parts[2], chat: chat, message: message.messageID)
        case "join" where state?.flow == "join" && parts.count == 3:
            try joinStep(query, state: state!, field: parts[1], value: parts[2], chat: chat, message: message.messageID)
        case "lang" where state?.flow == "language" && parts.count == 2 && Language.named(parts[1]) != nil && user != nil:
            try tx.setLanguage(of: from.id, to: parts[1], now: now)
            try tx.clearConversationState(slot: slot, user: from.id)
            try replies.answer(query)
            let name = Language.named(parts[1])!.nativeName
            try replies.edit(chat: chat, message: message.messageID, text: localizer.text(.languageChanged, parts[1], ["language": name]))
        case "task", "tasks", "ack":
            if try !workCallback(parts, query: query, message: message, language: language) { try expired() }
        case "orig" where parts.count == 2:
            try showOriginal(parts[1], query: query, message: message, language: language)
        case "set" where parts.count == 2 && user != nil:
            try toggleSetting(parts[1], user: user!, query: query, message: message, language: language)
        case "menu" where parts.count == 2:
            try replies.answer(query)
            try menuAction(parts[1], from: from, language: language)
        case "inv" where parts.count == 2:
            guard let number = Int(parts[1]), let target = BotSlot(number), try tx.role(of: from.id) == .manager else { return try expired() }
            try replies.answer(query)
            try addWorker(manager: from.id, language: language, slot: target)
        case "disc" where state?.flow == "disconnect":
            try tx.clearConversationState(slot: slot, user: from.id)
            try replies.answer(query)
            guard parts.count == 3, parts[1] == "yes", let connectionID = state?.flowData.connectionID, Int64(parts[2]) == connectionID else {
                return try replies.edit(chat: chat, message: message.messageID, text: localizer.text(.cancelDone, language))
            }
            try disconnect(connectionID, manager: from.id, language: language, chat: chat, message: message.messageID)
        case "reset" where state?.flow == "reset" && parts.count == 2:
            try tx.clearConversationState(slot: slot, user: from.id)
            try replies.answer(query)
            guard parts[1] == "yes" else {
                return try replies.edit(chat: chat, message: message.messageID, text: localizer.text(.cancelDone, language))
            }
            try reset(user: from.id, language: language, chat: chat, message: message.messageID)
        default:
            try expired()
        }
    }

    func menuAction(_ action: String, from: TelegramUser, language: String) throws {
        let role = try tx.role(of: from.id)
        switch (action, role) {
        case ("workers", .manager?): try workers(manager: from.id, language: language, chat: from.id)
        case ("add", .manager?): try addWorker(manager: from.id, language: language, slot: nil)
        case ("tasks", .manager?): try managerTasks(from.id, language: language, page: 1)
        case ("tasks", .worker?): try workerTasks(from.id, language: language, page: 1)
        case ("announce", .manager?):
            guard let user = try tx.user(from.id) else { return }
            try announce(nil, text: nil, manager: user, language: language)
        case ("help", .manager?): try replies.send(.helpManager, to: from.id, language: language)
        case ("help", .worker?): try replies.send(.helpWorker, to: from.id, language: language)
        case ("language", _?), ("reset", _?):
            try command(action, argument: nil, from: from, user: try tx.user(from.id), language: language)
        default:
            try replies.send(.routeUnregistered, to: from.id, language: language)
        }
    }

    // MARK: Registration (manager)

    func registrationStep(_ query: CallbackQuery, state: ConversationState, field: String, value: String, chat: Int64, message: Int64) throws {
        var data = state.flowData
        switch (state.step, field) {
        case ("language", "lang") where Language.named(value) != nil:
            try languageChosen(query, state: state, language: value, prompt: .startChooseGender, flow: "reg", chat: chat, message: message)
        case ("gender", "gender") where Gender(rawValue: value) != nil:
            data.gender = value
            try advance(state, to: "industry", data: data)
            try replies.answer(query)
            let language = data.language ?? "en"
            let buttons = Industry.all.map { InlineKeyboardButton(text: localizer.text($0.key, language), callbackData: "reg:ind:\($0.id)") }
            try replies.edit(chat: chat, message: message, text: localizer.text(.startChooseIndustry, language), keyboard: InlineKeyboardMarkup(buttons.chunked(2)))
        case ("industry", "ind") where Industry.all.contains(where: { $0.id == value }):
            let language = data.language ?? "en"
            let profile = UserProfile(
                id: query.from.id, displayName: displayName(query.from), username: query.from.username,
                language: language, gender: Gender(rawValue: data.gender ?? "") ?? .unspecified)
            let manager: Manager
            // Only a manager registering for the first time counts as referred (not one back after /reset).
            let isNew = try tx.manager(query.from.id) == nil
            do {
                manager = try tx.registerManager(profile, industry: value, homeSlot: slot, now: now)
            } catch DomainError.roleConflict {
                // Joined a team as a worker (in another bot) while this registration was open.
                try tx.clearConversationState(slot: slot, user: query.from.id)
                try replies.answer(query)
                return try replies.edit(chat: chat, message: message, text: localizer.text(.registerAlreadyWorker, language))
            }
            try tx.clearConversationState(slot: slot, user: query.from.id)
            try replies.answer(query)
            // A new team starts with its trade's terms (the manager edits them with /glossary).
            if isNew { try tx.seedGlossary(manager: manager.id, entries: StarterGlossary.entries(industry: value), now: now) }
            if isNew, let code = data.referral { try referred(profile, code: code) }
            try replies.edit(chat: chat, message: message,
                             text: localizer.text(.managerRegistered, language, ["name": profile.displayName, "code": manager.code]),
                             keyboard: menu(.manager, language))
        default:
            try replies.answer(query, localizer.text(.routeExpiredButton, data.language ?? "en"))
        }
    }

    // MARK: Invites

    func addWorker(manager: Int64, language: String, slot requested: BotSlot?) throws {
        let configured = context.bots.keys.sorted()
        let taken = Set(try tx.activeConnections(manager: manager).keys)
        guard let target = requested.flatMap({ configured.contains($0) && !taken.contains($0) ? $0 : nil })
            ?? (requested == nil ? configured.first(where: { !taken.contains($0) }) : nil),
            let bot = context.bots[target]
        else {
            try replies.send(.inviteNoFreeSlot, to: manager, language: language)
            return
        }
        let invite = try tx.createInvite(manager: manager, slot: target, now: now)
        let link = "https://t.me/\(bot.username)?start=\(StartPayload.encodeInvite(slot: target, token: invite.token))"
        try replies.send(.inviteCreated, to: manager, language: language,
                         ["slot": "\(target.number)", "link": link, "bot": bot.username])
        // If the manager already has a chat with that slot's bot, it greets them there.
        if target != slot, try tx.hasBotChat(slot: target, user: manager) {
            try replies.send(.inviteSlotGreeting, to: manager, language: language, ["slot": "\(target.number)"], slot: target)
        }
    }

    // MARK: Joining (worker)

    func beginJoin(inviteSlot: BotSlot, token: String, from: TelegramUser, role: Role?, language: String) throws {
        guard inviteSlot == slot else {
            try replies.send(.joinWrongBot, to: from.id, language: language)
            return
        }
        guard let invite = try tx.invite(token: token), invite.botSlot == slot,
              let manager = try tx.user(invite.managerID),
              try tx.manager(invite.managerID).map({ !$0.isDeleted }) == true
        else {
            try replies.send(.joinInvalid, to: from.id, language: language)
            return
        }
        if let problem = try joinProblem(invite, worker: from.id, role: role) {
            try replies.send(problem.key, to: from.id, language: language, problem.values)
            return
        }
        try startFlow("join", step: "language", user: from.id, data: FlowData(inviteToken: token))
        try replies.send(.joinChooseLanguage, to: from.id, language: language, ["manager": manager.displayName],
                         keyboard: languagePicker(prefix: "join:lang"))
    }

    /// Why `worker` cannot use `invite` now, if they cannot.
    func joinProblem(_ invite: Invite, worker: Int64, role: Role?) throws -> (key: TextKey, values: [String: String])? {
        if invite.managerID == worker { return (.joinOwnLink, [:]) }
        if role == .manager { return (.joinManagerCannotJoin, [:]) }
        if let existing = try tx.activeConnection(worker: worker) {
            let manager = try tx.user(existing.managerID)?.displayName ?? "?"
            return (.joinAlreadyConnected, ["manager": manager])
        }
        switch invite.status {
        case .used: return (.joinUsed, [:])
        case .revoked: return (.joinRevoked, [:])
        case .active where invite.expiresAt <= now: return (.joinExpired, [:])
        case .active: break
        }
        if try tx.activeConnection(manager: invite.managerID, slot: invite.botSlot) != nil {
            return (.joinSlotTaken, [:])
        }
        return nil
    }

    func joinStep(_ query: CallbackQuery, state: ConversationState, field: String, value: String, chat: Int64, message: Int64) throws {
        let data = state.flowData
        switch (state.step, field) {
        case ("language", "lang") where Language.named(value) != nil:
            try languageChosen(query, state: state, language: value, prompt: .joinChooseGender, flow: "join", chat: chat, message: message)
        case ("gender", "gender") where Gender(rawValue: value) != nil:
            try replies.answer(query)
            try tx.clearConversationState(slot: slot, user: query.from.id)
            let language = data.language ?? "en"
            let profile = UserProfile(id: query.from.id, displayName: displayName(query.from), username: query.from.username,
                                      language: language, gender: Gender(rawValue: value) ?? .unspecified)
            try join(profile, token: data.inviteToken ?? "", chat: chat, message: message)
        default:
            try replies.answer(query, localizer.text(.routeExpiredButton, data.language ?? "en"))
        }
    }

    /// Registers the worker, connects them and uses the invite up, all or nothing.
    func join(_ profile: UserProfile, token: String, chat: Int64, message: Int64) throws {
        let language = profile.language
        guard let invite = try tx.invite(token: token) else {
            return try replies.edit(chat: chat, message: message, text: localizer.text(.joinInvalid, language))
        }
        if let problem = try joinProblem(invite, worker: profile.id, role: try tx.role(of: profile.id)) {
            return try replies.edit(chat: chat, message: message, text: localizer.text(problem.key, language, problem.values))
        }
        var outcome: TextKey = .joinSlotTaken
        var values: [String: String] = [:]
        _ = try tx.savepointUnlessNil { () -> Void? in
            do {
                try tx.registerWorker(profile, now: now)
                try tx.connect(manager: invite.managerID, worker: profile.id, slot: invite.botSlot, now: now)
                try tx.useInvite(invite.id, by: profile.id, now: now)
                outcome = .joinConnected
                return ()
            } catch is SlotOccupied {
                outcome = .joinSlotTaken
            } catch let error as WorkerAlreadyConnected {
                outcome = .joinAlreadyConnected
                values["manager"] = try tx.user(error.existing.managerID)?.displayName ?? "?"
            } catch DomainError.roleConflict {
                outcome = .joinManagerCannotJoin
            }
            return nil
        }
        guard outcome == .joinConnected, let manager = try tx.user(invite.managerID) else {
            return try replies.edit(chat: chat, message: message, text: localizer.text(outcome, language, values))
        }
        try replies.edit(chat: chat, message: message, text: localizer.text(.joinConnected, language, ["manager": manager.displayName]))
        try notifyManager(manager, .joinNotifyManager, about: invite.botSlot, ["worker": profile.displayName])
    }

    /// Tells the manager something about a slot: in that slot's chat if they have one, else in their home bot.
    func notifyManager(_ manager: User, _ key: TextKey, about target: BotSlot, _ values: [String: String]) throws {
        var values = values
        values["slot"] = "\(target.number)"
        values["bot"] = context.bots[target]?.username ?? "?"
        let home = try tx.manager(manager.id)?.homeSlot
        let via: BotSlot? = if try tx.hasBotChat(slot: target, user: manager.id), context.bots[target] != nil { target }
            else if let home, context.bots[home] != nil, try tx.hasBotChat(slot: home, user: manager.id) { home }
            else { nil }
        guard let via else { return }
        try replies.send(key, to: manager.id, language: manager.language, values, slot: via)
    }

    // MARK: Workers list

    func workers(manager: Int64, language: String, chat: Int64) throws {
        let active = try tx.activeConnections(manager: manager)
        let timeZone = try tx.manager(manager).flatMap { TimeZone(identifier: $0.timeZone) } ?? .gmt
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = timeZone
        var lines = [localizer.text(.workersTitle, language)]
        var buttons: [InlineKeyboardButton] = []
        for slot in BotSlot.all {
            let number = "\(slot.number)"
            if let connection = active[slot], let worker = try tx.user(connection.workerID) {
                lines.append(localizer.text(.workersSlotTaken, language, [
                    "slot": number, "name": worker.displayName,
                    "language": Language.named(worker.language)?.nativeName ?? worker.language,
                    "date": formatter.string(from: connection.connectedAt),
                ]))
            } else if context.bots[slot] != nil {
                lines.append(localizer.text(.workersSlotFree, language, ["slot": number]))
                buttons.append(InlineKeyboardButton(text: localizer.text(.workersInviteButton, language, ["slot": number]), callbackData: "inv:\(number)"))
            } else {
                lines.append(localizer.text(.workersSlotNoBot, language, ["slot": number]))
            }
        }
        try context.send(SendMessage(chatID: .id(chat), text: lines.joined(separator: "\n"),
                                     replyMarkup: buttons.isEmpty ? nil : .inline(InlineKeyboardMarkup(buttons.chunked(1)))), chatID: chat)
    }

    // MARK: Disconnect

    func confirmDisconnect(manager: Int64, language: String) throws {
        guard let connection = try tx.activeConnection(manager: manager, slot: slot),
              let worker = try tx.user(connection.workerID)
        else {
            try replies.send(.disconnectNobody, to: manager, language: language)
            return
        }
        try startFlow("disconnect", step: "confirm", user: manager, data: FlowData(connectionID: connection.id))
        let keyboard = InlineKeyboardMarkup([[
            InlineKeyboardButton(text: localizer.text(.buttonYes, language), callbackData: "disc:yes:\(connection.id)"),
            InlineKeyboardButton(text: localizer.text(.buttonNo, language), callbackData: "disc:no"),
        ]])
        try replies.send(.disconnectConfirm, to: manager, language: language, ["worker": worker.displayName, "slot": "\(slot.number)"], keyboard: keyboard)
    }

    func disconnect(_ connectionID: Int64, manager: Int64, language: String, chat: Int64, message: Int64) throws {
        guard let connection = try tx.connection(connectionID), connection.managerID == manager, connection.isActive,
              let worker = try tx.user(connection.workerID), let managerUser = try tx.user(manager)
        else {
            return try replies.edit(chat: chat, message: message, text: localizer.text(.disconnectNobody, language))
        }
        try tx.disconnect(connectionID, now: now)
        try replies.edit(chat: chat, message: message, text: localizer.text(.disconnectDone, language, ["worker": worker.displayName, "slot": "\(connection.slot.number)"]))
        try replies.send(.disconnectNotifyWorker, to: worker.id, language: worker.language, ["manager": managerUser.displayName], slot: connection.slot)
    }

    // MARK: Reset

    func reset(user id: Int64, language: String, chat: Int64, message: Int64) throws {
        guard let user = try tx.user(id), let role = try tx.role(of: id) else {
            return try replies.edit(chat: chat, message: message, text: localizer.text(.resetDone, language))
        }
        switch role {
        case .manager:
            for connection in try tx.deleteManager(id, now: now) {
                guard let worker = try tx.user(connection.workerID) else { continue }
                // Through the bot the worker talks to: the connection's slot.
                try replies.send(.resetNotifyWorker, to: worker.id, language: worker.language, ["manager": user.displayName], slot: connection.slot)
            }
        case .worker:
            if let connection = try tx.deleteWorker(id, now: now), let manager = try tx.user(connection.managerID) {
                try notifyManager(manager, .resetNotifyManager, about: connection.slot, ["worker": user.displayName])
            }
        }
        try tx.clearConversationStates(user: id)
        try replies.edit(chat: chat, message: message, text: localizer.text(.resetDone, language))
    }

    // MARK: Pieces

    /// The first step of registration and of joining: remember the language, then ask, in it, how to be addressed.
    func languageChosen(_ query: CallbackQuery, state: ConversationState, language: String, prompt: TextKey, flow: String, chat: Int64, message: Int64) throws {
        var data = state.flowData
        data.language = language
        try advance(state, to: "gender", data: data)
        try replies.answer(query)
        try replies.edit(chat: chat, message: message, text: localizer.text(prompt, language), keyboard: genderPicker(flow, language))
    }

    func startFlow(_ flow: String, step: String, user: Int64, data: FlowData = FlowData()) throws {
        let json = String(decoding: try JSONEncoder().encode(data), as: UTF8.self)
        try tx.saveConversationState(ConversationState(
            botSlot: slot, userID: user, flow: flow, step: step, data: json,
            updatedAt: now, expiresAt: now.addingTimeInterval(ConversationStates.lifetime)))
    }

    func advance(_ state: ConversationState, to step: String, data: FlowData) throws {
        var state = state
        state.step = step
        state.data = String(decoding: try JSONEncoder().encode(data), as: UTF8.self)
        state.updatedAt = now
        state.expiresAt = now.addingTimeInterval(ConversationStates.lifetime)
        try tx.saveConversationState(state)
    }

    func languagePicker(prefix: String) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup(Language.all.map { InlineKeyboardButton(text: $0.nativeName, callbackData: "\(prefix):\($0.code)") }.chunked(2))
    }

    func genderPicker(_ flow: String, _ language: String) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup([
            [InlineKeyboardButton(text: localizer.text(.genderFemale, language), callbackData: "\(flow):gender:female"),
             InlineKeyboardButton(text: localizer.text(.genderMale, language), callbackData: "\(flow):gender:male")],
            [InlineKeyboardButton(text: localizer.text(.genderUnspecified, language), callbackData: "\(flow):gender:unspecified")],
        ])
    }

    func yesNo(_ prefix: String, _ language: String) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup([[
            InlineKeyboardButton(text: localizer.text(.buttonYes, language), callbackData: "\(prefix):yes"),
            InlineKeyboardButton(text: localizer.text(.buttonNo, language), callbackData: "\(prefix):no"),
        ]])
    }

    func menu(_ role: Role, _ language: String) -> InlineKeyboardMarkup {
        let button = { (key: TextKey, action: String) in InlineKeyboardButton(text: localizer.text(key, language), callbackData: "menu:\(action)") }
        switch role {
        case .manager:
            return InlineKeyboardMarkup([
                [button(.menuWorkers, "workers"), button(.menuAddWorker, "add")],
                [button(.menuTasks, "tasks"), button(.menuAnnounce, "announce")],
                [button(.menuLanguage, "language"), button(.menuHelp, "help")],
                [button(.menuReset, "reset")],
            ])
        case .worker:
            return InlineKeyboardMarkup([[button(.menuTasks, "tasks")], [button(.menuLanguage, "language"), button(.menuHelp, "help")],
                                         [button(.menuReset, "reset")]])
        }
    }

    /// Telegram's language for the person, if BridgeOS speaks it.
    func uiLanguage(_ user: TelegramUser) -> String {
        user.languageCode.flatMap(Language.named)?.code ?? "en"
    }

    /// The name people see, cleaned: control characters and bidi embeddings, overrides and isolates dropped
    /// (they can make a name display as something else); emoji sequences and RTL marks are kept.
    func displayName(_ user: TelegramUser) -> String {
        let bidiControls: ClosedRange<UInt32> = 0x202A...0x202E
        let bidiIsolates: ClosedRange<UInt32> = 0x2066...0x2069
        let cleaned = String(String.UnicodeScalarView(user.fullName.unicodeScalars.filter {
            $0.properties.generalCategory != .control && !bidiControls.contains($0.value) && !bidiIsolates.contains($0.value)
        })).trimmingCharacters(in: .whitespacesAndNewlines)
        let bounded = String(cleaned.unicodeScalars.prefix(128).map(Character.init))
        return bounded.isEmpty ? (user.username ?? "User \(user.id)") : bounded
    }
}
