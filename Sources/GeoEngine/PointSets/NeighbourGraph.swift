import Foundation

/// The k-nearest-neighbour graph of latent points with edges weighted by their length on the
/// manifold: the fast approximate geodesics of Chen et al. (AISTATS 2018) and Arvanitidis et
/// al. (AISTATS 2019).
///
/// Nodes are the points z_1 ... z_N. Point i is joined to its k nearest points in latent
/// (Euclidean) distance, ties to the lower index; the graph is the symmetric union (an edge
/// when either end is among the other's k nearest). Edge {i, j} weighs
///  - `.geodesic` (default): the length in the metric of the geodesic from z_i to z_j with
///    `pointsPerEdge` points (Newton, `tolerance`): exact up to the discretisation for the short
///    edges of a dense graph; a geodesic that does not converge keeps its best path's length
///    (an upper bound of the distance);
///  - `.line`: the metric length of the straight segment with `pointsPerEdge` points (an upper
///    bound; equal to the geodesic's where the metric is flat along it).
/// Graph distances (Dijkstra, `ShortestPaths`) are then upper bounds of the geodesic distances
/// that converge to them as the points fill the manifold and k grows: on a convex region of a
/// smooth metric with point spacing h, a shortest graph path stays within O(h) of the geodesic
/// and its length is at most (1 + O(h^2 / r^2)) times longer for neighbourhoods of radius r
/// (Bernstein, de Silva, Langford & Tenenbaum 2000, "Graph approximations to geodesics on
/// embedded manifolds", Theorem 2). The tests check the bound on the sphere.
///
/// Edge weights are the costly part (one short geodesic each); they shard (`Shard`): the
/// edges, in their sorted order (i < j, by i then j), are the items.
public struct NeighbourGraph {
    public enum EdgeWeight: String, CaseIterable { case geodesic, line }

    public struct Options {
        /// Neighbours per point (default 10), 1 ... N - 1.
        public var k = 10
        /// How edges are weighed (default `.geodesic`).
        public var weight = EdgeWeight.geodesic
        /// Points per edge path, endpoints included (default 8), 2 ... `GeodesicOptions.maxPoints`.
        public var pointsPerEdge = 8
        /// The geodesic solver's tolerance for edges (default 1e-6).
        public var tolerance = 1e-6
        public init() {}
    }

    /// An undirected edge, i < j (0-based), with its weight.
    public struct Edge: Equatable {
        public let i: Int, j: Int
        public var weight: Double
        public init(_ i: Int, _ j: Int, weight: Double) { self.i = i; self.j = j; self.weight = weight }
    }

    /// The nodes' latent points.
    public let points: [Vector]
    /// The edges, sorted by (i, j).
    public let edges: [Edge]
    /// For each node, its (neighbour, weight) pairs.
    public let adjacency: [[(node: Int, weight: Double)]]

    /// The largest accepted number of points.
    public static let maxPoints = 1_000_000

    /// A graph from its points and weighted edges (e.g. merged from shards). Checks every edge:
    /// endpoints in range and distinct, weights finite and >= 0, no edge twice.
    public init(points: [Vector], edges: [Edge]) throws {
        let n = points.count
        var adjacency = [[(node: Int, weight: Double)]](repeating: [], count: n)
        var seen = Set<Int64>()
        for e in edges {
            guard e.i >= 0, e.j < n, e.i < e.j else {
                throw GeoError.invalidArgument("edge (\(e.i + 1), \(e.j + 1)) is not a pair of distinct nodes of 1 ... \(n) in increasing order")
            }
            guard e.weight >= 0, e.weight.isFinite else {
                throw GeoError.invalidArgument("edge (\(e.i + 1), \(e.j + 1)) has weight \(formatNumber(e.weight)): weights must be finite and >= 0")
            }
            guard seen.insert(Int64(e.i) * Int64(n) + Int64(e.j)).inserted else {
                throw GeoError.invalidArgument("edge (\(e.i + 1), \(e.j + 1)) is given twice")
            }
            adjacency[e.i].append((e.j, e.weight)); adjacency[e.j].append((e.i, e.weight))
        }
        self.points = points
        self.edges = edges.sorted { ($0.i, $0.j) < ($1.i, $1.j) }
        self.adjacency = adjacency
    }

