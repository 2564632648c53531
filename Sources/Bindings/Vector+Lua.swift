import CLua
import GeoEngine

/// geo.Vector: an immutable vector of Doubles, 1-based from Lua.
///     geo.vec{1,2,3}  geo.zeros(n)  geo.randn(n [, seed])
///     v[i]  #v  v+w  v-w  a*v  v*a  v/a  -v  v==w  tostring(v)
///     v:dot(w)  v:norm()  v:normalized()  v:totable()
/// `v[i]` is nil outside 1..#v (as for tables, so `ipairs(v)` works).
enum VectorLua {
    static let type: UserType<Vector> = UserType(
        name: "geo.Vector",
        methods: [
            Binding("dot") { call in
                let v = try call.value(1, type), w = try call.value(2, type)
                guard v.count == w.count else { throw call.runtimeError(Messages.lengthMismatch("dot", v.count, w.count)) }
                return call.push(try v.dot(w))
            },
            Binding("norm") { call in call.push(try call.value(1, type).norm) },
            Binding("normalized") { call in
                let v = try call.value(1, type)
                let n = v.norm
                guard n > 0 else { throw call.runtimeError(Messages.zeroVector) }
                return call.push(v / n, as: type)
            },
            Binding("totable") { call in call.push(numbers: try call.value(1, type).scalars) },
        ],
        metamethods: [
            ("__len", Binding("__len") { call in call.push(try call.value(1, type).count) }),
            ("__tostring", Binding("__tostring") { call in call.push(describe(try call.value(1, type))) }),
            ("__eq", Binding("__eq") { call in
                guard let a = type.value(call.L, 1), let b = type.value(call.L, 2) else { return call.push(false) }
                return call.push(a == b)
            }),
            ("__unm", Binding("__unm") { call in call.push(-(try call.value(1, type)), as: type) }),
            ("__add", Binding("__add") { call in try elementwise(call, "add", +) }),
            ("__sub", Binding("__sub") { call in try elementwise(call, "subtract", -) }),
            ("__mul", Binding("__mul") { call in
                switch (type.value(call.L, 1), type.value(call.L, 2)) {
                case (.some, .some): throw call.runtimeError(Messages.multiplyVectors)
                case (.some(let v), .none):
                    guard lua_type(call.L, 2) == LUA_TNUMBER else { throw arithmetic(call, "multiply") }
                    return call.push(v * lua_tonumberx(call.L, 2, nil), as: type)
                case (.none, .some(let v)):
                    guard lua_type(call.L, 1) == LUA_TNUMBER else { throw arithmetic(call, "multiply") }
                    return call.push(lua_tonumberx(call.L, 1, nil) * v, as: type)
                default: throw arithmetic(call, "multiply")
                }
            }),
            ("__div", Binding("__div") { call in
                guard let v = type.value(call.L, 1), lua_type(call.L, 2) == LUA_TNUMBER else {
                    throw arithmetic(call, "divide")
                }
                return call.push(v / lua_tonumberx(call.L, 2, nil), as: type)
            }),
        ],
        index: Binding("__index") { call in
            let L = call.L
            let v = try call.value(1, type)
            if let index = call.sequenceIndex(2, count: v.count) {
                return index.map { call.push(v[$0]) } ?? call.pushNil()
            }
            return pushMethod(L, 1, 2)
        })

    static func describe(_ v: Vector) -> String {
        let limit = 10
        if v.count <= limit { return "geo.vec{" + v.scalars.map(formatNumber).joined(separator: ", ") + "}" }
        let head = v.scalars.prefix(limit - 2).map(formatNumber).joined(separator: ", ")
        return "geo.vec{\(head), ..., \(formatNumber(v.scalars[v.count - 1]))} (\(v.count) entries)"
    }

    private static func arithmetic(_ call: LuaCall, _ op: String) -> LuaError {
        // A freed vector says so, rather than that it cannot be combined.
        for i: Int32 in [1, 2] where type.isFreed(call.L, i) { return call.runtimeError(Messages.freed(type.name)) }
        return call.runtimeError(Messages.arithmetic(op, call.typeName(1), call.typeName(2)))
    }
    private static func elementwise(_ call: LuaCall, _ op: String, _ f: (Vector, Vector) throws -> Vector) throws -> Int32 {
        guard let a = type.value(call.L, 1), let b = type.value(call.L, 2) else { throw arithmetic(call, op) }
        guard a.count == b.count else { throw call.runtimeError(Messages.lengthMismatch(op, a.count, b.count)) }
        return call.push(try f(a, b), as: type)
    }

    /// The functions of the geo table that make vectors.
    static let constructors: [Binding] = [
        Binding("vec") { call in
            if let v = type.value(call.L, 1) { return call.push(v, as: type) }
            return call.push(Vector(try call.numbers(1)), as: type)
        },
        Binding("zeros") { call in call.push(Vector(zeros: try call.size(1)), as: type) },
        Binding("randn") { call in
            let n = try call.size(1)
            var rng = call.isNoneOrNil(2) ? SeededRandom() : SeededRandom(seed: UInt64(bitPattern: Int64(try call.integer(2))))
            return call.push(rng.normalVector(n), as: type)
        },
    ]
}

/// For a custom `__index`: pushes the method named by the string key at `key` from the
/// metatable's `__methods` table of the userdata at `object` (nil when there is none).
func pushMethod(_ L: OpaquePointer, _ object: Int32, _ key: Int32) -> Int32 {
    guard lua_type(L, key) == LUA_TSTRING, lua_getmetatable(L, object) != 0 else { lua_pushnil(L); return 1 }
    lua_pushstring(L, "__methods")
    lua_rawget(L, -2)
    guard lua_type(L, -1) == LUA_TTABLE else { geo_pop(L, 2); lua_pushnil(L); return 1 }
    lua_pushvalue(L, key)
    lua_rawget(L, -2)
    geo_remove(L, -2); geo_remove(L, -2)
    return 1
}
