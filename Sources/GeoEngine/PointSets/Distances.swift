/// Geodesic distance matrices between many latent points.
///
/// Methods (D symmetric, zero diagonal, D_ij for points z_i, z_j):
///  - `.graph`: the shortest-path distance on the k-nearest-neighbour graph (`NeighbourGraph`,
///    Dijkstra from every node): one short geodesic per edge, then cheap; an upper bound that
///    converges to the geodesic distance as the points fill the space. Infinity between
///    components the graph does not connect.
///  - `.geodesic`: the length of the geodesic between every pair (`pointsPerPath` points,
///    Newton), each started from the graph's shortest path between them (resampled to
///    `pointsPerPath` points by latent arc length; the straight line where the graph does not
///    connect them): N (N - 1) / 2 geodesics.
///  - `.line`: the metric length of the straight latent segment (`pointsPerPath` points): an
///    upper bound, exact where the metric is flat along it.
///
/// Sharding (`Shard`): the items are the pairs i < j in row-major order for `.geodesic` and
/// `.line`, the graph's edges for `.graph` (its costly part; the all-pairs Dijkstra runs on
/// the merged graph). A shard's `Slice` holds its items' values, and `merge` of all slices
/// gives exactly the unsharded matrix.
public enum Distances {
    public enum Method: String, CaseIterable { case graph, geodesic, line }

    public struct Options {
        /// Default `.graph`.
        public var method = Method.graph
        /// The graph's settings (k, edge weights, points per edge); used by `.graph` and to start
        /// `.geodesic`.
        public var graph = NeighbourGraph.Options()
        /// Points per geodesic or line (default 16).
        public var pointsPerPath = 16
        /// The geodesic solver's tolerance (default 1e-6).
        public var tolerance = 1e-6
        public init() {}
    }

    /// One shard's share: `values[q]` belongs to item `shard.items(itemCount)[q]`, items being
    /// pairs (`.geodesic`, `.line`) or graph edges (`.graph`, whose `pairs` are the edges).
    public struct Slice {
        public let method: Method
        public let shard: Shard
        public let count: Int
        /// The items' pairs (i < j, 0-based): every pair of the work, in item order.
        public let pairs: [(Int, Int)]
        public let values: [Double]
    }

    /// The pairs i < j of n points in row-major order.
    public static func allPairs(_ n: Int) -> [(Int, Int)] {
        var out = [(Int, Int)]()
        out.reserveCapacity(max(0, n * (n - 1) / 2))
        for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { out.append((i, j)) } }
        return out
    }

    /// The distance matrix of `points` (the unsharded computation).
    public static func matrix(on g: Generator, points: [Vector], options: Options = Options(),
                              progress: ProgressHandler? = nil) throws -> Matrix {
        try merge([try slice(on: g, points: points, options: options, shard: .all, progress: progress)], points: points)
    }

    /// Shard `shard`'s share of the work.
    public static func slice(on g: Generator, points: [Vector], options: Options, shard: Shard,
                             progress: ProgressHandler? = nil) throws -> Slice {
        let n = points.count
        try Setting.integer("points", n, in: 1...NeighbourGraph.maxPoints)
        try Setting.integer("points_per_path", options.pointsPerPath, in: GeodesicOptions.pointRange)
        try MemoryBudget.doubles(n, n, for: "a \(n) x \(n) distance matrix")
        for p in points { try g.checkPoint(p, "point") }
        switch options.method {
        case .graph:
            guard n >= 2 else { return Slice(method: .graph, shard: shard, count: n, pairs: [], values: []) }
            let pairs = try NeighbourGraph.neighbourPairs(points, k: min(options.graph.k, n - 1))
            let w = try NeighbourGraph.weights(on: g, points: points, pairs: pairs, options: options.graph, shard: shard,
                                               progress: progress)
            return Slice(method: .graph, shard: shard, count: n, pairs: pairs, values: w)
        case .line, .geodesic:
            let pairs = allPairs(n)
            var graph: NeighbourGraph?
            if options.method == .geodesic, n >= 3 {
                var o = options.graph
                o.k = min(o.k, n - 1)
                graph = try NeighbourGraph.build(on: g, points: points, options: o)
            }
            let mine = Array(shard.items(pairs.count))
            var values = [Double](); values.reserveCapacity(mine.count)
            var tree: ShortestPaths?   // from the current row's point (pairs go row by row)
            for (done, q) in mine.enumerated() {
                try Cancellation.check()
                let (i, j) = pairs[q]
                let line = try Path.line(from: points[i], to: points[j], points: options.pointsPerPath)
                var d = try line.length(on: g)
                if let graph {
                    if tree?.source != i { tree = try ShortestPaths(graph, from: i) }
                    var start = line
                    if let route = tree?.route(to: j), route.count > 2 {
                        start = try Path(points: route.map { graph.points[$0] }, solver: "graph").resampled(points: options.pointsPerPath)
                    }
                    let p = try Geodesic.solve(g, from: points[i], to: points[j],
                                               options: GeodesicOptions(tolerance: options.tolerance, initialPath: start))
                    d = min(d, try p.length(on: g))
                }
                values.append(d)
                progress?(ProgressReport(completed: done + 1, total: mine.count, detail: "pair \(i + 1)-\(j + 1)"))
            }
            return Slice(method: options.method, shard: shard, count: n, pairs: pairs, values: values)
        }
    }

    /// Every item's value from the slices (each shard once, all of one computation).
    static func joined(_ slices: [Slice]) throws -> (Slice, [Double]) {
        guard let first = slices.first else { throw GeoError.invalidArgument("nothing to merge") }
        for s in slices {
            guard s.method == first.method, s.count == first.count, s.pairs.count == first.pairs.count,
                  zip(s.pairs, first.pairs).allSatisfy({ $0 == $1 }) else {
                throw GeoError.invalidArgument("shard \(s.shard) is of another computation than shard \(first.shard) (method, points or pairs differ)")
            }
        }
        return (first, try Shard.join(slices.map { ($0.shard, $0.values) }, count: first.pairs.count))
    }

    /// The k-NN graph from every shard's slice of the graph method (see `merge`).
    public static func mergeGraph(_ slices: [Slice], points: [Vector]) throws -> NeighbourGraph {
        let (first, values) = try joined(slices)
        guard first.method == .graph else { throw GeoError.invalidArgument("only slices of the graph method hold a graph") }
        guard points.count == first.count else { throw GeoError.dimensionMismatch("the slices are of \(first.count) points, \(points.count) given") }
        return try NeighbourGraph(points: points, edges: zip(first.pairs, values).map { NeighbourGraph.Edge($0.0, $0.1, weight: $1) })
    }

    /// The full matrix from every shard's slice (any order, each shard once, all of one run:
    /// same method, point count, shard count and pairs). `points` is needed for `.graph`.
    public static func merge(_ slices: [Slice], points: [Vector]) throws -> Matrix {
        let (first, values) = try joined(slices)
        let n = first.count
        switch first.method {
        case .graph:
            if n < 2 { return Matrix(rows: n, cols: n) }
            return try ShortestPaths.matrix(try mergeGraph(slices, points: points))
        case .line, .geodesic:
            var m = Matrix(rows: n, cols: n)
            for ((i, j), v) in zip(first.pairs, values) { m.scalars[i * n + j] = v; m.scalars[j * n + i] = v }
            return m
        }
    }
}

