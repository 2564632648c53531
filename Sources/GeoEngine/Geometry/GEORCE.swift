import Foundation

/// The "georce" solver: GEORCE as published, Rygaard & Hauberg 2025, "GEORCE: A Fast New Control
/// Algorithm for Computing Geodesics" (arXiv 2505.05961), as implemented in the authors' code
/// (FrederikMR/georce, georce/georce_riemannian.py `GEORCE_R` and georce/backtracking.py). The
/// equation tags (G1)-(G9) are those of docs/georce.md, which derives each from the code (the
/// paper's own numbering could not be read here).
///
/// (G1) The discrete problem: T segments, controls u_t = z_{t+1} - z_t, metric G = J^T J,
///
///     minimise  E_G = sum_{t=0}^{T-1} u_t^T G(z_t) u_t = sum_t |J(z_t) u_t|^2
///     subject to z_0 = a, z_{t+1} = z_t + u_t, z_T = b,
///
/// the left-point linearisation of georepl's energy (T/2) sum |g(z_{t+1}) - g(z_t)|^2, so the
/// path it finds differs from Newton's by O(1/T^2) (on the unit sphere its length is short of
/// the great circle by ~1e-4 relative at T = 31).
///
/// Each iteration freezes G_t = G(z_t) and nu_t = grad_z [u_t^T G(z) u_t] at z_t and solves the
/// first-order conditions of the Lagrangian exactly:
///     (G3)  u_t = -1/2 G_t^{-1} mu_t
///     (G4)  nu_t = 2 (d/dz [J(z) u_t])^T J(z_t) u_t = 2 Hess<J(z_t) u_t, g>(z_t) u_t   (one
///           Hessian-vector product per point, georepl's forward over reverse)
///     (G5)  mu_t = mu_{T-1} + sum_{s=t+1}^{T-1} nu_s
///     (G6)  (sum_t G_t^{-1}) mu_{T-1} = -[sum_{t=0}^{T-2} G_t^{-1} sum_{s>t} nu_s + 2 (b - a)]
/// giving the new controls u-hat, which sum to b - a.
/// (G7)  u <- tau u-hat + (1 - tau) u,  z_t = a + sum_{s<t} u_s.
/// (G8)  tau by backtracking from 1, halving (rho = 0.5, the authors' runs) until the surrogate
///       Armijo test E_G(z(tau)) <= E_G(z) - c1 tau |grad E_G(z)|^2 (c1 = 0.9) holds, at most 100
///       times; the gradient is (G9') grad_{z_t} E_G = nu_t + 2 G_{t-1} u_{t-1} - 2 G_t u_t.
///       That test is not scale-free: a step z(u-hat) - z whose true slope <grad E_G, step> is
///       shallower than -c1 |grad E_G|^2 (a metric of norm above ~1/8, where the Hessian of
///       E_G exceeds 1) fails it for every tau, and the authors' loop then goes on with
///       tau = 2^-100, which changes nothing: on a torus with R = 2, r = 1 it never moves.
///       georepl's one deviation: when no trial passes, Armijo's test on the true slope,
///       E_G(z(tau)) <= E_G(z) + 1e-4 tau <grad E_G, z(u-hat) - z>, decides (the test a global
///       convergence argument needs); when that fails too, the solver stops with
///       `Path.Stop.lineSearch`.
/// (G9)  Stopping: the authors stop when |grad E_G| <= tol, an absolute test that depends on
///       the scale of the model. georepl applies its own dimensionless residual (`Geodesic`)
///       to GEORCE's objective: rho_G = l sum_t |grad_{z_t} E_G| / (2 E_G) <= tol (l the latent
///       length; the factor T/2 cancels). rho_G is exactly 0 at GEORCE's solution; georepl's
///       rho on the data-space energy is not, so GEORCE is judged by its own objective.
/// Initialisation: the straight line, u_t = (b - a) / T (or the controls of a given initial
/// path). Default limit 1000 iterations (the authors'). G(a)^{-1} is computed once.
///
/// Cost per iteration: a JVP with the d unit tangents at the interior points (the G_t), one
/// Hessian-vector product per point (the nu_t), and per line-search trial a JVP with one tangent
/// per point. The metric must be invertible along the path (`GeoError.numerical` otherwise; a
/// decoder that ignores latent directions needs `geo.regularized`).
enum GEORCE {
    /// What the update needs at controls u: G_t and G_t^{-1} (t = 0 ..< T), nu_t and the
    /// gradient of E_G at the interior points (row-major [n, d]), and E_G.
    struct State { var g: [[Double]]; var ginv: [[Double]]; var nu: [Double]; var gradient: [Double]; var energy: Double }

    /// The default iteration limit, 1000 (the authors').
    static let defaultMaxIterations = 1000
    /// The line search's sufficient-decrease constant c1 = 0.9, factor rho = 0.5 and trial limit
    /// (the authors'), and the constant of the fallback Armijo test on the true slope.
    static let c1 = 0.9, shrink = 0.5, maxTrials = 100, fallbackC1 = 1e-4

