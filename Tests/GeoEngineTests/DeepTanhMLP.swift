import XCTest
@testable import GeoEngine

/// A small test-only generator: a two-hidden-layer tanh network
///     g(z) = W3 tanh(W2 tanh(W1 z + b1) + b2) + b3
/// with seeded Gaussian weights and exact first and second derivatives in forward mode:
///     dh1 = W1 u, da1 = s1 * dh1, dh2 = W2 da1, da2 = s2 * dh2, dg = W3 da2,
///     d2a1 = s1' * (W1 u)(W1 v), d2h2 = W2 d2a1,
///     d2a2 = s2' * (dh2 u)(dh2 v) + s2 * d2h2, D2g[u, v] = W3 d2a2,
/// with s = 1 - tanh^2 and s' = -2 tanh (1 - tanh^2). Points are processed one row at a time
/// (it is tiny), which is all the tests need.
final class DeepTanhMLP: Generator {
    let w1: Matrix, b1: Vector, w2: Matrix, b2: Vector, w3: Matrix, b3: Vector
    let latentDim: Int
    let dataShape: [Int]

    init(latent d: Int, hidden h: Int, data dd: Int, seed: UInt64, scale: Double = 1) {
        var rng = SeededRandom(seed: seed)
        func mat(_ r: Int, _ c: Int, _ s: Double) -> Matrix {
            try! Matrix(rows: r, cols: c, scalars: (0..<(r * c)).map { _ in s * rng.normal() })
        }
        w1 = mat(h, d, scale); b1 = rng.normalVector(h) * 0.3
        w2 = mat(h, h, scale / Double(h).squareRoot()); b2 = rng.normalVector(h) * 0.3
        w3 = mat(dd, h, 1 / Double(h).squareRoot()); b3 = rng.normalVector(dd) * 0.3
        latentDim = d; dataShape = [dd]
    }

    private struct Layer { var a1: Vector; var s1: Vector; var a2: Vector; var s2: Vector; var out: Vector }

    private func run(_ z: Vector) throws -> Layer {
        let h1 = try w1.apply(z) + b1
        let a1 = Vector(h1.scalars.map { tanh($0) })
        let h2 = try w2.apply(a1) + b2
        let a2 = Vector(h2.scalars.map { tanh($0) })
        return Layer(a1: a1, s1: Vector(a1.scalars.map { 1 - $0 * $0 }),
                     a2: a2, s2: Vector(a2.scalars.map { 1 - $0 * $0 }), out: try w3.apply(a2) + b3)
    }

    private func mul(_ a: Vector, _ b: Vector) -> Vector { Vector(zip(a.scalars, b.scalars).map { $0 * $1 }) }

    /// (dh2 t, dg t) for tangent t.
    private func first(_ l: Layer, _ t: Vector) throws -> (dh1: Vector, dh2: Vector, dg: Vector) {
        let dh1 = try w1.apply(t)
        let dh2 = try w2.apply(mul(l.s1, dh1))
        return (dh1, dh2, try w3.apply(mul(l.s2, dh2)))
    }

    func forward(_ z: Matrix) throws -> Matrix {
        _ = try checkBatch(z)
        return try Matrix(rowVectors: try (0..<z.rows).map { try run(z.row($0)).out })
    }

    func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        let k = try checkBatch(z, tangents: tangents)
        var rows = [Vector](), values = [Vector]()
        for i in 0..<z.rows {
            let l = try run(z.row(i)); values.append(l.out)
            for r in (i * k)..<((i + 1) * k) { rows.append(try first(l, tangents.row(r)).dg) }
        }
        return (try Matrix(rowVectors: values), rows.isEmpty ? Matrix(rows: 0, cols: dataDim) : try Matrix(rowVectors: rows))
    }

    func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        let k = try checkBatch(z, tangents: cotangents, tangentCols: dataDim)
        var rows = [Vector](), values = [Vector]()
        for i in 0..<z.rows {
            let l = try run(z.row(i)); values.append(l.out)
            for r in (i * k)..<((i + 1) * k) {
                let c2 = mul(l.s2, try w3.applyTransposed(cotangents.row(r)))
                let c1 = mul(l.s1, try w2.applyTransposed(c2))
                rows.append(try w1.applyTransposed(c1))
            }
        }
        return (try Matrix(rowVectors: values), rows.isEmpty ? Matrix(rows: 0, cols: latentDim) : try Matrix(rowVectors: rows))
    }

    func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        let k = try checkBatch(z, tangents: u)
        guard v.rows == u.rows, v.cols == u.cols else { throw GeoError.dimensionMismatch("u and v differ in shape") }
        var values = [Vector](), ju = [Vector](), jv = [Vector](), d2 = [Vector]()
        for i in 0..<z.rows {
            let l = try run(z.row(i)); values.append(l.out)
            let ds1 = Vector(zip(l.a1.scalars, l.s1.scalars).map { -2 * $0 * $1 })
            let ds2 = Vector(zip(l.a2.scalars, l.s2.scalars).map { -2 * $0 * $1 })
            for r in (i * k)..<((i + 1) * k) {
                let fu = try first(l, u.row(r)), fv = try first(l, v.row(r))
                ju.append(fu.dg); jv.append(fv.dg)
                let d2a1 = mul(ds1, mul(fu.dh1, fv.dh1))
                let d2h2 = try w2.apply(d2a1)
                let d2a2 = try mul(ds2, mul(fu.dh2, fv.dh2)) + mul(l.s2, d2h2)
                d2.append(try w3.apply(d2a2))
            }
        }
        return SecondOrderResult(value: try Matrix(rowVectors: values), ju: try Matrix(rowVectors: ju),
                                 jv: try Matrix(rowVectors: jv), d2: try Matrix(rowVectors: d2))
    }
}

