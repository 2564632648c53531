import CLua
import GeoEngine

/// A graph together with the manifold it was built on (its paths are geo.Paths on it).
struct ManifoldGraph {
    let graph: NeighbourGraph
    let manifold: Manifold
}

/// Many points (GeoEngine's PointSets/):
///     g = geo.graph(m, points [, {k=10, weight="geodesic"|"line", points_per_edge=8, shard=, shards=, progress=}])
///         with {shard, shards}: that shard's edge weights (a slice, as geo.distances' graph method
///         gives); geo.merge(slices, m) joins them into the geo.Graph on m
///         g:path(i, j) -> geo.Path through the graph (nil when unconnected)  g:distances() -> geo.Matrix
///         g:edges() -> {{i, j, w}, ...}  #g
///     geo.distances(m, points [, {method="graph"|"geodesic"|"line", k=10, weight=, points_per_edge=,
///                   points_per_path=16, shard=, shards=, progress=}]) -> geo.Matrix (N x N, symmetric, zero diagonal)
///         with {shard = i, shards = n}: that shard's slice, a plain table for geo.write_json and geo.merge
///     geo.merge{slice_or_file, ...} -> geo.Matrix: the slices of every shard joined (files: JSON);
///         slices of geo.sweep{..., shard = i, shards = n} merge to the sweep's result table
///     geo.shard() -> i, n from GEO_SHARD, Slurm array or Kubernetes Indexed Job variables (1, 1 when none)
///     geo.kmedoids(D, k [, {seed=1}]) -> {medoids = {...}, assignment = {...}, cost =, iterations =}
///     mean, details = geo.frechet_mean(m, points [, {tol=1e-6, max_iter=30, points=16, progress=}])
///         details: {converged, iterations, objective = half the mean squared distance,
///         gradient_norms = {...}, logs = {log_mean(z_i), ...}}
///     geo.tangent_pca(m, mean, points [, {points=16}]) -> {directions = {u_1, ...} (metric-orthonormal),
///         variances = {...} (descending), coordinates = {c_1, ...} (one vector per point)}
/// `points` is a table of latent geo.Vectors, a geo.Matrix whose rows are the points, or a
/// geo.Dataset (its images' encodings by m's encoder).
enum PointSetsLua {
    static let graphType: UserType<ManifoldGraph> = UserType(
        name: "geo.Graph",
        methods: [
            Binding("path") { call in
                let g = try call.value(1, graphType)
                let n = g.graph.points.count
                let i = try call.integer(2), j = try call.integer(3)
                guard i >= 1, i <= n else { throw call.argumentError(2, Messages.indexOutOfRange("node", i, n)) }
                guard j >= 1, j <= n else { throw call.argumentError(3, Messages.indexOutOfRange("node", j, n)) }
                guard let p = try g.graph.latentPath(from: i - 1, to: j - 1) else { return call.pushNil() }
                return call.push(ManifoldPath(path: p, manifold: g.manifold), as: PathLua.type)
            },
            Binding("distances") { call in
                call.push(try ShortestPaths.matrix(try call.value(1, graphType).graph), as: MatrixLua.type)
            },
            Binding("edges") { call in
                let g = try call.value(1, graphType).graph
                try call.checkTable(4 * g.edges.count)
                lua_createtable(call.L, Int32(clamping: g.edges.count), 0)
                for (q, e) in g.edges.enumerated() {
                    call.push(numbers: [Double(e.i + 1), Double(e.j + 1), e.weight])
                    lua_rawseti(call.L, -2, lua_Integer(q + 1))
                }
                return 1
            },
        ],
        metamethods: [
            ("__len", Binding("__len") { call in call.push(try call.value(1, graphType).graph.points.count) }),
            ("__tostring", Binding("__tostring") { call in
                let g = try call.value(1, graphType)
                return call.push("geo.Graph(\(g.graph.points.count) points, \(g.graph.edges.count) edges on \(untrusted: g.manifold.name))")
            }),
        ])

    static let graphKeys = ["k", "weight", "points_per_edge", "progress"]
    static let shardKeys = ["shard", "shards"]

