import Foundation

/// The Fisher–Rao metric of a decoder whose outputs are Bernoulli means p(z) in (0, 1)^D
/// (a sigmoid output layer), realised as an immersion:
///
///     h(z) = 2 arcsin(sqrt(p(z)))  (per output),   M(z) = J_h^T J_h = J_p^T diag(1 / (p (1 - p))) J_p,
///
/// the pull-back of the Fisher information of the Bernoulli likelihood, 1 / (p (1 - p)) per
/// output (d/dp 2 arcsin(sqrt p) = 1 / sqrt(p (1 - p))). Distances are then information
/// distances between the decoded distributions: moving a pixel's probability near 0 or 1 costs
/// more than near 1/2. Each output's map is phi(p) = 2 arcsin(sqrt p) with
///
///     phi'(p) = (p (1 - p))^(-1/2),   phi''(p) = (2p - 1) / (2 (p (1 - p))^(3/2)),
///
/// so every mode is exact from the decoder's own: J_h u = phi'(p) J_p u,
/// D2 h[u, v] = phi''(p) (J_p u)(J_p v) + phi'(p) D2 p[u, v], J_h^T c = J_p^T (phi'(p) c), and
/// Hess<c, h> u = Hess<phi'(p) c, p> u + J_p^T (c phi''(p) J_p u) (one more VJP with the
/// tangents' cotangents).
///
/// Errors: an output outside [0, 1] (`GeoError.invalidArgument`: not a Bernoulli mean); an output
/// of exactly 0 or 1 where derivatives are needed (`GeoError.numerical`: the Fisher information
/// is infinite there, a saturated sigmoid).
public final class FisherRaoMetric: Generator {
    /// The decoder p(z), outputs in [0, 1].
    public let base: Generator

    /// The Fisher–Rao immersion of `base`. Checks the decoder's outputs at z = 0 and at 8 seeded
    /// standard normal points: all must lie in [0, 1] (`GeoError.invalidArgument` otherwise,
    /// naming the output and its value).
    public init(_ base: Generator) throws {
        self.base = base
        var rng = SeededRandom(seed: 7)
        var probe = Matrix(rows: 9, cols: base.latentDim)
        for k in (base.latentDim)..<probe.scalars.count { probe.scalars[k] = rng.normal() }
        _ = try FisherRaoMetric.check(try base.forward(probe), derivatives: false)
    }

    public var latentDim: Int { base.latentDim }
    public var dataShape: [Int] { base.dataShape }

    /// Checks Bernoulli means (in [0, 1]; in (0, 1) when `derivatives`) and returns their count.
    @discardableResult
    static func check(_ p: Matrix, derivatives: Bool) throws -> Int {
        for (k, x) in p.scalars.enumerated() {
            let row = p.cols > 0 ? k / p.cols : 0, col = p.cols > 0 ? k % p.cols : 0
            guard x >= 0 && x <= 1 else {
                throw GeoError.invalidArgument("the Fisher–Rao metric needs Bernoulli means in [0, 1], but output \(col + 1) is \(formatNumber(x)) at point \(row + 1)")
            }
            if derivatives && (x == 0 || x == 1) {
                throw GeoError.numerical("output \(col + 1) is exactly \(formatNumber(x)) at point \(row + 1): the Fisher information 1/(p(1-p)) is infinite there (a saturated sigmoid)")
            }
        }
        return p.scalars.count
    }

    /// phi(p) = 2 arcsin(sqrt(p)).
    @inline(__always) static func phi(_ p: Double) -> Double { 2 * asin(p.squareRoot()) }
    /// phi'(p) = (p (1 - p))^(-1/2).
    @inline(__always) static func phi1(_ p: Double) -> Double { 1 / (p * (1 - p)).squareRoot() }
    /// phi''(p) = (2p - 1) / (2 (p (1 - p))^(3/2)).
    @inline(__always) static func phi2(_ p: Double) -> Double {
        let q = p * (1 - p)
        return (2 * p - 1) / (2 * q * q.squareRoot())
    }

    /// f(p) elementwise.
    private func map(_ p: Matrix, _ f: (Double) -> Double) -> Matrix {
        Matrix(rows: p.rows, cols: p.cols, unchecked: p.scalars.map(f))
    }

