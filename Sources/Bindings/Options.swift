import CLua

/// An options table (`{points=64, solver="georce"}`), checked key by key against the keys a
/// function accepts: an unknown key (a typo like `iters=`) or a value of the wrong type is a
/// bad-argument error that names it. Values are read eagerly into Swift values.
public struct Options {
    private var values: [String: Value] = [:]
    let position: Int32
    let call: LuaCall

    enum Value { case number(Double), integer(Int), string(String), boolean(Bool), other(String) }

    /// Reads argument `position`: nil/absent gives an empty Options; otherwise it must be a
    /// table whose keys are all in `allowed`.
    public init(_ call: LuaCall, _ position: Int32, allowed: [String]) throws {
        self.call = call; self.position = position
        if call.isNoneOrNil(position) { return }
        try call.table(position)
        let L = call.L, t = lua_absindex(L, position)
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            defer { geo_pop(L, 1) }
            guard lua_type(L, -2) == LUA_TSTRING, let k = geo_tostring(L, -2) else {
                geo_pop(L, 1)
                throw call.argumentError(position, Messages.optionKeyNotString)
            }
            let key = String(cString: k)
            guard allowed.contains(key) else {
                geo_pop(L, 1)
                throw call.argumentError(position, Messages.unknownOption(key, allowed: allowed))
            }
            switch lua_type(L, -1) {
            case LUA_TNUMBER:
                if lua_isinteger(L, -1) != 0 { values[key] = .integer(Int(lua_tointegerx(L, -1, nil))) }
                else { values[key] = .number(lua_tonumberx(L, -1, nil)) }
            case LUA_TSTRING: values[key] = .string(String(cString: geo_tostring(L, -1)))
            case LUA_TBOOLEAN: values[key] = .boolean(lua_toboolean(L, -1) != 0)
            default: values[key] = .other(LuaCall.typeName(L, -1))
            }
        }
    }

    /// Whether the key was given.
    public func has(_ key: String) -> Bool { values[key] != nil }

    private func typeName(_ v: Value) -> String {
        switch v {
        case .number, .integer: return "number"
        case .string: return "string"
        case .boolean: return "boolean"
        case .other(let t): return t
        }
    }
    private func fail(_ key: String, _ expected: String, _ v: Value) -> LuaError {
        call.argumentError(position, Messages.optionType(key, expected, got: typeName(v)))
    }

    public func number(_ key: String) throws -> Double? {
        guard let v = values[key] else { return nil }
        switch v {
        case .number(let x): return x
        case .integer(let n): return Double(n)
        default: throw fail(key, "a number", v)
        }
    }
    /// A finite number > 0 (tolerances, radii, step sizes).
    public func positive(_ key: String) throws -> Double? {
        guard let x = try number(key) else { return nil }
        guard x > 0, x.isFinite else {
            throw call.argumentError(position, Messages.optionRange(key, "a positive number", got: formatNumber(x)))
        }
        return x
    }
    /// A finite number.
    public func finite(_ key: String) throws -> Double? {
        guard let x = try number(key) else { return nil }
        guard x.isFinite else {
            throw call.argumentError(position, Messages.optionRange(key, "a finite number", got: formatNumber(x)))
        }
        return x
    }
    public func integer(_ key: String) throws -> Int? {
        guard let v = values[key] else { return nil }
        switch v {
        case .integer(let n): return n
        case .number(let x):
            if let n = Int(exactly: x) { return n }
            throw call.argumentError(position, Messages.optionType(key, "an integer", got: formatNumber(x)))
        default: throw fail(key, "an integer", v)
        }
    }
    /// An integer in `range`.
    public func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let n = try integer(key) else { return nil }
        guard range.contains(n) else {
            let req = range.upperBound == Int.max ? "an integer >= \(range.lowerBound)"
                                                  : "an integer from \(range.lowerBound) to \(range.upperBound)"
            throw call.argumentError(position, Messages.optionRange(key, req, got: String(n)))
        }
        return n
    }
    public func string(_ key: String) throws -> String? {
        guard let v = values[key] else { return nil }
        if case .string(let s) = v { return s }
        throw fail(key, "a string", v)
    }
    /// One of the given strings.
    public func choice(_ key: String, _ choices: [String]) throws -> String? {
        guard let s = try string(key) else { return nil }
        guard choices.contains(s) else {
            throw call.argumentError(position, Messages.optionChoice(key, choices, got: s))
        }
        return s
    }
    public func boolean(_ key: String) throws -> Bool? {
        guard let v = values[key] else { return nil }
        if case .boolean(let b) = v { return b }
        throw fail(key, "a boolean", v)
    }
    /// Pushes the raw Lua value of `key` (for options holding tables, functions or userdata).
    /// Returns false (pushing nothing) when the key is absent.
    public func pushRaw(_ key: String) -> Bool {
        guard values[key] != nil else { return false }
        let L = call.L, t = lua_absindex(L, position)
        lua_pushstring(L, key)
        lua_rawget(L, t)
        return true
    }
}
