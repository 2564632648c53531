import CBLAS
import Foundation

/// The algorithm that minimises the discrete energy of a path (see `Geodesic`).
public enum GeodesicSolver: String, CaseIterable, CustomStringConvertible {
    /// Newton's method on the discrete energy with its exact block-tridiagonal Hessian (block
    /// Cholesky, Gauss–Newton fallback) and a line search; converges quadratically, typically in
    /// a few to a dozen iterations. The default. See `Newton`.
    case newton
    /// GEORCE as published (Rygaard & Hauberg 2025): the control formulation of the discrete
    /// problem with the metric frozen at each iterate, the closed-form update through the
    /// multipliers, and its backtracking line search. It minimises the linearised energy
    /// sum_t |J(z_t) u_t|^2, so its paths differ from the others' by O(1/T^2). See `GEORCE`.
    case georce
    /// The gradient descent of Shao, Kumar & Fletcher (2018) with a backtracking step size;
    /// thousands of cheap iterations. See `GradientDescent`.
    case descent

    public var description: String { rawValue }

    /// The iteration limit used when `GeodesicOptions.maxIterations` is nil: 200 for Newton,
    /// 1000 for GEORCE (the authors' default),
    /// 50 000 for gradient descent.
    public var defaultMaxIterations: Int {
        switch self {
        case .newton: return Newton.defaultMaxIterations
        case .georce: return GEORCE.defaultMaxIterations
        case .descent: return GradientDescent.defaultMaxIterations
        }
    }
}

/// Options of `Geodesic.solve`.
public struct GeodesicOptions {
    /// The number of points of the path, endpoints included (T + 1, T segments); at least 2,
    /// at most `GeodesicOptions.maxPoints`. Default 64. Ignored when `initialPath` is given
    /// (the initial path's point count is used).
    public var points: Int
    /// The solver, `.newton` by default.
    public var solver: GeodesicSolver
    /// The stopping tolerance on the residual `Geodesic.residual` (a dimensionless measure of
    /// the energy gradient, the same for both solvers). Default 1e-6. Must be finite and >= 0.
    public var tolerance: Double
    /// The iteration limit (>= 0); nil means the solver's `defaultMaxIterations`.
    public var maxIterations: Int?
    /// The starting path; nil means the straight latent line from a to b. Its first and last
    /// points must be a and b (to 1e-12 relative), and it must have at least 2 points.
    public var initialPath: Path?

    /// The largest accepted number of points.
    public static let maxPoints = 100_000
    /// The accepted numbers of points.
    public static let pointRange = 2...maxPoints
    /// The accepted iteration limits.
    public static let iterationRange = 0...Int(Int32.max)

    /// Checks the settings: `points` in `pointRange` (unless an initial path is given),
    /// `tolerance` finite and >= 0, `maxIterations` in `iterationRange`.
    public func validate() throws {
        if initialPath == nil { try Setting.integer("points", points, in: GeodesicOptions.pointRange) }
        try Setting.nonNegative("tol", tolerance)
        if let m = maxIterations { try Setting.integer("max_iter", m, in: GeodesicOptions.iterationRange) }
    }

    public init(points: Int = 64, solver: GeodesicSolver = .newton, tolerance: Double = 1e-6,
                maxIterations: Int? = nil, initialPath: Path? = nil) {
        self.points = points; self.solver = solver; self.tolerance = tolerance
        self.maxIterations = maxIterations; self.initialPath = initialPath
    }
}