    static let functions: [Binding] = [
        Binding("graph") { call in
            let m = try call.value(1, ManifoldLua.type)
            let points = try latentPoints(call, 2, m)
            let o = try Options(call, 3, allowed: graphKeys + shardKeys)
            let options = try graphOptions(o, count: points.count)
            if let shard = try shardOption(call, o, 3) {
                var d = Distances.Options()
                d.graph = options
                let slice = try GeometryLua.withProgress("graph", o) { progress in
                    try Distances.slice(on: m.generator, points: points, options: d, shard: shard, progress: progress)
                }
                return try FilesLua.push(call, slice.data(points: points))
            }
            let g = try GeometryLua.withProgress("graph", o) { progress in
                try NeighbourGraph.build(on: m.generator, points: points, options: options, progress: progress)
            }
            return call.push(ManifoldGraph(graph: g, manifold: m), as: graphType)
        },
        Binding("distances") { call in
            let m = try call.value(1, ManifoldLua.type)
            let points = try latentPoints(call, 2, m)
            let o = try Options(call, 3, allowed: graphKeys + shardKeys + ["method", "points_per_path"])
            var options = Distances.Options()
            options.method = Distances.Method(rawValue: try o.choice("method", Distances.Method.allCases.map(\.rawValue)) ?? "graph") ?? .graph
            options.graph = try graphOptions(o, count: points.count)
            options.pointsPerPath = try o.integer("points_per_path") ?? options.pointsPerPath
            let shard = try shardOption(call, o, 3)
            let slice = try GeometryLua.withProgress("distances", o) { progress in
                try Distances.slice(on: m.generator, points: points, options: options, shard: shard ?? .all, progress: progress)
            }
            guard shard != nil else { return call.push(try Distances.merge([slice], points: points), as: MatrixLua.type) }
            return try FilesLua.push(call, slice.data(points: points))
        },
        Binding("merge") { call in
            try call.table(1)
            let parts = try call.sequence(1) { k -> DataValue in
                if lua_type(call.L, -1) == LUA_TSTRING { return try JSONFile.read(try call.path(-1)) }
                guard lua_type(call.L, -1) == LUA_TTABLE else {
                    throw call.argumentError(1, Messages.entryType(k, "a file name or a slice table", got: call.typeName(-1)))
                }
                return try FilesLua.value(call, -1)
            }
            guard let first = parts.first else { throw call.argumentError(1, "nothing to merge: give the shards' slices or files") }
            if case .string("sweep") = first["georepl"] {
                let slices = try parts.map { try Sweep.slice(data: $0) }
                let (measure, count) = (slices[0].measure, slices[0].count)
                guard slices.allSatisfy({ $0.measure == measure && $0.count == count }) else {
                    throw call.runtimeError("the sweep slices are of different sweeps (measure or sample count differ)")
                }
                let values = try Shard.join(slices.map { ($0.shard, $0.values) }, count: count)
                return try GeometryLua.pushSweep(call, measure: measure, values: values)
            }
            let slices = try parts.map { try Distances.Slice(data: $0) }
            let points = try Distances.Slice.points(data: first)
            if !call.isNoneOrNil(2) {
                let m = try call.value(2, ManifoldLua.type)
                guard slices[0].method == .graph else { throw call.argumentError(2, "only graph slices merge to a geo.Graph") }
                for p in points { try m.generator.checkPoint(p, "graph point") }
                let g = try Distances.mergeGraph(slices, points: points)
                return call.push(ManifoldGraph(graph: g, manifold: m), as: graphType)
            }
            return call.push(try Distances.merge(slices, points: points), as: MatrixLua.type)
        },
        Binding("shard") { call in
            let s = try Shard.fromEnvironment() ?? .all
            call.push(s.index); call.push(s.count)
            return 2
        },
        Binding("frechet_mean") { call in
            let m = try call.value(1, ManifoldLua.type)
            let points = try latentPoints(call, 2, m)
            let o = try Options(call, 3, allowed: ["tol", "max_iter", "points", "progress"])
            var options = FrechetMean.Options()
            options.tolerance = try o.number("tol") ?? options.tolerance
            options.maxIterations = try o.integer("max_iter") ?? options.maxIterations
            options.log.geodesic.points = try o.integer("points") ?? options.log.geodesic.points
            let r = try GeometryLua.withProgress("frechet_mean", o) { progress in
                try FrechetMean(on: m.generator, points: points, options: options, progress: progress)
            }
            call.push(r.mean, as: VectorLua.type)
            try call.checkTable(r.logs.count + r.gradientNorms.count + 8)
            lua_createtable(call.L, 0, 5)
            call.setField("converged") { call.push(r.converged) }
            call.setField("iterations") { call.push(r.iterations) }
            call.setField("objective") { call.push(r.objective) }
            call.setField("gradient_norms") { call.push(numbers: r.gradientNorms) }
            call.setField("logs") { _ = PathLua.pushVectors(call, r.logs) }
            return 2
        },
        Binding("tangent_pca") { call in
            let m = try call.value(1, ManifoldLua.type)
            let mean = try PathLua.latent(call, 2, m, "mean")
            let points = try latentPoints(call, 3, m)
            let o = try Options(call, 4, allowed: ["points", "progress"])
            var log = LogMap.Options(geodesic: GeodesicOptions(points: 16))
            log.geodesic.points = try o.integer("points") ?? log.geodesic.points
            let logs = try GeometryLua.withProgress("tangent_pca", o) { progress -> [Vector] in
                try points.enumerated().map { k, p in
                    progress?(ProgressReport(completed: k, total: points.count))
                    return p == mean ? Vector([Double](repeating: 0, count: p.count)) : try LogMap.compute(on: m.generator, from: mean, to: p, options: log).vector
                }
            }
            let pca = try TangentPCA(metric: try m.generator.metric(mean), logs: logs)
            try call.checkTable(2 * points.count + 2 * m.latentDim + 8)
            lua_createtable(call.L, 0, 3)
            call.setField("directions") { _ = PathLua.pushVectors(call, pca.directions) }
            call.setField("variances") { call.push(numbers: pca.variances) }
            call.setField("coordinates") { _ = PathLua.pushVectors(call, pca.coordinates) }
            return 1
        },
        Binding("kmedoids") { call in
            let d = try call.value(1, MatrixLua.type)
            let k = try call.integer(2)
            let o = try Options(call, 3, allowed: ["seed"])
            let seed = UInt64(bitPattern: Int64(try o.integer("seed") ?? 1))
            let r = try KMedoids(distances: d, k: k, seed: seed)
            try call.checkTable(2 * d.rows + 8)
            lua_createtable(call.L, 0, 4)
            call.setField("medoids") { call.push(numbers: r.medoids.map { Double($0 + 1) }, integers: true) }
            call.setField("assignment") { call.push(numbers: r.assignment.map { Double($0 + 1) }, integers: true) }
            call.setField("cost") { call.push(r.cost) }
            call.setField("iterations") { call.push(r.iterations) }
            return 1
        },
    ]

