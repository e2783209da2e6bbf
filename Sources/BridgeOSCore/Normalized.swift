/// Small normalisations used across the appliance, in one place.
public enum LanguageCode {
    /// "pt-BR" → "pt", "EN" → "en": the language without its region or script.
    public static func base(_ code: String) -> String {
        code.lowercased().split(separator: "-").first.map(String.init) ?? code.lowercased()
    }
}

extension String {
    /// A base URL without its trailing slash ("https://api.example.com/v1/" → "https://api.example.com/v1").
    public var withoutTrailingSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}
