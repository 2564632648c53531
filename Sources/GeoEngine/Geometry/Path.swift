/// A discrete path z_0, ..., z_T in latent space, with what a solver reports about it.
///
/// Length and energy are measured in data space, through the generator g:
///     L = sum_i |g(z_{i+1}) - g(z_i)|                       (the discrete curve length)
///     E = 1/(2 dt) sum_i |g(z_{i+1}) - g(z_i)|^2,  dt = 1/T  (the discrete energy)
/// By Cauchy–Schwarz L^2 <= 2 E, with equality exactly when the steps have equal data-space
/// length: a discrete geodesic minimises E and so has L^2 = 2E at convergence.
public struct Path {
    /// The points z_0 ... z_T (T + 1 of them, at least 2).
    public var points: [Vector]
    /// Which solver produced the path ("line" for a straight line).
    public var solver: String
    /// Why the solver stopped; `.converged` for lines and integrated paths, which need no
    /// solving.
    public var stop: Stop
    /// Whether the solver met its tolerance (true for lines, which need no solving).
    public var converged: Bool { stop == .converged }
    /// Solver iterations taken.
    public var iterations: Int
    /// Generator evaluations used (forward, JVP or VJP batches, counted per latent point).
    public var evaluations: Int
    /// The stopping residual (see `Geodesic`) at every iteration of the solver that made the
    /// path, the start first and the last entry at the returned path: iterations + 1 entries
    /// (empty for lines and integrated paths). Newton's quadratic convergence shows as the
    /// exponent roughly doubling from one entry to the next.
    public var residuals: [Double] = []

    /// Why an iterative solver stopped (the names are what Lua's `p.stop` shows).
    public enum Stop: String, CaseIterable {
        /// The residual met the tolerance.
        case converged
        /// The iteration limit was reached first.
        case maxIterations = "max_iter"
        /// The line search found no step that decreases the energy (or the search direction
        /// was no longer a descent direction at this precision).
        case lineSearch = "line_search"
        /// Iterations went on without progress: the energy stayed within round-off of its best
        /// value and the residual never halved its best value for a whole window of iterations
        /// (GEORCE's `stallWindow`). Happens on non-smooth generators (ReLU networks), whose
        /// energy has kinks at which the gradient does not vanish.
        case stalled
    }

    public init(points: [Vector], solver: String, stop: Stop = .converged, iterations: Int = 0, evaluations: Int = 0) {
        self.points = points; self.solver = solver; self.stop = stop
        self.iterations = iterations; self.evaluations = evaluations
    }

    /// The number of points, T + 1.
    public var count: Int { points.count }
    public var start: Vector? { points.first }
    public var end: Vector? { points.last }

    /// The points as the rows of a matrix [T+1, d].
    public func matrix() throws -> Matrix { try Matrix(rowVectors: points) }

    /// The decoded points g(z_0) ... g(z_T) as rows [T+1, D], in one batched forward pass.
    public func decode(on g: Generator) throws -> Matrix {
        try g.forward(try matrix())
    }

    /// The squared data-space step lengths |g(z_{i+1}) - g(z_i)|^2, i = 0 ..< T.
    public func squaredSteps(on g: Generator) throws -> [Double] {
        let x = try decode(on: g)
        return Path.squaredSteps(x)
    }
    static func squaredSteps(_ x: Matrix) -> [Double] {
        guard x.rows >= 2 else { return [] }
        return (0..<(x.rows - 1)).map { i in
            var s = 0.0
            let a = i * x.cols, b = (i + 1) * x.cols
            for j in 0..<x.cols { let d = x.scalars[b + j] - x.scalars[a + j]; s += d * d }
            return s
        }
    }

    /// The discrete length L = sum_i |g(z_{i+1}) - g(z_i)|.
    public func length(on g: Generator) throws -> Double {
        try squaredSteps(on: g).reduce(0) { $0 + $1.squareRoot() }
    }

    /// The discrete energy E = T/2 sum_i |g(z_{i+1}) - g(z_i)|^2.
    public func energy(on g: Generator) throws -> Double {
        let s = try squaredSteps(on: g)
        return Double(s.count) / 2 * s.reduce(0, +)
    }

    /// The latent-space (Euclidean) length sum_i |z_{i+1} - z_i|.
    public var latentLength: Double {
        get throws {
        guard points.count >= 2 else { return 0 }
        return try (0..<(points.count - 1)).reduce(0) { $0 + (try points[$1 + 1] - points[$1]).norm }
        }
    }

    /// The same polyline with `n` points (>= 2) spaced evenly by latent arc length, the first
    /// and last points kept exactly (a graph path as a geodesic's start). A path of latent
    /// length 0 gives n copies of its first point.
    public func resampled(points n: Int) throws -> Path {
        try Setting.integer("points", n, in: GeodesicOptions.pointRange)
        guard let first = points.first, let last = points.last else { throw GeoError.invalidArgument("an empty path") }
        var cumulative = [0.0]
        for i in 1..<max(1, points.count) { cumulative.append(cumulative[i - 1] + (try points[i] - points[i - 1]).norm) }
        let total = cumulative.last ?? 0
        guard total > 0 else { return Path(points: [Vector](repeating: first, count: n), solver: solver) }
        var out = [first]
        var seg = 0
        for k in 1..<(n - 1) {
            let target = total * Double(k) / Double(n - 1)
            while seg < points.count - 2, cumulative[seg + 1] < target { seg += 1 }
            let span = cumulative[seg + 1] - cumulative[seg]
            let t = span > 0 ? (target - cumulative[seg]) / span : 0
            out.append(Vector(zip(points[seg].scalars, points[seg + 1].scalars).map { (1 - t) * $0 + t * $1 }))
        }
        out.append(last)
        return Path(points: out, solver: solver)
    }

    /// The straight line from a to b with `points` points (>= 2), z_i = a + (i/T)(b - a).
    public static func line(from a: Vector, to b: Vector, points n: Int = 64) throws -> Path {
        guard a.count == b.count else {
            throw GeoError.dimensionMismatch("endpoints have \(a.count) and \(b.count) entries")
        }
        try Setting.integer("points", n, in: GeodesicOptions.pointRange)
        guard a.isFinite, b.isFinite else { throw GeoError.invalidArgument("an endpoint has a NaN or infinite entry") }
        let t = Double(n - 1)
        let pts = (0..<n).map { i -> Vector in
            let s = Double(i) / t
            return Vector(zip(a.scalars, b.scalars).map { (1 - s) * $0 + s * $1 })
        }
        return Path(points: pts, solver: "line")
    }
}
