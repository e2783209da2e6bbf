import BridgeOSCore
import Foundation
import Testing

@Suite struct UTCDateTests {
    @Test func agreesWithTheGregorianCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var generator = SystemRandomNumberGenerator()
        let fixed: [Double] = [0, -1, 951_782_400, 951_868_799.5, 4_107_542_399, -2_208_988_800, 1_796_083_199]
        for seconds in fixed + (0..<2000).map({ _ in Double(Int64.random(in: -3_000_000_000...5_000_000_000, using: &generator)) }) {
            let date = Date(timeIntervalSince1970: seconds)
            let fields = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let utc = UTCDate(date)
            let monthStart = calendar.date(from: calendar.dateComponents([.year, .month], from: date))!
            #expect(utc.monthStart == monthStart, "\(seconds)")
            #expect([utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second]
                    == [fields.year, fields.month, fields.day, fields.hour, fields.minute, fields.second].map { Int64($0!) }, "\(seconds)")
        }
    }

    @Test func formats() {
        let date = Date(timeIntervalSince1970: 1_796_083_199.987)  // 2026-11-30 23:59:59.987
        #expect(UTCDate(date).monthText == "2026-11")
        #expect(UTCDate(date).hourText == "2026-11-30 23")
        #expect(UTCDate(date).clockText == "23:59")
        #expect(UTCDate(date).storeText == "2026-11-30 23:59:59.987")
        // The last half millisecond of a month is still that month (fields are cut, not rounded).
        #expect(UTCDate(Date(timeIntervalSince1970: 1_796_083_199.9996)).monthText == "2026-11")
        #expect(UTCDate(Date(timeIntervalSince1970: -62_135_596_800 + 86400 * 365 * 5)).year == 5)
    }
}
