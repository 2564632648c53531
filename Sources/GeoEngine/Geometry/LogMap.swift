/// The Riemannian logarithm log_a(b): the initial velocity v of the geodesic from a to b, so
/// that exp_a(v) = b. |v|_M(a) is the geodesic distance from a to b.
///
/// Algorithm (two stages):
///
/// 1. Initial guess from a discrete geodesic z_0 = a, ..., z_T = b (`Geodesic.solve` in
///    `compute`, or any path from a to b that the caller gives to `shoot`) by the one-sided
///    second-order difference
///
///        v_0 = T (-3 z_0 + 4 z_1 - z_2) / 2      (T >= 2; T (z_1 - z_0) for T = 1),
///
///    accurate to O(1/T^2) on a converged discrete geodesic.
///
/// 2. Shooting: solve F(v) = exp_a(v) - b = 0, exp by `ExponentialMap` (.rk4, N steps), with
///    Broyden's ("good") quasi-Newton method and a backtracking line search on |F|:
///
///        s = -B^-1 F(v),  v <- v + lambda s  (lambda = 1, 1/2, ..., 1/2^10 until |F| decreases),
///        B <- B + (y - B s) s^T / (s^T s),   y = F(v_new) - F(v_old),  s the step taken.
///
///    The initial Jacobian B_0 is the matrix of parallel transport along the path from a to b
///    (`ParallelTransport`, `.polar`, of the d unit vectors; column j is the transported e_j):
///    the differential of exp_a at v is the Jacobi field map dv -> J(1), J'' + R(J, g')g' = 0,
///    J(0) = 0, J'(0) = dv, which is exactly the parallel transport when the curvature vanishes
///    along the geodesic and differs from it by O(K L^2) otherwise (K the curvature, L = |v|_M
///    the distance), so B_0 is good wherever the log is well defined and Broyden's updates
///    remove the rest. When a line search fails, B is reset to B_0 once; a trial whose geodesic
///    meets a singular metric or blows up counts as a failed trial (the step is halved).
///
///    Continuation: if Broyden fails from v_0, the targets are moved along the given path,
///    b_k = the point at the fraction k/m of its latent length (m = 4, k = 1 ... m, b_m = b),
///    each solved from the previous solution scaled by k/(k-1) and the previous Jacobian.
///
///    Why not exact Newton: the exact forward-mode sensitivity of the RK4 map needs the
///    derivative of the acceleration -J^+ D2g[w, w] with respect to z, i.e. third derivatives of
///    g, which the `Generator` protocol does not provide; finite differences of exp are not
///    used anywhere.
///
/// Stopping rule: converged when the latent residual |exp_a(v) - b| (Euclidean) is at most
/// `tolerance` (default 1e-9). Otherwise (`maxIterations` Broyden iterations, default 50, per
/// target, or a line search that fails twice in a row, also after continuation) a
/// `GeoError.numerical` states the residual reached: b may lie beyond the cut locus or across a
/// singular region, or the path may be far from a geodesic. On a decoder that ignores some
/// latent directions (nearly singular J^T J, e.g. a VAE with collapsed units) latent geodesics
/// are not unique and exp is too sensitive to invert; `RegularizedMetric` is the remedy.
/// The returned v is the log of the DISCRETE exponential map (RK4 with N steps, default 100),
/// whose error against the exact exp is O(1/N^4).
///
/// Special case: a == b gives v = 0 (no shooting).
public enum LogMap {
    /// The default residual tolerance |exp_a(v) - b| (latent, Euclidean): 1e-9.
    public static let defaultTolerance = 1e-9
    /// The default number of Broyden iterations per target: 50.
    public static let defaultMaxIterations = 50

    /// The outcome of the log map.
    public struct Result {
        /// log_a(b), the latent initial velocity at a.
        public var vector: Vector
        /// The initial guess v_0 from the path.
        public var initialGuess: Vector
        /// The path from a to b the guess came from (the discrete geodesic for `compute`).
        public var geodesic: Path
        /// The shot geodesic exp_a(t v), t in [0, 1] (N + 1 points, solver "exp-rk4").
        public var shot: Path
        /// The final residual |exp_a(v) - b|.
        public var residual: Double
        /// Broyden iterations taken (0 when the initial guess already met the tolerance).
        public var iterations: Int
        /// exp evaluations used (each is N RK4 steps).
        public var shots: Int
        /// Whether the continuation along the path was needed.
        public var continuation: Bool
    }

