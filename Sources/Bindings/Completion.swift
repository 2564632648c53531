import CLua

extension LuaSession {
    /// Lua's reserved words, completed at the start of a name.
    static let keywords = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function",
                           "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then",
                           "true", "until", "while"]

    /// Tab completion of `text`, the word before the cursor: global names and keywords;
    /// after `t.` the keys of table t (e.g. `geo.sp` -> `geo.sphere`); after `v.` or `v:` the
    /// methods (and fields) of userdata v, from its metatable; after `s:` the string methods.
    /// Only raw table reads are used, so no metamethod runs. Results are whole words, sorted.
    public func completions(for text: String) -> [String] {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard let sep = text.lastIndex(where: { $0 == "." || $0 == ":" }) else {
            lua_rawgeti(L, geo_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
            let names = stringKeys(-1) + LuaSession.keywords
            return Set(names.filter { $0.hasPrefix(text) }).sorted()
        }
        let base = String(text[..<sep]), partial = String(text[text.index(after: sep)...])
        let isMethod = text[sep] == ":"
        // Walk base (a.b.c) from the globals with raw gets.
        lua_rawgeti(L, geo_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        for part in base.split(separator: ".", omittingEmptySubsequences: false) {
            guard lua_type(L, -1) == LUA_TTABLE, !part.isEmpty,
                  part.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return [] }
            lua_pushstring(L, String(part))
            lua_rawget(L, -2)
        }
        var names: [String] = []
        switch lua_type(L, -1) {
        case LUA_TTABLE:
            names = isMethod ? stringKeys(-1, functionsOnly: true) : stringKeys(-1)
        case LUA_TUSERDATA:
            if lua_getmetatable(L, -1) != 0 {
                lua_pushstring(L, "__methods"); lua_rawget(L, -2)
                if lua_type(L, -1) == LUA_TTABLE { names = stringKeys(-1) }
                geo_pop(L, 1)
                if !isMethod {
                    lua_pushstring(L, "__name"); lua_rawget(L, -2)
                    if let s = geo_tostring(L, -1), lua_type(L, -1) == LUA_TSTRING {
                        names += GeoModule.fieldNames(ofType: String(cString: s))
                    }
                }
            }
        case LUA_TSTRING where isMethod:
            lua_rawgeti(L, geo_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
            lua_pushstring(L, "string"); lua_rawget(L, -2)
            if lua_type(L, -1) == LUA_TTABLE { names = stringKeys(-1) }
        default: break
        }
        let sepChar = isMethod ? ":" : "."
        return Set(names.filter { $0.hasPrefix(partial) && !$0.hasPrefix("__") }).sorted().map { base + sepChar + $0 }
    }

    /// The string keys of the table at `index` (raw traversal).
    private func stringKeys(_ index: Int32, functionsOnly: Bool = false) -> [String] {
        let t = lua_absindex(L, index)
        var out: [String] = []
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, let s = geo_tostring(L, -2),
               !functionsOnly || lua_type(L, -1) == LUA_TFUNCTION {
                out.append(String(cString: s))
            }
            geo_pop(L, 1)
        }
        return out
    }
}
