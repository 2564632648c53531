import CBLAS
import Foundation

/// The "newton" solver (the default): Newton's method on georepl's discrete energy with its
/// exact block-tridiagonal Hessian, solved by block Cholesky, and an Armijo line search.
///
/// The energy E = (T/2) sum_{t=0}^{T-1} |g(z_{t+1}) - g(z_t)|^2 over the n = T - 1 interior
/// points has gradient dE/dz_i = J_i^T c_i (c_i = T (Delta_{i-1} - Delta_i), as in `Geodesic`)
/// and the exact Hessian, block tridiagonal with d x d blocks,
///
///     H_ii     = 2T J_i^T J_i + C_i,       C_i = Hess<c_i, g>(z_i) = sum_c (c_i)_c Hess g_c(z_i),
///     H_i,i+1  = -T J_i^T J_{i+1},
///
/// where J_i = J(z_i) and Delta_t = g(z_{t+1}) - g(z_t). The curvature term C_i is the Jacobi
/// term of the second variation: without it (Gauss–Newton, or GEORCE's control update) the
/// convergence is only linear, at a rate near the ratio of C_i to the smallest eigenvalues of
/// the Gauss–Newton part (~ L^2 / pi^2 on the unit sphere for an arc of length L).
///
/// Each iteration:
///  1. One fused forward-over-reverse pass (`Generator.hessianVectorProducts`) with the d unit
///     tangents at the n interior points: g(z_i) and J_i from its forward part; the cotangents
///     c_i from the values; from its reverse part the gradient J_i^T c_i and C_i e_a for every a,
///     i.e. C_i exactly, for every latent dimension (d Hessian-vector products per point, about
///     the work of a JVP with d tangents and a VJP with d + 1 cotangents). J(b) is computed once.
///     From them: Delta_t, E, the stopping residual (see `Geodesic`) and the Gauss–Newton blocks
///     (dgemm). The gradient J_i^T c_i is also at hand from the forward part (d dot products of
///     length D per point), so at the converged path the pass stops before its reverse part.
///  2. dz = -H^{-1} dE/dz by block Cholesky (block Thomas algorithm, O(n d^3)). When H is not
///     positive definite (far from a minimum, or near a conjugate point) the C_i are dropped: a
///     Gauss–Newton step, whose matrix is positive semidefinite; each of its diagonal blocks gets
///     a ridge 2T * 1e-12 * trace(J_i^T J_i) / d (the mean trace where it is 0) so rank-deficient
///     Jacobians stay solvable. Either way dz is a descent direction and dz = 0 exactly at a
///     stationary path.
///  3. Line search on z + alpha dz: backtracking from alpha = 1, halving until the Armijo
///     condition E(z + alpha dz) <= E + c1 alpha <dE/dz, dz>, c1 = 1e-4, holds (at most 30
///     halvings); each trial is one forward pass (n evaluations). When the energy change is within
///     rounding error the slope at the trial decides instead (`GeodesicProblem.accepts`; its pass
///     is reused by the next iteration).
///
/// When the Jacobian vanishes along the whole path, or even the Gauss–Newton factorisation
/// fails, `GeoError.numerical` is thrown.
///
/// Stopping: the residual of `Geodesic` (the same rule as gradient descent) is tested at every
/// iteration before the update; also stops (converged = false) after `maxIterations` updates
/// (`Path.Stop.maxIterations`), when the line search finds no decrease (`.lineSearch`), or when
/// the iterations stall (`.stalled`): for `stallWindow` = 10 iterations in a row neither has the
/// energy fallen below its best value by more than the round-off zone
/// (`GeodesicProblem.roundoffZone` * E) nor has the residual fallen below half its best value.
/// Newton's quadratic convergence halves the residual every iteration on a smooth generator, so
/// this fires only where the energy is not smooth: on a ReLU network the energy has kinks at
/// which its gradient jumps, a minimum can sit on a kink with a nonzero gradient, and there the
/// slope test of the round-off zone lets the iterates wander at E * 1e-9 for ever, or when the
/// tolerance is below the residual's rounding floor.
enum Newton {
    /// The default iteration limit, 200.
    static let defaultMaxIterations = 200
    /// The Armijo sufficient-decrease constant.
    static let armijo = 1e-4
    /// The most halvings of one line search (alpha >= 2^-30).
    static let maxHalvings = 30
    /// The relative ridge added to each diagonal block of the Gauss–Newton fallback.
    static let ridge = 1e-12
    /// Iterations without progress after which the solver stops as stalled (see above).
    static let stallWindow = 10