/// Geodesics between two latent points: paths z_0 = a, z_1, ..., z_T = b that minimise the
/// discrete energy of Shao, Kumar & Fletcher (2018), measured in data space through g:
///
///     E(z) = 1/(2 dt) sum_{t=0}^{T-1} |g(z_{t+1}) - g(z_t)|^2,   dt = 1/T,
///
/// over the interior points z_1 .. z_{T-1} (the endpoints are fixed). Its gradient is
///
///     dE/dz_i = J(z_i)^T c_i,   c_i = dE/dg(z_i) = -(1/dt) [g(z_{i+1}) - 2 g(z_i) + g(z_{i-1})].
///
/// Newton and descent minimise this same E and stop on the same test, so their results agree.
///
/// Stopping rule: the solver stops with `converged = true` as soon as the residual
///
///     rho = l * sum_i |dE/dz_i| / (2 E)
///
/// is <= `tolerance` (default 1e-6), where |.| is the Euclidean norm of the d-vector dE/dz_i,
/// the sum runs over the interior points and l = sum_t |z_{t+1} - z_t| is the latent length of
/// the current path. rho is dimensionless and invariant under scaling of the latent or the data
/// space; it converges as T grows (each |dE/dz_i| is O(dt)); for a metric close to c^2 I it is
/// the path's total geodesic curvature (turning angle, radians, relative to the manifold), so
/// it is 0 exactly at a discrete geodesic. A path with E = 0 (all points decode to one point) is
/// a global minimum and counts as converged. The solver also stops, with `converged = false`
/// and the reason in `Path.stop`, after `maxIterations` iterations (`.maxIterations`), when its
/// line search can no longer decrease E (`.lineSearch`) or, Newton only, when its iterations
/// stall (`.stalled`, see `Newton.stallWindow`); the last path is returned, never an error.
/// Both line searches judge steps whose energy change is lost in rounding error by the slope
/// instead (see `GeodesicProblem.accepts`), so the residual can be driven down to its own
/// rounding floor, about T^2 * machine epsilon * |g| / L (|g| the size of the decoded points,
/// L the path length): ~5e-13 for T = 63 on the unit sphere. A tolerance below that floor is never met: descent then runs to `maxIterations`,
/// Newton stalls; either way `converged = false`. GEORCE minimises its own objective, the
/// linearised energy E_G = sum_t |J(z_t) u_t|^2, and stops on the same residual formula
/// applied to E_G (see `GEORCE`).
///
/// Evaluations (`Path.evaluations`) count generator work per latent point and per tangent row:
/// a forward pass or a VJP with one cotangent per point over n points counts n; a JVP with k
/// tangents per point counts n * k. The fixed endpoints are decoded once (2 evaluations).
///
/// Special cases (documented results, not errors): identical endpoints a == b give the
/// constant path of `points` copies of a (length 0, energy 0, converged, 0 iterations); two
/// points give the single segment [a, b] (converged, 0 iterations: there is nothing to move).
///
/// Errors: `GeoError.dimensionMismatch` for endpoints (or initial path points) whose length is
/// not the latent dimension; `GeoError.invalidArgument` for a NaN or infinite entry, fewer than
/// 2 or more than `GeodesicOptions.maxPoints` points, a negative iteration limit, a negative or
/// NaN tolerance, or an initial path that does not join a to b; `GeoError.numerical` when the
/// generator returns non-finite values on the starting path or the metric is degenerate;
/// `GeoError.interrupted` when `Cancellation` was requested (checked before the first and at
/// every iteration). Progress is reported once per iteration (completed = iterations so far,
/// total = the iteration limit, detail = energy and residual).
public enum Geodesic {
    /// Minimises the discrete energy between a and b with the chosen solver; see the type's
    /// documentation for the energy, the stopping rule and the special cases.
    public static func solve(_ g: Generator, from a: Vector, to b: Vector,
                             options: GeodesicOptions = GeodesicOptions(),
                             progress: ProgressHandler? = nil) throws -> Path {
        try g.checkPoint(a, "start point")
        try g.checkPoint(b, "end point")
        try options.validate()
        let maxIterations = options.maxIterations ?? options.solver.defaultMaxIterations
        let start = try startingPoints(g, a, b, options)
        try Cancellation.check()

        let solverName = options.solver.rawValue
        if a == b {
            return Path(points: [Vector](repeating: a, count: start.count), solver: solverName)
        }
        if start.count == 2 {
            return Path(points: [a, b], solver: solverName)
        }
        let problem = try GeodesicProblem(g, a, b, segments: start.count - 1)
        let interior = try Matrix(rowVectors: Array(start[1..<(start.count - 1)]))
        switch options.solver {
        case .newton:
            return try Newton.run(problem, start: interior, tolerance: options.tolerance,
                                  maxIterations: maxIterations, progress: progress)
        case .georce:
            return try GEORCE.run(problem, start: interior, tolerance: options.tolerance,
                                  maxIterations: maxIterations, progress: progress)
        case .descent:
            return try GradientDescent.run(problem, start: interior, tolerance: options.tolerance,
                                           maxIterations: maxIterations, progress: progress)
        }
    }

