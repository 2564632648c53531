import CLua
import Foundation
import GeoEngine

/// A Swift function callable from Lua: reads its arguments from `call`, pushes its results and
/// returns how many. It reports errors only by throwing; it never raises a Lua error itself.
public typealias LuaFunction = (LuaCall) throws -> Int32

/// The table of every Swift function Lua can call. A Lua closure refers to an entry by its id
/// (upvalue 2 of `geo_trampoline`). Entries are added once, when their module is first used,
/// and never removed, so ids stay valid for every Lua state of the process.
final class BindingRegistry: @unchecked Sendable {
    static let shared = BindingRegistry()
    private let lock = NSLock()
    private var entries: [(name: String, function: LuaFunction)] = []

    func register(_ name: String, _ function: @escaping LuaFunction) -> Int {
        lock.lock(); defer { lock.unlock() }
        entries.append((name, function))
        return entries.count - 1
    }
    func entry(_ id: Int) -> (name: String, function: LuaFunction)? {
        lock.lock(); defer { lock.unlock() }
        return entries.indices.contains(id) ? entries[id] : nil
    }
}

/// A registered binding: its Lua-visible name and its id in the registry.
public struct Binding {
    public let name: String
    let id: Int
    public init(_ name: String, _ function: @escaping LuaFunction) {
        self.name = name
        id = BindingRegistry.shared.register(name, function)
    }
    /// Pushes a Lua function that calls this binding.
    func push(_ L: OpaquePointer) { geo_pushbinding(L, lua_Integer(id)) }
}

/// The one entry point from C into Swift, called by `geo_trampoline` (shim.h) by symbol. Runs
/// the binding whose id is upvalue 1, converts every Swift error into an error value on the
/// stack and returns -1, which makes the trampoline raise it. Nothing here, nor in any binding,
/// can longjmp. An upvalue that Lua code altered (`debug.setupvalue`) is an error, not a call
/// through a bad pointer.
@_cdecl("geo_dispatch")
func geoDispatch(_ state: OpaquePointer?) -> Int32 {
    guard let L = state else { return 0 }
    var isInteger: Int32 = 0
    let raw = lua_tointegerx(L, geo_upvalueindex(1), &isInteger)
    guard isInteger != 0, lua_type(L, geo_upvalueindex(1)) == LUA_TNUMBER,
          let id = Int(exactly: raw), let entry = BindingRegistry.shared.entry(id) else {
        lua_pushstring(L, Messages.alteredBinding)
        return -1
    }
    let call = LuaCall(L, name: entry.name)
    do {
        return try entry.function(call)
    } catch GeoError.interrupted {
        // The engine delivered this Ctrl-C: the hook must not raise it a second time.
        geo_clearhook(L)
        lua_pushstring(L, GeoError.interrupted.description)
        return -1
    } catch LuaError.value(let reference) {
        // An error value raised by Lua code in a callback: raise it again unchanged.
        LuaError.pushValue(L, reference)
        return -1
    } catch {
        lua_pushstring(L, UntrustedText.message(errorMessage(L, settingError(error, call.context, function: entry.name) ?? error, function: entry.name)))
        return -1
    }
}
/// Called by the interrupt hook (shim.h) when it delivers a Ctrl-C as a Lua error: the engine's
/// request is then delivered too.
@_cdecl("geo_interrupt_delivered")
func geoInterruptDelivered() { Cancellation.reset() }

/// A `GeoError.invalidSetting` for a setting that came from an options table or an argument of
/// this call, as the bad-argument error at that position ("option 'tol' must be ..."); nil for
/// every other error.
func settingError(_ error: Error, _ context: CallContext, function: String) -> LuaError? {
    guard case GeoError.invalidSetting(let name, let requirement, let got) = error else { return nil }
    if let o = context.options.last(where: { $0.keys[name] != nil }), let key = o.keys[name] {
        return .badArgument(position: o.position, function: function, message: Messages.optionRange(key, requirement, got: got))
    }
    if let position = context.arguments[name] {
        return .badArgument(position: position, function: function, message: Messages.settingRange(name, requirement, got: got))
    }
    return nil
}

/// The Lua message for a Swift error. Bad arguments follow luaL_argerror: the function's name
/// comes from the call site when Lua knows it, and for method calls (`v:dot(w)`) the position
/// does not count self; a bad self reads "calling 'f' on bad self (...)".
func errorMessage(_ L: OpaquePointer, _ error: Error, function: String) -> String {
    switch error {
    case LuaError.badArgument(var position, let fallbackName, let message):
        var name = fallbackName
        var ar = lua_Debug()
        if lua_getstack(L, 0, &ar) != 0, lua_getinfo(L, "n", &ar) != 0 {
            if let n = ar.name { name = String(cString: n) }
            if let w = ar.namewhat, String(cString: w) == "method" {
                position -= 1
                if position == 0 { return Messages.badSelf(name, message) }
            }
        }
        return Messages.badArgument(position, name, message)
    case let e as LuaError: return e.description
    case let e as GeoError: return e.description
    default: return String(describing: error)
    }
}
