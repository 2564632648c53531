import CBLAS
import Foundation

/// The "georce" solver: a damped Newton method on georepl's discrete energy with the exact
/// block-tridiagonal Hessian, solved by block Cholesky. It replaced a GEORCE-style control
/// update (Rygaard & Hauberg 2025, "GEORCE: a fast new control algorithm for computing
/// geodesics", arXiv 2505.05961); the solver keeps the name "georce" and the paper's outline
/// (batched Jacobians, a closed-form linear solve per iteration, Armijo backtracking from
/// alpha = 1) but not its control form.
///
/// Why: the control update modelled each cost c_t = |g(x_t + u_t) - g(x_t)|^2 quadratically in
/// u_t only, with the dependence on the state frozen at first order. Even its exact Gauss–Newton
/// counterpart drops the second-order term sum_i c_i . D2g(z_i) of the energy's Hessian, which
/// at a geodesic is the curvature (Jacobi) term of the second variation and is of the same size
/// as the smallest eigenvalues of the Gauss–Newton part (a discrete Laplacian, ~pi^2 / T). Such a
/// method converges only linearly, with a rate of about the ratio of the two (on the unit sphere
/// ~ L^2 / pi^2 for an arc of length L: 0.68 for L = 2.6, 35 iterations to rho = 1e-6). Newton
/// with the full Hessian converges quadratically.
///
/// The energy E = (T/2) sum_{t=0}^{T-1} |g(z_{t+1}) - g(z_t)|^2 over the n = T - 1 interior
/// points has gradient dE/dz_i = J_i^T c_i (c_i = T (Delta_{i-1} - Delta_i), as in `Geodesic`)
/// and the exact Hessian, block tridiagonal with d x d blocks,
///
///     H_ii     = 2T J_i^T J_i + C_i,       C_i = sum_c (c_i)_c Hess g_c(z_i),
///     H_i,i+1  = -T J_i^T J_{i+1},
///
/// where J_i = J(z_i) and Delta_t = g(z_{t+1}) - g(z_t).
///
/// Each iteration:
///  1. One batched JVP with the d unit tangents at the n interior points gives g(z_i) and J_i
///     (n * d evaluations; J(b) is computed once). From them: Delta_t, E, the gradient, the
///     stopping residual (see `Geodesic`) and the Gauss–Newton blocks (dgemm).
///  2. C_i exactly, C_i[a][b] = <c_i, D2g(z_i)[e_a, e_b]>, from the generator's second-order
///     forward mode over the d(d+1)/2 pairs a <= b (n d(d+1)/2 evaluations; chunked). For
///     d > 32 (`maxCurvatureDim`) this would cost too much and the step is Gauss–Newton.
///  3. dz = -H^{-1} dE/dz by block Cholesky (block Thomas algorithm, O(n d^3)). When H is not
///     positive definite (far from a minimum, or near a conjugate point) the C_i are dropped: a
///     Gauss–Newton step, whose matrix is positive semidefinite; each of its diagonal blocks gets
///     a ridge 2T * 1e-12 * trace(J_i^T J_i) / d (the mean trace where it is 0) so rank-deficient
///     Jacobians stay solvable. Either way dz is a descent direction and dz = 0 exactly at a
///     stationary path.
///  4. Line search on z + alpha dz: backtracking from alpha = 1, halving until the Armijo
///     condition E(z + alpha dz) <= E + c1 alpha <dE/dz, dz>, c1 = 1e-4, holds (at most 30
///     halvings); each trial is one forward pass (n evaluations). When the energy change is within
///     rounding error the slope at the trial decides instead (`GeodesicProblem.accepts`; its JVP
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
/// Newton's quadratic (and Gauss–Newton's linear) convergence halves the residual every
/// iteration or two on a smooth generator, so this fires only where the energy is not smooth:
/// on a ReLU network the energy has kinks at which its gradient jumps, a minimum can sit on a
/// kink with a nonzero gradient, and there the slope test of the round-off zone lets the
/// iterates wander at E * 1e-9 for ever (on a random 16 -> 512 -> 512 -> 784 ReLU MLP the
/// solver now stops after 59 iterations where it ran to its limit of 200), or when the
/// tolerance is below the residual's rounding floor.
enum GEORCE {
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
        let name = GeodesicSolver.georce.rawValue
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

