import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// How a translated message with a purpose is delivered: under a header in the reader's language, with
/// its buttons; a followed one (a receipt) reports when Telegram took it.
struct WorkDelivery {
    let localizer: Localizer

    struct Composed {
        var text: String
        var entities: [MessageEntity]?
        var keyboard: InlineKeyboardMarkup?
        var reportDelivery = false
    }

    func compose(_ purpose: RelayPurpose?, text: String, entities: [MessageEntity]?, recipient: User, connection: Connection,
                 context: IntakeContext) throws -> Composed {
        let tx = context.tx
        let language = recipient.language
        guard let purpose else { return Composed(text: text, entities: entities) }
        switch purpose {
        case let .task(id):
            try tx.setTaskTranslation(id, to: text)
            var footer: String?
            if let due = try tx.task(id)?.dueAt {
                let zone = try WorkClock.timeZone(manager: connection.managerID, tx)
                footer = localizer.text(.taskDueLine, language, ["due": WorkClock.due(due, language: language, timeZone: zone, now: context.now)])
            }
            return framed(text, entities: entities, header: localizer.text(.taskHeader, language), footer: footer,
                          keyboard: WorkButtons.task(id, language: language, localizer))
        case let .confirmation(receiptID), let .announcement(receiptID):
            let receipt = try tx.receipt(receiptID)
            let keyboard = receipt?.needsConfirmation == true ? WorkButtons.confirm(receiptID, language: language, localizer) : nil
            let header: String? = if case .announcement = purpose { localizer.text(.announceHeader, language) } else { nil }
            var composed = framed(text, entities: entities, header: header, footer: nil, keyboard: keyboard)
            composed.reportDelivery = receipt != nil
            return composed
        case let .taskDeclined(id):
            let worker = try tx.user(connection.workerID)?.displayName ?? "?"
            let task = try tx.task(id).map { shortQuote($0.description, limit: 60) } ?? ""
            return framed(text, entities: entities, header: localizer.text(.taskCantNotify, language, ["worker": worker, "task": task]),
                          footer: nil, keyboard: nil)
        }
    }

    /// `text` between a header and a footer line, its entities moved along.
    func framed(_ text: String, entities: [MessageEntity]?, header: String?, footer: String?, keyboard: InlineKeyboardMarkup?) -> Composed {
        let prefix = header.map { $0 + "\n" } ?? ""
        let shift = prefix.utf16.count
        let moved = entities?.map { entity -> MessageEntity in
            var entity = entity
            entity.offset += shift
            return entity
        }
        return Composed(text: prefix + text + (footer.map { "\n" + $0 } ?? ""), entities: moved, keyboard: keyboard)
    }
}
