import CLua

/// An error on its way to Lua. Bindings throw these (or any GeoError); the dispatcher turns
/// them into a Lua error after every Swift frame has returned. Modelled on mlua's error enum.
public enum LuaError: Error, CustomStringConvertible, Equatable {
    /// A chunk failed to compile. `incomplete` is true when the message ends in `<eof>`:
    /// more input could complete it (the REPL then asks for another line).
    case syntax(message: String, incomplete: Bool)
    /// An error raised while running Lua code, with its message (and traceback, if any).
    case runtime(String)
    /// A bad argument at `position` (1-based, counting self) of the function named `function`.
    /// The dispatcher renders it with lauxlib's wording and lauxlib's method adjustment.
    case badArgument(position: Int32, function: String, message: String)
    /// An error value raised by Lua code that a binding called back (a sweep's sampler), kept
    /// in the registry under `reference` (luaL_ref) so that the caller's pcall receives it
    /// unchanged: a table stays that table, nil stays nil. The dispatcher re-raises it.
    case value(reference: Int32)

    public var description: String {
        switch self {
        case .syntax(let m, _), .runtime(let m): return m
        case .badArgument(let p, let f, let m): return Messages.badArgument(p, f, m)
        case .value: return "(a Lua error value)"
        }
    }

    /// Pops the error value at the top of the stack into the registry and returns the error
    /// that carries it (`.value`).
    static func capture(_ L: OpaquePointer) -> LuaError {
        .value(reference: luaL_ref(L, geo_registryindex()))
    }

    /// Pushes the value that `capture` stored and releases the registry slot.
    static func pushValue(_ L: OpaquePointer, _ reference: Int32) {
        lua_rawgeti(L, geo_registryindex(), lua_Integer(reference))
        luaL_unref(L, geo_registryindex(), reference)
    }
}
