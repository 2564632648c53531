import CLua
import GeoEngine

/// A path together with the manifold it lives on (length, energy and decode need the generator).
struct ManifoldPath {
    let path: Path
    let manifold: Manifold
}

/// geo.Path: a sequence of latent points on a manifold.
///     geo.line(m, a, b [, {points=64}])
///     p[i]  #p  p:length()  p:energy()  p:decode()  p:points()
///     p.converged  p.stop  p.iterations  p.evaluations  p.solver  p.manifold  p.residuals
/// `p.residuals` is a table of the solver's stopping residual at every iteration (start first,
/// iterations + 1 entries; empty for lines and integrated paths).
/// `p.stop` says why the solver stopped: "converged", "max_iter", "line_search" or "stalled"
/// (GeoEngine's `Path.Stop`); lines and integrated paths say "converged".
/// `p:decode()` is a table of data vectors g(z_1) ... g(z_N), which geo.save_png accepts.
enum PathLua {
    static let type: UserType<ManifoldPath> = UserType(
        name: "geo.Path",
        methods: [
            Binding("length") { call in
                let p = try call.value(1, type)
                return call.push(try p.path.length(on: p.manifold.generator))
            },
            Binding("energy") { call in
                let p = try call.value(1, type)
                return call.push(try p.path.energy(on: p.manifold.generator))
            },
            Binding("decode") { call in
                let p = try call.value(1, type)
                let x = try p.path.decode(on: p.manifold.decoder)
                return pushVectors(call, (0..<x.rows).map { x.row($0) })
            },
            Binding("points") { call in pushVectors(call, try call.value(1, type).path.points) },
        ],
        metamethods: [
            ("__len", Binding("__len") { call in call.push(try call.value(1, type).path.count) }),
            ("__tostring", Binding("__tostring") { call in
                let p = try call.value(1, type).path
                var s = "geo.Path(\(p.count) points on \(untrusted: try call.value(1, type).manifold.name), solver \(p.solver)"
                if p.solver != "line" { s += ", \(p.converged ? "converged" : "not converged (\(p.stop.rawValue))") after \(p.iterations) iteration\(p.iterations == 1 ? "" : "s")" }
                return call.push(s + ")")
            }),
        ],
        fields: ["converged", "stop", "iterations", "evaluations", "solver", "manifold", "residuals"],
        index: Binding("__index") { call in
            let L = call.L
            let p = try call.value(1, type)
            if let index = call.sequenceIndex(2, count: p.path.count) {
                return index.map { call.push(p.path.points[$0], as: VectorLua.type) } ?? call.pushNil()
            }
            guard lua_type(L, 2) == LUA_TSTRING, let k = geo_tostring(L, 2) else { return call.pushNil() }
            switch String(cString: k) {
            case "converged": return call.push(p.path.converged)
            case "stop": return call.push(p.path.stop.rawValue)
            case "iterations": return call.push(p.path.iterations)
            case "evaluations": return call.push(p.path.evaluations)
            case "solver": return call.push(p.path.solver)
            case "manifold": return call.push(p.manifold, as: ManifoldLua.type)
            case "residuals": return call.push(numbers: p.path.residuals)
            default: return pushMethod(L, 1, 2)
            }
        })

    /// Pushes a sequence table of geo.Vectors.
    static func pushVectors(_ call: LuaCall, _ vs: [Vector]) -> Int32 {
        lua_createtable(call.L, Int32(clamping: vs.count), 0)
        for (i, v) in vs.enumerated() {
            call.push(v, as: VectorLua.type)
            lua_rawseti(call.L, -2, lua_Integer(i + 1))
        }
        return 1
    }

    /// Reads a latent point of manifold m at argument i (a geo.Vector of length latent_dim).
    static func latent(_ call: LuaCall, _ i: Int32, _ m: Manifold, _ what: String = "vector") throws -> Vector {
        let v = try call.value(i, VectorLua.type)
        try m.generator.checkPoint(v, what)
        return v
    }

    static let constructors: [Binding] = [
        Binding("line") { call in
            let m = try call.value(1, ManifoldLua.type)
            let a = try latent(call, 2, m), b = try latent(call, 3, m)
            let o = try Options(call, 4, allowed: ["points"])
            let n = try o.integer("points") ?? 64
            return call.push(ManifoldPath(path: try Path.line(from: a, to: b, points: n), manifold: m), as: type)
        },
    ]
}

