import CLua
import GeoEngine

/// The read-eval-print loop of lua(1), independent of where lines come from:
/// - a line is first tried as `return <line>`, so an expression prints its values;
/// - a chunk whose syntax error ends in `<eof>` is incomplete: more lines are read on the
///   continuation prompt until it compiles or fails otherwise;
/// - a complete chunk goes to the history as one entry;
/// - results are printed with the global `print`; errors (message and traceback) go to
///   `reportError`, and the session goes on with its state intact.
public final class REPL {
    public let session: LuaSession
    /// Reads one line (without its newline) after showing `prompt`; nil at end of input.
    public var readLine: (_ prompt: String) -> String?
    /// Receives each complete chunk as typed.
    public var addHistory: (String) -> Void = { _ in }
    /// Receives each error message.
    public var reportError: (String) -> Void
    /// Asked after each line is read: true when the user cancelled the input before it (Ctrl-C
    /// at the prompt); the half-typed chunk is dropped and the line starts a new chunk.
    public var inputCancelled: () -> Bool = { false }
    /// The first and continuation prompts (lua(1)'s defaults).
    public var prompt = "> ", continuationPrompt = ">> "
    /// How many chunks failed (syntax or runtime).
    public private(set) var errorCount = 0

    public init(session: LuaSession, readLine: @escaping (String) -> String?,
                reportError: @escaping (String) -> Void) {
        self.session = session; self.readLine = readLine; self.reportError = reportError
    }

    /// Runs until the input ends.
    public func run() {
        while let line = readLine(prompt) {
            if let e = evaluate(firstLine: line) {
                errorCount += 1
                reportError(e.description)
            }
        }
    }

    /// Reads (continuation lines as needed), compiles and runs one chunk starting with `line`.
    func evaluate(firstLine line: String) -> LuaError? {
        let L = session.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        var chunk = line.hasPrefix("=") ? "return " + line.dropFirst() : line   // Lua 5.3's `=expr`
        var typed = line
        if session.load("return " + chunk, chunkName: "=stdin") == nil {
            if !line.isEmpty { addHistory(line) }
        } else {
            while true {
                if let e = session.load(chunk, chunkName: "=stdin") {
                    if case .syntax(_, true) = e, let more = readLine(continuationPrompt) {
                        if inputCancelled() { return evaluate(firstLine: more) }
                        chunk += "\n" + more
                        typed += "\n" + more
                        continue
                    }
                    addHistory(typed)
                    return e
                }
                addHistory(typed)
                break
            }
        }
        if let e = session.call(nargs: 0, nresults: LUA_MULTRET) { return e }
        let n = lua_gettop(L) - top
        guard n > 0 else { return nil }
        geo_pushprintresults(L)
        geo_insert(L, top + 1)
        if geo_pcall(L, n, 0, 0) != LUA_OK {
            return .runtime("error calling 'print' (\(session.popMessage()))")
        }
        return nil
    }
}
