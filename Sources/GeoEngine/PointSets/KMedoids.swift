/// k-medoids clustering of a distance matrix (any dissimilarity: graph or geodesic distances),
/// seeded and deterministic.
///
/// Minimises the cost sum_i D(i, m_{a(i)}) over k medoids m_1 ... m_k (points of the set) and
/// the assignment a, by the alternating ("Voronoi iteration") method of Park & Jun (2009):
///  1. start: k-means++ on distances (the first medoid a uniformly drawn point, each next one a
///     point drawn with probability proportional to D(i, nearest medoid)^2);
///  2. assign every point to its nearest medoid (ties to the lower medoid index);
///  3. in every cluster, make the member with the least total distance to the others the
///     medoid (ties to the lower point index); repeat 2-3 until the medoids stop changing or
///     after `maxIterations` (default 100).
/// The cost never increases. Infinite distances (graph components that do not connect) are
/// allowed; NaN, negative or asymmetric entries and a non-zero diagonal are errors.
public struct KMedoids {
    /// The medoids' point indices, 0-based, in cluster order.
    public let medoids: [Int]
    /// Each point's cluster, 0-based (index into `medoids`).
    public let assignment: [Int]
    /// sum_i D(i, its medoid).
    public let cost: Double
    public let iterations: Int

    public init(distances d: Matrix, k: Int, seed: UInt64, maxIterations: Int = 100) throws {
        let n = d.rows
        guard d.cols == n else { throw GeoError.invalidArgument("a distance matrix must be square, got \(d.rows)x\(d.cols)") }
        try Setting.integer("k", k, in: 1...max(1, n))
        for i in 0..<n {
            guard d[i, i] == 0 else { throw GeoError.invalidArgument("the distance matrix's diagonal must be 0, entry (\(i + 1), \(i + 1)) is \(formatNumber(d[i, i]))") }
            for j in (i + 1)..<max(i + 1, n) {
                let x = d[i, j]
                guard !x.isNaN, x >= 0 else { throw GeoError.invalidArgument("distance (\(i + 1), \(j + 1)) is \(formatNumber(x)): distances must be >= 0") }
                guard x == d[j, i] else { throw GeoError.invalidArgument("the distance matrix is not symmetric at (\(i + 1), \(j + 1))") }
            }
        }
        var rng = SeededRandom(seed: seed)
        var medoids = [Int(rng.next() % UInt64(n))]
        var nearest = (0..<n).map { d[$0, medoids[0]] }
        while medoids.count < k {
            let weights = (0..<n).map { medoids.contains($0) ? 0 : (nearest[$0].isFinite ? nearest[$0] * nearest[$0] : Double.greatestFiniteMagnitude / Double(n)) }
            let total = weights.reduce(0, +)
            var pick = (0..<n).first { !medoids.contains($0) } ?? 0
            if total > 0 {
                var r = rng.uniform() * total
                for i in 0..<n where weights[i] > 0 { r -= weights[i]; pick = i; if r <= 0 { break } }
            }
            medoids.append(pick)
            for i in 0..<n { nearest[i] = min(nearest[i], d[i, pick]) }
        }
        func assign(_ medoids: [Int]) -> [Int] {
            (0..<n).map { i in
                var best = 0
                for c in 1..<medoids.count where d[i, medoids[c]] < d[i, medoids[best]] { best = c }
                return best
            }
        }
        var assignment = assign(medoids)
        var iterations = 0
        while iterations < maxIterations {
            try Cancellation.check()
            iterations += 1
            var next = medoids
            for c in 0..<k {
                let members = (0..<n).filter { assignment[$0] == c }
                guard !members.isEmpty else { continue }
                var best = medoids[c], bestCost = members.reduce(0.0) { $0 + d[$1, medoids[c]] }
                for candidate in members {
                    let cost = members.reduce(0.0) { $0 + d[$1, candidate] }
                    if cost < bestCost || (cost == bestCost && candidate < best) { best = candidate; bestCost = cost }
                }
                next[c] = best
            }
            if next == medoids { break }
            medoids = next
            assignment = assign(medoids)
        }
        self.medoids = medoids
        self.assignment = assignment
        self.cost = (0..<n).reduce(0.0) { $0 + d[$1, medoids[assignment[$1]]] }
        self.iterations = iterations
    }
}
