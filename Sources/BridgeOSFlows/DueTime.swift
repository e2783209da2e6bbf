import Foundation

/// The due time a manager wrote at the end of a task ("fix the door by 17:00", "… tomorrow", "… tomorrow
/// at 9"), understood in the manager's time zone. A time of day that has passed today means tomorrow; a
/// day without a time means 18:00 that day. The words for today and tomorrow are known in BridgeOS's
/// languages; anything else is no due time (the task is still given, without one).
public enum DueTime {
    /// The hour a day without a time stands for.
    static let endOfWorkingDay = 18

    static let tomorrowWords: Set<String> = [
        "tomorrow", "mañana", "manana", "завтра", "amanhã", "amanha", "jutro", "mâine", "maine", "غدا", "غداً", "कल",
        "明天", "mai", "ngày mai", "yarın", "yarin", "demain", "morgen",
    ]
    static let todayWords: Set<String> = [
        "today", "hoy", "сегодня", "сьогодні", "hoje", "dziś", "dzisiaj", "azi", "اليوم", "आज", "今天", "hôm nay",
        "bugün", "bugun", "aujourd'hui", "heute", "tonight",
    ]

    /// The due time in `text`, if it ends with one.
    public static func parse(_ text: String, now: Date, timeZone: TimeZone) -> Date? {
        var lowered = text.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
        while let last = lowered.last, ".!?。,;".contains(last) { lowered.removeLast() }
        var words = lowered.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        guard !words.isEmpty else { return nil }
        var time: (hour: Int, minute: Int)?
        var day: Int?
        // Up to three trailing words: a time, a day word (one or two words), in either order.
        for _ in 0..<3 {
            guard let last = words.last else { break }
            if time == nil, let parsed = clockTime(last) {
                time = parsed
                words.removeLast()
            } else if day == nil, words.count >= 2, let offset = dayOffset(words[words.count - 2] + " " + last) {
                day = offset
                words.removeLast(2)
            } else if day == nil, let offset = dayOffset(last) {
                day = offset
                words.removeLast()
            } else {
                break
            }
        }
        guard time != nil || day != nil else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let today = calendar.startOfDay(for: now)
        let start = calendar.date(byAdding: .day, value: day ?? 0, to: today) ?? today
        let (hour, minute) = time ?? (endOfWorkingDay, 0)
        guard var due = calendar.date(bySettingHour: hour, minute: minute, second: 0, of: start) else { return nil }
        if due <= now {
            if day == nil, time != nil {
                due = calendar.date(byAdding: .day, value: 1, to: due) ?? due
            } else if day == 0 {
                // "today" late in the day: the end of it.
                due = calendar.date(bySettingHour: 23, minute: 59, second: 0, of: start) ?? due
                if due <= now { return nil }
            }
        }
        return due
    }

    static func dayOffset(_ word: String) -> Int? {
        if tomorrowWords.contains(word) { return 1 }
        if todayWords.contains(word) { return 0 }
        return nil
    }

    /// "17:00", "17.30", "9h", "9am", "5pm", "17h30".
    static func clockTime(_ word: String) -> (hour: Int, minute: Int)? {
        var text = word
        var offset = 0
        if text.hasSuffix("am") || text.hasSuffix("pm") {
            offset = text.hasSuffix("pm") ? 12 : 0
            text.removeLast(2)
            guard let hour = Int(text), (1...12).contains(hour) else { return nil }
            return ((hour % 12) + offset, 0)
        }
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == "." || $0 == "h" }).map(String.init)
        let hasSeparator = text.contains(":") || text.contains(".") || text.contains("h")
        guard hasSeparator, (1...2).contains(parts.count), parts.allSatisfy({ $0.allSatisfy(\.isASCII) }),
              let hour = Int(parts[0]), (0...23).contains(hour), parts[0].count <= 2
        else { return nil }
        if parts.count == 1 { return text.hasSuffix("h") ? (hour, 0) : nil }
        guard parts[1].count == 2, let minute = Int(parts[1]), (0...59).contains(minute) else { return nil }
        return (hour, minute)
    }
}
