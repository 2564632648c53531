import CLua
import GeoEngine

/// The arguments and results of one call from Lua into a Swift binding. Reading an argument
/// checks it and throws `LuaError.badArgument` with lauxlib's wording; nothing here can raise a
/// Lua error (only raw, non-raising API calls are used).
public struct LuaCall {
    public let L: OpaquePointer
    /// The binding's registered name, used in error messages when Lua does not know a better one.
    public let name: String

    init(_ L: OpaquePointer, name: String) { self.L = L; self.name = name }

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
    /// An integer in 0...max, for sizes; a huge request is an error, not an allocation.
    public func size(_ i: Int32, max: Int = LuaCall.maxElements) throws -> Int {
        let n = try integer(i)
        guard n >= 0, n <= max else { throw argumentError(i, Messages.sizeOutOfRange(n, max: max)) }
        return n
    }
    /// The most entries one vector or matrix may have (8e8 bytes of Doubles).
    public static let maxElements = 100_000_000

    /// A string (numbers are converted, as luaL_checkstring does).
    public func string(_ i: Int32) throws -> String {
        guard lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER,
              let s = lua_tolstring(L, i, nil) else { throw typeError(i, "string") }
        return String(cString: s)
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
        guard n <= LuaCall.maxElements else { throw argumentError(i, Messages.sizeOutOfRange(n, max: LuaCall.maxElements)) }
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
