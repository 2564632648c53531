import CLua
import Foundation
import GeoEngine

/// One Lua state with the standard libraries and the `geo` module. Runs chunks, files and
/// REPL input under lua_pcall with a traceback handler, so an error in Lua code comes back as a
/// message and the state (its variables) lives on.
public final class LuaSession {
    public let L: OpaquePointer

    /// A new state with the standard libraries and `geo` preloaded.
    public init() throws {
        guard let state = luaL_newstate() else { throw LuaError.runtime("cannot create a Lua state: out of memory") }
        L = state
        // OpenBLAS's buffers while the address space is free (see GeoEngine's BLAS).
        prepareLinearAlgebra()
        luaL_openlibs(L)
        GeoModule.install(L)
    }
    deinit { lua_close(L) }

    // MARK: Running code

    /// Compiles `code`; on success leaves the function on the stack.
    func load(_ code: String, chunkName: String) -> LuaError? {
        let status = code.utf8CString.withUnsafeBufferPointer { buf in
            geo_loadbuffer(L, buf.baseAddress, buf.count - 1, chunkName)
        }
        guard status == LUA_OK else {
            let msg = popMessage()
            return status == LUA_ERRSYNTAX ? .syntax(message: msg, incomplete: msg.hasSuffix("<eof>")) : .runtime(msg)
        }
        return nil
    }

    /// Calls the function below its `nargs` arguments on the stack, with a traceback handler and
    /// Ctrl-C armed. Leaves `nresults` results (all of them for LUA_MULTRET) or the error.
    func call(nargs: Int32, nresults: Int32) -> LuaError? {
        let base = lua_gettop(L) - nargs
        geo_pushmsghandler(L)
        geo_insert(L, base)
        LuaSession.beginExecution(L)
        let status = geo_pcall(L, nargs, nresults, base)
        LuaSession.endExecution(L)
        geo_remove(L, base)
        return status == LUA_OK ? nil : .runtime(popMessage())
    }

    /// Pops the error object at the top and returns it as text.
    func popMessage() -> String {
        defer { geo_pop(L, 1) }
        if let s = geo_tostring(L, -1), lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER {
            return String(cString: s)
        }
        return "(error object is a \(LuaCall.typeName(L, -1)) value)"
    }

    /// Runs a chunk of Lua source. Returns the error, or nil on success.
    @discardableResult
    public func run(_ code: String, chunkName: String = "=(command line)") -> LuaError? {
        if let e = load(code, chunkName: chunkName) { return e }
        return call(nargs: 0, nresults: 0)
    }

    /// Runs a Lua file (standard input when `path` is nil or "-") with `args` as its `...`.
    @discardableResult
    public func runFile(_ path: String?, args: [String] = []) -> LuaError? {
        let file = (path == "-") ? nil : path
        let status = luaL_loadfilex(L, file, nil)
        guard status == LUA_OK else {
            let msg = popMessage()
            return status == LUA_ERRSYNTAX ? .syntax(message: msg, incomplete: false) : .runtime(msg)
        }
        for a in args { lua_pushstring(L, a) }
        return call(nargs: Int32(args.count), nresults: 0)
    }

    /// Evaluates `code` and returns its results converted with `tostring` (for tests and tools).
    public func evaluate(_ code: String) -> Result<[String], LuaError> {
        let top = lua_gettop(L)
        if let e = load("return " + code, chunkName: "=evaluate") {
            if case .syntax = e, load(code, chunkName: "=evaluate") == nil {} else { return .failure(e) }
        }
        if let e = call(nargs: 0, nresults: LUA_MULTRET) { return .failure(e) }
        var out: [String] = []
        for i in (top + 1)...max(top + 1, lua_gettop(L)) where i <= lua_gettop(L) {
            geo_pushtostring(L); lua_pushvalue(L, i)
            if geo_pcall(L, 1, 1, 0) == LUA_OK { out.append(popMessage()) } else { return .failure(.runtime(popMessage())) }
        }
        lua_settop(L, top)
        return .success(out)
    }

    /// Sets the global table `arg` as lua(1) does: arg[0] is the script, arg[1...] its
    /// arguments, and negative indices the interpreter and the options before the script.
    public func setArguments(_ argv: [String], scriptIndex: Int) {
        lua_createtable(L, Int32(max(0, argv.count - scriptIndex - 1)), Int32(scriptIndex + 1))
        for (i, a) in argv.enumerated() {
            lua_pushstring(L, a)
            lua_rawseti(L, -2, lua_Integer(i - scriptIndex))
        }
        lua_setglobal(L, "arg")
    }

    // MARK: Ctrl-C

    nonisolated(unsafe) private static var executing: OpaquePointer?
    nonisolated(unsafe) private static var handlerInstalled = false

    private static func beginExecution(_ L: OpaquePointer) {
        Cancellation.reset()
        executing = L
        if handlerInstalled { setHandler(interruptHandler) }
    }
    private static func endExecution(_ L: OpaquePointer) {
        executing = nil
        geo_clearhook(L)
        Cancellation.reset()
        // A first Ctrl-C during the chunk restored the default action; arm ours again.
        if handlerInstalled { setHandler(interruptHandler) }
    }

    /// What SIGINT does (lua.c's laction): asks running Lua code to stop through a hook that
    /// raises "interrupted", and the engine's loops through `Cancellation`. While a chunk runs,
    /// it also restores the default action, so that a second Ctrl-C terminates the process
    /// even when the first cannot be honoured (a long call into a C library). Signal-safe.
    public static func interrupt() {
        Cancellation.request()
        if let L = executing {
            geo_interrupt(L)
            if handlerInstalled { setHandler(nil) }
        }
    }

    private static let interruptHandler: @convention(c) (Int32) -> Void = { _ in LuaSession.interrupt() }

    /// Installs `handler` for SIGINT, or the default action for nil (sigaction: signal-safe).
    private static func setHandler(_ handler: (@convention(c) (Int32) -> Void)?) {
        var action = sigaction()
        if let h = handler { action.__sigaction_handler.sa_handler = h } else { action.__sigaction_handler.sa_handler = SIG_DFL }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
    }

    /// Installs `interrupt` as the SIGINT handler.
    public static func installInterruptHandler() {
        handlerInstalled = true
        setHandler(interruptHandler)
    }
}
