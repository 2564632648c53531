import Foundation

/// The Swiss roll: a flat strip rolled along an Archimedean spiral, parametrised by ARC LENGTH
/// so that the map is an isometry from the plane (its latent space) onto the roll.
///
/// The spiral is c(theta) = a (theta cos theta, theta sin theta), theta in all of R (radius
/// a |theta|, successive windings 2 pi a apart; for theta < 0 it continues smoothly through the
/// origin as the mirror image). Its speed is |c'(theta)| = a sqrt(1 + theta^2) > 0, so its arc
/// length from the origin,
///
///     S(theta) = (a/2) (theta sqrt(1 + theta^2) + asinh theta),
///
/// is a smooth, odd, strictly increasing bijection R -> R with a smooth inverse. The latent point
/// z = (s, h) maps to
///
///     g(s, h) = (a theta cos theta, h, a theta sin theta),   theta = theta(s) = S^-1(s + S(theta0)),
///
/// so latent s = 0 sits at spiral angle theta0 and s measures signed arc length from there; h
/// is the height along the roll's axis (the second data coordinate). Derivatives are exact:
///
///     theta'(s)  = 1 / (a sqrt(1 + theta^2))
///     theta''(s) = -theta / (a^2 (1 + theta^2)^2)
///     dg/ds      = c'(theta) theta'            (a unit vector)
///     d2g/ds2    = c''(theta) theta'^2 + c'(theta) theta''
///
/// with c' = a (cos - theta sin, sin + theta cos), c'' = a (-2 sin - theta cos, 2 cos - theta sin).
/// Hence the pull-back metric is exactly the identity, the latent coordinates ARE the unrolled
/// plane's coordinates (geodesics are straight latent lines, distances are Euclidean latent
/// distances, analogies are latent parallelograms) and the Gauss curvature is 0, while the
/// roll itself is curved in R^3 (the curvature of the spiral at theta is
/// (2 + theta^2) / (a (1 + theta^2)^(3/2)), about 0.16 at the default theta0 = 2 pi, a = 1).
/// theta(s) is computed by safeguarded Newton iteration (see `angle(atArcLength:)`).
public final class SwissRoll: AnalyticImmersion, CustomStringConvertible {
    /// a, the spiral's scale (default 1): radius a theta, windings 2 pi a apart (data units).
    public let a: Double
    /// theta0, the spiral angle in radians of the latent line s = 0 (default 2 pi: one full
    /// turn out from the centre, radius 2 pi a).
    public let theta0: Double
    /// S(theta0), the arc length from the centre to the latent line s = 0.
    public let arcLengthOffset: Double
    /// Short name, "swissroll".
    public let name = "swissroll"
    public let latentDim = 2
    public let dataShape = [3]

    /// A Swiss roll with spiral scale `a` (default 1) whose latent origin lies at spiral angle
    /// `theta0` (default 2 pi). Throws `GeoError.invalidArgument` unless a is a finite positive
    /// number and theta0 is finite.
    public init(a: Double = 1, theta0: Double = 2 * Double.pi) throws {
        try Setting.positive("a", a)
        try Setting.finite("theta0", theta0)
        self.a = a; self.theta0 = theta0
        arcLengthOffset = a * SwissRoll.halfArcLength(theta0)
    }

    /// "Swiss roll a = 1, theta0 = 6.2831853071796 in R^3 (latent: arc length s, height h; isometric to the plane, K = 0)".
    public var description: String {
        "Swiss roll a = \(formatNumber(a)), theta0 = \(formatNumber(theta0)) in R^3 (latent: arc length s, height h; isometric to the plane, K = 0)"
    }

    /// The exact Gauss curvature, 0 (the roll is isometric to the plane).
    public func gaussCurvature(at z: Vector) throws -> Double {
        try checkPoint(z, "point")
        return 0
    }

    /// T(theta) = (theta sqrt(1 + theta^2) + asinh theta) / 2, the arc length of the spiral
    /// with a = 1 from the centre to angle theta. T' = sqrt(1 + theta^2).
    static func halfArcLength(_ theta: Double) -> Double {
        (theta * hypot(1, theta) + asinh(theta)) / 2
    }

