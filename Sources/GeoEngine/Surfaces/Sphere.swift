import Foundation

/// The round sphere of radius r in R^3 in spherical coordinates:
///
///     g(t, p) = r (sin t cos p, sin t sin p, cos t)
///
/// t is the polar angle (colatitude, radians, t = 0 at the north pole), p the azimuth (radians).
/// Pull-back metric M = diag(r^2, r^2 sin^2 t): singular at the poles sin t = 0, where the
/// coordinates (not the sphere) degenerate. Gauss curvature K = 1/r^2 everywhere; geodesics are
/// great circles; parallel transport around the latitude circle at polar angle t rotates a
/// vector by the holonomy angle 2 pi (1 - cos t). First and second derivatives are closed-form.
public final class Sphere: AnalyticImmersion, CustomStringConvertible {
    /// The radius r (> 0, same units as the data space).
    public let radius: Double
    /// Short name, "sphere".
    public let name = "sphere"
    public let latentDim = 2
    public let dataShape = [3]

    /// A sphere of the given radius (default 1). Throws `GeoError.invalidArgument` unless the
    /// radius is a finite positive number.
    public init(radius: Double = 1) throws {
        try Setting.positive("radius", radius)
        self.radius = radius
    }

    /// "sphere of radius 1 in R^3 (latent: polar angle t, azimuth p; K = 1)".
    public var description: String {
        "sphere of radius \(formatNumber(radius)) in R^3 (latent: polar angle t, azimuth p; K = \(formatNumber(1 / (radius * radius))))"
    }

    /// The exact Gauss curvature, 1/r^2 (independent of the point; z must still be a finite
    /// latent point).
    public func gaussCurvature(at z: Vector) throws -> Double {
        try checkPoint(z, "point")
        return 1 / (radius * radius)
    }

    public func jet(at z: [Double], secondOrder: Bool) -> ImmersionJet {
        let r = radius
        let st = sin(z[0]), ct = cos(z[0]), sp = sin(z[1]), cp = cos(z[1])
        let value = [r * st * cp, r * st * sp, r * ct]
        // Rows c = x, y, z; columns a = t, p.
        let jacobian = [r * ct * cp, -r * st * sp,
                        r * ct * sp,  r * st * cp,
                        -r * st,      0]
        guard secondOrder else { return ImmersionJet(value: value, jacobian: jacobian) }
        // Per output c: [g_tt, g_tp, g_pt, g_pp].
        let hessian = [-r * st * cp, -r * ct * sp, -r * ct * sp, -r * st * cp,
                       -r * st * sp,  r * ct * cp,  r * ct * cp, -r * st * sp,
                       -r * ct,       0,            0,            0]
        return ImmersionJet(value: value, jacobian: jacobian, hessian: hessian)
    }
}
