/// Text that comes from outside the program (a model file's op and tensor names, its metadata,
/// a path the user typed) on its way into an error message. Such text may be huge or hold
/// terminal control sequences that would retitle or clear the user's terminal when printed, so
/// it is shown cut to `UntrustedText.limit` characters and with every control character escaped
/// the way Lua's `%q` writes them (`\27`, `\n`, `\t`).
///
///     throw GeoError.format("unknown op '\(untrusted: op)'")
public enum UntrustedText {
    /// The most characters of one untrusted string shown in a message: 200.
    public static let limit = 200

    /// `text` with control characters escaped (C0, DEL, C1, and the Unicode line and
    /// paragraph separators and bidirectional overrides, which reorder a terminal line), cut to
    /// `limit` characters with a note of how many were left out. Escapes are longer than what
    /// they stand for (`\u{202e}` shows one character as 8), so the cut also comes when what is
    /// shown would pass 2 * `limit` characters: text made of escapes is cut as soon.
    public static func sanitized(_ text: String, limit: Int = UntrustedText.limit) -> String {
        var out = ""
        var shown = 0, total = 0, width = 0, cut = false
        for scalar in text.unicodeScalars {
            total += 1
            guard !cut else { continue }
            let e = escaped(scalar)
            guard shown < limit, width + e.count <= 2 * limit else { cut = true; continue }
            shown += 1; width += e.count
            out += e
        }
        if total > shown { out += "...(\(total - shown) more characters)" }
        return out
    }

    /// The most entries of an integer list (a shape, pads, axes) shown in a message: 8.
    public static let listLimit = 8

    /// An integer list from outside the program as messages show it, `[0, 1, 1, 0]` (shapes:
    /// `[64,3,4,4]`, with `separator` ","), cut to `limit` entries with a note of how many there
    /// are: `[1,1,1,1,1,1,1,1,...(1000 dims)]`.
    public static func list(_ values: [Int], unit: String = "entries", separator: String = ", ",
                            limit: Int = UntrustedText.listLimit) -> String {
        let shown = values.prefix(limit).map(String.init).joined(separator: separator)
        return values.count > limit ? "[\(shown)\(separator)...(\(values.count) \(unit))]" : "[\(shown)]"
    }

    /// Names from outside the program as a message lists them, `'a', 'b', 'c'`: each one
    /// sanitized, at most `limit` of them, with a note of how many there are.
    public static func names(_ names: [String], limit: Int = 5) -> String {
        let shown = names.prefix(limit).map { "'\(sanitized($0))'" }.joined(separator: ", ")
        return names.count > limit ? shown + ", ...(\(names.count) names)" : shown
    }

    /// One scalar as it is shown: itself, or an escape.
    static func escaped(_ s: Unicode.Scalar) -> String {
        switch s.value {
        case 0x0A: return "\\n"
        case 0x09: return "\\t"
        case 0x0D: return "\\r"
        case 0x5C: return "\\\\"
        case 0x00...0x1F, 0x7F: return "\\\(s.value)"
        case 0x80...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C:
            return "\\u{\(String(s.value, radix: 16))}"
        default: return String(s)
        }
    }

    /// Escapes control characters in a whole message (keeping line breaks and tabs) and cuts it
    /// to `maxMessage` characters: the last line of defence before a message reaches Lua.
    public static func message(_ text: String, maxMessage: Int = 4000) -> String {
        var out = "", count = 0
        for scalar in text.unicodeScalars {
            count += 1
            if count > maxMessage { out += "...(message cut)"; break }
            switch scalar.value {
            case 0x0A, 0x09: out.unicodeScalars.append(scalar)
            default: out += escaped(scalar) == "\\\\" ? "\\" : escaped(scalar)
            }
        }
        return out
    }
}

extension String.StringInterpolation {
    /// `"\(untrusted: name)"`: `name` sanitized for a message (see `UntrustedText`).
    public mutating func appendInterpolation(untrusted text: String) {
        appendLiteral(UntrustedText.sanitized(text))
    }

    /// `"\(untrusted: name, limit: 40)"`: `name` sanitized and cut to `limit` characters.
    public mutating func appendInterpolation(untrusted text: String, limit: Int) {
        appendLiteral(UntrustedText.sanitized(text, limit: limit))
    }

    /// `"\(untrusted: pads)"`: an integer list from a file, cut (see `UntrustedText.list`).
    public mutating func appendInterpolation(untrusted values: [Int]) {
        appendLiteral(UntrustedText.list(values))
    }
}
