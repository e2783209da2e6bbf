import BridgeOSCore
import BridgeOSResources
import Foundation
import Hummingbird
import Mustache
import NIOCore

/// The dashboard's templates (`dashboard/*.mustache`, embedded at build time) and stylesheet. `{{value}}` is
/// HTML-escaped by Mustache; the only unescaped output is the chart, which is built from numbers alone.
public struct DashboardTemplates: Sendable {
    let library: MustacheLibrary
    let stylesheet: String

    public static func embedded() throws -> DashboardTemplates {
        var library = MustacheLibrary()
        for path in EmbeddedResources.paths(in: "dashboard") where path.hasSuffix(".mustache") {
            guard let text = EmbeddedResources.text(path) else { continue }
            let name = String(path.dropFirst("dashboard/".count).dropLast(".mustache".count))
            try library.register(text, named: name)
        }
        return DashboardTemplates(library: library, stylesheet: EmbeddedResources.text("dashboard/style.css") ?? "")
    }

    func render(_ view: Any, _ template: String) -> String {
        library.render(view, withTemplate: template) ?? "template \(template) is missing"
    }
}

/// What every page shows around its content: the title, the navigation, the signed-in admin, the CSRF token.
struct Chrome {
    var title: String
    var signedIn = false
    var username = ""
    var csrf = ""
    var notice: String?
    var overview = false, managers = false, feedback = false, subscriptions = false, system = false
}

enum DashboardPage {
    /// Before the templates load (or when they cannot): a plain page, escaped by hand.
    static func errorPage(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let text = "\(status.code) \(status.reasonPhrase): \(message)"
        let body = "<!doctype html><meta charset=\"utf-8\"><title>\(escape(text))</title><p>\(escape(text))</p><p><a href=\"/admin\">Dashboard</a></p>"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }

    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }
}

/// How the dashboard writes times, sizes and rates.
enum Format {
    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        return String(UTCDate(date).storeText.prefix(16)) + " UTC"
    }

    static func day(_ date: Date?) -> String {
        guard let date else { return "" }
        return String(UTCDate(date).storeText.prefix(10))
    }

    static func ago(_ date: Date?, now: Date) -> String {
        guard let date else { return "never" }
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<90: return "\(seconds) s ago"
        case ..<(90 * 60): return "\(seconds / 60) min ago"
        case ..<(48 * 3600): return "\(seconds / 3600) h ago"
        default: return "\(seconds / 86400) days ago"
        }
    }

    static func bytes(_ count: Int64?) -> String {
        guard let count else { return "unknown" }
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f ", value) + units[unit]
    }

    static func percent(_ rate: Double) -> String { String(format: "%.1f %%", rate * 100) }
}

/// An inline SVG bar chart of counts per day (no script, no external file), with its numbers as titles.
enum BarChart {
    static func svg(_ bars: [(label: String, count: Int)]) -> String {
        let width = 600.0, height = 160.0, bottom = 18.0, gap = 2.0
        let top = Double(max(1, bars.map(\.count).max() ?? 1))
        let barWidth = bars.isEmpty ? 0 : (width - gap * Double(bars.count - 1)) / Double(bars.count)
        func n(_ value: Double) -> String { String(format: "%.1f", value) }
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"messages per day\">"
        for (index, bar) in bars.enumerated() {
            let h = (height - bottom - 4) * Double(bar.count) / top
            let x = Double(index) * (barWidth + gap)
            let label = DashboardPage.escape(bar.label)
            svg += "<rect x=\"\(n(x))\" y=\"\(n(height - bottom - h))\" width=\"\(n(barWidth))\" height=\"\(n(h))\"><title>\(label): \(bar.count)</title></rect>"
            if index % 5 == 0 || index == bars.count - 1 {
                svg += "<text x=\"\(n(x))\" y=\"\(n(height - 4))\">\(DashboardPage.escape(String(bar.label.suffix(5))))</text>"
            }
        }
        svg += "<text x=\"0\" y=\"10\">max \(Int(top))</text>"
        return svg + "</svg>"
    }
}