    /// The signed arc length along the spiral from the latent line s = 0 (angle theta0) to
    /// angle theta: a T(theta) - S(theta0). The inverse of `angle(atArcLength:)`.
    public func arcLength(atAngle theta: Double) -> Double {
        a * SwissRoll.halfArcLength(theta) - arcLengthOffset
    }

    /// theta(s): the spiral angle at latent arc length s, the solution of
    /// a T(theta) = s + S(theta0). Non-finite s gives a non-finite result.
    public func angle(atArcLength s: Double) -> Double {
        SwissRoll.inverseHalfArcLength((s + arcLengthOffset) / a)
    }

    /// Solves T(theta) = x by Newton's method safeguarded by bisection. T is odd, so x < 0 is
    /// solved as -T^-1(-x). For x > 0 the root lies in the bracket
    ///     sqrt(1 + 2x) - 1 <= theta <= min(x, sqrt(2x)),
    /// because theta <= T(theta), theta^2/2 <= T(theta) <= (theta^2 + 2 theta)/2 for theta >= 0.
    /// T is convex there, so Newton from the upper end decreases monotonically to the root
    /// (quadratic convergence, a handful of steps); an iterate outside the bracket is replaced
    /// by the bisection point. Stops when the Newton step is below 4 ulp of theta, or after 100
    /// iterations.
    static func inverseHalfArcLength(_ x: Double) -> Double {
        guard x.isFinite else { return x }
        if x < 0 { return -inverseHalfArcLength(-x) }
        if x == 0 { return 0 }
        let root2x = 2.squareRoot() * x.squareRoot()
        // sqrt(1 + 2x) - 1 without cancellation for small x (and without overflow of 2x).
        var lo = 2 * x <= Double.greatestFiniteMagnitude / 2 ? 2 * x / ((1 + 2 * x).squareRoot() + 1) : root2x - 1
        var hi = min(x, root2x)
        var theta = hi
        for _ in 0..<100 {
            let f = halfArcLength(theta) - x
            if f == 0 || !f.isFinite { return theta }
            if f > 0 { hi = min(hi, theta) } else { lo = max(lo, theta) }
            let step = f / hypot(1, theta)
            if abs(step) <= 4 * theta.ulp { return theta - step }
            var next = theta - step
            if !(next > lo && next < hi) { next = lo + (hi - lo) / 2 }
            if next == theta { return theta }
            theta = next
        }
        return theta
    }

    public func jet(at z: [Double], secondOrder: Bool) -> ImmersionJet {
        let theta = angle(atArcLength: z[0]), h = z[1]
        let st = sin(theta), ct = cos(theta)
        let q2 = 1 + theta * theta, q = q2.squareRoot()
        let value = [a * theta * ct, h, a * theta * st]
        // dg/ds = c'(theta) theta'(s) = (cos - theta sin, sin + theta cos) / q, a unit vector.
        let tx = (ct - theta * st) / q, ty = (st + theta * ct) / q
        // Rows: x, h, y; columns: s, h.
        let jacobian = [tx, 0,
                        0,  1,
                        ty, 0]
        guard secondOrder else { return ImmersionJet(value: value, jacobian: jacobian) }
        // d2g/ds2 = c'' theta'^2 + c' theta''
        //         = (-2 sin - theta cos, 2 cos - theta sin) / (a q^2) - theta (cos - theta sin, sin + theta cos) / (a q^4)
        let k1 = 1 / (a * q2), k2 = theta / (a * q2 * q2)
        let nx = (-2 * st - theta * ct) * k1 - (ct - theta * st) * k2
        let ny = (2 * ct - theta * st) * k1 - (st + theta * ct) * k2
        let hessian = [nx, 0, 0, 0,
                       0,  0, 0, 0,
                       ny, 0, 0, 0]
        return ImmersionJet(value: value, jacobian: jacobian, hessian: hessian)
    }
}
