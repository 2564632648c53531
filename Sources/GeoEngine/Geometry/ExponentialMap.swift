/// The Riemannian exponential map exp_z(v) of the pull-back metric M = J^T J: the point reached
/// at time 1 by the geodesic that starts at z with initial velocity v (geodesic shooting).
///
/// Methods:
///
/// `.rk4` (default): the geodesic equation of the pull-back metric,
///
///     z'' = -(J^T J)^-1 J^T D2g(z)[z', z'] = -J(z)^+ D2g(z)[z', z'],
///
/// ((J^T J)^-1 J^T = J^+ for full-rank J: the acceleration is minus the latent pre-image of
/// the tangential part of the data-space acceleration D2g[z', z']), integrated from t = 0 to 1 by the classical fourth-order
/// Runge–Kutta method on the state (z, w = z') with N equal steps h = 1/N. Each acceleration is
/// ONE `secondOrder` call (k = d + 1 tangent rows: w for D2g[w, w], the unit vectors e_a for the
/// Jacobian columns J e_a) and one least-squares solve with the thin SVD of J (`TangentSpace`,
/// which never forms the squared-condition metric). Four accelerations per step. Global error
/// O(h^4); along a geodesic the speed |z'|_M is conserved up to the same error.
///
/// `.projection`: the step-and-project shooting of Shao, Kumar & Fletcher (2018). With
/// u_0 = J(z_0) v and v_0 = v, for i = 0 ..< N:
///
///     z_{i+1} = z_i + h v_i                 (the data-space step g(z_i) + h u_i, pulled back
///                                            to first order: J(z_i) v_i = u_i)
///     u_{i+1} = (|u_i| / |P u_i|) P u_i,    P = J(z_{i+1}) J(z_{i+1})^+
///     v_{i+1} = J(z_{i+1})^+ u_{i+1}
///
/// i.e. the velocity is parallel-transported (`ParallelTransport`) to each new point, keeping
/// its data-space length. One Jacobian (a JVP with d tangents) per step; first-order accurate,
/// error O(h).
///
/// Defaults: N = 100 steps (`defaultSteps`), method `.rk4`. The result holds the end point,
/// the end velocity and the `Path` of all N + 1 points (solver "exp-rk4" or "exp-projection").
/// v = 0 gives the constant path at z.
///
/// Errors: wrong dimension or NaN in z or v, steps < 1 (`GeoError.dimensionMismatch`,
/// `.invalidArgument`); a singular metric along the way, or a blow-up to non-finite values
/// (`GeoError.numerical`, naming the step); `GeoError.interrupted` when `Cancellation` is
/// requested (checked before every step). `progress` receives about 100 reports.
public enum ExponentialMap {
    /// The accepted numbers of integration steps.
    public static let stepRange = 1...10_000_000

    /// The integration scheme.
    public enum Method: String, CaseIterable {
        /// Classical Runge–Kutta on the geodesic equation (fourth order; default).
        case rk4
        /// The paper's step-and-project shooting (first order).
        case projection
    }

    /// The default number of steps, 100.
    public static let defaultSteps = 100

    /// The outcome of geodesic shooting.
    public struct Result {
        /// exp_z(v), the point at t = 1.
        public var point: Vector
        /// The latent velocity at t = 1 (the geodesic's tangent there).
        public var velocity: Vector
        /// The points at t = i/N, i = 0 ... N.
        public var path: Path
    }

    /// exp_z(v) by geodesic shooting (see the type's documentation).
    public static func shoot(from z: Vector, velocity v: Vector, on g: Generator,
                             steps: Int = ExponentialMap.defaultSteps, method: Method = .rk4,
                             progress: ProgressHandler? = nil) throws -> Result {
        try g.checkPoint(z, "point")
        try g.checkPoint(v, "velocity")
        try Setting.integer("steps", steps, in: ExponentialMap.stepRange)
        switch method {
        case .rk4: return try rk4(z, v, g, steps, progress)
        case .projection: return try projection(z, v, g, steps, progress)
        }
    }

