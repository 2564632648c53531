import Foundation

/// The torus of revolution in R^3 with tube centre radius R and tube radius r (R > r > 0):
///
///     g(t, p) = ((R + r cos t) cos p, (R + r cos t) sin p, r sin t)
///
/// t is the angle around the tube (t = 0 on the outer equator), p the angle around the axis
/// (both radians). Pull-back metric M = diag(r^2, (R + r cos t)^2), never singular for R > r.
/// Gauss curvature K = cos t / (r (R + r cos t)): positive on the outside (|t| < pi/2), zero on
/// the top and bottom circles, negative on the inside. First and second derivatives are
/// closed-form.
public final class Torus: AnalyticImmersion, CustomStringConvertible {
    /// R, the distance from the axis to the centre of the tube (default 2).
    public let majorRadius: Double
    /// r, the radius of the tube (default 1).
    public let minorRadius: Double
    /// Short name, "torus".
    public let name = "torus"
    public let latentDim = 2
    public let dataShape = [3]

    /// A torus with R = 2, r = 1 by default. Throws `GeoError.invalidArgument` unless r and R
    /// are finite positive numbers with R > r (so that the surface is embedded and the metric
    /// is nowhere singular).
    public init(R: Double = 2, r: Double = 1) throws {
        try Setting.positive("R", R)
        try Setting.positive("r", r)
        try Setting.require("r", r < R, "smaller than R = \(formatNumber(R)) (the tube radius)", got: formatNumber(r))
        majorRadius = R; minorRadius = r
    }

    /// "torus with R = 2, r = 1 in R^3 (latent: tube angle t, axis angle p; K = cos t / (r (R + r cos t)))".
    public var description: String {
        "torus with R = \(formatNumber(majorRadius)), r = \(formatNumber(minorRadius)) in R^3 (latent: tube angle t, axis angle p; K = cos t / (r (R + r cos t)))"
    }

    /// The exact Gauss curvature at z = (t, p): cos t / (r (R + r cos t)).
    public func gaussCurvature(at z: Vector) throws -> Double {
        try checkPoint(z, "point")
        let ct = cos(z[0])
        return ct / (minorRadius * (majorRadius + minorRadius * ct))
    }

    public func jet(at z: [Double], secondOrder: Bool) -> ImmersionJet {
        let bigR = majorRadius, r = minorRadius
        let st = sin(z[0]), ct = cos(z[0]), sp = sin(z[1]), cp = cos(z[1])
        let w = bigR + r * ct   // distance from the axis
        let value = [w * cp, w * sp, r * st]
        // Rows c = x, y, z; columns a = t, p.
        let jacobian = [-r * st * cp, -w * sp,
                        -r * st * sp,  w * cp,
                         r * ct,       0]
        guard secondOrder else { return ImmersionJet(value: value, jacobian: jacobian) }
        // Per output c: [g_tt, g_tp, g_pt, g_pp].
        let hessian = [-r * ct * cp,  r * st * sp,  r * st * sp, -w * cp,
                       -r * ct * sp, -r * st * cp, -r * st * cp, -w * sp,
                       -r * st,       0,            0,            0]
        return ImmersionJet(value: value, jacobian: jacobian, hessian: hessian)
    }
}
