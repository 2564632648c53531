import CLua
import GeoEngine

/// A graph together with the manifold it was built on (its paths are geo.Paths on it).
struct ManifoldGraph {
    let graph: NeighbourGraph
    let manifold: Manifold
}

/// Many points (GeoEngine's PointSets/):
///     g = geo.graph(m, points [, {k=10, weight="geodesic"|"line", points_per_edge=8, progress=}])
///         g:path(i, j) -> geo.Path through the graph (nil when unconnected)  g:distances() -> geo.Matrix
///         g:edges() -> {{i, j, w}, ...}  #g
///     geo.distances(m, points [, {method="graph"|"geodesic"|"line", k=10, weight=, points_per_edge=,
///                   points_per_path=16, shard=, shards=, progress=}]) -> geo.Matrix (N x N, symmetric, zero diagonal)
///         with {shard = i, shards = n}: that shard's slice, a plain table for geo.write_json and geo.merge
///     geo.merge{slice_or_file, ...} -> geo.Matrix: the slices of every shard joined (files: JSON)
///     geo.shard() -> i, n from GEO_SHARD, Slurm array or Kubernetes Indexed Job variables (1, 1 when none)
///     geo.kmedoids(D, k [, {seed=1}]) -> {medoids = {...}, assignment = {...}, cost =, iterations =}
/// `points` is a table of latent geo.Vectors or a geo.Matrix whose rows are the points.
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
            let o = try Options(call, 3, allowed: graphKeys)
            let options = try graphOptions(o, count: points.count)
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
            let slices = try parts.map { try Distances.Slice(data: $0) }
            return call.push(try Distances.merge(slices, points: try Distances.Slice.points(data: first)), as: MatrixLua.type)
        },
        Binding("shard") { call in
            let s = try Shard.fromEnvironment() ?? .all
            call.push(s.index); call.push(s.count)
            return 2
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

    /// Latent points at argument i: a table of geo.Vector or a geo.Matrix of rows.
    static func latentPoints(_ call: LuaCall, _ i: Int32, _ m: Manifold) throws -> [Vector] {
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
