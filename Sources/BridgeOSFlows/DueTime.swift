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
        "明天", "ngày mai", "yarın", "yarin", "demain", "morgen",
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
        // From the end: a time and a day word, in either order, with the small words between them ("tomorrow
        // at 9", "mañana a las 9:00", "завтра в 9:00"). A bare hour or "9.30" counts only after such a word.
        while let last = words.last {
            let before = words.count >= 2 ? words[words.count - 2] : nil
            let afterConnector = before.map { connectors.contains($0) } ?? false
            if time == nil, let parsed = clockTime(last, loose: afterConnector) {
                time = parsed
                words.removeLast()
            } else if day == nil, let before, let offset = dayOffset(before + " " + last) {
                day = offset
                words.removeLast(2)
            } else if day == nil, let offset = dayOffset(last) {
                day = offset
                words.removeLast()
            } else if time != nil || day != nil, connectors.contains(last) {
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

    /// Words that join a task to its due time: "by", "at", "a las", "в", "à", "um", "lúc", …
    static let connectors: Set<String> = [
        "by", "at", "until", "before", "till", "a", "las", "la", "antes", "de", "para", "hasta", "à", "às", "ate", "até", "avant",
        "um", "bis", "gegen", "в", "до", "к", "о", "na", "do", "o", "pe", "până", "la ora", "lúc", "trước", "saat", "kadar", "في",
        "قبل", "बजे", "तक", "前", "在",
    ]

    static func dayOffset(_ word: String) -> Int? {
        if tomorrowWords.contains(word) { return 1 }
        if todayWords.contains(word) { return 0 }
        return nil
    }

    /// "17:00", "9h", "17h30", "9am", "5pm"; after a connector word also "9" and "17.30" (alone they are
    /// more likely a quantity: "3.50", "25").
    static func clockTime(_ word: String, loose: Bool = false) -> (hour: Int, minute: Int)? {
        var text = word
        if text.hasSuffix("am") || text.hasSuffix("pm") {
            let offset = text.hasSuffix("pm") ? 12 : 0
            text.removeLast(2)
            guard let hour = Int(text), (1...12).contains(hour) else { return nil }
            return ((hour % 12) + offset, 0)
        }
        guard text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ":" || $0 == "." || $0 == "h") }) else { return nil }
        if loose, let hour = Int(text), (0...23).contains(hour), text.count <= 2 { return (hour, 0) }
        let separators: Set<Character> = loose ? [":", ".", "h"] : [":", "h"]
        guard let separator = text.first(where: { separators.contains($0) }) else { return nil }
        let parts = text.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, let hour = Int(parts[0]), (0...23).contains(hour), (1...2).contains(parts[0].count) else { return nil }
        if parts[1].isEmpty { return separator == "h" ? (hour, 0) : nil }
        guard parts[1].count == 2, let minute = Int(parts[1]), (0...59).contains(minute) else { return nil }
        return (hour, minute)
    }
}