    static func run(_ p: GeodesicProblem, start: Matrix, tolerance: Double, maxIterations: Int,
                    progress: ProgressHandler?) throws -> Path {
        let name = GeodesicSolver.newton.rawValue
        let n = p.interiorCount, d = p.d, dd = p.dataDim
        // The Jacobians of every point, and the JVP's rows they are copied from.
        try MemoryBudget.doubles(2, n + 1, d, dd,
                                 for: "the \(n + 1) Jacobians (\(dd)x\(d)) of a \(n + 2)-point geodesic (solver \"descent\" needs less)")
        let eye = Matrix.identity(d)
        let jb = try p.g.jvp(Matrix(row: p.b), tangents: eye)
        p.count(d)
        guard jb.tangents.rows == d, jb.tangents.cols == dd else {
            throw GeoError.dimensionMismatch("the generator's JVP returned \(jb.tangents.rows)x\(jb.tangents.cols), expected \(d)x\(dd)")
        }
        guard jb.tangents.isFinite else { throw GeoError.numerical("the Jacobian at the end point is NaN or infinite") }
        // The d unit tangents for each of the n interior points.
        var tiled = Matrix(rows: n * d, cols: d)
        for i in 0..<n { for k in 0..<d { tiled.scalars[(i * d + k) * d + k] = 1 } }

        // g, the Jacobians, the steps, E, dE/dz and the curvature blocks C_i at the interior
        // points z: one fused pass (n * d tangent and n * (d + 1) cotangent evaluations). When
        // the generator hands over J u with the values and the residual computed from them is
        // already within the tolerance, the pass stops before its reverse part (the last
        // iteration needs no curvature): `State.curvature` is nil then.
        func evaluate(_ z: Matrix) throws -> State {
            var steps = Matrix(rows: 0, cols: 0)
            var early: State?
            let r: HessianVectorProducts
            do {
                r = try p.g.hessianVectorProducts(z, tangents: tiled) { x, jvp in
                    guard x.rows == n, x.cols == dd else {
                        throw GeoError.dimensionMismatch("the generator returned \(x.rows)x\(x.cols) values, expected \(n)x\(dd)")
                    }
                    steps = p.steps(x)
                    let c = p.energyCotangents(steps: steps)
                    if let jvp = jvp, jvp.rows == n * d, jvp.cols == dd, x.isFinite, jvp.isFinite {
                        let gradient = gradientFromJacobians(jvp, c, n, d, dd)
                        let e = p.energy(steps: steps)
                        if e.isFinite && p.residual(gradient: gradient, interior: z, energy: e) <= tolerance {
                            early = State(blocks: JacobianBlocks(scalars: jvp.scalars + jb.tangents.scalars, d: d, dataDim: dd),
                                          steps: steps, energy: e, gradient: gradient, curvature: nil, finite: true)
                            throw ConvergedBeforeReverse()
                        }
                    }
                    return c
                }
            } catch is ConvergedBeforeReverse {
                p.count(n * (d + 1))
                if let state = early { return state }
                throw GeoError.numerical("the Newton solver lost its converged state")
            }
            p.count(n * (2 * d + 1))
            guard r.jvp.rows == n * d, r.jvp.cols == dd, r.gradient.rows == n, r.gradient.cols == d,
                  r.hvp.rows == n * d, r.hvp.cols == d else {
                throw GeoError.dimensionMismatch("the generator's Hessian-vector products have the wrong shapes")
            }
            // Blocks 0 ..< n: J(z_i)^T (d x D, row-major) for the interior points; block n: J(b)^T.
            let blocks = JacobianBlocks(scalars: r.jvp.scalars + jb.tangents.scalars, d: d, dataDim: dd)
            // C_i from its rows C_i e_a, symmetrised (the products agree to rounding).
            var curvature = [[Double]](repeating: [Double](repeating: 0, count: d * d), count: n)
            for i in 0..<n {
                for a in 0..<d {
                    for b in 0..<d {
                        curvature[i][a * d + b] = 0.5 * (r.hvp.scalars[(i * d + a) * d + b] + r.hvp.scalars[(i * d + b) * d + a])
                    }
                }
            }
            return State(blocks: blocks, steps: steps, energy: p.energy(steps: steps), gradient: r.gradient,
                         curvature: curvature, finite: r.value.isFinite && r.jvp.isFinite && r.hvp.isFinite)
        }

        var z = start
        var iterations = 0
        var cached: State?       // the state at z when the line search already computed it
        var stall = StallDetector(window: stallWindow)
        while true {
            try Cancellation.check()
            let state = try cached ?? evaluate(z)
            cached = nil
            guard state.finite, state.energy.isFinite else {
                throw GeoError.numerical("the generator returned NaN or infinity at iteration \(iterations)")
            }
            let e = state.energy, gradient = state.gradient
            let rho = p.residual(gradient: gradient, interior: z, energy: e)
            p.record(progress, iterations, maxIterations, energy: e, residual: rho)
            try Cancellation.check()
            if rho <= tolerance {
                return p.path(z, solver: name, stop: .converged, iterations: iterations)
            }
            if iterations >= maxIterations { return p.path(z, solver: name, stop: .maxIterations, iterations: iterations) }
            if stall.stalled(energy: e, residual: rho) {
                return p.path(z, solver: name, stop: .stalled, iterations: iterations)
            }

            let dx = try newtonStep(p, state, z: z)
            let slope = p.inner(gradient, dx)
            guard slope < 0, slope.isFinite else { break }   // no descent left at this precision

            var alpha = 1.0
            var accepted = false
            for _ in 0...maxHalvings {
                let trial = try z + alpha * dx
                if trial == z { break }
                var trialState: State?
                let ok = try GeodesicProblem.accepts(e0: e, slope: slope, alpha: alpha,
                                                     trialEnergy: p.energy(try p.forward(trial)), c1: armijo) {
                    let s = try evaluate(trial)
                    trialState = s
                    return s.finite ? p.inner(s.gradient, dx) : .nan
                }
                if ok {
                    z = trial
                    cached = trialState
                    accepted = true
                    break
                }
                alpha *= 0.5
            }
            if !accepted { break }
            iterations += 1
        }
        return p.path(z, solver: name, stop: .lineSearch, iterations: iterations)
    }

