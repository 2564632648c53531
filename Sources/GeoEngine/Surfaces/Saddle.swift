/// The saddle (hyperbolic paraboloid) as a graph over the plane:
///
///     g(x, y) = (x, y, x^2 - y^2)
///
/// Pull-back metric M = [[1 + 4x^2, -4xy], [-4xy, 1 + 4y^2]], det M = 1 + 4x^2 + 4y^2, never
/// singular. Gauss curvature K = -4 / (1 + 4x^2 + 4y^2)^2: negative everywhere, -4 at the
/// origin, tending to 0 far out. First and second derivatives are closed-form (the second
/// derivative is constant: d2g_3 = diag(2, -2)).
public final class Saddle: AnalyticImmersion, CustomStringConvertible {
    /// Short name, "saddle".
    public let name = "saddle"
    public let latentDim = 2
    public let dataShape = [3]

    /// The saddle z = x^2 - y^2 (no parameters).
    public init() {}

    /// "saddle (x, y) -> (x, y, x^2 - y^2) in R^3 (K = -4 / (1 + 4x^2 + 4y^2)^2)".
    public var description: String {
        "saddle (x, y) -> (x, y, x^2 - y^2) in R^3 (K = -4 / (1 + 4x^2 + 4y^2)^2)"
    }

    /// The exact Gauss curvature at z = (x, y): -4 / (1 + 4x^2 + 4y^2)^2.
    public func gaussCurvature(at z: Vector) throws -> Double {
        try checkPoint(z, "point")
        let x = z[0], y = z[1]
        let w = 1 + 4 * x * x + 4 * y * y
        return -4 / (w * w)
    }

    public func jet(at z: [Double], secondOrder: Bool) -> ImmersionJet {
        let x = z[0], y = z[1]
        let value = [x, y, x * x - y * y]
        let jacobian = [1, 0,
                        0, 1,
                        2 * x, -2 * y]
        guard secondOrder else { return ImmersionJet(value: value, jacobian: jacobian) }
        let hessian: [Double] = [0, 0, 0, 0,
                                 0, 0, 0, 0,
                                 2, 0, 0, -2]
        return ImmersionJet(value: value, jacobian: jacobian, hessian: hessian)
    }
}
