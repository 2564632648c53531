/// Gradient descent on the discrete energy, the method of Shao, Kumar & Fletcher (2018):
///
///     E(z) = 1/(2 dt) sum_t |g(z_{t+1}) - g(z_t)|^2,    dt = 1/T,
///     dE/dz_i = -(1/dt) J(z_i)^T [g(z_{i+1}) - 2 g(z_i) + g(z_{i-1})],   i = 1 ... T-1,
///     z_i <- z_i - alpha dE/dz_i                          (all interior points at once).
///
/// Each iteration computes the whole gradient with ONE batched VJP over the n = T - 1 interior
/// points (the cotangents c_i = dE/dg(z_i) come from the decoded points of the previous line
/// search), so it costs n evaluations for the gradient plus n per trial step.
///
/// Step size (no hand tuning): backtracking Armijo on E. A trial step alpha is accepted when
///     E(z - alpha grad) <= E(z) - c1 alpha |grad|^2,   c1 = 1e-4,
/// or, when the energy change is within rounding error, when the slope at the trial passes the
/// approximate Wolfe test of `GeodesicProblem.accepts` (one more VJP, reused as the next
/// gradient); otherwise alpha is halved (at most 60 times). After a step accepted at its first
/// trial the next iteration starts from 2 alpha (step growth), after a backtracked one from the
/// accepted alpha. The very first trial moves the interior point with the largest gradient by a
/// quarter of the mean latent segment length l / T. There is no preconditioning: this is plain
/// gradient descent in the Euclidean latent metric, as in the paper, and its iteration count
/// grows like T^2 (the energy's Hessian has the condition number of a discrete Laplacian, about
/// 4 T^2 / pi^2).
///
/// Stopping: the residual of `Geodesic` (rho = l * sum_i |dE/dz_i| / (2E) <= tolerance) is
/// tested before every step, so the returned path meets it when `converged` is true. Also stops
/// (converged = false) after `maxIterations` steps (stop `.maxIterations`) or when 60 halvings
/// find no decrease (`.lineSearch`). There is no stall test: descent's steady but slow
/// progress would look like a stall to any short window.
enum GradientDescent {
    /// The default iteration limit, 50 000 (5 000 to 30 000 steps reach rho = 1e-6 with 64 points
    /// on the analytic test surfaces).
    static let defaultMaxIterations = 50_000
    /// The Armijo sufficient-decrease constant.
    static let armijo = 1e-4
    /// The most halvings of one line search.
    static let maxHalvings = 60

    static func run(_ p: GeodesicProblem, start: Matrix, tolerance: Double, maxIterations: Int,
                    progress: ProgressHandler?) throws -> Path {
        let name = GeodesicSolver.descent.rawValue
        var z = start
        var x = try p.forward(z)
        var e = p.energy(x)
        guard e.isFinite else {
            throw GeoError.numerical("the generator returned NaN or infinity on the starting path")
        }
        var alpha = 0.0          // set from the first gradient
        var iterations = 0
        var cached: Matrix?      // the gradient at z when the line search already computed it
        while true {
            try Cancellation.check()
            let gradient = try cached ?? p.vjp(z, cotangents: p.energyCotangents(x)).cotangents
            cached = nil
            guard gradient.isFinite else {
                throw GeoError.numerical("the energy gradient is NaN or infinite at iteration \(iterations)")
            }
            let rho = p.residual(gradient: gradient, interior: z, energy: e)
            p.record(progress, iterations, maxIterations, energy: e, residual: rho)
            if rho <= tolerance {
                return p.path(z, solver: name, stop: .converged, iterations: iterations)
            }
            if iterations >= maxIterations { return p.path(z, solver: name, stop: .maxIterations, iterations: iterations) }

            let g2 = p.inner(gradient, gradient)
            if alpha == 0 {
                var largest = 0.0
                for i in 0..<gradient.rows { largest = max(largest, gradient.row(i).norm) }
                alpha = 0.25 * p.latentLength(z) / Double(p.segments) / largest
            }
            var accepted = false
            for halving in 0...maxHalvings {
                let trial = try z - alpha * gradient
                if trial == z { break }     // the step no longer changes any coordinate
                let xt = try p.forward(trial)
                var trialGradient: Matrix?
                let ok = try GeodesicProblem.accepts(e0: e, slope: -g2, alpha: alpha, trialEnergy: p.energy(xt),
                                                     c1: armijo) {
                    let gt = try p.vjp(trial, cotangents: p.energyCotangents(xt)).cotangents
                    trialGradient = gt
                    return -p.inner(gt, gradient)
                }
                if ok {
                    z = trial; x = xt; e = p.energy(xt)
                    cached = trialGradient
                    accepted = true
                    if halving == 0 { alpha *= 2 }
                    break
                }
                alpha *= 0.5
            }
            if !accepted { break }
            iterations += 1
        }
        return p.path(z, solver: name, stop: .lineSearch, iterations: iterations)
    }
}