/// The metric length |v|_M = |J(z) v| at z.
func metricLength(_ g: Generator, _ z: Vector, _ v: Vector) throws -> Double {
    try g.jvp(Matrix(row: z), tangents: Matrix(row: v)).tangents.row(0).norm
}

/// An independent sectional curvature from the metric alone, by finite differences:
/// Christoffel symbols Gamma^l_ij = 1/2 g^lm (d_i g_jm + d_j g_im - d_m g_ij) from central
/// differences of the exact metric M(z) = J^T J (step h), then
///     R^l_ijk = d_i Gamma^l_jk - d_j Gamma^l_ik + Gamma^l_im Gamma^m_jk - Gamma^l_jm Gamma^m_ik
/// (central differences of Gamma, step h), R(X, Y)Z = nabla_X nabla_Y Z - nabla_Y nabla_X Z,
/// and K(u, v) = <R(u, v) v, u> / (|u|^2 |v|^2 - <u, v>^2).
func finiteDifferenceSectional(_ g: Generator, _ z: Vector, _ u: Vector, _ v: Vector, h: Double = 1e-4) throws -> Double {
    let d = g.latentDim
    func metric(_ p: Vector) throws -> [[Double]] {
        let m = try g.metric(p)
        return (0..<d).map { i in (0..<d).map { m[i, $0] } }
    }
    func unit(_ i: Int) -> Vector { var e = Vector(zeros: d); e[i] = 1; return e }
    func inverse(_ m: [[Double]]) throws -> [[Double]] {
        let sym = try SymmetricMatrix(try Matrix(rows: d, cols: d, scalars: m.flatMap { $0 }))
        let inv = try sym.solvePositiveDefinite(rows: Matrix.identity(d))
        return (0..<d).map { i in (0..<d).map { inv[i, $0] } }
    }
    /// Gamma[l][i][j] at p.
    func christoffel(_ p: Vector) throws -> [[[Double]]] {
        let gi = try inverse(try metric(p))
        // dg[k][i][j] = d_k g_ij
        let dg = try (0..<d).map { k -> [[Double]] in
            let plus = try metric(p.adding(unit(k), scaledBy: h)), minus = try metric(p.adding(unit(k), scaledBy: -h))
            return (0..<d).map { i in (0..<d).map { j in (plus[i][j] - minus[i][j]) / (2 * h) } }
        }
        return (0..<d).map { l in (0..<d).map { i in (0..<d).map { j in
            var s = 0.0
            for m in 0..<d { s += 0.5 * gi[l][m] * (dg[i][j][m] + dg[j][i][m] - dg[m][i][j]) }
            return s
        } } }
    }
    let gam = try christoffel(z)
    let dgam = try (0..<d).map { k -> [[[Double]]] in
        let plus = try christoffel(z.adding(unit(k), scaledBy: h)), minus = try christoffel(z.adding(unit(k), scaledBy: -h))
        return (0..<d).map { l in (0..<d).map { i in (0..<d).map { j in (plus[l][i][j] - minus[l][i][j]) / (2 * h) } } }
    }
    // R(u, v) v = sum R^l_ijk u^i v^j v^k e_l
    var rv = [Double](repeating: 0, count: d)
    for l in 0..<d { for i in 0..<d { for j in 0..<d { for k in 0..<d {
        var r = dgam[i][l][j][k] - dgam[j][l][i][k]
        for m in 0..<d { r += gam[l][i][m] * gam[m][j][k] - gam[l][j][m] * gam[m][i][k] }
        rv[l] += r * u[i] * v[j] * v[k]
    } } } }
    let gm = try metric(z)
    func inner(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in 0..<d { for j in 0..<d { s += gm[i][j] * a[i] * b[j] } }
        return s
    }
    let num = inner(rv, u.scalars)
    let den = inner(u.scalars, u.scalars) * inner(v.scalars, v.scalars) - pow(inner(u.scalars, v.scalars), 2)
    return num / den
}
