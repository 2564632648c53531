import CLua
import GeoEngine

/// The geometry of SPEC's Lua API:
///     geo.geodesic(m, a, b [, {points=64, solver="newton"|"georce"|"descent", tol=1e-6, max_iter=, init=path, progress=}])
///         (init: the starting path, e.g. g:path(i, j) of a geo.graph; resampled to `points` when
///         both are given; geo.log takes it too)
///     geo.exp(m, z, v [, {steps=100, method="rk4"|"projection", progress=}])   -> Vector, Path
///     geo.log(m, a, b [, {points=, solver=, tol=, max_iter=, steps=, progress=, details=false}])
///                                                                              -> Vector [, details]
///     geo.transport(m, path, v [, {method="projection"|"polar"}])             -> Vector
///     geo.analogy(m, a, b, c [, {points=, solver=, tol=, max_iter=, steps=, transport="polar"|"projection", progress=}])
///                                                                              -> Vector d, details
///     geo.sectional(m, z, u, v)  geo.scalar(m, z)
///     geo.holonomy(m, loop, v [, {method=, closure_tol=1e-6}])                -> angle, details
///     geo.sweep(m [, {samples=100, seed=, measure="sectional"|"scalar"|"ratio", points={...},
///               sampler=function, scale=1, path_points=32, solver=, tol=, max_iter=, progress=}])
/// Long calls draw a progress bar on stderr when it is a terminal (or with progress=true);
/// Ctrl-C stops them with the error "interrupted".
enum GeometryLua {
    static let geodesicKeys = ["points", "solver", "tol", "max_iter", "progress"]

    /// Geodesic options from an options table (keys `geodesicKeys`; `points` under `pointsKey`).
    static func geodesicOptions(_ o: Options, pointsKey: String = "points", defaultPoints: Int = 64) throws -> GeodesicOptions {
        var g = GeodesicOptions(points: try o.integer(pointsKey) ?? defaultPoints)
        o.alias(pointsKey, as: "points")
        if let s = try o.choice("solver", GeodesicSolver.allCases.map(\.rawValue)), let solver = GeodesicSolver(rawValue: s) {
            g.solver = solver
        }
        if let t = try o.number("tol") { g.tolerance = t }
        g.maxIterations = try o.integer("max_iter")
        try g.validate()
        return g
    }

    /// The `init` option (a geo.Path from a to b, e.g. a graph path) as the geodesic's start;
    /// with `points` also given it is resampled to that many points by latent arc length.
    static func readInit(_ call: LuaCall, _ o: Options, _ options: inout GeodesicOptions) throws {
        guard o.pushRaw("init") else { return }
        defer { geo_pop(call.L, 1) }
        guard let p = PathLua.type.value(call.L, -1) else {
            throw call.argumentError(4, Messages.optionType("init", "a geo.Path", got: call.typeName(-1)))
        }
        if o.has("points") {
            options.initialPath = try p.path.resampled(points: options.points)
        } else {
            options.initialPath = p.path
            options.points = p.path.count
        }
    }

    static func manifold(_ call: LuaCall) throws -> Manifold { try call.value(1, ManifoldLua.type) }
    static func point(_ call: LuaCall, _ i: Int32, _ m: Manifold, _ what: String) throws -> Vector {
        try PathLua.latent(call, i, m, what)
    }
    static func pushPath(_ call: LuaCall, _ p: Path, _ m: Manifold) {
        call.push(ManifoldPath(path: p, manifold: m), as: PathLua.type)
    }
    /// Runs `body` with a progress bar labelled `label` (erased afterwards, also on errors).
    static func withProgress<T>(_ label: String, _ o: Options, _ body: (ProgressHandler?) throws -> T) throws -> T {
        let bar = ProgressBar(label, requested: try o.boolean("progress"))
        defer { bar.finish() }
        return try body(bar.handler)
    }
    static func transportMethod(_ o: Options) throws -> ParallelTransport.Method? {
        try o.choice("method", ParallelTransport.Method.allCases.map(\.rawValue)).flatMap(ParallelTransport.Method.init)
    }