    /// The stopping residual rho = l * sum_i |dE/dz_i| / (2 E) of any path (see `Geodesic`):
    /// 0 for a path of energy 0 or with fewer than 3 points. One forward pass and one VJP over
    /// the path's points.
    public static func residual(of path: Path, on g: Generator) throws -> Double {
        guard path.count >= 2 else {
            throw GeoError.invalidArgument("a path needs at least 2 points, got \(path.count)")
        }
        for (i, z) in path.points.enumerated() { try g.checkPoint(z, "path point \(i + 1)") }
        if path.count == 2 { return 0 }
        let problem = try GeodesicProblem(g, path.points[0], path.points[path.count - 1], segments: path.count - 1)
        let interior = try Matrix(rowVectors: Array(path.points[1..<(path.count - 1)]))
        let x = try problem.forward(interior)
        let (_, gradient) = try problem.vjp(interior, cotangents: problem.energyCotangents(x))
        return problem.residual(gradient: gradient, interior: interior, energy: problem.energy(x))
    }

    /// The validated starting points (endpoints included).
    private static func startingPoints(_ g: Generator, _ a: Vector, _ b: Vector,
                                       _ options: GeodesicOptions) throws -> [Vector] {
        guard let initial = options.initialPath else {
            return try Path.line(from: a, to: b, points: options.points).points
        }
        guard initial.count >= 2, initial.count <= GeodesicOptions.maxPoints else {
            throw GeoError.invalidArgument("the initial path must have from 2 to \(GeodesicOptions.maxPoints) points, got \(initial.count)")
        }
        for (i, z) in initial.points.enumerated() { try g.checkPoint(z, "initial path point \(i + 1)") }
        func close(_ u: Vector, _ v: Vector) throws -> Bool { (try u - v).norm <= 1e-12 * (1 + max(u.norm, v.norm)) }
        guard try close(initial.points[0], a), try close(initial.points[initial.count - 1], b) else {
            throw GeoError.invalidArgument("the initial path must start at the start point and end at the end point")
        }
        var points = initial.points
        points[0] = a; points[points.count - 1] = b
        return points
    }
}

/// The discrete geodesic problem shared by the solvers: fixed endpoints a, b with their images,
/// T segments, n = T - 1 free interior points stored as the rows of an [n, d] matrix, the
/// energy, its gradient and the stopping residual, and the running count of evaluations.
final class GeodesicProblem {
    let g: Generator
    let a: Vector, b: Vector
    /// T, the number of segments (>= 2 here: there is at least one interior point).
    let segments: Int
    /// d and D.
    let d: Int, dataDim: Int
    /// g(a) and g(b).
    let ga: [Double], gb: [Double]
    /// Generator evaluations so far (see `Geodesic`).
    private(set) var evaluations = 0
    /// The residual of every iteration so far (`record`), for `Path.residuals`.
    private(set) var residuals: [Double] = []

    init(_ g: Generator, _ a: Vector, _ b: Vector, segments: Int) throws {
        self.g = g; self.a = a; self.b = b; self.segments = segments
        d = g.latentDim; dataDim = g.dataDim
        let ends = try g.forward(try Matrix(rowVectors: [a, b]))
        guard ends.rows == 2, ends.cols == dataDim else {
            throw GeoError.dimensionMismatch("the generator returned \(ends.rows)x\(ends.cols) values for 2 points of data_dim \(dataDim)")
        }
        guard ends.isFinite else { throw GeoError.numerical("the generator returned NaN or infinity at an endpoint") }
        ga = ends.row(0).scalars; gb = ends.row(1).scalars
        evaluations = 2
    }

    /// n = T - 1, the number of interior points.
    var interiorCount: Int { segments - 1 }

    /// Adds evaluations done outside the helpers below.
    func count(_ k: Int) { evaluations += k }