    /// Refines the log map by shooting from the guess that `path` (a path from a to b, ideally a
    /// converged discrete geodesic, at least 2 points) provides; see the type's documentation.
    public static func shoot(on g: Generator, from a: Vector, to b: Vector, along path: Path,
                             steps: Int = ExponentialMap.defaultSteps,
                             tolerance: Double = LogMap.defaultTolerance,
                             maxIterations: Int = LogMap.defaultMaxIterations,
                             progress: ProgressHandler? = nil) throws -> Result {
        try g.checkPoint(a, "start point")
        try g.checkPoint(b, "end point")
        try checkSettings(steps: steps, tolerance: tolerance, maxIterations: maxIterations)
        let z = try PathJacobians.checkPath(g, path)
        let n = z.rows, d = g.latentDim
        let scale = max(1, a.norm, b.norm)
        guard (try path.points[0] - a).norm <= 1e-9 * scale, (try path.points[n - 1] - b).norm <= 1e-9 * scale else {
            throw GeoError.invalidArgument("the path does not join the start point to the end point")
        }
        if a == b {
            let still = try ExponentialMap.shoot(from: a, velocity: Vector(zeros: d), on: g, steps: steps)
            return Result(vector: Vector(zeros: d), initialGuess: Vector(zeros: d), geodesic: path,
                          shot: still.path, residual: 0, iterations: 0, shots: 1, continuation: false)
        }
        // 1. The one-sided difference at t = 0.
        let t = Double(n - 1)
        let guess = try n >= 3 ? (path.points[1] * 4 - path.points[0] * 3 - path.points[2]) * (t / 2)
                           : (path.points[1] - path.points[0]) * t
        // 2. Broyden shooting, then continuation along the path if needed.
        let b0 = try ParallelTransport.transport(rows: Matrix.identity(d), along: path, on: g, method: .polar).transposed
        var shooter = Shooter(g: g, a: a, steps: steps, tolerance: tolerance, maxIterations: maxIterations,
                              b0: b0, progress: progress)
        var outcome = try shooter.solve(target: b, from: guess, jacobian: b0)
        var continued = false
        if case .failed = outcome {
            continued = true
            let m = 4
            var v = guess * (1 / Double(m)), jacobian = b0
            for k in 1...m {
                let target = k == m ? b : try point(along: path, fraction: Double(k) / Double(m))
                outcome = try shooter.solve(target: target, from: v, jacobian: jacobian)
                guard case .converged(let vk, _, let bk) = outcome else { break }
                if k < m { v = vk * (Double(k + 1) / Double(k)) }
                jacobian = bk
            }
        }
        switch outcome {
        case .converged(let v, let shot, _):
            return Result(vector: v, initialGuess: guess, geodesic: path, shot: shot.path,
                          residual: (try shot.point - b).norm, iterations: shooter.iterations,
                          shots: shooter.shots, continuation: continued)
        case .failed(let message):
            throw GeoError.numerical("log map did not converge: \(message) (b may lie beyond the cut locus or across a nearly singular region; where the decoder ignores latent directions, use the regularised metric J^T J + lambda I)")
        }
    }

    static func checkSettings(steps: Int, tolerance: Double, maxIterations: Int) throws {
        try Setting.integer("steps", steps, in: ExponentialMap.stepRange)
        try Setting.positive("log tolerance", tolerance)
        try Setting.integer("max_iter", maxIterations, in: GeodesicOptions.iterationRange)
    }

    /// The point at `fraction` of the latent length of the polyline `path`.
    static func point(along path: Path, fraction: Double) throws -> Vector {
        let total = try path.latentLength
        guard total > 0 else { return path.points[path.count - 1] }
        var remaining = fraction * total
        for i in 0..<(path.count - 1) {
            let step = (try path.points[i + 1] - path.points[i]).norm
            if remaining <= step, step > 0 {
                return try path.points[i].adding(path.points[i + 1] - path.points[i], scaledBy: remaining / step)
            }
            remaining -= step
        }
        return path.points[path.count - 1]
    }

    /// Broyden's method on F(v) = exp_a(v) - target (see `LogMap`).
    private struct Shooter {
        enum Outcome {
            case converged(Vector, ExponentialMap.Result, Matrix)
            case failed(String)
        }
        let g: Generator, a: Vector, steps: Int, tolerance: Double, maxIterations: Int, b0: Matrix
        let progress: ProgressHandler?
        var iterations = 0, shots = 0

        init(g: Generator, a: Vector, steps: Int, tolerance: Double, maxIterations: Int, b0: Matrix,
             progress: ProgressHandler?) {
            self.g = g; self.a = a; self.steps = steps; self.tolerance = tolerance
            self.maxIterations = maxIterations; self.b0 = b0; self.progress = progress
        }

