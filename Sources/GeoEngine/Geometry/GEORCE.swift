import CBLAS

/// GEORCE (Rygaard & Hauberg 2025, "GEORCE: a fast new control algorithm for computing
/// geodesics", arXiv 2505.05961), applied to georepl's discrete energy.
///
/// The path is written as a discrete control problem: states x_0 = a, x_{t+1} = x_t + u_t,
/// x_T = b (so sum_t u_t = b - a), and the energy E = (T/2) sum_{t=0}^{T-1} c_t(x_t, u_t) with
///
///     c_t(x, u) = |g(x + u) - g(x)|^2                       (data-space step; Shao et al.)
///
/// The paper treats the Riemannian cost c_t = u^T G(x_t) u, whose dependence on u is exactly
/// quadratic. georepl's discrete problem is the data-space energy above (so that both solvers
/// minimise the same E, and discrete geodesics on the sphere lie exactly on great circles), and
/// GEORCE is applied to it with the quadratic part taken as the exact Gauss–Newton model of c_t
/// in u around the current control:
///
///     c_t(x_t, u) ~ c_t + 2 r_t^T (u - u_t) + (u - u_t)^T H_t (u - u_t),
///     r_t = J(x_{t+1})^T Delta_t,  H_t = J(x_{t+1})^T J(x_{t+1}),  Delta_t = g(x_{t+1}) - g(x_t).
///
/// For a cost that is quadratic in u (the paper's case, r_t = G_t u_t, H_t = G_t) this is
/// exactly the paper's model and the update below reduces exactly to the paper's
/// u_t = -1/2 G_t^{-1} (mu + sum_{j>t} nu_j). As in the paper, the dependence on the states is
/// frozen at first order through
///
///     nu_t = d c_t / d x_t (u_t held fixed) = 2 [J(x_{t+1}) - J(x_t)]^T Delta_t,  t = 1 ... T-1,
///
/// which needs only first derivatives here (the Riemannian cost would need D2g; the data-space
/// cost's state derivative is a difference of two VJPs).
///
/// Each iteration:
///  1. One batched JVP with the d unit tangents at the n = T - 1 interior points gives g(x_i)
///     and the Jacobians J(x_i) (n * d evaluations; J(b) is computed once). From them: Delta_t,
///     E, the energy gradient dE/dx_i = J(x_i)^T c_i (the same as gradient descent's), the
///     stopping residual (see `Geodesic`), r_t, H_t and nu_t.
///  2. The linearised problem min sum_t [2 r_t^T du_t + du_t^T H_t du_t + nu_t^T dx_t] subject to
///     dx_{t+1} = dx_t + du_t, dx_0 = dx_T = 0 has the closed-form solution (Lagrange multiplier
///     m/2 of the constraint sum_t du_t = 0, s_t = sum_{j=t+1}^{T-1} nu_j):
///         w_t  = H_t^{-1} (r_t + s_t / 2)
///         m/2  = (sum_t H_t^{-1})^{-1} sum_t w_t
///         du_t = H_t^{-1} m/2 - w_t,
///     with each d x d system solved by Cholesky. The direction dx_i = sum_{t<i} du_t is a descent
///     direction of E (its slope is -(T/2) * 2 sum_t du_t^T H_t du_t < 0 unless du = 0), and
///     du = 0 exactly when the path is stationary, so fixed points are discrete geodesics.
///  3. Line search as in the paper on x(alpha) = a + cumsum(u + alpha du): backtracking from
///     alpha = 1, halving until the Armijo condition E(x(alpha)) <= E + c1 alpha <dE/dx, dx>,
///     c1 = 1e-4, holds (at most 30 halvings); each trial is one forward pass (n evaluations).
///     When the energy change is within rounding error the slope at the trial decides instead
///     (`GeodesicProblem.accepts`; its JVP is reused by the next iteration).
///
/// Singular metrics: H_t is SPD when J(x_{t+1}) has full rank. Every H_t gets a ridge
/// 1e-12 * trace(H_t) / d on its diagonal before the Cholesky factorisation (where the trace is
/// 0, the ridge uses the mean trace over the path); the ridge changes only the step, not the
/// fixed points. When the Jacobian vanishes along the whole path, or a factorisation still
/// fails, `GeoError.numerical` is thrown.
///
/// Stopping: the residual of `Geodesic` (the same rule as gradient descent) is tested at every
/// iteration before the update; also stops (converged = false) after `maxIterations` updates
/// or when the line search finds no decrease.
enum GEORCE {
    /// The default iteration limit, 200.
    static let defaultMaxIterations = 200
    /// The Armijo sufficient-decrease constant.
    static let armijo = 1e-4
    /// The most halvings of one line search (alpha >= 2^-30).
    static let maxHalvings = 30
    /// The relative ridge added to each H_t.
    static let ridge = 1e-12
    /// The largest number of Jacobian entries (n + 1) * d * D held at once (2^27 Doubles, 1 GiB).
    static let maxJacobianEntries = 1 << 27

