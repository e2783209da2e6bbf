import BridgeOSCore
import Foundation
import GRDB

/// A timestamp bound as SQLite text in GRDB's storage format ("yyyy-MM-dd HH:mm:ss.SSS", UTC), formatted by
/// arithmetic: GRDB's own `Date` binding goes through `DateFormatter`, which a profile of the relay showed
/// at 3 % of all CPU. Reads are unchanged (GRDB parses that format itself).
struct StoreDate: DatabaseValueConvertible {
    let date: Date

    init(_ date: Date) { self.date = date }

    var databaseValue: DatabaseValue { Self.text(date).databaseValue }

    static func fromDatabaseValue(_ dbValue: DatabaseValue) -> StoreDate? {
        Date.fromDatabaseValue(dbValue).map(StoreDate.init)
    }

    /// The storage text of `date`, rounded to the millisecond as GRDB's formatter does.
    static func text(_ date: Date) -> String {
        // Foundation's formatter, under GRDB's binding, rounds half a millisecond up: floor(ms + 0.5).
        UTCDate(millisecondsSince1970: Int64((date.timeIntervalSince1970 * 1000 + 0.5).rounded(.down))).storeText
    }
}
