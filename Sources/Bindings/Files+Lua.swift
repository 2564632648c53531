import CLua
import GeoEngine

/// Files other tools read (GeoEngine's Files/: every file written through the one atomic writer):
///     geo.write_json(file, value)   value: tables (sequences become arrays, string-keyed tables
///         objects), numbers, strings, booleans, geo.Vector (array), geo.Matrix (array of rows),
///         geo.Path ({points = {{...}, ...}, length = L}); NaN and infinities are an error
///         (JSON has none); numbers round-trip exactly.
///     geo.read_json(file) -> value  (arrays as sequences, objects as tables, null as nil)
///     geo.write_csv(file, data [, {header = {"a", "b", ...}}])   data: a table of rows (each a
///         table of numbers and strings, or a geo.Vector), a geo.Matrix, or a sweep result
///         (its values, one column "value")
///     geo.read_csv(file [, {header = true}]) -> rows, header   (numbers where a cell is one,
///         empty cells NaN, the header a table of strings or nil)
enum FilesLua {
    static let functions: [Binding] = [
        Binding("write_json") { call in
            let path = try call.path(1)
            let v = try value(call, 2)
            try JSONFile.write(v, to: path)
            return 0
        },
        Binding("read_json") { call in try push(call, try JSONFile.read(try call.path(1))) },
        Binding("write_csv") { call in
            let path = try call.path(1)
            let o = try Options(call, 3, allowed: ["header"])
            var header: [String]? = nil
            if o.pushRaw("header") {
                defer { geo_pop(call.L, 1) }
                header = try call.sequence(-1) { k -> String in
                    guard lua_type(call.L, -1) == LUA_TSTRING || lua_type(call.L, -1) == LUA_TNUMBER, let s = geo_tostring(call.L, -1) else {
                        throw call.argumentError(3, Messages.entryType(k, "string", got: call.typeName(-1)))
                    }
                    return String(cString: s)
                }
            }
            var rows: [[DataValue]]
            if let m = MatrixLua.type.value(call.L, 2) {
                rows = (0..<m.rows).map { m.row($0).scalars.map(DataValue.number) }
            } else if lua_type(call.L, 2) == LUA_TTABLE, lua_rawlen(call.L, 2) == 0,
                      case .array(let values)? = try value(call, 2)["values"] {
                rows = values.map { [$0] }
                if header == nil { header = ["value"] }
            } else {
                guard lua_type(call.L, 2) == LUA_TTABLE else { throw call.typeError(2, "table of rows or geo.Matrix") }
                rows = try call.sequence(2) { k -> [DataValue] in
                    if let v = VectorLua.type.value(call.L, -1) { return v.scalars.map(DataValue.number) }
                    guard lua_type(call.L, -1) == LUA_TTABLE, case .array(let cells) = try value(call, -1) else {
                        throw call.argumentError(2, Messages.entryType(k, "a table of cells or geo.Vector", got: call.typeName(-1)))
                    }
                    return cells
                }
            }
            try CSVFile.write(rows: rows, header: header, to: path)
            return 0
        },
        Binding("read_csv") { call in
            let path = try call.path(1)
            let o = try Options(call, 2, allowed: ["header"])
            let table = try CSVFile.read(path, header: try o.boolean("header") ?? true)
            try push(call, .array(table.rows.map { .array($0) }))
            if let h = table.header { try push(call, .array(h.map(DataValue.string))) } else { call.pushNil() }
            return 2
        },
    ]

    /// The plain value at stack index i (see geo.write_json for what converts).
    static func value(_ call: LuaCall, _ i: Int32) throws -> DataValue {
        var open: [UnsafeRawPointer] = []
        return try convert(call, lua_absindex(call.L, i), "", &open)
    }

