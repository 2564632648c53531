import Foundation

/// The decoder's standard deviation as a function of the latent point, from a radial basis
/// function network for the precision (Arvanitidis, Hansen & Hauberg, "Latent Space Oddity: on
/// the Curvature of Deep Generative Models", ICLR 2018, section 4):
///
///     v_k(z)   = exp(-lambda_k |z - c_k|^2)                 k = 1 ... K  (centres c_k, lambda_k > 0)
///     beta(z)  = W v(z) + zeta                              W >= 0 (D x K), zeta > 0 (the floor)
///     sigma(z) = beta(z)^(-1/2)                             per output, in R^D
///
/// Near the centres (the data) the precision is large and sigma small; far from every centre
/// v -> 0, beta -> zeta and sigma rises to zeta^(-1/2): the decoder is uncertain there, and the
/// expected metric J_mu^T J_mu + J_sigma^T J_sigma (`UncertaintyMetric`) grows where sigma
/// climbs, around the data.
///
/// Exact derivatives in every mode, with a_k(u) = <z - c_k, u>:
///
///     D v_k[u]     = -2 lambda_k a_k(u) v_k
///     D2 v_k[u, w] = v_k (4 lambda_k^2 a_k(u) a_k(w) - 2 lambda_k <u, w>)
///     D sigma[u]   = s1(beta) W Dv[u],    s1(b) = -b^(-3/2) / 2
///     D2 sigma[u, w] = s2(beta) (W Dv[u]) (W Dv[w]) + s1(beta) W D2v[u, w],   s2(b) = 3 b^(-5/2) / 4
///     J^T c        = sum_k g_k grad v_k,   g = (s1(beta) c) W  (1 x K),  grad v_k = -2 lambda_k v_k (z - c_k)
///     Hess<c, sigma> u = J_beta^T (c s2(beta) W Dv[u]) + sum_k g_k Hess v_k u,
///     Hess v_k u   = v_k (4 lambda_k^2 a_k(u) (z - c_k) - 2 lambda_k u)
///
/// (products with W are dgemm calls over the whole batch).
public final class RBFPrecisionNetwork: Generator {
    /// The centres c_k, K x d.
    public let centers: Matrix
    /// lambda_k > 0, one per centre.
    public let lambdas: [Double]
    /// W >= 0, D x K.
    public let weights: Matrix
    /// zeta > 0.
    public let floor: Double
    public let dataShape: [Int]

    public var latentDim: Int { centers.cols }
    /// K, the number of centres.
    public var count: Int { centers.rows }