    static let functions: [Binding] = [
        Binding("geodesic") { call in
            let m = try manifold(call)
            let a = try point(call, 2, m, "start point"), b = try point(call, 3, m, "end point")
            let o = try Options(call, 4, allowed: geodesicKeys + ["init"])
            var options = try geodesicOptions(o)
            try readInit(call, o, &options)
            let path = try withProgress("geodesic", o) { try Geodesic.solve(m.generator, from: a, to: b, options: options, progress: $0) }
            pushPath(call, path, m)
            return 1
        },
        Binding("exp") { call in
            let m = try manifold(call)
            let z = try point(call, 2, m, "point"), v = try point(call, 3, m, "velocity")
            let o = try Options(call, 4, allowed: ["steps", "method", "progress"])
            let steps = try o.integer("steps") ?? ExponentialMap.defaultSteps
            let method = try o.choice("method", ExponentialMap.Method.allCases.map(\.rawValue)).flatMap(ExponentialMap.Method.init) ?? .rk4
            let r = try withProgress("exp", o) { try ExponentialMap.shoot(from: z, velocity: v, on: m.generator, steps: steps, method: method, progress: $0) }
            call.push(r.point, as: VectorLua.type)
            pushPath(call, r.path, m)
            return 2
        },
        Binding("log") { call in
            let m = try manifold(call)
            let a = try point(call, 2, m, "start point"), b = try point(call, 3, m, "end point")
            let o = try Options(call, 4, allowed: geodesicKeys + ["steps", "details", "init"])
            var geodesic = try geodesicOptions(o)
            try readInit(call, o, &geodesic)
            var options = LogMap.Options(geodesic: geodesic)
            if let s = try o.integer("steps") { options.steps = s }
            let r = try withProgress("log", o) { try LogMap.compute(on: m.generator, from: a, to: b, options: options, progress: $0) }
            call.push(r.vector, as: VectorLua.type)
            // Only the vector by default, so that geo.exp(m, a, geo.log(m, a, b)) works.
            guard try o.boolean("details") == true else { return 1 }
            lua_createtable(call.L, 0, 5)
            call.setField("geodesic") { pushPath(call, r.geodesic, m) }
            call.setField("shot") { pushPath(call, r.shot, m) }
            call.setField("initial_guess") { call.push(r.initialGuess, as: VectorLua.type) }
            call.setField("residual") { call.push(r.residual) }
            call.setField("iterations") { call.push(r.iterations) }
            return 2
        },
        Binding("transport") { call in
            let m = try manifold(call)
            let p = try call.value(2, PathLua.type)
            let v = try point(call, 3, m, "vector")
            let o = try Options(call, 4, allowed: ["method"])
            let r = try ParallelTransport.transport(v, along: p.path, on: m.generator, method: try transportMethod(o) ?? .projection)
            return call.push(r.vector, as: VectorLua.type)
        },
        Binding("analogy") { call in
            let m = try manifold(call)
            let a = try point(call, 2, m, "a"), b = try point(call, 3, m, "b"), c = try point(call, 4, m, "c")
            let o = try Options(call, 5, allowed: geodesicKeys + ["steps", "transport"])
            var options = Analogy.Options(geodesic: try geodesicOptions(o))
            if let s = try o.integer("steps") { options.steps = s }
            if let t = try o.choice("transport", ParallelTransport.Method.allCases.map(\.rawValue)).flatMap(ParallelTransport.Method.init) {
                options.transport = t
            }
            let r = try withProgress("analogy", o) { try Analogy.solve(on: m.generator, a, b, c, options: options, progress: $0) }
            call.push(r.point, as: VectorLua.type)
            lua_createtable(call.L, 0, 7)
            call.setField("log") { call.push(r.logVector, as: VectorLua.type) }
            call.setField("transported") { call.push(r.transported, as: VectorLua.type) }
            call.setField("ab") { pushPath(call, r.abPath, m) }
            call.setField("ac") { pushPath(call, r.acPath, m) }
            call.setField("cd") { pushPath(call, r.cdPath, m) }
            call.setField("residual") { call.push(r.log.residual) }
            return 2
        },
        Binding("sectional") { call in
            let m = try manifold(call)
            let z = try point(call, 2, m, "point"), u = try point(call, 3, m, "vector u"), v = try point(call, 4, m, "vector v")
            return call.push(try Curvature.sectional(on: m.generator, at: z, u, v))
        },
        Binding("scalar") { call in
            let m = try manifold(call)
            return call.push(try Curvature.scalar(on: m.generator, at: try point(call, 2, m, "point")))
        },
        Binding("holonomy") { call in
            let m = try manifold(call)
            let loop = try call.value(2, PathLua.type)
            let v = try point(call, 3, m, "vector")
            let o = try Options(call, 4, allowed: ["method", "closure_tol"])
            let r = try Holonomy.measure(v, around: loop.path, on: m.generator, method: try transportMethod(o) ?? .projection,
                                         closureTolerance: try o.number("closure_tol").map { x in
                                             guard x >= 0, x.isFinite else {
                                                 throw call.argumentError(4, Messages.optionRange("closure_tol", "a finite number >= 0", got: formatNumber(x)))
                                             }
                                             return x
                                         } ?? Holonomy.defaultClosureTolerance)
            call.push(r.angle)
            lua_createtable(call.L, 0, 3)
            call.setField("signed") { call.push(r.signed) }
            call.setField("transported") { call.push(r.transported, as: VectorLua.type) }
            call.setField("gap") { call.push(r.gap) }
            return 2
        },
        Binding("sweep") { call in try sweep(call) },
    ]

    // MARK: geo.sweep