    /// Latent points at argument i: a table of geo.Vector, a geo.Matrix of rows, or a geo.Dataset
    /// (the encodings of all its images by m's encoder).
    static func latentPoints(_ call: LuaCall, _ i: Int32, _ m: Manifold) throws -> [Vector] {
        if let ds = DataLua.datasetType.value(call.L, i) {
            try MemoryBudget.doubles(ds.count, max(m.dataDim, m.latentDim), for: "encoding \(ds.count) images")
            return try m.encode(rows: try ds.batch(0..<ds.count))
        }
        if let x = MatrixLua.type.value(call.L, i) {
            guard x.cols == m.latentDim else { throw GeoError.dimensionMismatch("latent_dim is \(m.latentDim), the matrix has \(x.cols) columns") }
            return (0..<x.rows).map { x.row($0) }
        }
        guard lua_type(call.L, i) == LUA_TTABLE else { throw call.typeError(i, "table of geo.Vector or geo.Matrix") }
        return try call.sequence(i) { k -> Vector in
            guard let v = VectorLua.type.value(call.L, -1) else {
                throw call.argumentError(i, Messages.entryType(k, "geo.Vector", got: call.typeName(-1)))
            }
            try m.generator.checkPoint(v, "point \(k)")
            return v
        }
    }

    static func graphOptions(_ o: Options, count: Int) throws -> NeighbourGraph.Options {
        var g = NeighbourGraph.Options()
        g.k = try o.integer("k") ?? min(g.k, max(1, count - 1))
        if let w = try o.choice("weight", NeighbourGraph.EdgeWeight.allCases.map(\.rawValue)) { g.weight = NeighbourGraph.EdgeWeight(rawValue: w) ?? .geodesic }
        g.pointsPerEdge = try o.integer("points_per_edge") ?? g.pointsPerEdge
        return g
    }

    /// {shard = i, shards = n}: both or neither.
    static func shardOption(_ call: LuaCall, _ o: Options, _ position: Int32) throws -> Shard? {
        let i = try o.integer("shard"), n = try o.integer("shards")
        guard i != nil || n != nil else { return nil }
        guard let i, let n else { throw call.argumentError(position, "options 'shard' and 'shards' go together") }
        return try Shard(index: i, count: n)
    }
}