    /// The stall test of the type's documentation: fed the energy and residual of each
    /// iteration, it answers true once `window` iterations in a row have brought neither an
    /// energy below the best by more than the round-off zone nor a residual below half the best.
    struct StallDetector {
        let window: Int
        private var bestEnergy = Double.infinity, bestResidual = Double.infinity
        private var idle = 0

        init(window: Int) { self.window = window }

        mutating func stalled(energy e: Double, residual rho: Double) -> Bool {
            var progress = false
            if e < bestEnergy - GeodesicProblem.roundoffZone * abs(e) || !bestEnergy.isFinite {
                bestEnergy = e; progress = true
            }
            if rho < 0.5 * bestResidual { bestResidual = rho; progress = true }
            idle = progress ? 0 : idle + 1
            return idle >= window
        }
    }

    /// Thrown by the cotangent closure to end a fused pass before its reverse part.
    private struct ConvergedBeforeReverse: Error {}

    /// dE/dz_i = J_i^T c_i from the rows J_i e_a ([n*d, D], point-major) and the cotangents
    /// c_i ([n, D]): [n, d], entry (i, a) = <J_i e_a, c_i>.
    static func gradientFromJacobians(_ jvp: Matrix, _ c: Matrix, _ n: Int, _ d: Int, _ dd: Int) -> Matrix {
        var out = Matrix(rows: n, cols: d)
        jvp.scalars.withUnsafeBufferPointer { pj in
            c.scalars.withUnsafeBufferPointer { pc in
                for i in 0..<n {
                    for a in 0..<d {
                        var s = 0.0
                        let row = (i * d + a) * dd
                        for q in 0..<dd { s += pj[row + q] * pc[i * dd + q] }
                        out.scalars[i * d + a] = s
                    }
                }
            }
        }
        return out
    }

    /// What one fused pass tells about a path.
    struct State {
        var blocks: JacobianBlocks
        var steps: Matrix
        var energy: Double
        var gradient: Matrix
        /// C_i = Hess<c_i, g>(z_i), d x d row-major; nil when the pass stopped before its
        /// reverse part because the path had converged.
        var curvature: [[Double]]?
        var finite: Bool
    }