    static func run(_ p: GeodesicProblem, start: Matrix, tolerance: Double, maxIterations: Int,
                    progress: ProgressHandler?) throws -> Path {
        let name = GeodesicSolver.georce.rawValue
        let n = p.interiorCount, tSeg = p.segments, d = p.d, dd = p.dataDim
        try MemoryBudget.doubles(2, n + 1, d, dd,
                                 for: "the \(n + 1) Jacobians (\(dd)x\(d)) of a \(n + 2)-point geodesic (solver \"descent\" needs less)")
        let a = p.a.scalars, diff = try (p.b - p.a).scalars
        // G(a) and its inverse, once.
        let ja = try p.g.jvp(Matrix(row: p.a), tangents: Matrix.identity(d)).tangents
        p.count(d)
        let g0 = try JacobianBlocks(scalars: ja.scalars, d: d, dataDim: dd).gram(0)
        let g0inv = try inverse(g0, d, at: "the start point")
        var tiled = Matrix(rows: n * d, cols: d)
        for i in 0..<n { for k in 0..<d { tiled.scalars[(i * d + k) * d + k] = 1 } }

        /// z_t = a + sum_{s<t} u_s for t = 1 ... n, from controls u [T, d].
        func points(_ u: [Double]) -> Matrix {
            var z = Matrix(rows: n, cols: d)
            var acc = a
            for t in 0..<n {
                for k in 0..<d { acc[k] += u[t * d + k]; z.scalars[t * d + k] = acc[k] }
            }
            return z
        }
        /// E_G = sum_t |J(z_t) u_t|^2 at controls u (one JVP with one tangent per interior point).
        func objective(_ u: [Double]) throws -> Double {
            let z = points(u)
            var e = 0.0
            for i in 0..<d { for j in 0..<d { e += u[i] * g0[i * d + j] * u[j] } }
            let tang = Matrix(rows: n, cols: d, unchecked: Array(u[d..<(tSeg * d)]))
            let jt = try p.g.jvp(z, tangents: tang).tangents
            p.count(n)
            e += jt.scalars.reduce(0) { $0 + $1 * $1 }
            return e
        }

        func evaluate(_ u: [Double]) throws -> State {
            let z = points(u)
            let jt = try p.g.jvp(z, tangents: tiled).tangents
            p.count(n * d)
            guard jt.rows == n * d, jt.cols == dd, jt.isFinite else {
                throw GeoError.numerical("the generator returned NaN or infinity along the path")
            }
            let blocks = JacobianBlocks(scalars: jt.scalars, d: d, dataDim: dd)
            var gs = [g0], ginvs = [g0inv]
            for t in 0..<n {
                let g = try blocks.gram(t)
                gs.append(g)
                ginvs.append(try inverse(g, d, at: "path point \(t + 2)"))
            }
            // c_t = J(z_t) u_t, constant for the reverse pass; nu_t = 2 Hess<c_t, g>(z_t) u_t.
            var c = Matrix(rows: n, cols: dd)
            for t in 0..<n {
                for q in 0..<dd {
                    var s = 0.0
                    for k in 0..<d { s += jt.scalars[(t * d + k) * dd + q] * u[(t + 1) * d + k] }
                    c.scalars[t * dd + q] = s
                }
            }
            let r = try p.g.hessianVectorProducts(z, tangents: Matrix(rows: n, cols: d, unchecked: Array(u[d..<(tSeg * d)]))) { _, _ in c }
            p.count(3 * n)
            let nu = r.hvp.scalars.map { 2 * $0 }
            // (G9') grad_{z_t} E_G = nu_t + 2 G_{t-1} u_{t-1} - 2 G_t u_t, t = 1 ... n.
            var gradient = [Double](repeating: 0, count: n * d)
            var energy = 0.0
            // Control t joins z_t (row t - 1, t >= 1) to z_{t+1} (row t, t < n).
            for t in 0...n {
                let gu = matVec(gs[t], u, offset: t * d, d)
                energy += (0..<d).reduce(0.0) { $0 + u[t * d + $1] * gu[$1] }
                if t > 0 { for k in 0..<d { gradient[(t - 1) * d + k] += nu[(t - 1) * d + k] - 2 * gu[k] } }
                if t < n { for k in 0..<d { gradient[t * d + k] += 2 * gu[k] } }
            }
            return State(g: gs, ginv: ginvs, nu: nu, gradient: gradient, energy: energy)
        }

        // The controls of the starting path (the straight line unless an initial path is given:
        // the authors' u_t = (b - a) / T for the line).
        var u = [Double](repeating: 0, count: tSeg * d)
        for t in 0..<tSeg {
            for k in 0..<d {
                let from = t == 0 ? a[k] : start.scalars[(t - 1) * d + k]
                let to = t == n ? p.b.scalars[k] : start.scalars[t * d + k]
                u[t * d + k] = to - from
            }
        }
        var z = start
        var iterations = 0
        var state = try evaluate(u)
        while true {
            try Cancellation.check()
            guard state.energy.isFinite, state.gradient.allSatisfy({ $0.isFinite }) else {
                throw GeoError.numerical("GEORCE's energy or gradient became NaN or infinite at iteration \(iterations)")
            }
            let rho = residual(state, z: z, p)
            p.record(progress, iterations, maxIterations, energy: state.energy, residual: rho)
            if rho <= tolerance || state.energy == 0 { return p.path(z, solver: name, stop: .converged, iterations: iterations) }
            if iterations >= maxIterations { return p.path(z, solver: name, stop: .maxIterations, iterations: iterations) }

            let uHat = try update(state, diff: diff, n: n, d: d)
            // (G8) backtracking with the authors' surrogate Armijo test: the decrease must be
            // c1 tau |grad E_G|^2. When no trial passes it, Armijo's test on the true slope of
            // E_G along the step, <grad E_G, z(u-hat) - z>, decides (c1 = 1e-4): see the type's
            // documentation.
            let g2 = state.gradient.reduce(0) { $0 + $1 * $1 }
            let zHat = points(uHat)
            var slope = 0.0
            for k in 0..<(n * d) { slope += state.gradient[k] * (zHat.scalars[k] - z.scalars[k]) }
            var accepted = false
            for (coefficient, rate) in [(c1, g2), (fallbackC1, -slope)] where rate > 0 && !accepted {
                var tau = 1.0
                for _ in 0..<maxTrials {
                    let trial = zip(uHat, u).map { tau * $0 + (1 - tau) * $1 }
                    let e = try objective(trial)
                    if e.isFinite && e <= state.energy - coefficient * tau * rate {
                        u = trial
                        accepted = true
                        break
                    }
                    tau *= shrink
                }
            }
            if !accepted { return p.path(z, solver: name, stop: .lineSearch, iterations: iterations) }
            iterations += 1
            z = points(u)
            state = try evaluate(u)
        }
    }