    /// Checks shapes and values (every lambda positive and finite, W finite and >= 0, zeta
    /// positive and finite, centres finite): `GeoError.invalidArgument` / `.dimensionMismatch`.
    public init(centers: Matrix, lambdas: [Double], weights: Matrix, floor: Double, dataShape: [Int]) throws {
        guard centers.rows > 0, centers.cols > 0 else { throw GeoError.invalidArgument("an RBF network needs at least one centre") }
        guard lambdas.count == centers.rows else {
            throw GeoError.dimensionMismatch("\(lambdas.count) bandwidths for \(centers.rows) centres")
        }
        let dd = dataShape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        guard weights.rows == dd, weights.cols == centers.rows else {
            throw GeoError.dimensionMismatch("the RBF weights are \(weights.rows)x\(weights.cols), expected \(dd)x\(centers.rows)")
        }
        guard centers.isFinite else { throw GeoError.invalidArgument("an RBF centre is NaN or infinite") }
        guard lambdas.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw GeoError.invalidArgument("RBF bandwidths must be positive and finite") }
        guard weights.scalars.allSatisfy({ $0 >= 0 && $0.isFinite }) else { throw GeoError.invalidArgument("RBF weights must be finite and >= 0") }
        try Setting.positive("floor", floor)
        self.centers = centers; self.lambdas = lambdas; self.weights = weights; self.floor = floor
        self.dataShape = dataShape
    }

    // MARK: The basis

    /// v_k(z_i), n x K.
    func basis(_ z: Matrix) -> Matrix {
        let n = z.rows, kk = count, d = latentDim
        var v = Matrix(rows: n, cols: kk)
        for i in 0..<n {
            for k in 0..<kk {
                var s = 0.0
                for a in 0..<d { let x = z.scalars[i * d + a] - centers.scalars[k * d + a]; s += x * x }
                v.scalars[i * kk + k] = exp(-lambdas[k] * s)
            }
        }
        return v
    }

    /// a_k(t) = <z_i - c_k, t> for every row t of `t` (rows of point i = r / m), (n*m) x K.
    private func projections(_ z: Matrix, _ t: Matrix) -> Matrix {
        let n = z.rows, kk = count, d = latentDim, m = n > 0 ? t.rows / n : 0
        var out = Matrix(rows: t.rows, cols: kk)
        for r in 0..<t.rows {
            let i = m > 0 ? r / m : 0
            for k in 0..<kk {
                var s = 0.0
                for a in 0..<d { s += (z.scalars[i * d + a] - centers.scalars[k * d + a]) * t.scalars[r * d + a] }
                out.scalars[r * kk + k] = s
            }
        }
        return out
    }

    /// beta = V W^T + zeta, n x D.
    private func precision(_ v: Matrix) throws -> Matrix {
        var b = try Matrix.product(v, weights, transposeB: true)
        for q in b.scalars.indices { b.scalars[q] += floor }
        return b
    }

    /// D v[t] for every tangent row: -2 lambda_k a_k(t) v_k, (n*m) x K.
    private func basisTangents(_ v: Matrix, _ a: Matrix, perPoint m: Int) -> Matrix {
        var out = a
        let kk = count
        for r in 0..<a.rows {
            let i = m > 0 ? r / m : 0
            for k in 0..<kk { out.scalars[r * kk + k] *= -2 * lambdas[k] * v.scalars[i * kk + k] }
        }
        return out
    }

    /// Elementwise f(beta) of each row's point times `x` (rows of point i = r / m).
    private func scaled(_ x: Matrix, _ beta: Matrix, perPoint m: Int, _ f: (Double) -> Double) -> Matrix {
        var out = x
        let dd = beta.cols
        for r in 0..<x.rows {
            let i = m > 0 ? r / m : 0
            for j in 0..<dd { out.scalars[r * dd + j] *= f(beta.scalars[i * dd + j]) }
        }
        return out
    }

    static func s0(_ b: Double) -> Double { 1 / b.squareRoot() }
    static func s1(_ b: Double) -> Double { -0.5 / (b * b.squareRoot()) }
    static func s2(_ b: Double) -> Double { 0.75 / (b * b * b.squareRoot()) }

    /// sum_k w_rk grad v_k(z_i) = -2 sum_k w_rk lambda_k v_k (z_i - c_k) for every row r, (rows) x d.
    private func basisGradients(_ w: Matrix, _ z: Matrix, _ v: Matrix, perPoint m: Int) -> Matrix {
        let kk = count, d = latentDim
        var out = Matrix(rows: w.rows, cols: d)
        for r in 0..<w.rows {
            let i = m > 0 ? r / m : 0
            for k in 0..<kk {
                let alpha = -2 * w.scalars[r * kk + k] * lambdas[k] * v.scalars[i * kk + k]
                if alpha == 0 { continue }
                for a in 0..<d { out.scalars[r * d + a] += alpha * (z.scalars[i * d + a] - centers.scalars[k * d + a]) }
            }
        }
        return out
    }

    // MARK: Generator

    public func forward(_ z: Matrix) throws -> Matrix {
        _ = try checkBatch(z)
        let beta = try precision(basis(z))
        return Matrix(rows: beta.rows, cols: beta.cols, unchecked: beta.scalars.map(RBFPrecisionNetwork.s0))
    }

    public func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        let m = try checkBatch(z, tangents: tangents)
        let v = basis(z)
        let beta = try precision(v)
        let dv = basisTangents(v, projections(z, tangents), perPoint: m)
        let db = try Matrix.product(dv, weights, transposeB: true)
        return (Matrix(rows: beta.rows, cols: beta.cols, unchecked: beta.scalars.map(RBFPrecisionNetwork.s0)),
                scaled(db, beta, perPoint: m, RBFPrecisionNetwork.s1))
    }

    public func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        let m = try checkBatch(z, tangents: cotangents, tangentCols: dataDim)
        let v = basis(z)
        let beta = try precision(v)
        let g = try Matrix.product(scaled(cotangents, beta, perPoint: m, RBFPrecisionNetwork.s1), weights)
        return (Matrix(rows: beta.rows, cols: beta.cols, unchecked: beta.scalars.map(RBFPrecisionNetwork.s0)),
                basisGradients(g, z, v, perPoint: m))
    }

    public func secondOrder(_ z: Matrix, u: Matrix, v w: Matrix) throws -> SecondOrderResult {
        let m = try checkBatch(z, tangents: u)
        guard w.rows == u.rows, w.cols == u.cols else {
            throw GeoError.dimensionMismatch("u is \(u.rows)x\(u.cols) but v is \(w.rows)x\(w.cols)")
        }
        let v = basis(z)
        let beta = try precision(v)
        let au = projections(z, u), aw = projections(z, w)
        let dvu = basisTangents(v, au, perPoint: m), dvw = basisTangents(v, aw, perPoint: m)
        let kk = count, d = latentDim
        var d2v = Matrix(rows: u.rows, cols: kk)
        for r in 0..<u.rows {
            let i = m > 0 ? r / m : 0
            var uw = 0.0
            for a in 0..<d { uw += u.scalars[r * d + a] * w.scalars[r * d + a] }
            for k in 0..<kk {
                let l = lambdas[k]
                d2v.scalars[r * kk + k] = v.scalars[i * kk + k] * (4 * l * l * au.scalars[r * kk + k] * aw.scalars[r * kk + k] - 2 * l * uw)
            }
        }
        let dbu = try Matrix.product(dvu, weights, transposeB: true), dbw = try Matrix.product(dvw, weights, transposeB: true)
        let d2b = try Matrix.product(d2v, weights, transposeB: true)
        var d2 = scaled(d2b, beta, perPoint: m, RBFPrecisionNetwork.s1)
        let curv = scaled(dbu, beta, perPoint: m, RBFPrecisionNetwork.s2)
        for q in d2.scalars.indices { d2.scalars[q] += curv.scalars[q] * dbw.scalars[q] }
        return SecondOrderResult(value: Matrix(rows: beta.rows, cols: beta.cols, unchecked: beta.scalars.map(RBFPrecisionNetwork.s0)),
                                 ju: scaled(dbu, beta, perPoint: m, RBFPrecisionNetwork.s1),
                                 jv: scaled(dbw, beta, perPoint: m, RBFPrecisionNetwork.s1), d2: d2)
    }

    public func hessianVectorProducts(_ z: Matrix, tangents: Matrix, cotangents: (Matrix, Matrix?) throws -> Matrix) throws
        -> HessianVectorProducts {
        let m = try checkBatch(z, tangents: tangents)
        let n = z.rows, dd = dataDim, kk = count, d = latentDim
        let v = basis(z)
        let beta = try precision(v)
        let value = Matrix(rows: beta.rows, cols: beta.cols, unchecked: beta.scalars.map(RBFPrecisionNetwork.s0))
        let au = projections(z, tangents)
        let dv = basisTangents(v, au, perPoint: m)
        let db = try Matrix.product(dv, weights, transposeB: true)
        let jvp = scaled(db, beta, perPoint: m, RBFPrecisionNetwork.s1)
        let c = try cotangents(value, jvp)
        guard c.rows == n, c.cols == dd else {
            throw GeoError.dimensionMismatch("cotangents are \(c.rows)x\(c.cols), expected \(n)x\(dd)")
        }
        // g = (s1(beta) c) W, the basis weights of the gradient (n x K).
        let g = try Matrix.product(scaled(c, beta, perPoint: 1, RBFPrecisionNetwork.s1), weights)
        let gradient = basisGradients(g, z, v, perPoint: 1)
        // First term: J_beta^T (c s2(beta) W Dv[u]) per tangent row.
        var w1 = scaled(db, beta, perPoint: m, RBFPrecisionNetwork.s2)
        for r in 0..<w1.rows {
            let i = m > 0 ? r / m : 0
            for j in 0..<dd { w1.scalars[r * dd + j] *= c.scalars[i * dd + j] }
        }
        var hvp = basisGradients(try Matrix.product(w1, weights), z, v, perPoint: m)
        // Second term: sum_k g_k v_k (4 lambda_k^2 a_k(u) (z - c_k) - 2 lambda_k u).
        for r in 0..<tangents.rows {
            let i = m > 0 ? r / m : 0
            for k in 0..<kk {
                let l = lambdas[k], gv = g.scalars[i * kk + k] * v.scalars[i * kk + k]
                if gv == 0 { continue }
                let radial = 4 * l * l * au.scalars[r * kk + k] * gv, along = -2 * l * gv
                for a in 0..<d {
                    hvp.scalars[r * d + a] += radial * (z.scalars[i * d + a] - centers.scalars[k * d + a]) + along * tangents.scalars[r * d + a]
                }
            }
        }
        return HessianVectorProducts(value: value, jvp: jvp, gradient: gradient, hvp: hvp)
    }
}
