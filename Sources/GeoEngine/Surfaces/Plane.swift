/// The flat plane R^dim embedded isometrically in R^(dim+1) as the hyperplane x_(dim+1) = 0:
///
///     g(z_1, ..., z_dim) = (z_1, ..., z_dim, 0)
///
/// J = [I; 0], so the pull-back metric is the identity, geodesics are straight lines, parallel
/// transport is the identity and every sectional curvature is 0. The second derivative is 0.
/// The batched API copies columns (no per-point loops, no products).
public final class Plane: Generator, CustomStringConvertible {
    /// The largest accepted `dim`. The Jacobian is (dim+1) x dim; 4096 is beyond any latent
    /// space georepl meets and keeps every derived matrix small enough to allocate.
    public static let maxDim = 4096
    /// Short name, "plane".
    public let name = "plane"
    /// The latent dimension, dim (default 2).
    public let latentDim: Int
    /// [dim + 1].
    public var dataShape: [Int] { [latentDim + 1] }

    /// The plane R^dim in R^(dim+1), dim = 2 by default. Throws `GeoError.invalidArgument`
    /// unless 1 <= dim <= `Plane.maxDim`.
    public init(dim: Int = 2) throws {
        try Setting.integer("dim", dim, in: 1...Plane.maxDim)
        latentDim = dim
    }

    /// "plane R^2 in R^3 (K = 0)".
    public var description: String { "plane R^\(latentDim) in R^\(latentDim + 1) (K = 0)" }

    /// The exact Gauss (sectional) curvature, 0.
    public func gaussCurvature(at z: Vector) throws -> Double {
        try checkPoint(z, "point")
        return 0
    }

    /// (z, 0) for each row: a zero column appended.
    private func embed(_ m: Matrix) -> Matrix {
        let d = latentDim
        var out = Matrix(rows: m.rows, cols: d + 1)
        for i in 0..<m.rows {
            for a in 0..<d { out.scalars[i * (d + 1) + a] = m.scalars[i * d + a] }
        }
        return out
    }

    /// Checks a batch of latent points (shape, finiteness) and embeds it.
    private func embedPoints(_ z: Matrix) throws -> Matrix {
        guard z.isFinite else { throw GeoError.invalidArgument("a latent point has a NaN or infinite entry") }
        return embed(z)
    }

    public func forward(_ z: Matrix) throws -> Matrix {
        _ = try checkBatch(z)
        return try embedPoints(z)
    }

    public func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        _ = try checkBatch(z, tangents: tangents)
        return (try embedPoints(z), embed(tangents))
    }

    /// J^T c drops the last entry of each cotangent row.
    public func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        let d = latentDim
        _ = try checkBatch(z, tangents: cotangents, tangentCols: d + 1)
        var out = Matrix(rows: cotangents.rows, cols: d)
        for i in 0..<cotangents.rows {
            for a in 0..<d { out.scalars[i * d + a] = cotangents.scalars[i * (d + 1) + a] }
        }
        return (try embedPoints(z), out)
    }

    public func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        _ = try checkBatch(z, tangents: u)
        guard v.rows == u.rows, v.cols == u.cols else {
            throw GeoError.dimensionMismatch("u is \(u.rows)x\(u.cols) but v is \(v.rows)x\(v.cols)")
        }
        return SecondOrderResult(value: try embedPoints(z), ju: embed(u), jv: embed(v),
                                 d2: Matrix(rows: u.rows, cols: latentDim + 1))
    }
}