    /// g at the interior points, [n, D] (n evaluations).
    func forward(_ z: Matrix) throws -> Matrix {
        let x = try g.forward(z)
        evaluations += z.rows
        try checkShape(x, rows: z.rows)
        return x
    }

    /// The batched VJP J(z_i)^T c_i at the interior points (n evaluations): values [n, D] and
    /// the gradient rows [n, d].
    func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        let r = try g.vjp(z, cotangents: cotangents)
        evaluations += z.rows
        try checkShape(r.value, rows: z.rows)
        guard r.cotangents.rows == z.rows, r.cotangents.cols == d else {
            throw GeoError.dimensionMismatch("the generator's VJP returned \(r.cotangents.rows)x\(r.cotangents.cols), expected \(z.rows)x\(d)")
        }
        return r
    }

    private func checkShape(_ x: Matrix, rows: Int) throws {
        guard x.rows == rows, x.cols == dataDim else {
            throw GeoError.dimensionMismatch("the generator returned \(x.rows)x\(x.cols) values for \(rows) points of data_dim \(dataDim)")
        }
    }

    /// The data-space steps Delta_t = g(z_{t+1}) - g(z_t), t = 0 ..< T, as a [T, D] matrix,
    /// from the decoded interior points x [n, D]. A matrix of another shape (which `forward`'s
    /// check rules out) gives NaN steps, so the solvers stop on a non-finite energy.
    func steps(_ x: Matrix) -> Matrix {
        let dd = dataDim, n = interiorCount
        var out = Matrix(rows: segments, cols: dd)
        guard dd > 0 else { return out }
        guard x.rows == n, x.cols == dd else {
            for i in out.scalars.indices { out.scalars[i] = .nan }
            return out
        }
        x.scalars.withUnsafeBufferPointer { px in
            out.scalars.withUnsafeMutableBufferPointer { po in
                for c in 0..<dd {
                    po[c] = px[c] - ga[c]
                    po[n * dd + c] = gb[c] - px[(n - 1) * dd + c]
                }
                for k in 0..<((n - 1) * dd) { po[dd + k] = px[dd + k] - px[k] }
            }
        }
        return out
    }

    /// E = T/2 sum_t |Delta_t|^2 from the decoded interior points (non-finite if any value is).
    func energy(_ x: Matrix) -> Double { energy(steps: steps(x)) }

    /// E = T/2 sum_t |Delta_t|^2 from the steps.
    func energy(steps s: Matrix) -> Double { Double(segments) / 2 * inner(s, s) }

    /// The cotangents c_i = dE/dg(z_i) = T (Delta_{i-1} - Delta_i), i = 1 ... T-1, [n, D].
    func energyCotangents(steps s: Matrix) -> Matrix {
        let dd = dataDim, tt = Double(segments)
        var out = Matrix(rows: interiorCount, cols: dd)
        s.scalars.withUnsafeBufferPointer { ps in
            out.scalars.withUnsafeMutableBufferPointer { po in
                for k in 0..<(interiorCount * dd) { po[k] = tt * (ps[k] - ps[dd + k]) }
            }
        }
        return out
    }
    func energyCotangents(_ x: Matrix) -> Matrix { energyCotangents(steps: steps(x)) }

    /// The latent length l = sum_t |z_{t+1} - z_t| of the path a, interior rows, b.
    func latentLength(_ z: Matrix) -> Double {
        let n = interiorCount
        var full = a.scalars
        full.reserveCapacity((n + 2) * d)
        full.append(contentsOf: z.scalars)
        full.append(contentsOf: b.scalars)
        return GeodesicProblem.sumOfRowNorms(differencesOf: full, rows: n + 2, cols: d)
    }

    /// sum over the rows of an [rows, cols] row-major array of their Euclidean norms; with
    /// `differencesOf`, of the norms of the differences of consecutive rows.
    static func sumOfRowNorms(_ m: [Double], rows: Int, cols: Int) -> Double {
        m.withUnsafeBufferPointer { p in
            var total = 0.0
            for i in 0..<rows { total += norm(p, i * cols, nil, cols) }
            return total
        }
    }
    static func sumOfRowNorms(differencesOf m: [Double], rows: Int, cols: Int) -> Double {
        m.withUnsafeBufferPointer { p in
            var total = 0.0
            for i in 0..<max(0, rows - 1) { total += norm(p, (i + 1) * cols, i * cols, cols) }
            return total
        }
    }
    /// The Euclidean norm of p[from ..< from + count] (minus p[minus ..< minus + count]), scaled
    /// against overflow like `Vector.norm`.
    private static func norm(_ p: UnsafeBufferPointer<Double>, _ from: Int, _ minus: Int?, _ count: Int) -> Double {
        var largest = 0.0
        for k in 0..<count { largest = max(largest, abs(p[from + k] - (minus.map { p[$0 + k] } ?? 0))) }
        if largest == 0 || !largest.isFinite { return largest }
        var s = 0.0
        for k in 0..<count { let y = (p[from + k] - (minus.map { p[$0 + k] } ?? 0)) / largest; s += y * y }
        return largest * s.squareRoot()
    }

    /// The stopping residual rho = l * sum_i |dE/dz_i| / (2 E) (0 when E = 0); see `Geodesic`.
    func residual(gradient: Matrix, interior z: Matrix, energy e: Double) -> Double {
        if e == 0 { return 0 }
        let sum = GeodesicProblem.sumOfRowNorms(gradient.scalars, rows: gradient.rows, cols: gradient.cols)
        return latentLength(z) * sum / (2 * e)
    }

    /// The sum over interior points of <u_i, w_i> (Frobenius inner product of [n, d] matrices).
    func inner(_ u: Matrix, _ w: Matrix) -> Double {
        u.scalars.withUnsafeBufferPointer { pu in
            w.scalars.withUnsafeBufferPointer { pw in
                var s = 0.0
                for k in 0..<min(pu.count, pw.count) { s += pu[k] * pw[k] }
                return s
            }
        }
    }

    /// The relative width of the energy's round-off zone used by both line searches: a change
    /// of E smaller than E * 1e-8 is not trusted to decide a step (see `accepts`).
    static let roundoffZone = 1e-8

    /// The line-search test shared by both solvers for a trial step alpha along a direction
    /// with slope s0 = <dE/dz, dz> < 0 from energy e0:
    ///  - reject when E(trial) is not finite;
    ///  - when |E(trial) - e0| <= roundoffZone * e0 the energy difference is too close to
    ///    rounding error to decide (near convergence, E changes by ~|dE|^2 per step while its
    ///    rounding error stays ~T * machine epsilon * E), so the slope at the trial decides:
    ///    accept when s1 = <dE/dz(trial), dz> <= (1 - 2 c1) |s0| (the approximate Wolfe
    ///    condition of Hager & Zhang, equivalent to Armijo for a quadratic energy);
    ///    `slopeAtTrial` is only called in this case;
    ///  - otherwise Armijo: accept when E(trial) <= e0 + c1 alpha s0.
    static func accepts(e0: Double, slope s0: Double, alpha: Double, trialEnergy e1: Double, c1: Double,
                        slopeAtTrial: () throws -> Double) rethrows -> Bool {
        guard e1.isFinite else { return false }
        if abs(e1 - e0) <= roundoffZone * abs(e0) {
            let s1 = try slopeAtTrial()
            return s1.isFinite && s1 <= (1 - 2 * c1) * abs(s0)
        }
        return e1 <= e0 + c1 * alpha * s0
    }

    /// The path a, interior rows, b.
    func path(_ z: Matrix, solver: String, stop: Path.Stop, iterations: Int) -> Path {
        var points = [a]
        points.reserveCapacity(segments + 1)
        for i in 0..<interiorCount { points.append(z.row(i)) }
        points.append(b)
        var path = Path(points: points, solver: solver, stop: stop, iterations: iterations,
                        evaluations: evaluations)
        path.residuals = residuals
        return path
    }

    /// Records the residual of iteration `k` (of at most `limit`) for `Path.residuals` and
    /// reports progress.
    func record(_ progress: ProgressHandler?, _ k: Int, _ limit: Int, energy: Double, residual: Double) {
        residuals.append(residual)
        guard let progress else { return }
        progress(ProgressReport(completed: k, total: limit,
                                detail: String(format: "energy %.6e, residual %.2e", energy, residual)))
    }
}