    /// Row r of `t` (k rows per point) times f(p) of its point, elementwise.
    private func scaleRows(_ t: Matrix, by p: Matrix, _ f: (Double) -> Double) -> Matrix {
        var out = t
        let dd = p.cols, k = p.rows > 0 ? t.rows / p.rows : 0
        let fp = p.scalars.map(f)
        for r in 0..<t.rows {
            let i = k > 0 ? r / k : 0
            for j in 0..<dd { out.scalars[r * dd + j] *= fp[i * dd + j] }
        }
        return out
    }

    public func forward(_ z: Matrix) throws -> Matrix {
        let p = try base.forward(z)
        try FisherRaoMetric.check(p, derivatives: false)
        return map(p, FisherRaoMetric.phi)
    }

    public func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        let r = try base.jvp(z, tangents: tangents)
        try FisherRaoMetric.check(r.value, derivatives: true)
        return (map(r.value, FisherRaoMetric.phi), scaleRows(r.tangents, by: r.value, FisherRaoMetric.phi1))
    }

    public func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        _ = try checkBatch(z, tangents: cotangents, tangentCols: dataDim)
        let p = try base.forward(z)
        try FisherRaoMetric.check(p, derivatives: true)
        let r = try base.vjp(z, cotangents: scaleRows(cotangents, by: p, FisherRaoMetric.phi1))
        return (map(p, FisherRaoMetric.phi), r.cotangents)
    }

    public func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        let r = try base.secondOrder(z, u: u, v: v)
        try FisherRaoMetric.check(r.value, derivatives: true)
        var d2 = scaleRows(r.d2, by: r.value, FisherRaoMetric.phi1)
        let curvature = scaleRows(r.ju, by: r.value, FisherRaoMetric.phi2)
        for k in d2.scalars.indices { d2.scalars[k] += curvature.scalars[k] * r.jv.scalars[k] }
        return SecondOrderResult(value: map(r.value, FisherRaoMetric.phi), ju: scaleRows(r.ju, by: r.value, FisherRaoMetric.phi1),
                                 jv: scaleRows(r.jv, by: r.value, FisherRaoMetric.phi1), d2: d2)
    }

    public func hessianVectorProducts(_ z: Matrix, tangents: Matrix, cotangents: (Matrix, Matrix?) throws -> Matrix) throws
        -> HessianVectorProducts {
        _ = try checkBatch(z, tangents: tangents)
        let n = z.rows, dd = dataDim
        var p = Matrix(rows: 0, cols: 0), c = Matrix(rows: 0, cols: 0)
        let r = try base.hessianVectorProducts(z, tangents: tangents) { value, jvp in
            try FisherRaoMetric.check(value, derivatives: true)
            p = value
            c = try cotangents(map(value, FisherRaoMetric.phi), jvp.map { scaleRows($0, by: value, FisherRaoMetric.phi1) })
            guard c.rows == n, c.cols == dd else {
                throw GeoError.dimensionMismatch("cotangents are \(c.rows)x\(c.cols), expected \(n)x\(dd)")
            }
            return scaleRows(c, by: value, FisherRaoMetric.phi1)
        }
        // The second term: J_p^T (c phi''(p) J_p u) for every tangent row.
        var w = scaleRows(r.jvp, by: p, FisherRaoMetric.phi2)
        let k = n > 0 ? tangents.rows / n : 0
        for row in 0..<w.rows {
            let i = k > 0 ? row / k : 0
            for j in 0..<dd { w.scalars[row * dd + j] *= c.scalars[i * dd + j] }
        }
        var hvp = r.hvp
        if w.rows > 0 {
            let extra = try base.vjp(z, cotangents: w).cotangents
            guard extra.rows == hvp.rows, extra.cols == hvp.cols else {
                throw GeoError.dimensionMismatch("the generator's VJP returned \(extra.rows)x\(extra.cols), expected \(hvp.rows)x\(hvp.cols)")
            }
            for q in hvp.scalars.indices { hvp.scalars[q] += extra.scalars[q] }
        }
        return HessianVectorProducts(value: map(p, FisherRaoMetric.phi), jvp: scaleRows(r.jvp, by: p, FisherRaoMetric.phi1),
                                     gradient: r.gradient, hvp: hvp)
    }
}
