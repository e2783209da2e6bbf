import Foundation
import GRDB
import Testing
@testable import BridgeOSStorage

/// The arithmetic timestamp binding must write exactly what GRDB's `Date` binding writes, so old and new
/// rows compare and sort as one.
@Suite struct StoreDateTests {
    @Test func matchesGRDBsFormatAcrossTheCalendar() throws {
        var generator = SystemRandomNumberGenerator()
        var dates: [Date] = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -0.001), Date(timeIntervalSince1970: 951_782_400),  // 2000-02-29
            Date(timeIntervalSince1970: 4_107_542_399.999), Date(timeIntervalSince1970: -2_208_988_800),  // 1900-01-01
            Date(timeIntervalSince1970: 1_796_083_199.5), Date(timeIntervalSince1970: 1_764_633_600.123_456),
        ]
        for _ in 0..<2000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: -3_000_000_000...5_000_000_000, using: &generator)))
        }
        for date in dates {
            let grdb = try #require(String.fromDatabaseValue(date.databaseValue))
            #expect(StoreDate.text(date) == grdb, "\(date.timeIntervalSince1970)")
        }
    }

    @Test func readsBackAsTheSameMillisecond() throws {
        let queue = try DatabaseQueue()
        let date = Date(timeIntervalSince1970: 1_796_083_199.987)
        let read = try queue.read { try Date.fetchOne($0, sql: "SELECT ?", arguments: [StoreDate(date)]) }
        #expect(read.map { abs($0.timeIntervalSince(date)) < 0.001 } == true)
    }
}