extension Distances.Slice {
    /// The slice as plain data (what a shard writes as JSON for `geo.merge`):
    ///     {"georepl": "distances", "method": ..., "shard": i, "shards": n, "count": N,
    ///      "points": [[...], ...], "pairs": [[i, j], ...] (graph only, 1-based), "values": [...]}
    public func data(points: [Vector]) -> DataValue {
        var o: [String: DataValue] = [
            "georepl": .string("distances"), "method": .string(method.rawValue), "shard": .number(Double(shard.index)),
            "shards": .number(Double(shard.count)), "count": .number(Double(count)),
            "points": .array(points.map { .array($0.scalars.map(DataValue.number)) }),
            "values": .array(values.map(DataValue.number)),
        ]
        if method == .graph { o["pairs"] = .array(pairs.map { .array([.number(Double($0.0 + 1)), .number(Double($0.1 + 1))]) }) }
        return .object(o)
    }

    /// A slice (and its points) from `data(points:)`'s form; `GeoError.format` names what is wrong.
    public init(data v: DataValue) throws {
        func integer(_ key: String) throws -> Int {
            guard let x = v[key]?.number, x == x.rounded(), abs(x) < 1e15 else { throw GeoError.format("a distance slice needs an integer '\(key)'") }
            return Int(x)
        }
        guard case .string("distances") = v["georepl"] else { throw GeoError.format("not a distance slice (its \"georepl\" field is not \"distances\")") }
        guard case .string(let name) = v["method"], let method = Distances.Method(rawValue: name) else {
            throw GeoError.format("a distance slice needs 'method' \"graph\", \"geodesic\" or \"line\"")
        }
        let shard: Shard
        do { shard = try Shard(index: try integer("shard"), count: try integer("shards")) } catch GeoError.invalidSetting(let n, let r, let g) {
            throw GeoError.format("a distance slice's \(n) must be \(r), got \(g)")
        }
        let count = try integer("count")
        guard count >= 0, count <= NeighbourGraph.maxPoints else { throw GeoError.format("a distance slice's count \(count) is out of range") }
        guard let values = v["values"]?.array?.map({ $0.number ?? .nan }), values.allSatisfy({ !$0.isNaN }) else {
            throw GeoError.format("a distance slice needs 'values', an array of numbers")
        }
        let pairs: [(Int, Int)]
        if method == .graph {
            guard let list = v["pairs"]?.array else { throw GeoError.format("a graph distance slice needs 'pairs'") }
            pairs = try list.map { p in
                guard let a = p.array, a.count == 2, let i = a[0].number, let j = a[1].number, i == i.rounded(), j == j.rounded(),
                      i >= 1, j > i, j <= Double(count) else { throw GeoError.format("a pair of a graph distance slice is not [i, j] with 1 <= i < j <= \(count)") }
                return (Int(i) - 1, Int(j) - 1)
            }
        } else {
            try MemoryBudget.doubles(count, count, for: "the pairs of \(count) points")
            pairs = Distances.allPairs(count)
        }
        self.init(method: method, shard: shard, count: count, pairs: pairs, values: values)
    }

    /// The points stored with a slice.
    public static func points(data v: DataValue) throws -> [Vector] {
        guard let list = v["points"]?.array else { throw GeoError.format("a distance slice needs 'points'") }
        return try list.map { p in
            guard let a = p.array, let xs = Optional(a.compactMap(\.number)), xs.count == a.count, !xs.isEmpty else {
                throw GeoError.format("a point of a distance slice is not an array of numbers")
            }
            return Vector(xs)
        }
    }
}
