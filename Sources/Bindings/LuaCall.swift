import CLua
import GeoEngine

/// The arguments and results of one call from Lua into a Swift binding. Reading an argument
/// checks it and throws `LuaError.badArgument` with lauxlib's wording; nothing here can raise a
/// Lua error (only raw, non-raising API calls are used).
public struct LuaCall {
    public let L: OpaquePointer
    /// The binding's registered name, used in error messages when Lua does not know a better one.
    public let name: String
    /// Where the engine's settings came from, for phrasing `GeoError.invalidSetting`.
    let context = CallContext()

    init(_ L: OpaquePointer, name: String) { self.L = L; self.name = name }

    /// Declares that argument `position` is the engine setting `setting` (e.g. geo.zeros's size,
    /// geo.regularized's lambda): a `GeoError.invalidSetting` for it becomes a bad-argument
    /// error at that position.
    public func argument(_ position: Int32, isSetting setting: String) {
        context.arguments[setting] = position
    }

    /// The number of arguments.
    public var count: Int32 { lua_gettop(L) }

    // MARK: Errors

    public func argumentError(_ position: Int32, _ message: String) -> LuaError {
        .badArgument(position: position, function: name, message: message)
    }
    public func typeError(_ position: Int32, _ expected: String) -> LuaError {
        argumentError(position, Messages.typeExpected(expected, got: typeName(position)))
    }
    public func runtimeError(_ message: String) -> LuaError { .runtime(message) }

    /// The type name lauxlib's luaL_typeerror uses: the metatable's `__name`, "light userdata",
    /// or the basic type name ("no value" for a missing argument).
    public func typeName(_ i: Int32) -> String { LuaCall.typeName(L, i) }

    static func typeName(_ L: OpaquePointer, _ i: Int32) -> String {
        let t = geo_getmetafield(L, i, "__name")   // pushes nothing when absent
        if t != LUA_TNIL {
            defer { geo_pop(L, 1) }
            if t == LUA_TSTRING, let s = geo_tostring(L, -1) { return String(cString: s) }
        }
        if lua_type(L, i) == LUA_TLIGHTUSERDATA { return "light userdata" }
        return String(cString: lua_typename(L, lua_type(L, i)))
    }

    // MARK: Arguments

    public func isNoneOrNil(_ i: Int32) -> Bool { geo_isnoneornil(L, i) != 0 }

    /// A number (or a string convertible to one), as luaL_checknumber.
    public func number(_ i: Int32) throws -> Double {
        var ok: Int32 = 0
        let x = lua_tonumberx(L, i, &ok)
        guard ok != 0 else { throw typeError(i, "number") }
        return x
    }
    public func number(_ i: Int32, default value: Double) throws -> Double {
        isNoneOrNil(i) ? value : try number(i)
    }
    /// An integer, as luaL_checkinteger: a float with an exact integer value is accepted.
    public func integer(_ i: Int32) throws -> Int {
        var ok: Int32 = 0
        let x = lua_tointegerx(L, i, &ok)
        guard ok != 0 else {
            if lua_isnumber(L, i) != 0 { throw argumentError(i, Messages.noIntegerRepresentation) }
            throw typeError(i, "number")
        }
        return Int(x)
    }
    public func integer(_ i: Int32, default value: Int) throws -> Int {
        isNoneOrNil(i) ? value : try integer(i)
    }
    /// A size (a count of entries) at argument i: an integer, checked against
    /// `Vector.maxCount` and the memory budget by the engine.
    public func size(_ i: Int32) throws -> Int {
        let n = try integer(i)
        argument(i, isSetting: "size")
        try Vector.checkCount(n)
        return n
    }

    /// A string (numbers are converted, as luaL_checkstring does).
    public func string(_ i: Int32) throws -> String {
        guard lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER,
              let s = lua_tolstring(L, i, nil) else { throw typeError(i, "string") }
        return String(cString: s)
    }