        // g, the Jacobians, the steps, E and dE/dz at the interior points z (n * d evaluations).
        func evaluate(_ z: Matrix) throws -> State {
            let (x, jt) = try p.g.jvp(z, tangents: tiled)
            p.count(n * d)
            guard x.rows == n, x.cols == dd, jt.rows == n * d, jt.cols == dd else {
                throw GeoError.dimensionMismatch("the generator's JVP returned \(x.rows)x\(x.cols) values and \(jt.rows)x\(jt.cols) tangents, expected \(n)x\(dd) and \(n * d)x\(dd)")
            }
            // Blocks 0 ..< n: J(x_{i+1})^T (d x D, row-major) for the interior points; block n: J(b)^T.
            let blocks = JacobianBlocks(scalars: jt.scalars + jb.tangents.scalars, d: d, dataDim: dd)
            let steps = p.steps(x)
            let cot = p.energyCotangents(steps: steps)
            var gradient = Matrix(rows: n, cols: d)
            for i in 0..<n {
                gradient.scalars.replaceSubrange((i * d)..<((i + 1) * d),
                                                 with: blocks.apply(i, cot.scalars, offset: i * dd))
            }
            return State(blocks: blocks, steps: steps, energy: p.energy(steps: steps), gradient: gradient,
                         finite: x.isFinite && jt.isFinite)
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
            GeodesicProblem.report(progress, iterations, maxIterations, energy: e, residual: rho)
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

    /// What one batched JVP tells about a path.
    struct State {
        var blocks: JacobianBlocks
        var steps: Matrix
        var energy: Double
        var gradient: Matrix
        var finite: Bool
    }

    /// The Newton direction dz = -H^{-1} dE/dz for the interior points, [n, d] (see the type's
    /// documentation): H is block tridiagonal with diagonal blocks 2T J_i^T J_i + C_i (plus the
    /// ridge in the fallback) and off-diagonal blocks -T J_i^T J_{i+1}; C_i = Hessian of c_i . g at z_i, exact
    /// from second-order forward mode (`curvatureBlocks`). When H is not
    /// positive definite the C_i are dropped (Gauss–Newton step).
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

        let curvature = try curvatureBlocks(p, z: z, cotangents: p.energyCotangents(steps: state.steps),
                                            blocks: blocks)
        if let curvature {
            var full = diag
            for i in 0..<n { for k in 0..<(d * d) { full[i][k] += curvature[i][k] } }
            if let dz = try solveBlockTridiagonal(diag: full, upper: upper, rhs: rhs, d: d) {
                return Matrix(rows: n, cols: d, unchecked: dz)
            }
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

    /// The largest latent dimension for which the exact second-order blocks are formed: they
    /// take d(d+1)/2 second-order tangent pairs per point (136 for d = 16, 528 for d = 32).
    /// Above it the step is Gauss–Newton (the C_i are dropped; convergence becomes linear).
    static let maxCurvatureDim = 32

    /// The second-order blocks C_i = sum_c (c_i)_c Hessian(g_c)(z_i), d x d row-major, exactly:
    /// C_i[a][b] = <c_i, D2g(z_i)[e_a, e_b]> from the generator's second-order forward mode over
    /// the pairs a <= b (symmetric by construction), in chunks of at most 2^21 output entries.
    /// nil when d > `maxCurvatureDim` or a value is not finite.
    static func curvatureBlocks(_ p: GeodesicProblem, z: Matrix, cotangents c: Matrix,
                                blocks: JacobianBlocks) throws -> [[Double]]? {
        let n = p.interiorCount, d = p.d, dd = p.dataDim
        guard d <= maxCurvatureDim else { return nil }
        var pairs = [(Int, Int)]()
        for a in 0..<d { for b in a..<d { pairs.append((a, b)) } }
        let np = pairs.count
        var u = Matrix(rows: np, cols: d), v = Matrix(rows: np, cols: d)
        for (k, (a, b)) in pairs.enumerated() { u.scalars[k * d + a] = 1; v.scalars[k * d + b] = 1 }
        var out = [[Double]](repeating: [Double](repeating: 0, count: d * d), count: n)
        let pointsPerChunk = max(1, (1 << 21) / max(1, np * dd))
        var start = 0
        while start < n {
            let end = min(n, start + pointsPerChunk), m = end - start
            let zc = Matrix(rows: m, cols: d, unchecked: Array(z.scalars[(start * d)..<(end * d)]))
            let so = try p.g.secondOrder(zc, u: u.repeatingRowsBlock(m), v: v.repeatingRowsBlock(m))
            p.count(m * np)
            guard so.d2.rows == m * np, so.d2.cols == dd, so.d2.isFinite else { return nil }
            for i in 0..<m {
                let ci = (start + i) * dd
                for (k, (a, b)) in pairs.enumerated() {
                    let row = (i * np + k) * dd
                    var s = 0.0
                    for j in 0..<dd { s += c.scalars[ci + j] * so.d2.scalars[row + j] }
                    out[start + i][a * d + b] = s; out[start + i][b * d + a] = s
                }
            }
            start = end
        }
        return out
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
            guard try choleskySolve(&s, d, &r, d + 1) else { return nil }
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

    /// Solves A X = B in place for a symmetric positive definite n x n matrix A (row-major,
    /// overwritten by its Cholesky factor) and n x nrhs right-hand sides B (row-major,
    /// overwritten by X), with LAPACK dpotrf/dpotrs. Returns false when A is not positive
    /// definite or has non-finite entries.
    static func choleskySolve(_ a: inout [Double], _ n: Int, _ b: inout [Double], _ nrhs: Int) throws -> Bool {
        guard n > 0 else { return true }
        try BLAS.ready()
        guard a.allSatisfy({ $0.isFinite }), b.allSatisfy({ $0.isFinite }) else { return false }
        let lower = CChar(UInt8(ascii: "L"))
        let info = a.withUnsafeMutableBufferPointer { pa in
            LAPACKE_dpotrf(LAPACK_ROW_MAJOR, lower, Int32(n), pa.baseAddress, Int32(n))
        }
        guard info == 0 else { return false }
        let info2 = a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeMutableBufferPointer { pb in
                LAPACKE_dpotrs(LAPACK_ROW_MAJOR, lower, Int32(n), Int32(nrhs), pa.baseAddress, Int32(n),
                               pb.baseAddress, Int32(nrhs))
            }
        }
        return info2 == 0 && b.allSatisfy { $0.isFinite }
    }
}

/// Transposed Jacobians J^T (d x D, row-major) stored back to back.
struct JacobianBlocks {
    let scalars: [Double]
    let d: Int, dataDim: Int

    /// J_p^T v for the D values of `v` starting at `offset`: d entries.
    func apply(_ p: Int, _ v: [Double], offset: Int) -> [Double] {
        var out = [Double](repeating: 0, count: d)
        let base = p * d * dataDim
        for k in 0..<d {
            var sum = 0.0
            let row = base + k * dataDim
            for c in 0..<dataDim { sum += scalars[row + c] * v[offset + c] }
            out[k] = sum
        }
        return out
    }

    /// J_p^T J_p, d x d row-major (one dgemm).
    func gram(_ p: Int) throws -> [Double] { try cross(p, p) }

    /// J_p^T J_q, d x d row-major (one dgemm).
    func cross(_ p: Int, _ q: Int) throws -> [Double] {
        var out = [Double](repeating: 0, count: d * d)
        guard d > 0, dataDim > 0 else { return out }
        try scalars.withUnsafeBufferPointer { ps in
            try out.withUnsafeMutableBufferPointer { po in
                guard let base = ps.baseAddress else { return }
                let bp = base + p * d * dataDim, bq = base + q * d * dataDim
                try dgemm(transB: true, m: d, n: d, k: dataDim, bp, lda: dataDim, bq, ldb: dataDim, po.baseAddress, ldc: d)
            }
        }
        return out
    }
}
