import Bindings
import CReadline
import Foundation

/// Interactive line input through GNU readline: prompts, line editing, a history file that
/// receives each complete chunk, and TAB completion of geo names and methods.
///
/// A multi-line chunk is one history entry, in the session and across sessions: the file is
/// written with a timestamp line (`#` and the seconds since 1970, as bash writes them) before
/// each entry, and read back with readline's `history_multiline_entries`, which joins the lines
/// between two timestamps into one entry. A history file without timestamps (one entry per
/// line) still reads as before.
enum LineEditor {
    nonisolated(unsafe) static var session: LuaSession?
    nonisolated(unsafe) static var matches: [String] = []
    static let historyLimit: Int32 = 1000

    /// $GEOREPL_HISTORY, or ~/.georepl_history.
    static var historyPath: String {
        if let p = ProcessInfo.processInfo.environment["GEOREPL_HISTORY"], !p.isEmpty { return p }
        return (ProcessInfo.processInfo.environment["HOME"] ?? ".") + "/.georepl_history"
    }

    static func start(_ session: LuaSession) {
        self.session = session
        rl_readline_name = UnsafePointer(strdup("georepl"))
        rl_basic_word_break_characters = UnsafePointer(strdup(" \t\n\"\\'`@$><=;|&{(,+-*/%^~#[]"))
        rl_attempted_completion_function = { text, _, _ in
            rl_attempted_completion_over = 1   // no filename completion
            rl_completion_append_character = 0
            guard let text = text else { return nil }
            LineEditor.matches = LineEditor.session?.completions(for: String(cString: text)) ?? []
            return rl_completion_matches(text) { _, state in
                let i = Int(state)
                guard i < LineEditor.matches.count else { return nil }
                return strdup(LineEditor.matches[i])
            }
        }
        installSignalHook()
        using_history()
        history_comment_char = CChar(UInt8(ascii: "#"))
        history_write_timestamps = 1
        history_multiline_entries = 1
        stifle_history(historyLimit)
        _ = read_history(historyPath)
    }

    /// Set when Ctrl-C arrived while readline was waiting for input.
    nonisolated(unsafe) static var cancelled = false

    /// Ctrl-C at the prompt: readline (rl_catch_signals) cleans up and passes SIGINT on to our
    /// handler, then calls this hook. It clears the line and shows a fresh first prompt; the
    /// line typed next starts a new chunk (the REPL drops a half-typed multi-line chunk).
    static func installSignalHook() {
        rl_signal_event_hook = {
            guard Cancellation.isRequested else { return 0 }
            Cancellation.reset()
            LineEditor.cancelled = true
            rl_replace_line("", 0)
            rl_crlf()
            rl_set_prompt(LineEditor.firstPrompt)
            rl_on_new_line()
            rl_redisplay()
            return 0
        }
    }
    static let firstPrompt = "> "

    static func readLine(_ prompt: String) -> String? {
        cancelled = false
        Cancellation.reset()
        guard let p = readline(prompt) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    static func addHistory(_ chunk: String) {
        add_history(chunk)
        let path = historyPath
        if !FileManager.default.fileExists(atPath: path) { _ = write_history(path) }
        else { _ = append_history(1, path) }
        _ = history_truncate_file(path, historyLimit)
    }
}
