import CLua

/// An options table (`{points=64, solver="georce"}`), checked key by key against the keys a
/// function accepts: an unknown key (a typo like `iters=`) or a value of the wrong type is a
/// bad-argument error that names it. Values are read eagerly into Swift values. Whether a value
/// is in range is the engine's rule (`Setting`): the engine's `GeoError.invalidSetting` for a
/// key of this table becomes a bad-argument error at the table's position (see `CallContext`).
public struct Options {
    private var values: [String: Value] = [:]
    let position: Int32
    let call: LuaCall

    enum Value {
        case number(Double), integer(Int), string(String), boolean(Bool), other(String)
        /// A string that is no file name: a NUL byte inside, or invalid UTF-8 (the reason).
        case unusableString(String, reason: String)
    }

    /// Reads argument `position`: nil/absent gives an empty Options; otherwise it must be a
    /// table whose keys are all in `allowed`.
    public init(_ call: LuaCall, _ position: Int32, allowed: [String]) throws {
        self.call = call; self.position = position
        defer { call.context.options.append((position, Dictionary(uniqueKeysWithValues: values.keys.map { ($0, $0) }))) }
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
            case LUA_TSTRING:
                var length = 0
                let p = lua_tolstring(L, -1, &length)
                let s = p.map { String(cString: $0) } ?? ""
                if let p = p, UnsafeRawBufferPointer(start: p, count: length).contains(0) {
                    values[key] = .unusableString(s, reason: Messages.pathWithNul)
                } else if let p = p, String(validatingUTF8: p) == nil {
                    values[key] = .unusableString(s, reason: Messages.pathNotUTF8)
                } else {
                    values[key] = .string(s)
                }
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
        case .string, .unusableString: return "string"
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
    /// Declares that option `key` is passed to the engine as the setting `setting` (e.g. a
    /// sweep's `path_points` is its geodesics' `points`), so that the engine's verdict on it
    /// names the option.
    public func alias(_ key: String, as setting: String) {
        guard values[key] != nil, let i = call.context.options.lastIndex(where: { $0.position == position }) else { return }
        call.context.options[i].keys[setting] = key
    }
    public func string(_ key: String) throws -> String? {
        guard let v = values[key] else { return nil }
        if case .string(let s) = v { return s }
        if case .unusableString(let s, _) = v { return s }
        throw fail(key, "a string", v)
    }
    /// A file name (see `LuaCall.path`).
    public func path(_ key: String) throws -> String? {
        guard let v = values[key] else { return nil }
        if case .unusableString(_, let reason) = v { throw call.argumentError(position, "option '\(key)': \(reason)") }
        return try string(key)
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