        /// exp_a(v) - target and the shot, or nil when the geodesic meets a singular metric or
        /// blows up (interruptions and other errors propagate).
        mutating func residual(_ v: Vector, _ target: Vector) throws -> (f: Vector, shot: ExponentialMap.Result)? {
            shots += 1
            do {
                let r = try ExponentialMap.shoot(from: a, velocity: v, on: g, steps: steps)
                let f = try r.point - target
                return f.isFinite ? (f, r) : nil
            } catch GeoError.numerical {
                return nil
            }
        }

        mutating func solve(target: Vector, from start: Vector, jacobian initial: Matrix) throws -> Outcome {
            let d = start.count
            var v = start, jacobian = initial
            guard var current = try residual(v, target) else {
                return .failed("the geodesic shot with the initial guess meets a singular metric or blows up")
            }
            var norm = current.f.norm
            var local = 0, resetUsed = false
            while norm > tolerance {
                guard local < maxIterations else {
                    return .failed("|exp_a(v) - b| = \(formatNumber(norm)) after \(local) iterations (tolerance \(formatNumber(tolerance)))")
                }
                try Cancellation.check()
                local += 1; iterations += 1
                guard let step = try? jacobian.solve(current.f) else {
                    guard !resetUsed else { return .failed("the shooting Jacobian became singular at |exp_a(v) - b| = \(formatNumber(norm))") }
                    jacobian = b0; resetUsed = true
                    continue
                }
                var lambda = 1.0
                var accepted: (v: Vector, f: Vector, shot: ExponentialMap.Result)?
                for _ in 0...10 {
                    let trial = try v.adding(step, scaledBy: -lambda)
                    if let r = try residual(trial, target), r.f.norm < norm {
                        accepted = (trial, r.f, r.shot)
                        break
                    }
                    lambda /= 2
                }
                guard let next = accepted else {
                    guard !resetUsed else {
                        return .failed("the line search failed at |exp_a(v) - b| = \(formatNumber(norm)) after \(local) iterations")
                    }
                    jacobian = b0; resetUsed = true
                    continue
                }
                resetUsed = false
                // Broyden's update with the step actually taken.
                let s = try next.v - v, y = try next.f - current.f
                let ss = s.squaredNorm
                if ss > 0 {
                    let c = try y - (try jacobian.apply(s))
                    for i in 0..<d { for j in 0..<d { jacobian[i, j] += c[i] * s[j] / ss } }
                }
                v = next.v
                current = (next.f, next.shot)
                norm = next.f.norm
                PathJacobians.report(progress, iterations, maxIterations, "log map: residual \(formatNumber(norm))")
            }
            return .converged(v, current.shot, jacobian)
        }
    }
}
extension LogMap {
    /// Options of `LogMap.compute` (and of the log inside `Analogy`).
    public struct Options {
        /// The discrete geodesic from a to b that provides the initial guess and the initial
        /// Jacobian (default: `GeodesicOptions()`, 64 points, GEORCE).
        public var geodesic: GeodesicOptions
        /// RK4 steps of the exponential map being inverted (default 100).
        public var steps: Int
        /// The residual tolerance |exp_a(v) - b| (default 1e-9).
        public var tolerance: Double
        /// Broyden iterations per target (default 50).
        public var maxIterations: Int

        public init(geodesic: GeodesicOptions = GeodesicOptions(), steps: Int = ExponentialMap.defaultSteps,
                    tolerance: Double = LogMap.defaultTolerance, maxIterations: Int = LogMap.defaultMaxIterations) {
            self.geodesic = geodesic; self.steps = steps
            self.tolerance = tolerance; self.maxIterations = maxIterations
        }
    }

    /// log_a(b): a discrete geodesic from a to b by `Geodesic.solve` (options.geodesic), then
    /// shooting (`shoot(on:from:to:along:...)`); see the type's documentation. `progress`
    /// receives the geodesic solver's reports, then the shooting's.
    public static func compute(on g: Generator, from a: Vector, to b: Vector, options: Options = Options(),
                               progress: ProgressHandler? = nil) throws -> Result {
        try g.checkPoint(a, "start point")
        try g.checkPoint(b, "end point")
        try checkSettings(steps: options.steps, tolerance: options.tolerance, maxIterations: options.maxIterations)
        let path = try Geodesic.solve(g, from: a, to: b, options: options.geodesic, progress: progress)
        return try shoot(on: g, from: a, to: b, along: path, steps: options.steps, tolerance: options.tolerance,
                         maxIterations: options.maxIterations, progress: progress)
    }
}
