import BridgeOSFlows
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation
import Hummingbird

/// The HTML of the `/sandbox` web chat.
struct SandboxPage {
    let sandbox: BotAPISandbox
    let user: Int64?
    let bot: Int
    var problem: String? = nil

    func render() -> String {
        let people = sandbox.users
        let current = people.first { $0.id == user }
        let chosenBot = sandbox.bots[min(max(bot, 1), sandbox.bots.count) - 1]
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>BridgeOS sandbox</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>\(Self.style)</style></head><body>
            <header><b>BridgeOS sandbox</b> — simulated Telegram for <code>bridgeos demo --interactive</code>. \
            Everything here runs through the real appliance and its database.</header>
            <div class="layout"><aside><h2>People</h2><ul id="people">
            """
        for person in people {
            let selected = person.id == user ? " class=\"current\"" : ""
            page += "<li\(selected)><a href=\"/sandbox?user=\(person.id)&bot=\(bot)\">\(escape(person.firstName))</a> <small>\(escape(person.languageCode ?? ""))</small></li>"
        }
        page += """
            </ul><form method="post" action="/sandbox/people" id="add-person">
            <input name="name" placeholder="Name" required maxlength="64">
            <select name="language">\(Language.all.map { "<option value=\"\($0.code)\">\(escape($0.nativeName))</option>" }.joined())</select>
            <button type="submit">Add person</button></form>
            <p class="hint">A person's Telegram language only sets the bot's first guess; each person picks their language in the bot.</p>
            </aside><main>
            """
        if let problem {
            page += "<p class=\"problem\">\(escape(problem))</p>"
        }
        if let current {
            page += "<nav>"
            for (index, candidate) in sandbox.bots.enumerated() {
                let selected = index + 1 == bot ? " class=\"current\"" : ""
                page += "<a\(selected) href=\"/sandbox?user=\(current.id)&bot=\(index + 1)\">@\(escape(candidate.username))</a>"
            }
            let blocked = sandbox.hasBlocked(chosenBot, userID: current.id)
            page += """
                </nav><h2>\(escape(current.firstName))'s chat with @\(escape(chosenBot.username))</h2>
                <div id="chat" data-src="/sandbox/chat?user=\(current.id)&bot=\(bot)" data-version="\(Self.version(of: chat(chosenBot)))">\(chat(chosenBot))</div>
                <form method="post" action="/sandbox/send" id="composer">
                <input type="hidden" name="user" value="\(current.id)"><input type="hidden" name="bot" value="\(bot)">
                <input name="text" id="text" placeholder="Message" autocomplete="off" autofocus maxlength="4096">
                <button type="submit" id="send">Send</button></form>
                <form id="photo-form" data-user="\(current.id)" data-bot="\(bot)">
                <input type="file" id="photo" accept="image/*"><input id="caption" placeholder="Caption (optional)" maxlength="1024">
                <button type="submit">Send photo</button></form>
                <form method="post" action="/sandbox/block" class="inline">
                <input type="hidden" name="user" value="\(current.id)"><input type="hidden" name="bot" value="\(bot)">
                <button type="submit" id="block">\(blocked ? "Unblock" : "Block") @\(escape(chosenBot.username))</button></form>
                """
        } else {
            page += "<p class=\"hint\">Add a person on the left (say, a manager in English and a worker in Spanish), pick them, and send /start to a bot.</p>"
        }
        page += "</main></div><script>\(Self.script)</script></body></html>"
        return page
    }

    /// The chat's messages, both sides, with the bot's buttons as forms and its t.me links as "open as" forms.
    func chat(_ chosenBot: SandboxBot) -> String {
        guard let user else { return "" }
        let people = sandbox.users
        var html = ""
        for entry in sandbox.chat(chosenBot, user) {
            let message = entry.message
            let side = entry.fromBot ? "bot" : "person"
            html += "<div class=\"msg \(side)\" data-id=\"\(message.messageID)\"><div class=\"text\">\(escape(DemoScreens.content(message)))\(message.editDate != nil && entry.fromBot ? " <small>(edited)</small>" : "")</div>"
            if entry.fromBot, let keyboard = message.replyMarkup?.inlineKeyboard {
                html += "<form method=\"post\" action=\"/sandbox/press\" class=\"keyboard\"><input type=\"hidden\" name=\"user\" value=\"\(user)\"><input type=\"hidden\" name=\"bot\" value=\"\(bot)\"><input type=\"hidden\" name=\"message\" value=\"\(message.messageID)\">"
                for row in keyboard {
                    html += "<div class=\"row\">"
                    for button in row {
                        if let data = button.callbackData {
                            html += "<button type=\"submit\" name=\"data\" value=\"\(escape(data))\" class=\"kb\">\(escape(button.text))</button>"
                        } else if let url = button.url, let scheme = URLComponents(string: url)?.scheme?.lowercased(), ["http", "https", "tg"].contains(scheme) {
                            html += "<a class=\"kb\" href=\"\(escape(url))\">\(escape(button.text))</a>"
                        }
                    }
                    html += "</div>"
                }
                html += "</form>"
            }
            if entry.fromBot {
                for link in links(in: message.text ?? "") {
                    html += "<form method=\"post\" action=\"/sandbox/open\" class=\"open-link\"><input type=\"hidden\" name=\"link\" value=\"\(escape(link))\"><input type=\"hidden\" name=\"bot\" value=\"\(bot)\">Open this link as <select name=\"user\">"
                    for person in people {
                        html += "<option value=\"\(person.id)\"\(person.id == user ? "" : " selected")>\(escape(person.firstName))</option>"
                    }
                    html += "</select><button type=\"submit\" class=\"open\">Open</button></form>"
                }
            }
            html += "</div>"
        }
        return html.isEmpty ? "<p class=\"hint\">No messages yet. Send /start.</p>" : html
    }

    static let versionHeader = HTTPFields.Element.Name("X-Chat-Version")!

    /// Changes when the chat's HTML does (within this process), so the page replaces it only then.
    static func version(of html: String) -> String { String(UInt(bitPattern: html.hashValue), radix: 36) }

    /// t.me links to the sandbox's bots.
    func links(in text: String) -> [String] {
        text.split(whereSeparator: \.isWhitespace).map(String.init).filter { word in
            sandbox.bots.contains { word.hasPrefix("https://t.me/\($0.username)") }
        }
    }

    func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    static let style = """
        body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#eef1f4;color:#1b1f23}
        header{background:#2b5278;color:#fff;padding:10px 16px}
        .layout{display:flex;gap:16px;padding:16px}
        aside{width:240px;flex:none}
        main{flex:1;max-width:760px}
        ul{list-style:none;padding:0}li{padding:3px 0}li.current a{font-weight:bold}
        nav a{display:inline-block;margin:0 6px 6px 0;padding:4px 8px;background:#fff;border-radius:6px;text-decoration:none}
        nav a.current{background:#2b5278;color:#fff}
        #chat{background:#d7e3ec;border-radius:8px;padding:10px;min-height:240px;max-height:60vh;overflow:auto}
        .msg{margin:6px 0;max-width:80%;clear:both}
        .msg .text{padding:6px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}
        .msg.bot{float:left}.msg.bot .text{background:#fff}
        .msg.person{float:right}.msg.person .text{background:#e1f7c7}
        #chat::after{content:"";display:block;clear:both}
        .keyboard .row{display:flex;gap:4px;margin-top:4px}
        .kb{flex:1;padding:5px;border:0;border-radius:6px;background:#5b8ab0;color:#fff;cursor:pointer;text-align:center}
        .open-link{font-size:13px;margin-top:4px}
        form{margin:8px 0}#composer input[name=text]{width:70%}
        .hint{color:#586069;font-size:13px}.problem{background:#ffe3e3;padding:6px 10px;border-radius:6px}
        .inline{display:inline}
        """

    /// Refreshes the chat every second (without losing what is typed) and uploads photos.
    static let script = """
        const chat=document.getElementById('chat');
        if(chat){chat.scrollTop=chat.scrollHeight;setInterval(async()=>{
          const r=await fetch(chat.dataset.src,{cache:'no-store'});if(!r.ok)return;
          const version=r.headers.get('X-Chat-Version');if(version===chat.dataset.version)return;
          chat.dataset.version=version;chat.innerHTML=await r.text();chat.scrollTop=chat.scrollHeight;},1000);}
        const photo=document.getElementById('photo-form');
        if(photo){photo.addEventListener('submit',async e=>{e.preventDefault();
          const file=document.getElementById('photo').files[0];if(!file)return;
          const q=new URLSearchParams({user:photo.dataset.user,bot:photo.dataset.bot,caption:document.getElementById('caption').value});
          await fetch('/sandbox/photo?'+q,{method:'POST',body:file});document.getElementById('caption').value='';});}
        """
}
