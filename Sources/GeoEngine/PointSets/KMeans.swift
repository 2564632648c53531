/// k-means clustering of points in R^d (Lloyd's algorithm from a k-means++ start), seeded and
/// deterministic.
///
/// Minimises sum_i |x_i - c_{a(i)}|^2 over the centres c_1 ... c_k and the assignment a:
///  1. k-means++ (Arthur & Vassilvitskii 2007): the first centre is a uniformly drawn point,
///     each next one a point drawn with probability proportional to its squared distance to
///     the nearest centre so far (`SeededRandom(seed)`);
///  2. Lloyd: assign every point to its nearest centre (ties to the lowest index), move every
///     centre to the mean of its points; an emptied centre takes the point farthest from its
///     centre. Stops when no assignment changes, or after `maxIterations` (default 100).
///
/// The objective never increases from one iteration to the next. With k >= the number of
/// distinct points every point is its own centre (objective 0).
public struct KMeans {
    /// The centres, k x d.
    public let centers: Matrix
    /// The centre of each point, 0-based.
    public let assignment: [Int]
    /// sum_i |x_i - c_{a(i)}|^2.
    public let objective: Double
    /// Lloyd iterations run.
    public let iterations: Int

    /// Clusters the rows of `points` (n x d, n >= k >= 1, finite). `GeoError.invalidArgument`
    /// otherwise.
    public init(_ points: Matrix, k: Int, seed: UInt64, maxIterations: Int = 100,
                progress: ProgressHandler? = nil) throws {
        let n = points.rows, d = points.cols
        guard k >= 1 else { throw GeoError.invalidArgument("k-means needs k >= 1, got \(k)") }
        guard n >= k else { throw GeoError.invalidArgument("k-means with k = \(k) needs at least \(k) points, got \(n)") }
        guard points.isFinite else { throw GeoError.invalidArgument("a point has a NaN or infinite entry") }
        try MemoryBudget.doubles(k, d, for: "\(k) k-means centres")
        var rng = SeededRandom(seed: seed)
        func dist2(_ i: Int, _ c: [Double], _ j: Int) -> Double {
            var s = 0.0
            for a in 0..<d { let x = points.scalars[i * d + a] - c[j * d + a]; s += x * x }
            return s
        }
        // k-means++.
        var c = [Double](repeating: 0, count: k * d)
        let first = min(n - 1, Int(rng.uniform() * Double(n)))
        for a in 0..<d { c[a] = points.scalars[first * d + a] }
        var nearest = (0..<n).map { dist2($0, c, 0) }
        for j in 1..<k {
            let total = nearest.reduce(0, +)
            var pick = n - 1
            if total > 0 {
                var target = rng.uniform() * total
                for i in 0..<n { target -= nearest[i]; if target < 0 { pick = i; break } }
            } else {
                pick = min(n - 1, Int(rng.uniform() * Double(n)))
            }
            for a in 0..<d { c[j * d + a] = points.scalars[pick * d + a] }
            for i in 0..<n { nearest[i] = min(nearest[i], dist2(i, c, j)) }
        }
        // Lloyd.
        var assignment = [Int](repeating: -1, count: n)
        var iterations = 0, objective = 0.0
        while true {
            try Cancellation.check()
            var changed = false
            objective = 0
            var far = [Double](repeating: 0, count: n)
            for i in 0..<n {
                var best = 0, bestD = Double.infinity
                for j in 0..<k { let x = dist2(i, c, j); if x < bestD { bestD = x; best = j } }
                if assignment[i] != best { assignment[i] = best; changed = true }
                far[i] = bestD
                objective += bestD
            }
            if !changed || iterations >= maxIterations { break }
            iterations += 1
            var sums = [Double](repeating: 0, count: k * d), counts = [Int](repeating: 0, count: k)
            for i in 0..<n {
                let j = assignment[i]
                counts[j] += 1
                for a in 0..<d { sums[j * d + a] += points.scalars[i * d + a] }
            }
            for j in 0..<k {
                if counts[j] > 0 {
                    for a in 0..<d { c[j * d + a] = sums[j * d + a] / Double(counts[j]) }
                } else if let i = far.indices.max(by: { far[$0] < far[$1] }) {
                    for a in 0..<d { c[j * d + a] = points.scalars[i * d + a] }
                    far[i] = 0
                }
            }
            progress?(ProgressReport(completed: iterations, total: maxIterations, detail: "k-means, objective \(formatNumber(objective))"))
        }
        self.centers = Matrix(rows: k, cols: d, unchecked: c)
        self.assignment = assignment
        self.objective = objective
        self.iterations = iterations
    }
}
