import CLua
import GeoEngine

/// geo.Matrix: an immutable dense matrix of Doubles, 1-based from Lua.
///     geo.matrix{{1,2},{3,4}}  m:rows()  m:cols()  m:get(i,j)  m:totable()  m:t()
///     m*v  m*m  a*m  m*a  m+m  m-m  -m  m==n  tostring(m)
enum MatrixLua {
    static let type: UserType<Matrix> = UserType(
        name: "geo.Matrix",
        methods: [
            Binding("rows") { call in call.push(try call.value(1, type).rows) },
            Binding("cols") { call in call.push(try call.value(1, type).cols) },
            Binding("get") { call in
                let m = try call.value(1, type)
                let i = try call.integer(2), j = try call.integer(3)
                guard i >= 1, i <= m.rows else { throw call.argumentError(2, Messages.indexOutOfRange("row", i, m.rows)) }
                guard j >= 1, j <= m.cols else { throw call.argumentError(3, Messages.indexOutOfRange("column", j, m.cols)) }
                return call.push(m[i - 1, j - 1])
            },
            Binding("totable") { call in
                let m = try call.value(1, type)
                lua_createtable(call.L, Int32(clamping: m.rows), 0)
                for i in 0..<m.rows {
                    call.push(numbers: m.row(i).scalars)
                    lua_rawseti(call.L, -2, lua_Integer(i + 1))
                }
                return 1
            },
            Binding("t") { call in call.push(try call.value(1, type).transposed, as: type) },
        ],
        metamethods: [
            ("__tostring", Binding("__tostring") { call in call.push(describe(try call.value(1, type))) }),
            ("__eq", Binding("__eq") { call in
                guard let a = type.value(call.L, 1), let b = type.value(call.L, 2) else { return call.push(false) }
                return call.push(a == b)
            }),
            ("__unm", Binding("__unm") { call in call.push(-1 * (try call.value(1, type)), as: type) }),
            ("__add", Binding("__add") { call in try sum(call, "add") { try $0 + $1 } }),
            ("__sub", Binding("__sub") { call in try sum(call, "subtract") { try $0 - $1 } }),
            ("__mul", Binding("__mul") { call in
                let L = call.L
                if let a = type.value(L, 1) {
                    if let b = type.value(L, 2) {
                        guard a.cols == b.rows else {
                            throw call.runtimeError(Messages.matrixShapeMismatch("multiply", (a.rows, a.cols), (b.rows, b.cols)))
                        }
                        return call.push(try Matrix.product(a, b), as: type)
                    }
                    if let v = VectorLua.type.value(L, 2) {
                        guard a.cols == v.count else { throw call.runtimeError(Messages.matrixVectorMismatch(a.rows, a.cols, v.count)) }
                        return call.push(try a.apply(v), as: VectorLua.type)
                    }
                    if lua_type(L, 2) == LUA_TNUMBER { return call.push(lua_tonumberx(L, 2, nil) * a, as: type) }
                } else if let b = type.value(L, 2), lua_type(L, 1) == LUA_TNUMBER {
                    return call.push(lua_tonumberx(L, 1, nil) * b, as: type)
                }
                throw call.runtimeError(Messages.arithmetic("multiply", call.typeName(1), call.typeName(2)))
            }),
        ])

    static func describe(_ m: Matrix) -> String {
        let maxRows = 12, maxCols = 8
        var lines = ["geo.Matrix \(m.rows)x\(m.cols)"]
        for i in 0..<min(m.rows, maxRows) {
            var cells = (0..<min(m.cols, maxCols)).map { formatNumber(m[i, $0]) }
            if m.cols > maxCols { cells.append("...") }
            lines.append("  " + cells.joined(separator: "  "))
        }
        if m.rows > maxRows { lines.append("  ...") }
        return lines.joined(separator: "\n")
    }

    private static func sum(_ call: LuaCall, _ op: String, _ f: (Matrix, Matrix) throws -> Matrix) throws -> Int32 {
        guard let a = type.value(call.L, 1), let b = type.value(call.L, 2) else {
            throw call.runtimeError(Messages.arithmetic(op, call.typeName(1), call.typeName(2)))
        }
        guard a.rows == b.rows, a.cols == b.cols else {
            throw call.runtimeError(Messages.matrixShapeMismatch(op, (a.rows, a.cols), (b.rows, b.cols)))
        }
        return call.push(try f(a, b), as: type)
    }

    static let constructors: [Binding] = [
        Binding("matrix") { call in
            let rows = try call.sequence(1) { k -> [Double] in
                guard lua_type(call.L, -1) == LUA_TTABLE else {
                    throw call.argumentError(1, Messages.entryType(k, "table", got: call.typeName(-1)))
                }
                return try call.numbers(-1, reportAs: 1)
            }
            let cols = rows.first?.count ?? 0
            guard rows.allSatisfy({ $0.count == cols }) else { throw call.argumentError(1, Messages.raggedMatrix) }
            call.argument(1, isSetting: "size")
            try Matrix.checkShape(rows: rows.count, cols: cols)
            return call.push(try Matrix(rows: rows.count, cols: cols, scalars: rows.flatMap { $0 }), as: type)
        },
    ]
}