    static func run(_ p: GeodesicProblem, start: Matrix, tolerance: Double, maxIterations: Int,
                    progress: ProgressHandler?) throws -> Path {
        let name = GeodesicSolver.georce.rawValue
        let n = p.interiorCount, d = p.d, dd = p.dataDim, segments = p.segments
        let (entries, overflow) = (n + 1).multipliedReportingOverflow(by: d * dd)
        guard !overflow, entries <= maxJacobianEntries else {
            throw GeoError.invalidArgument("GEORCE would hold \(n + 1) Jacobians of \(dd)x\(d) entries, more than \(maxJacobianEntries); use fewer points or solver \"descent\"")
        }
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
            if rho <= tolerance {
                return p.path(z, solver: name, converged: true, iterations: iterations)
            }
            if iterations >= maxIterations { break }

            let du = try controlUpdate(state.blocks, steps: state.steps, segments: segments)
            // dx_i = sum_{t < i} du_t for the interior points i = 1 ... n (row i - 1).
            var dx = Matrix(rows: n, cols: d)
            var acc = [Double](repeating: 0, count: d)
            for i in 0..<n {
                for k in 0..<d { acc[k] += du[i * d + k]; dx.scalars[i * d + k] = acc[k] }
            }
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
        return p.path(z, solver: name, converged: false, iterations: iterations)
    }

    /// What one batched JVP tells about a path.
    struct State {
        var blocks: JacobianBlocks
        var steps: Matrix
        var energy: Double
        var gradient: Matrix
        var finite: Bool
    }

    /// The closed-form control update du_t, t = 0 ..< T, flattened [T * d] (see the type's
    /// documentation, step 2). Block t of `blocks` is J(x_{t+1})^T.
    static func controlUpdate(_ blocks: JacobianBlocks, steps: Matrix, segments: Int) throws -> [Double] {
        let d = blocks.d, dd = blocks.dataDim
        // r_t = J(x_{t+1})^T Delta_t, t = 0 ..< T; nu_t = 2 (r_t - J(x_t)^T Delta_t), t = 1 ..< T.
        var r = [[Double]](), s = [[Double]](repeating: [Double](repeating: 0, count: d), count: segments)
        r.reserveCapacity(segments)
        for t in 0..<segments { r.append(blocks.apply(t, steps.scalars, offset: t * dd)) }
        // s_t = sum_{j = t+1}^{T-1} nu_j, accumulated backwards (s_{T-1} = 0).
        if segments >= 2 {
            for t in stride(from: segments - 1, through: 1, by: -1) {
                let q = blocks.apply(t - 1, steps.scalars, offset: t * dd)
                for k in 0..<d { s[t - 1][k] = s[t][k] + 2 * (r[t][k] - q[k]) }
            }
        }
        // H_t with its ridge.
        var grams = (0..<segments).map { blocks.gram($0) }
        let traces = grams.map { h in (0..<d).reduce(0.0) { $0 + h[$1 * d + $1] } }
        let meanTrace = traces.reduce(0, +) / Double(max(1, segments))
        guard meanTrace > 0, meanTrace.isFinite else {
            throw GeoError.numerical("the generator's Jacobian vanishes along the path: the metric is degenerate")
        }
        // Solve H_t [H_t^{-1} | w_t] = [I | r_t + s_t / 2] for every t.
        var inverses = [[Double]](), w = [[Double]]()
        inverses.reserveCapacity(segments); w.reserveCapacity(segments)
        for t in 0..<segments {
            let lambda = ridge * (traces[t] > 0 ? traces[t] : meanTrace) / Double(d)
            for k in 0..<d { grams[t][k * d + k] += lambda }
            var rhs = [Double](repeating: 0, count: d * (d + 1))
            for k in 0..<d {
                rhs[k * (d + 1) + k] = 1
                rhs[k * (d + 1) + d] = r[t][k] + s[t][k] / 2
            }
            guard choleskySolve(&grams[t], d, &rhs, d + 1) else {
                throw GeoError.numerical("the metric at path point \(t + 2) is not positive definite (Cholesky failed)")
            }
            var inv = [Double](repeating: 0, count: d * d), wt = [Double](repeating: 0, count: d)
            for k in 0..<d {
                for l in 0..<d { inv[k * d + l] = rhs[k * (d + 1) + l] }
                wt[k] = rhs[k * (d + 1) + d]
            }
            inverses.append(inv); w.append(wt)
        }
        // (sum_t H_t^{-1}) m2 = sum_t w_t.
        var sumInv = [Double](repeating: 0, count: d * d), m2 = [Double](repeating: 0, count: d)
        for t in 0..<segments {
            for k in 0..<(d * d) { sumInv[k] += inverses[t][k] }
            for k in 0..<d { m2[k] += w[t][k] }
        }
        guard choleskySolve(&sumInv, d, &m2, 1) else {
            throw GeoError.numerical("the sum of inverse metrics is not positive definite (Cholesky failed)")
        }
        // du_t = H_t^{-1} m2 - w_t.
        var du = [Double](repeating: 0, count: segments * d)
        for t in 0..<segments {
            for k in 0..<d {
                var v = -w[t][k]
                for l in 0..<d { v += inverses[t][k * d + l] * m2[l] }
                du[t * d + k] = v
            }
        }
        return du
    }

    /// Solves A X = B in place for a symmetric positive definite n x n matrix A (row-major,
    /// overwritten by its Cholesky factor) and n x nrhs right-hand sides B (row-major,
    /// overwritten by X), with LAPACK dpotrf/dpotrs. Returns false when A is not positive
    /// definite or has non-finite entries.
    static func choleskySolve(_ a: inout [Double], _ n: Int, _ b: inout [Double], _ nrhs: Int) -> Bool {
        guard n > 0 else { return true }
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
    func gram(_ p: Int) -> [Double] {
        var out = [Double](repeating: 0, count: d * d)
        guard d > 0, dataDim > 0 else { return out }
        scalars.withUnsafeBufferPointer { ps in
            out.withUnsafeMutableBufferPointer { po in
                let block = ps.baseAddress! + p * d * dataDim
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(d), Int32(d), Int32(dataDim),
                            1, block, Int32(dataDim), block, Int32(dataDim), 0, po.baseAddress, Int32(d))
            }
        }
        return out
    }
}