    static func sweep(_ call: LuaCall) throws -> Int32 {
        let m = try manifold(call)
        let o = try Options(call, 2, allowed: ["samples", "seed", "measure", "points", "sampler", "scale", "path_points",
                                               "solver", "tol", "max_iter", "shard", "shards", "progress"])
        let shard = try PointSetsLua.shardOption(call, o, 2)
        let measure = Sweep.Measure(rawValue: try o.choice("measure", Sweep.Measure.allCases.map(\.rawValue)) ?? "sectional") ?? .sectional
        var rng = try o.integer("seed").map { SeededRandom(seed: UInt64(bitPattern: Int64($0))) } ?? SeededRandom()
        let scale = try Setting.positive("scale", try o.number("scale") ?? 1)
        let given = try listedPoints(call, o, m)
        let samples = try Sweep.checkSamples(try o.integer("samples") ?? (given?.count ?? 100), latentDim: m.latentDim)
        let needed = measure == .ratio ? 2 * samples : samples

        // The latent points: a list, a sampler, or the standard normal prior (times scale).
        var points: [Vector]
        if let list = given {
            if measure == .ratio {
                guard list.count >= 2 else { throw call.argumentError(2, Messages.sweepTooFewPoints) }
                points = (0..<samples).flatMap { _ -> [Vector] in
                    let i = Int(rng.next() % UInt64(list.count))
                    var j = Int(rng.next() % UInt64(list.count - 1)); if j >= i { j += 1 }
                    return [list[i], list[j]]
                }
            } else {
                points = o.has("samples") ? (0..<samples).map { _ in list[Int(rng.next() % UInt64(list.count))] } : list
            }
        } else if o.pushRaw("sampler") {
            defer { geo_pop(call.L, 1) }
            guard lua_type(call.L, -1) == LUA_TFUNCTION else {
                throw call.argumentError(2, Messages.optionType("sampler", "a function", got: call.typeName(-1)))
            }
            points = try (0..<needed).map { k in try callSampler(call, m, k + 1) }
        } else {
            points = (0..<needed).map { _ in scale * rng.normalVector(m.latentDim) }
        }

        let values: [Double] = try withProgress("sweep", o) { progress in
            switch measure {
            case .sectional: return try Sweep.sectional(on: m.generator, at: points, rng: &rng, shard: shard ?? .all, progress: progress)
            case .scalar: return try Sweep.scalar(on: m.generator, at: points, shard: shard ?? .all, progress: progress)
            case .ratio:
                let all = stride(from: 0, to: points.count - 1, by: 2).map { (points[$0], points[$0 + 1]) }
                let pairs = (shard ?? .all).items(all.count).map { all[$0] }
                return try Sweep.lengthRatios(on: m.generator, pairs: pairs,
                                              options: try geodesicOptions(o, pointsKey: "path_points", defaultPoints: 32),
                                              progress: progress)
            }
        }
        if let shard {
            let count = measure == .ratio ? points.count / 2 : points.count
            return try FilesLua.push(call, Sweep.sliceData(measure: measure.rawValue, shard: shard, count: count, values: values))
        }
        return try pushSweep(call, measure: measure.rawValue, values: values)
    }

    /// The sweep's result table: statistics of `values` (NaN dropped and counted) and the values.
    static func pushSweep(_ call: LuaCall, measure: String, values: [Double]) throws -> Int32 {
        let s = try SampleStatistics(values)
        lua_createtable(call.L, 0, 12)
        for (k, x) in [("mean", s.mean), ("std", s.std), ("min", s.min), ("max", s.max), ("median", s.median),
                       ("q05", s.q05), ("q95", s.q95)] {
            call.setField(k) { call.push(x) }
        }
        call.setField("count") { call.push(s.count) }
        call.setField("dropped") { call.push(s.dropped) }
        call.setField("measure") { call.push(measure) }
        call.setField("values") { call.push(numbers: s.values) }
        return 1
    }

    /// The `points` option: a table of latent geo.Vectors, checked.
    static func listedPoints(_ call: LuaCall, _ o: Options, _ m: Manifold) throws -> [Vector]? {
        guard o.pushRaw("points") else { return nil }
        defer { geo_pop(call.L, 1) }
        guard lua_type(call.L, -1) == LUA_TTABLE else {
            throw call.argumentError(2, Messages.optionType("points", "a table of geo.Vector", got: call.typeName(-1)))
        }
        let list = try call.sequence(-1) { k -> Vector in
            guard let v = VectorLua.type.value(call.L, -1) else {
                throw call.argumentError(2, Messages.entryType(k, "geo.Vector", got: call.typeName(-1)))
            }
            try m.generator.checkPoint(v, "point \(k)")
            return v
        }
        guard !list.isEmpty else { throw call.argumentError(2, Messages.sweepTooFewPoints) }
        return list
    }

    /// Calls the sampler (on top of the stack) through lua_pcall; it must return a latent point.
    static func callSampler(_ call: LuaCall, _ m: Manifold, _ k: Int) throws -> Vector {
        let L = call.L
        lua_pushvalue(L, -1)
        lua_pushinteger(L, lua_Integer(k))
        guard geo_pcall(L, 1, 1, 0) == LUA_OK else { throw LuaError.capture(L) }
        defer { geo_pop(L, 1) }
        guard let v = VectorLua.type.value(L, -1) else { throw LuaError.runtime(Messages.samplerResult(got: call.typeName(-1))) }
        try m.generator.checkPoint(v, "sampled point")
        return v
    }
}