    /// The geodesic acceleration a(z, w) = -J(z)^+ D2g(z)[w, w], together with the tangent
    /// space at z: J from one first-order `jvp` call (d unit tangents), and second order only
    /// for the one pair (w, w) (d + 3 derivative rows, against 3(d + 1) if J rode in second order).
    static func acceleration(_ z: Vector, _ w: Vector, _ g: Generator, _ context: @autoclosure () -> String) throws
        -> (acceleration: Vector, space: TangentSpace) {
        let dd = g.dataDim
        let at = Matrix(row: z)
        let j = try PathJacobians.jacobians(g, at)[0]
        let r = try g.secondOrder(at, u: Matrix(row: w), v: Matrix(row: w))
        guard r.d2.rows == 1, r.d2.cols == dd else {
            throw GeoError.dimensionMismatch("the generator's secondOrder returned \(r.d2.rows)x\(r.d2.cols), expected 1x\(dd)")
        }
        let space = try PathJacobians.tangentSpace(j, context())
        let acc = -(try space.pseudoInverse(r.d2.row(0)))
        return (acc, space)
    }

    private static func checkFinite(_ z: Vector, _ w: Vector, _ step: Int, _ steps: Int) throws {
        guard z.isFinite, w.isFinite else {
            throw GeoError.numerical("the geodesic blew up to non-finite values at step \(step) of \(steps)")
        }
    }

    private static func rk4(_ z0: Vector, _ v0: Vector, _ g: Generator, _ steps: Int,
                            _ progress: ProgressHandler?) throws -> Result {
        let h = 1 / Double(steps)
        var z = z0, w = v0
        var points = [z0]
        points.reserveCapacity(min(steps + 1, 1 << 16))
        for i in 0..<steps {
            try Cancellation.check()
            let at = "at step \(i + 1) of \(steps) of the exponential map"
            let k1w = try acceleration(z, w, g, at).acceleration
            let k1z = w
            let k2z = try w.adding(k1w, scaledBy: h / 2)
            let k2w = try acceleration(z.adding(k1z, scaledBy: h / 2), k2z, g, at).acceleration
            let k3z = try w.adding(k2w, scaledBy: h / 2)
            let k3w = try acceleration(z.adding(k2z, scaledBy: h / 2), k3z, g, at).acceleration
            let k4z = try w.adding(k3w, scaledBy: h)
            let k4w = try acceleration(z.adding(k3z, scaledBy: h), k4z, g, at).acceleration
            z = try z.adding(k1z + 2 * k2z + 2 * k3z + k4z, scaledBy: h / 6)
            w = try w.adding(k1w + 2 * k2w + 2 * k3w + k4w, scaledBy: h / 6)
            try checkFinite(z, w, i + 1, steps)
            points.append(z)
            PathJacobians.report(progress, i + 1, steps, "exp (rk4)")
        }
        return Result(point: z, velocity: w,
                      path: Path(points: points, solver: "exp-rk4", iterations: steps,
                                 evaluations: 4 * steps))
    }

    private static func projection(_ z0: Vector, _ v0: Vector, _ g: Generator, _ steps: Int,
                                   _ progress: ProgressHandler?) throws -> Result {
        let h = 1 / Double(steps)
        var z = z0, v = v0
        var space = try PathJacobians.tangentSpace(try g.jacobian(z0), "at the start of the exponential map")
        var u = try space.jacobian.apply(v0)
        let length = u.norm
        var points = [z0]
        points.reserveCapacity(min(steps + 1, 1 << 16))
        for i in 0..<steps {
            try Cancellation.check()
            z = try z.adding(v, scaledBy: h)
            guard z.isFinite else { throw GeoError.numerical("the geodesic blew up to non-finite values at step \(i + 1) of \(steps)") }
            space = try PathJacobians.tangentSpace(try g.jacobian(z), "at step \(i + 1) of \(steps) of the exponential map")
            if length > 0 {
                let p = try space.project(u)
                let norm = p.norm
                guard norm > 1e-8 * length, norm.isFinite else {
                    throw GeoError.numerical("the velocity became normal to the tangent space at step \(i + 1) of \(steps) of the exponential map (use more steps)")
                }
                u = p * (length / norm)
            }
            v = try space.pseudoInverse(u)
            try checkFinite(z, v, i + 1, steps)
            points.append(z)
            PathJacobians.report(progress, i + 1, steps, "exp (projection)")
        }
        return Result(point: z, velocity: v,
                      path: Path(points: points, solver: "exp-projection", iterations: steps,
                                 evaluations: steps + 1))
    }
}