    private static func convert(_ call: LuaCall, _ i: Int32, _ place: String, _ open: inout [UnsafeRawPointer]) throws -> DataValue {
        let L = call.L
        let at = place.isEmpty ? "the value" : place
        switch lua_type(L, i) {
        case LUA_TNIL, LUA_TNONE: return .null
        case LUA_TBOOLEAN: return .bool(lua_toboolean(L, i) != 0)
        case LUA_TNUMBER: return .number(lua_tonumberx(L, i, nil))
        case LUA_TSTRING:
            var n = 0
            guard let p = lua_tolstring(L, i, &n) else { return .string("") }
            return .string(String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self))
        case LUA_TUSERDATA:
            if let v = VectorLua.type.value(L, i) { return .array(v.scalars.map(DataValue.number)) }
            if let m = MatrixLua.type.value(L, i) { return .array((0..<m.rows).map { .array(m.row($0).scalars.map(DataValue.number)) }) }
            if let p = PathLua.type.value(L, i) {
                return .object(["points": .array(p.path.points.map { .array($0.scalars.map(DataValue.number)) }),
                                "length": .number(try p.path.length(on: p.manifold.generator))])
            }
            throw call.runtimeError("\(at) is a \(call.typeName(i)), which has no plain-data form")
        case LUA_TTABLE:
            guard let id = lua_topointer(L, i) else { return .null }
            guard !open.contains(id) else { throw call.runtimeError("\(at) contains itself: a table that refers back to itself has no plain-data form") }
            guard open.count < DataValue.maxDepth else { throw call.runtimeError("\(at) is nested deeper than \(DataValue.maxDepth) levels") }
            guard lua_checkstack(L, 4) != 0 else { throw call.runtimeError("\(at) is nested too deeply") }
            open.append(id); defer { open.removeLast() }
            let n = Int(lua_rawlen(L, i))
            var count = 0
            var object: [String: DataValue] = [:]
            lua_pushnil(L)
            while lua_next(L, i) != 0 {
                defer { geo_pop(L, 1) }
                count += 1
                if n > 0 { continue }
                guard lua_type(L, -2) == LUA_TSTRING, let k = geo_tostring(L, -2) else {
                    geo_pop(L, 1)
                    throw call.runtimeError("\(at) has a key that is not a string (nor a sequence index 1..n)")
                }
                let key = String(cString: k)
                object[key] = try convert(call, lua_absindex(L, -1), "\(place).\(key)", &open)
            }
            guard n > 0 else { return .object(object) }
            guard count == n else { throw call.runtimeError("\(at) mixes a sequence with other keys") }
            var array: [DataValue] = []
            array.reserveCapacity(n)
            for k in 1...n {
                lua_rawgeti(L, i, lua_Integer(k))
                defer { geo_pop(L, 1) }
                array.append(try convert(call, lua_absindex(L, -1), "\(place)[\(k)]", &open))
            }
            return .array(array)
        default:
            throw call.runtimeError("\(at) is a \(call.typeName(i)), which has no plain-data form")
        }
    }

    /// Pushes a plain value (arrays as sequences, objects as tables, null as nil).
    @discardableResult static func push(_ call: LuaCall, _ v: DataValue) throws -> Int32 {
        let L = call.L
        guard lua_checkstack(L, 4) != 0 else { throw call.runtimeError("a value nested too deeply to return") }
        switch v {
        case .null: lua_pushnil(L)
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        case .number(let x):
            if let n = Int64(exactly: x), abs(x) < 9.007199254740992e15 { lua_pushinteger(L, n) } else { lua_pushnumber(L, x) }
        case .string(let s): lua_pushstring(L, s)
        case .array(let a):
            try call.checkTable(a.count)
            lua_createtable(L, Int32(clamping: a.count), 0)
            for (k, x) in a.enumerated() { try push(call, x); lua_rawseti(L, -2, lua_Integer(k + 1)) }
        case .object(let o):
            try call.checkTable(o.count)
            lua_createtable(L, 0, Int32(clamping: o.count))
            for (k, x) in o.sorted(by: { $0.key < $1.key }) { lua_pushstring(L, k); try push(call, x); lua_rawset(L, -3) }
        }
        return 1
    }
}