    /// The pairs (i < j, sorted) of the symmetric k-nearest-neighbour graph of `points` in latent
    /// distance. Errors: fewer than 2 points, k outside 1 ... N - 1, points of different
    /// lengths or with NaN or infinite entries.
    public static func neighbourPairs(_ points: [Vector], k: Int) throws -> [(Int, Int)] {
        let n = points.count
        try Setting.integer("points", n, in: 2...maxPoints)
        try Setting.integer("k", k, in: 1...(n - 1))
        let d = points[0].count
        for (i, p) in points.enumerated() {
            guard p.count == d else { throw GeoError.dimensionMismatch("point \(i + 1) has \(p.count) entries, point 1 has \(d)") }
            guard p.isFinite else { throw GeoError.invalidArgument("point \(i + 1) has a NaN or infinite entry") }
        }
        var pairs = Set<Int64>()
        var distances = [(Double, Int)](repeating: (0, 0), count: n)
        for i in 0..<n {
            if i % 64 == 0 { try Cancellation.check() }
            for j in 0..<n {
                var s = 0.0
                for a in 0..<d { let t = points[i].scalars[a] - points[j].scalars[a]; s += t * t }
                distances[j] = (j == i ? .infinity : s, j)
            }
            // The k smallest (distance, index): a partial selection of the sorted order.
            let nearest = distances.sorted { $0 < $1 }.prefix(k)
            for (_, j) in nearest { pairs.insert(Int64(min(i, j)) * Int64(n) + Int64(max(i, j))) }
        }
        return pairs.sorted().map { (Int($0 / Int64(n)), Int($0 % Int64(n))) }
    }

    /// The weights of the pairs of `shard`'s slice (see the type), in the pairs' order: entry q of
    /// the result is pair `shard.items(pairs.count)[q]`'s weight.
    public static func weights(on g: Generator, points: [Vector], pairs: [(Int, Int)], options: Options,
                               shard: Shard = .all, progress: ProgressHandler? = nil) throws -> [Double] {
        try Setting.integer("points_per_edge", options.pointsPerEdge, in: GeodesicOptions.pointRange)
        for p in points { try g.checkPoint(p, "graph point") }
        let mine = Array(shard.items(pairs.count))
        var out = [Double](); out.reserveCapacity(mine.count)
        let geodesic = GeodesicOptions(points: options.pointsPerEdge, tolerance: options.tolerance)
        for (done, q) in mine.enumerated() {
            try Cancellation.check()
            let (i, j) = pairs[q]
            let w: Double
            switch options.weight {
            case .line: w = try Path.line(from: points[i], to: points[j], points: options.pointsPerEdge).length(on: g)
            case .geodesic:
                let line = try Path.line(from: points[i], to: points[j], points: options.pointsPerEdge).length(on: g)
                let p = try Geodesic.solve(g, from: points[i], to: points[j], options: geodesic)
                // A geodesic that stopped early can, in principle, end longer than the line.
                w = min(line, try p.length(on: g))
            }
            guard w.isFinite else {
                throw GeoError.numerical("edge (\(i + 1), \(j + 1)) has a non-finite length: the metric is not finite there")
            }
            out.append(w)
            progress?(ProgressReport(completed: done + 1, total: mine.count, detail: "edge \(i + 1)-\(j + 1)"))
        }
        return out
    }

    /// The graph of `points` with every edge weighed (the unsharded `weights`).
    public static func build(on g: Generator, points: [Vector], options: Options = Options(),
                             progress: ProgressHandler? = nil) throws -> NeighbourGraph {
        let pairs = try neighbourPairs(points, k: options.k)
        let w = try weights(on: g, points: points, pairs: pairs, options: options, progress: progress)
        return try NeighbourGraph(points: points, edges: zip(pairs, w).map { Edge($0.0, $0.1, weight: $1) })
    }

    /// The shortest graph path from node i to node j (0-based) as its node indices, i first, or
    /// nil when j cannot be reached from i.
    public func path(from i: Int, to j: Int) throws -> [Int]? {
        let tree = try ShortestPaths(self, from: i)
        return tree.route(to: j)
    }

    /// The shortest path from i to j as a latent `Path` through the nodes' points (solver
    /// "graph"), or nil when unreachable.
    public func latentPath(from i: Int, to j: Int) throws -> Path? {
        guard let nodes = try path(from: i, to: j) else { return nil }
        let pts = nodes.count == 1 ? [points[i], points[i]] : nodes.map { points[$0] }
        return Path(points: pts, solver: "graph")
    }
}