    /// (G3)-(G6): the new controls u-hat from the frozen G_t^{-1} and nu_t, [T * d].
    static func update(_ s: State, diff: [Double], n: Int, d: Int) throws -> [Double] {
        let tSeg = n + 1
        // Tail sums S_t = sum_{s=t+1}^{T-1} nu_s for t = 0 ..< T (S_{T-1} = 0); nu_s is row s-1.
        var tail = [[Double]](repeating: [Double](repeating: 0, count: d), count: tSeg)
        for t in stride(from: tSeg - 2, through: 0, by: -1) {
            for k in 0..<d { tail[t][k] = tail[t + 1][k] + s.nu[t * d + k] }
        }
        // (G6): (sum_t G_t^{-1}) mu_{T-1} = -[sum_{t<T-1} G_t^{-1} S_t + 2 (b - a)].
        var sumInv = [Double](repeating: 0, count: d * d), rhs = diff.map { -2 * $0 }
        for t in 0..<tSeg {
            for k in 0..<(d * d) { sumInv[k] += s.ginv[t][k] }
            if t < tSeg - 1 {
                let v = matVec(s.ginv[t], tail[t], offset: 0, d)
                for k in 0..<d { rhs[k] -= v[k] }
            }
        }
        var muT = rhs
        guard try Cholesky.solve(&sumInv, d, &muT, 1) else {
            throw GeoError.numerical("GEORCE's multiplier system (the sum of the inverse metrics) is not positive definite")
        }
        // (G5) mu_t = mu_{T-1} + S_t; (G3) u_t = -1/2 G_t^{-1} mu_t.
        var u = [Double](repeating: 0, count: tSeg * d)
        for t in 0..<tSeg {
            let mu = (0..<d).map { muT[$0] + tail[t][$0] }
            let v = matVec(s.ginv[t], mu, offset: 0, d)
            for k in 0..<d { u[t * d + k] = -0.5 * v[k] }
        }
        return u
    }

    /// rho_G = l sum_t |grad_{z_t} E_G| / (2 E_G) (see the type's documentation (G9)).
    static func residual(_ s: State, z: Matrix, _ p: GeodesicProblem) -> Double {
        guard s.energy > 0 else { return 0 }
        let d = p.d
        var total = 0.0
        for t in 0..<p.interiorCount {
            var sq = 0.0
            for k in 0..<d { let x = s.gradient[t * d + k]; sq += x * x }
            total += sq.squareRoot()
        }
        return p.latentLength(z) * total / (2 * s.energy)
    }

    /// A d x d inverse of a symmetric positive definite metric, or an error naming the point.
    static func inverse(_ g: [Double], _ d: Int, at place: String) throws -> [Double] {
        var a = g, id = [Double](repeating: 0, count: d * d)
        for k in 0..<d { id[k * d + k] = 1 }
        guard try Cholesky.solve(&a, d, &id, d) else {
            throw GeoError.numerical("the metric is singular at \(place): GEORCE needs an invertible metric (use solver \"newton\", or geo.regularized)")
        }
        return id
    }

    /// M v for a d x d row-major M and the d entries of v from `offset`.
    static func matVec(_ m: [Double], _ v: [Double], offset: Int, _ d: Int) -> [Double] {
        (0..<d).map { i in (0..<d).reduce(0.0) { $0 + m[i * d + $1] * v[offset + $1] } }
    }
}
