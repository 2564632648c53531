/// Dijkstra's single-source shortest paths on a `NeighbourGraph` (non-negative weights), with a
/// binary heap: O((N + E) log N).
///
///     dist(s) = 0,   dist(v) = min over edges {u, v} of dist(u) + w(u, v)
///
/// Ties between equally short paths go to the one whose last node was settled first, and
/// nodes are settled in (distance, index) order, so the tree is deterministic.
public struct ShortestPaths {
    /// The source node (0-based).
    public let source: Int
    /// The graph distance from the source to every node (infinity where unreachable).
    public let distances: [Double]
    /// Each node's predecessor on its shortest path (-1 for the source and unreachable nodes).
    public let previous: [Int]

    public init(_ graph: NeighbourGraph, from s: Int) throws {
        let n = graph.points.count
        guard s >= 0, s < n else { throw GeoError.invalidArgument("node \(s + 1) is not in 1 ... \(n)") }
        var dist = [Double](repeating: .infinity, count: n)
        var prev = [Int](repeating: -1, count: n)
        var settled = [Bool](repeating: false, count: n)
        var heap = MinHeap()
        dist[s] = 0
        heap.push((0, s))
        while let (d, u) = heap.pop() {
            if settled[u] { continue }
            settled[u] = true
            for (v, w) in graph.adjacency[u] where !settled[v] {
                let candidate = d + w
                if candidate < dist[v] {
                    dist[v] = candidate; prev[v] = u
                    heap.push((candidate, v))
                }
            }
        }
        source = s; distances = dist; previous = prev
    }

    /// The nodes of the shortest path from the source to `target`, source first; nil when the
    /// target is unreachable or out of range.
    public func route(to target: Int) -> [Int]? {
        guard target >= 0, target < distances.count, distances[target].isFinite else { return nil }
        var nodes = [target]
        var v = target
        while v != source {
            v = previous[v]
            guard v >= 0 else { return nil }
            nodes.append(v)
        }
        return nodes.reversed()
    }

    /// All-pairs graph distances, Dijkstra from every node of `rows` (default: all), as an
    /// N x N matrix whose other rows are NaN. Symmetric when all rows are computed.
    public static func matrix(_ graph: NeighbourGraph, rows: [Int]? = nil, progress: ProgressHandler? = nil) throws -> Matrix {
        let n = graph.points.count
        try MemoryBudget.doubles(n, n, for: "a \(n) x \(n) distance matrix")
        var m = Matrix(rows: n, cols: n)
        let wanted = rows ?? Array(0..<n)
        if rows != nil { for q in m.scalars.indices { m.scalars[q] = .nan } }
        for (done, i) in wanted.enumerated() {
            try Cancellation.check()
            let tree = try ShortestPaths(graph, from: i)
            for j in 0..<n { m.scalars[i * n + j] = tree.distances[j] }
            progress?(ProgressReport(completed: done + 1, total: wanted.count))
        }
        // Exactly symmetric: d(j, i) summed the same edges in another order; keep row i's.
        if rows == nil { for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { m.scalars[j * n + i] = m.scalars[i * n + j] } } }
        return m
    }
}

/// A binary min-heap of (key, node), ordered by key then node.
struct MinHeap {
    private var items: [(Double, Int)] = []
    var isEmpty: Bool { items.isEmpty }

    private static func less(_ a: (Double, Int), _ b: (Double, Int)) -> Bool { a.0 < b.0 || (a.0 == b.0 && a.1 < b.1) }

    mutating func push(_ x: (Double, Int)) {
        items.append(x)
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard MinHeap.less(items[c], items[p]) else { break }
            items.swapAt(c, p); c = p
        }
    }

    mutating func pop() -> (Double, Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < items.count, MinHeap.less(items[l], items[m]) { m = l }
                if r < items.count, MinHeap.less(items[r], items[m]) { m = r }
                if m == p { break }
                items.swapAt(p, m); p = m
            }
        }
        return top
    }
}