    /// A file name: a string without NUL bytes (C would cut the name there) that is valid
    /// UTF-8 (Swift would replace invalid bytes and so name another file).
    public func path(_ i: Int32) throws -> String {
        guard lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER else { throw typeError(i, "string") }
        var length = 0
        guard let p = lua_tolstring(L, i, &length) else { throw typeError(i, "string") }
        let bytes = UnsafeRawBufferPointer(start: p, count: length)
        guard !bytes.contains(0) else { throw argumentError(i, Messages.pathWithNul) }
        guard let s = String(validatingUTF8: p) else { throw argumentError(i, Messages.pathNotUTF8) }
        return s
    }
    public func boolean(_ i: Int32) throws -> Bool {
        guard lua_type(L, i) == LUA_TBOOLEAN else { throw typeError(i, "boolean") }
        return lua_toboolean(L, i) != 0
    }
    /// Checks that argument i is a table.
    public func table(_ i: Int32) throws {
        guard lua_type(L, i) == LUA_TTABLE else { throw typeError(i, "table") }
    }
    /// The Swift value inside a userdata of the given type.
    public func value<T>(_ i: Int32, _ type: UserType<T>) throws -> T {
        guard let v = type.value(L, i) else {
            if type.isFreed(L, i) { throw argumentError(i, Messages.freed(type.name)) }
            throw typeError(i, type.name)
        }
        return v
    }
    /// The values of a sequence table (1..#t) read with `read` from the top of the stack.
    /// `read` gets the 1-based entry index; entries are fetched with raw access.
    public func sequence<T>(_ i: Int32, _ read: (Int) throws -> T) throws -> [T] {
        try table(i)
        let n = Int(lua_rawlen(L, i))
        argument(i, isSetting: "size")
        try Vector.checkCount(n)
        var out = [T](); out.reserveCapacity(n)
        let t = lua_absindex(L, i)
        for k in 1...max(1, n) where n > 0 {
            lua_rawgeti(L, t, lua_Integer(k))
            defer { geo_pop(L, 1) }
            out.append(try read(k))
        }
        return out
    }
    /// The numbers of a sequence table; a non-number entry names its index. Errors name
    /// argument `position` (default i; nested tables report their outer argument).
    public func numbers(_ i: Int32, reportAs position: Int32? = nil) throws -> [Double] {
        try sequence(i) { k in
            var ok: Int32 = 0
            let x = lua_tonumberx(L, -1, &ok)
            guard ok != 0, lua_type(L, -1) == LUA_TNUMBER else {
                throw argumentError(position ?? i, Messages.entryType(k, "number", got: typeName(-1)))
            }
            return x
        }
    }

    /// For `__index` of sequence-like userdata: when the key at `i` is a number, returns
    /// .some(0-based index) if it is an integer in 1...count and .some(nil) otherwise (the
    /// lookup yields nil, as for tables). Returns nil when the key is not a number.
    public func sequenceIndex(_ i: Int32, count: Int) -> Int?? {
        guard lua_type(L, i) == LUA_TNUMBER else { return nil }
        var isInt: Int32 = 0
        let k = lua_tointegerx(L, i, &isInt)
        guard isInt != 0, k >= 1, k <= count else { return .some(nil) }
        return .some(Int(k) - 1)
    }

    // MARK: Results

    /// Checks that a result table of `count` entries fits the memory budget (Lua raises its
    /// memory errors with longjmp, which must not happen under a Swift frame).
    public func checkTable(_ count: Int) throws {
        try MemoryBudget.check(bytes: MemoryBudget.product([count, LuaCall.bytesPerTableEntry]) ?? Int.max,
                               for: "a Lua table of \(count) entries")
    }
    /// What one array entry of a Lua table costs, with slack for the table's growth.
    static let bytesPerTableEntry = 32

    @discardableResult public func push(_ x: Double) -> Int32 { lua_pushnumber(L, x); return 1 }
    @discardableResult public func push(_ n: Int) -> Int32 { lua_pushinteger(L, lua_Integer(n)); return 1 }
    @discardableResult public func push(_ b: Bool) -> Int32 { lua_pushboolean(L, b ? 1 : 0); return 1 }
    @discardableResult public func push(_ s: String) -> Int32 { lua_pushstring(L, s); return 1 }
    @discardableResult public func pushNil() -> Int32 { lua_pushnil(L); return 1 }
    @discardableResult public func push<T>(_ value: T, as type: UserType<T>) -> Int32 {
        type.push(L, value); return 1
    }
    /// Pushes a sequence table of numbers (as Lua integers when `integers` is set).
    @discardableResult public func push(numbers: [Double], integers: Bool = false) -> Int32 {
        lua_createtable(L, Int32(clamping: numbers.count), 0)
        for (k, x) in numbers.enumerated() {
            if integers, let n = Int64(exactly: x) { lua_pushinteger(L, n) } else { lua_pushnumber(L, x) }
            lua_rawseti(L, -2, lua_Integer(k + 1))
        }
        return 1
    }
    /// Sets field `key` of the table at the top of the stack to the value `push` pushes (raw).
    public func setField(_ key: String, _ push: () -> Void) {
        lua_pushstring(L, key); push(); lua_rawset(L, -3)
    }
}

/// What a binding has told the dispatcher about the origin of the engine's settings: the
/// position of its options table and its keys, and arguments that are settings themselves.
final class CallContext {
    /// Options tables: (argument position, engine setting name -> option key given).
    var options: [(position: Int32, keys: [String: String])] = []
    /// Settings given as plain arguments: name -> position.
    var arguments: [String: Int32] = [:]
}