    /// The Newton direction dz = -H^{-1} dE/dz for the interior points, [n, d] (see the type's
    /// documentation): H is block tridiagonal with diagonal blocks 2T J_i^T J_i + C_i (plus the
    /// ridge in the fallback) and off-diagonal blocks -T J_i^T J_{i+1}. When H is not positive
    /// definite the C_i are dropped (Gauss–Newton step).
    static func newtonStep(_ p: GeodesicProblem, _ state: State, z: Matrix) throws -> Matrix {
        let n = p.interiorCount, d = p.d, tt = Double(p.segments)
        let blocks = state.blocks
        // Gauss–Newton blocks.
        var diag = try (0..<n).map { try blocks.gram($0) }
        let traces = diag.map { h in (0..<d).reduce(0.0) { $0 + h[$1 * d + $1] } }
        let meanTrace = traces.reduce(0, +) / Double(max(1, n))
        guard meanTrace > 0, meanTrace.isFinite else {
            throw GeoError.numerical("the generator's Jacobian vanishes along the path: the metric is degenerate")
        }
        for i in 0..<n { for k in 0..<(d * d) { diag[i][k] *= 2 * tt } }
        var upper = [[Double]]()
        upper.reserveCapacity(max(0, n - 1))
        for i in 0..<max(0, n - 1) { upper.append(try blocks.cross(i, i + 1).map { -tt * $0 }) }
        let rhs = state.gradient.scalars.map { -$0 }

        // A state without curvature comes only from a converged path, which takes no step.
        guard let curvature = state.curvature else {
            throw GeoError.numerical("the Newton step lacks the curvature blocks of a converged path")
        }
        var full = diag
        for i in 0..<n { for k in 0..<(d * d) { full[i][k] += curvature[i][k] } }
        if let dz = try solveBlockTridiagonal(diag: full, upper: upper, rhs: rhs, d: d) {
            return Matrix(rows: n, cols: d, unchecked: dz)
        }
        // Gauss–Newton with the ridge.
        for i in 0..<n {
            let lambda = ridge * (traces[i] > 0 ? traces[i] : meanTrace) / Double(d)
            for k in 0..<d { diag[i][k * d + k] += 2 * tt * lambda }
        }
        guard let dz = try solveBlockTridiagonal(diag: diag, upper: upper, rhs: rhs, d: d) else {
            throw GeoError.numerical("the Gauss–Newton matrix of the energy is not positive definite (Cholesky failed)")
        }
        return Matrix(rows: n, cols: d, unchecked: dz)
    }

    /// Solves the symmetric block-tridiagonal system H x = rhs with n diagonal blocks `diag`
    /// and upper blocks `upper` (H_{i,i+1} = upper[i], H_{i+1,i} = upper[i]^T), all d x d
    /// row-major, by block Cholesky (the block Thomas algorithm, O(n d^3)). Returns nil when a
    /// pivot block is not positive definite, i.e. when H is not.
    static func solveBlockTridiagonal(diag: [[Double]], upper: [[Double]], rhs: [Double], d: Int) throws -> [Double]? {
        let n = diag.count
        var xs = [[Double]](), ws = [[Double]]()       // X_i = S_i^{-1} B_i, w_i = S_i^{-1} y_i
        xs.reserveCapacity(n); ws.reserveCapacity(n)
        for i in 0..<n {
            var s = diag[i]
            var y = Array(rhs[(i * d)..<((i + 1) * d)])
            if i > 0 {
                // S_i = A_i - B_{i-1}^T X_{i-1}, y_i = rhs_i - B_{i-1}^T w_{i-1}.
                let b = upper[i - 1], x = xs[i - 1], w = ws[i - 1]
                for k in 0..<d {
                    for m in 0..<d {
                        let bmk = b[m * d + k]
                        if bmk == 0 { continue }
                        for l in 0..<d { s[k * d + l] -= bmk * x[m * d + l] }
                        y[k] -= bmk * w[m]
                    }
                }
            }
            var r = [Double](repeating: 0, count: d * (d + 1))
            for k in 0..<d {
                if i < n - 1 { for l in 0..<d { r[k * (d + 1) + l] = upper[i][k * d + l] } }
                r[k * (d + 1) + d] = y[k]
            }
            guard try Cholesky.solve(&s, d, &r, d + 1) else { return nil }
            var x = [Double](repeating: 0, count: d * d), w = [Double](repeating: 0, count: d)
            for k in 0..<d {
                for l in 0..<d { x[k * d + l] = r[k * (d + 1) + l] }
                w[k] = r[k * (d + 1) + d]
            }
            xs.append(x); ws.append(w)
        }
        // x_{n-1} = w_{n-1}; x_i = w_i - X_i x_{i+1}.
        var out = [Double](repeating: 0, count: n * d)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in 0..<d {
                var v = ws[i][k]
                if i < n - 1 { for l in 0..<d { v -= xs[i][k * d + l] * out[(i + 1) * d + l] } }
                out[i * d + k] = v
            }
        }
        return out.allSatisfy({ $0.isFinite }) ? out : nil
    }
}
