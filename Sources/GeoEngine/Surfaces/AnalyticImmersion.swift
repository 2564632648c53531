/// The 2-jet of a smooth map g: R^d -> R^D at one point z: the value g(z), the Jacobian and
/// (optionally) all second partial derivatives, in closed form.
public struct ImmersionJet {
    /// g(z), D entries.
    public var value: [Double]
    /// J(z), D x d row-major: `jacobian[c * d + a]` = dg_c/dz_a.
    public var jacobian: [Double]
    /// The second derivatives, D x d x d: `hessian[(c * d + a) * d + b]` = d2g_c/dz_a dz_b
    /// (symmetric in a, b). Empty when the caller did not ask for second order.
    public var hessian: [Double]

    public init(value: [Double], jacobian: [Double], hessian: [Double] = []) {
        self.value = value; self.jacobian = jacobian; self.hessian = hessian
    }
}

/// A generator given by closed-form formulas (the analytic surfaces: sphere, torus, plane,
/// saddle, Swiss roll). A conforming type supplies only the 2-jet at one point; this extension
/// derives the batched `Generator` API from it, exactly (no finite differences):
///   forward      g(z_i)
///   jvp          J(z_i) t                       = sum_a J[c,a] t_a
///   vjp          J(z_i)^T c                     = sum_c J[c,a] c_c
///   secondOrder  D2g(z_i)[u, v]                 = sum_ab H[c,a,b] u_a v_b
/// Points are processed one at a time (these maps are tiny; d and D are 2 or 3). Every latent
/// point must be finite: a NaN or infinite entry throws `GeoError.invalidArgument`.
public protocol AnalyticImmersion: Generator {
    /// The 2-jet at the finite latent point `z` (exactly `latentDim` entries). `hessian` may be
    /// left empty when `secondOrder` is false.
    func jet(at z: [Double], secondOrder: Bool) -> ImmersionJet
}

extension AnalyticImmersion {
    /// The finite latent point in row i of `z`.
    private func point(_ z: Matrix, _ i: Int) throws -> [Double] {
        let p = Array(z.scalars[(i * z.cols)..<((i + 1) * z.cols)])
        guard p.allSatisfy({ $0.isFinite }) else {
            throw GeoError.invalidArgument("latent point \(i + 1) has a NaN or infinite entry")
        }
        return p
    }

    public func forward(_ z: Matrix) throws -> Matrix {
        _ = try checkBatch(z)
        let dd = dataDim
        var out = Matrix(rows: z.rows, cols: dd)
        for i in 0..<z.rows {
            let j = jet(at: try point(z, i), secondOrder: false)
            for c in 0..<dd { out.scalars[i * dd + c] = j.value[c] }
        }
        return out
    }

    public func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        let k = try checkBatch(z, tangents: tangents)
        let d = latentDim, dd = dataDim
        var value = Matrix(rows: z.rows, cols: dd)
        var out = Matrix(rows: tangents.rows, cols: dd)
        for i in 0..<z.rows {
            let j = jet(at: try point(z, i), secondOrder: false)
            for c in 0..<dd { value.scalars[i * dd + c] = j.value[c] }
            for r in (i * k)..<((i + 1) * k) {
                for c in 0..<dd {
                    var s = 0.0
                    for a in 0..<d { s += j.jacobian[c * d + a] * tangents.scalars[r * d + a] }
                    out.scalars[r * dd + c] = s
                }
            }
        }
        return (value, out)
    }

    public func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        let d = latentDim, dd = dataDim
        let k = try checkBatch(z, tangents: cotangents, tangentCols: dd)
        var value = Matrix(rows: z.rows, cols: dd)
        var out = Matrix(rows: cotangents.rows, cols: d)
        for i in 0..<z.rows {
            let j = jet(at: try point(z, i), secondOrder: false)
            for c in 0..<dd { value.scalars[i * dd + c] = j.value[c] }
            for r in (i * k)..<((i + 1) * k) {
                for a in 0..<d {
                    var s = 0.0
                    for c in 0..<dd { s += j.jacobian[c * d + a] * cotangents.scalars[r * dd + c] }
                    out.scalars[r * d + a] = s
                }
            }
        }
        return (value, out)
    }

    public func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        let k = try checkBatch(z, tangents: u)
        guard v.rows == u.rows, v.cols == u.cols else {
            throw GeoError.dimensionMismatch("u is \(u.rows)x\(u.cols) but v is \(v.rows)x\(v.cols)")
        }
        let d = latentDim, dd = dataDim
        var value = Matrix(rows: z.rows, cols: dd)
        var ju = Matrix(rows: u.rows, cols: dd), jv = ju, d2 = ju
        for i in 0..<z.rows {
            let j = jet(at: try point(z, i), secondOrder: true)
            for c in 0..<dd { value.scalars[i * dd + c] = j.value[c] }
            for r in (i * k)..<((i + 1) * k) {
                for c in 0..<dd {
                    var su = 0.0, sv = 0.0, s2 = 0.0
                    for a in 0..<d {
                        let ua = u.scalars[r * d + a], va = v.scalars[r * d + a]
                        su += j.jacobian[c * d + a] * ua
                        sv += j.jacobian[c * d + a] * va
                        var h = 0.0
                        for b in 0..<d { h += j.hessian[(c * d + a) * d + b] * v.scalars[r * d + b] }
                        s2 += ua * h
                    }
                    ju.scalars[r * dd + c] = su
                    jv.scalars[r * dd + c] = sv
                    d2.scalars[r * dd + c] = s2
                }
            }
        }
        return SecondOrderResult(value: value, ju: ju, jv: jv, d2: d2)
    }
}
