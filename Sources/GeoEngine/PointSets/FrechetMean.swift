import Foundation

/// The intrinsic (Fréchet, Karcher) mean of latent points z_1 ... z_N: the minimiser of
///
///     F(mu) = 1/(2N) sum_i d(mu, z_i)^2,   grad F(mu) = -(1/N) sum_i log_mu(z_i),
///
/// found by the Riemannian gradient iteration (Karcher 1977; Pennec 2006)
///
///     v = (1/N) sum_i log_mu(z_i),   mu <- exp_mu(v),
///
/// started from the latent (Euclidean) mean, with exact log and exp maps (`LogMap`,
/// `ExponentialMap`). Stopping rule: |v|_M(mu) <= `tolerance` * sqrt(2 F(mu)) (the gradient's
/// metric norm relative to the points' root-mean-square distance; default 1e-6), reported as
/// `converged`; otherwise after `maxIterations` (default 30) with `converged = false`. A step
/// that raises F is halved (up to 10 times), so F never increases. N log maps per iteration.
public struct FrechetMean {
    public struct Options {
        public var tolerance = 1e-6
        public var maxIterations = 30
        /// The log maps' settings (their geodesics' points, tolerance).
        public var log = LogMap.Options(geodesic: GeodesicOptions(points: 16))
        public init() {}
    }

    /// The mean.
    public let mean: Vector
    /// log_mean(z_i) for every point (the tangent vectors tangent PCA uses).
    public let logs: [Vector]
    /// F at the mean: half the mean squared distance.
    public let objective: Double
    /// |v|_M / sqrt(2F) after each iteration (the first entry at the start).
    public let gradientNorms: [Double]
    public let iterations: Int
    public let converged: Bool

    public init(on g: Generator, points: [Vector], options: Options = Options(), progress: ProgressHandler? = nil) throws {
        guard let first = points.first else { throw GeoError.invalidArgument("the mean of no points") }
        for p in points { try g.checkPoint(p, "point") }
        try Setting.nonNegative("tol", options.tolerance)
        try Setting.integer("max_iter", options.maxIterations, in: 0...100_000)
        var mu = first
        if points.count > 1 {
            var s = [Double](repeating: 0, count: first.count)
            for p in points { for a in 0..<s.count { s[a] += p.scalars[a] } }
            mu = Vector(s.map { $0 / Double(points.count) })
        }
        func state(_ mu: Vector) throws -> (logs: [Vector], objective: Double, step: Vector, norm: Double) {
            let m = try g.metric(mu)
            var logs: [Vector] = [], f = 0.0
            var v = [Double](repeating: 0, count: mu.count)
            for p in points {
                try Cancellation.check()
                let l = p == mu ? Vector([Double](repeating: 0, count: mu.count)) : try LogMap.compute(on: g, from: mu, to: p, options: options.log).vector
                logs.append(l)
                f += try FrechetMean.squaredNorm(l, m)
                for a in 0..<v.count { v[a] += l.scalars[a] / Double(points.count) }
            }
            let step = Vector(v)
            return (logs, f / (2 * Double(points.count)), step, try FrechetMean.squaredNorm(step, m).squareRoot())
        }
        var current = try state(mu)
        var norms = [current.objective > 0 ? current.norm / (2 * current.objective).squareRoot() : 0]
        var iterations = 0
        while norms[norms.count - 1] > options.tolerance && iterations < options.maxIterations {
            iterations += 1
            var scale = 1.0, accepted = false
            for _ in 0..<10 {
                let candidate = try ExponentialMap.shoot(from: mu, velocity: scale * current.step, on: g).point
                let next = try state(candidate)
                if next.objective <= current.objective { mu = candidate; current = next; accepted = true; break }
                scale /= 2
            }
            norms.append(current.objective > 0 ? current.norm / (2 * current.objective).squareRoot() : 0)
            progress?(ProgressReport(completed: iterations, total: options.maxIterations,
                                     detail: "Frechet mean: gradient \(formatNumber(norms[norms.count - 1]))"))
            if !accepted { break }
        }
        mean = mu; logs = current.logs; objective = current.objective
        gradientNorms = norms; self.iterations = iterations
        converged = norms[norms.count - 1] <= options.tolerance
    }

    /// v^T M v.
    static func squaredNorm(_ v: Vector, _ m: Matrix) throws -> Double { try v.dot(try m.apply(v)) }
}
