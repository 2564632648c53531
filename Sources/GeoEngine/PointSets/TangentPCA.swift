import Foundation

/// Principal geodesic directions at a mean (tangent PCA; Fletcher, Lu, Pizer & Joshi 2004, the
/// linearised form): the tangent vectors v_i = log_mu(z_i) and the metric G = M(mu) give the
/// covariance C = (1/N) sum_i v_i v_i^T, and the directions u maximising u^T G C G u with
/// u^T G u = 1:
///
///     G^(1/2) C G^(1/2) w_k = lambda_k w_k,   u_k = G^(-1/2) w_k,
///
/// so that the u_k are metric-orthonormal, lambda_k (descending) is the variance along u_k (in
/// squared metric length), and point i's coordinates are c_ik = u_k^T G v_i.
public struct TangentPCA {
    /// u_k, metric-orthonormal, in order of decreasing variance.
    public let directions: [Vector]
    /// lambda_k, descending.
    public let variances: [Double]
    /// c_ik, one row per point.
    public let coordinates: [Vector]

    public init(metric g: Matrix, logs: [Vector]) throws {
        let d = g.rows
        guard g.cols == d, d > 0 else { throw GeoError.invalidArgument("the metric must be a square matrix") }
        guard !logs.isEmpty else { throw GeoError.invalidArgument("tangent PCA of no points") }
        for v in logs { guard v.count == d else { throw GeoError.dimensionMismatch("a tangent vector has \(v.count) entries, the metric is \(d)x\(d)") } }
        let eg = try SymmetricMatrix(g, symmetryTolerance: 1e-8).eigenDecomposition()
        guard let smallest = eg.values.scalars.first, smallest > 0 else {
            throw GeoError.numerical("the metric at the mean is singular: no metric-orthonormal directions")
        }
        func power(_ p: Double) -> Matrix {
            var m = Matrix(rows: d, cols: d)
            for i in 0..<d { for j in 0..<d {
                var s = 0.0
                for k in 0..<d { s += eg.vectors[i, k] * Foundation.pow(eg.values[k], p) * eg.vectors[j, k] }
                m.scalars[i * d + j] = s
            } }
            return m
        }
        let root = power(0.5), inverseRoot = power(-0.5)
        let w = try logs.map { try root.apply($0) }   // G^(1/2) v_i
        var c = Matrix(rows: d, cols: d)
        for x in w { for i in 0..<d { for j in 0..<d { c.scalars[i * d + j] += x[i] * x[j] / Double(logs.count) } } }
        let e = try SymmetricMatrix(c, symmetryTolerance: 1e-8).eigenDecomposition()
        let order = (0..<d).reversed()
        variances = order.map { max(0, e.values[$0]) }
        let ws = order.map { e.vectors.column($0) }
        directions = try ws.map { try inverseRoot.apply($0) }
        coordinates = try w.map { x in Vector(try ws.map { try $0.dot(x) }) }
    }
}
