import BridgeOSCore
import BridgeOSOperations
import BridgeOSStorage
import Foundation
import Hummingbird

/// The system page: version, schema, database and WAL size, free disk, the last backup, slots and alerts.
extension Dashboard {
    struct SystemView {
        var chrome: Chrome
        var version: String, schemaVersion: Int, lastMigration: String, databaseSize: String, walSize: String, freeDisk: String
        var lastBackup: String, outbox: String, jobs: String, translation: String, started: String
        var slots: [SlotView]
        var alerts: [AlertView]
    }

    func system(_ request: Request, _ context: DashboardContext) throws -> Response {
        let facts = try database.dashboard.system()
        let active = try database.dashboard.activeConnectionsBySlot()
        let now = database.clock.now()
        var chrome = chrome("System", context)
        chrome.system = true
        let disk = DiskSpace.available(at: settings.dataDirectory)
        let backup: String = if let status = BackupStatus.read(in: settings.backupDirectory) {
            status.ok ? "\(status.at) (\(status.reason)), \(status.path ?? "")" : "FAILED \(status.at): \(status.error ?? "unknown error")"
        } else {
            "none yet (in \(settings.backupDirectory))"
        }
        let translation = health.snapshot
        let view = SystemView(
            chrome: chrome, version: BridgeOSVersion.current, schemaVersion: facts.schemaVersion, lastMigration: facts.lastMigration ?? "",
            databaseSize: Format.bytes(DiskSpace.fileSize(settings.databasePath)), walSize: Format.bytes(DiskSpace.fileSize(settings.databasePath + "-wal") ?? 0),
            freeDisk: disk.map { "\(Format.bytes($0.free)) of \(Format.bytes($0.total))" } ?? "unknown",
            lastBackup: backup,
            outbox: facts.outbox.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
            jobs: "\(facts.jobsWaiting) waiting" + (facts.oldestJob.map { ", oldest queued \(Format.ago($0, now: now))" } ?? ""),
            translation: "\(translation.translations) attempts since start, \(Format.percent(translation.translationErrorRate)) failed"
                + (translation.lastTranslationSuccess.map { "; last success \(Format.ago($0, now: now))" } ?? ""),
            started: Format.time(settings.started), slots: slotViews(active: active), alerts: try alertViews(activeOnly: false))
        return render(view, "system")
    }
}
