/// Curvature of the pull-back metric from the Gauss equation of the immersion g: exact, from
/// first and second derivatives only (no finite differences, no Christoffel symbols).
///
/// Second fundamental form: II(u, v) = (I - J J^+) D2g(z)[u, v], the part of the second
/// derivative normal to the tangent space (`TangentSpace.normalPart`).
///
/// Sectional curvature of the plane spanned by latent vectors u, v at z:
///
///     K(u, v) = (<II(u,u), II(v,v)> - |II(u,v)|^2) / (|Ju|^2 |Jv|^2 - <Ju,Jv>^2)
///
/// It depends only on the plane, not on the basis. The Jacobian (the d unit tangents' J e_a)
/// comes from ONE batched first-order `jvp` call (d tangent rows per point) and only the three
/// second derivatives D2g[u,u], D2g[v,v], D2g[u,v] from ONE batched `secondOrder` call (3 pairs
/// per point): d + 9 derivative rows per point, against 3(d + 3) if J rode in second order. The denominator is computed as
/// |Ju|^2 |Jv - (<Ju,Jv>/|Ju|^2) Ju|^2 (no cancellation).
///
/// Scalar curvature, convention: the sum over ORDERED pairs i != j of K(e_i, e_j) for a
/// metric-orthonormal frame e_1 ... e_d, i.e. twice the sum over unordered pairs, the usual
/// scalar curvature of Riemannian geometry (trace of the Ricci tensor):
///
///     S = sum_{i != j} K(e_i, e_j) = |sum_i II(e_i,e_i)|^2 - sum_{i,j} |II(e_i,e_j)|^2
///
/// (the second form is the Gauss equation summed: |H|^2 - |II|^2). For a surface S = 2K: the
/// sphere of radius r has S = 2/r^2; a flat manifold has S = 0; for d = 1, S = 0. The frame is
/// e_i = v_i / s_i from the SVD J = U S V^T (so J e_i = U e_i). The d(d+1)/2 coordinate second
/// derivatives D2g[E_a, E_b], a <= b, come from ONE batched `secondOrder` call per point (which
/// also yields J from its first-order rows); II in the frame follows by bilinearity,
/// II(e_i, e_j) = sum_ab F_ai F_bj II(E_a, E_b), F = V S^-1 (never d^2 generator calls).
///
/// Batched variants evaluate many points in one `secondOrder` call (split into chunks only when
/// the output would exceed 2^24 entries), for curvature sweeps.
///
/// Errors: wrong dimension or NaN (`GeoError.dimensionMismatch` / `.invalidArgument`); a zero
/// u or v, or u and v (numerically) parallel, |Ju ^ Jv|^2 <= 1e-12 |Ju|^2 |Jv|^2, i.e. an angle
/// below 1e-6 rad (`GeoError.invalidArgument`: they span no plane); a singular metric at z
/// (`GeoError.numerical`).
public enum Curvature {
    /// The smallest accepted sin^2 of the metric angle between u and v (1e-12).
    public static let parallelTolerance = 1e-12

    // MARK: Sectional curvature

    /// The sectional curvature K(u, v) at z (see the type's documentation).
    public static func sectional(on g: Generator, at z: Vector, _ u: Vector, _ v: Vector) throws -> Double {
        try g.checkPoint(z, "point")
        try g.checkPoint(u, "vector u")
        try g.checkPoint(v, "vector v")
        return try sectional(on: g, at: Matrix(row: z), u: Matrix(row: u), v: Matrix(row: v))[0]
    }

    /// Sectional curvatures at many points at once: point i is row i of `points` [n, d], its
    /// plane is spanned by rows i of `u` and `v` (both [n, d]). One batched `jvp` call for the
    /// Jacobians and one batched `secondOrder` call for the three pairs.
    public static func sectional(on g: Generator, at points: Matrix, u: Matrix, v: Matrix,
                                 progress: ProgressHandler? = nil) throws -> [Double] {
        let d = g.latentDim, dd = g.dataDim, n = points.rows
        for (m, name) in [(points, "points"), (u, "vectors u"), (v, "vectors v")] {
            guard m.cols == d, m.rows == n else {
                throw GeoError.dimensionMismatch("latent_dim is \(d) and there are \(n) points, \(name) are \(m.rows)x\(m.cols)")
            }
            guard m.isFinite else { throw GeoError.invalidArgument("\(name) have a NaN or infinite entry") }
        }
        for i in 0..<n {
            let where_ = n == 1 ? "" : " at point \(i + 1)"
            guard u.row(i).norm > 0 else { throw GeoError.invalidArgument("vector u is zero\(where_): sectional curvature needs two independent vectors") }
            guard v.row(i).norm > 0 else { throw GeoError.invalidArgument("vector v is zero\(where_): sectional curvature needs two independent vectors") }
        }
        let k = 3
        var out = [Double]()
        out.reserveCapacity(n)
        try forEachChunk(g, n, rowsPerPoint: d + 3 * k) { start, end in
            let m = end - start
            let z = try rowsOf(points, start, end)
            var uu = Matrix(rows: m * k, cols: d), vv = uu
            for p in 0..<m {
                let i = start + p, base = p * k
                for a in 0..<d {
                    let ua = u[i, a], va = v[i, a]
                    uu[base, a] = ua; vv[base, a] = ua          // D2g[u, u]
                    uu[base + 1, a] = va; vv[base + 1, a] = va  // D2g[v, v]
                    uu[base + 2, a] = ua; vv[base + 2, a] = va  // D2g[u, v]
                }
            }
            // J from first-order mode (d rows per point); second order only for the 3 pairs.
            let jacobians = try PathJacobians.jacobians(g, z)
            let r = try g.secondOrder(z, u: uu, v: vv)
            try checkShape(r, m * k, dd)
            for p in 0..<m {
                try Cancellation.check()
                let i = start + p, base = p * k
                let where_ = n == 1 ? "at this point" : "at point \(i + 1)"
                let space = try PathJacobians.tangentSpace(jacobians[p], where_)
                let second = try rowsOf(r.d2, base, base + 3)
                let ii = try space.normalPart(rows: second)
                let ju = r.ju.row(base), jv = r.ju.row(base + 1)
                let uu2 = ju.squaredNorm
                let w = try jv.adding(ju, scaledBy: -ju.dot(jv) / uu2)
                let denominator = uu2 * w.squaredNorm
                guard denominator > parallelTolerance * uu2 * jv.squaredNorm else {
                    throw GeoError.invalidArgument("vectors u and v are parallel \(where_): they span no plane")
                }
                let iuu = ii.row(0), ivv = ii.row(1), iuv = ii.row(2)
                out.append((try iuu.dot(ivv) - iuv.squaredNorm) / denominator)
                PathJacobians.report(progress, i + 1, n, "sectional curvature")
            }
        }
        return out
    }

    // MARK: Scalar curvature

    /// The scalar curvature at z, sum over ordered pairs i != j of K(e_i, e_j) for a
    /// metric-orthonormal frame (2K for a surface; see the type's documentation).
    public static func scalar(on g: Generator, at z: Vector) throws -> Double {
        try g.checkPoint(z, "point")
        return try scalar(on: g, at: Matrix(row: z))[0]
    }

    /// Scalar curvatures at every row of `points` [n, d], with one batched `secondOrder` call
    /// (d(d+1)/2 tangent pairs per point).
    public static func scalar(on g: Generator, at points: Matrix, progress: ProgressHandler? = nil) throws -> [Double] {
        let d = g.latentDim, dd = g.dataDim, n = points.rows
        guard points.cols == d else {
            throw GeoError.dimensionMismatch("latent_dim is \(d), points have \(points.cols)")
        }
        guard points.isFinite else { throw GeoError.invalidArgument("a point has a NaN or infinite entry") }
        // The pairs (a, b), a <= b, in order; diagonal[a] is the index of (a, a).
        var pairs = [(Int, Int)](), diagonal = [Int](repeating: 0, count: d)
        for a in 0..<d { for b in a..<d { if a == b { diagonal[a] = pairs.count }; pairs.append((a, b)) } }
        let k = pairs.count
        var out = [Double]()
        out.reserveCapacity(n)
        try forEachChunk(g, n, rowsPerPoint: k) { start, end in
            let m = end - start
            var uu = Matrix(rows: m * k, cols: d), vv = uu
            for p in 0..<m {
                for (q, (a, b)) in pairs.enumerated() { uu[p * k + q, a] = 1; vv[p * k + q, b] = 1 }
            }
            let r = try g.secondOrder(try rowsOf(points, start, end), u: uu, v: vv)
            try checkShape(r, m * k, dd)
            for p in 0..<m {
                try Cancellation.check()
                let i = start + p
                let where_ = n == 1 ? "at this point" : "at point \(i + 1)"
                var j = Matrix(rows: dd, cols: d)
                for a in 0..<d {
                    let row = (p * k + diagonal[a]) * dd
                    for c in 0..<dd { j.scalars[c * d + a] = r.ju.scalars[row + c] }
                }
                let space = try PathJacobians.tangentSpace(j, where_)
                let normal = try space.normalPart(rows: try rowsOf(r.d2, p * k, (p + 1) * k))
                out.append(try scalarFromNormalParts(normal, pairs, space, d, dd))
                PathJacobians.report(progress, i + 1, n, "scalar curvature")
            }
        }
        return out
    }

    /// |sum_i II_ii|^2 - sum_ij |II_ij|^2 in the frame F = V S^-1, from the normal parts
    /// N_ab = II(E_a, E_b) (rows of `normal`, in the order of `pairs`).
    static func scalarFromNormalParts(_ normal: Matrix, _ pairs: [(Int, Int)], _ space: TangentSpace,
                                      _ d: Int, _ dd: Int) throws -> Double {
        // Full symmetric N as a [d, d*D] matrix: N[a, b*D + c].
        var full = Matrix(rows: d, cols: d * dd)
        for (q, (a, b)) in pairs.enumerated() {
            for c in 0..<dd {
                let x = normal.scalars[q * dd + c]
                full.scalars[a * d * dd + b * dd + c] = x
                full.scalars[b * d * dd + a * dd + c] = x
            }
        }
        // F[a, i] = V[a, i] / s_i = Vt[i, a] / s_i.
        var f = Matrix(rows: d, cols: d)
        for i in 0..<d {
            let s = space.singularValues[i]
            for a in 0..<d { f[a, i] = space.rightSingularVectors[i, a] / s }
        }
        let first = try Matrix.product(f, transposeA: true, full)   // [i, b*D + c]
        var trace = Vector(zeros: dd)
        var squares = 0.0
        for i in 0..<d {
            let block = Matrix(rows: d, cols: dd, unchecked: Array(first.scalars[(i * d * dd)..<((i + 1) * d * dd)]))
            let ii = try Matrix.product(f, transposeA: true, block)   // [j, c] = II(e_i, e_j)
            for x in ii.scalars { squares += x * x }
            for c in 0..<dd { trace.scalars[c] += ii.scalars[i * dd + c] }
        }
        return trace.squaredNorm - squares
    }

    // MARK: Helpers

    /// Runs `body(start, end)` over chunks of the n points sized so that one `secondOrder` call
    /// returns at most 2^24 entries per output matrix.
    private static func forEachChunk(_ g: Generator, _ n: Int, rowsPerPoint: Int,
                                     _ body: (Int, Int) throws -> Void) throws {
        let chunk = PathJacobians.chunkSize(g, rowsPerPoint: rowsPerPoint)
        var start = 0
        while start < n {
            let end = min(n, start + chunk)
            try body(start, end)
            start = end
        }
    }

    /// Rows start ..< end of m.
    private static func rowsOf(_ m: Matrix, _ start: Int, _ end: Int) throws -> Matrix {
        try Matrix(rows: end - start, cols: m.cols, scalars: Array(m.scalars[(start * m.cols)..<(end * m.cols)]))
    }

    /// J (D x d) from d consecutive rows J e_a of `ju` starting at `rows`.
    private static func jacobian(_ ju: Matrix, rows first: Int, _ d: Int, _ dd: Int) -> Matrix {
        var j = Matrix(rows: dd, cols: d)
        for a in 0..<d { for c in 0..<dd { j.scalars[c * d + a] = ju.scalars[(first + a) * dd + c] } }
        return j
    }

    private static func checkShape(_ r: SecondOrderResult, _ rows: Int, _ dd: Int) throws {
        guard r.ju.rows == rows, r.ju.cols == dd, r.d2.rows == rows, r.d2.cols == dd else {
            throw GeoError.dimensionMismatch("the generator's secondOrder returned \(r.d2.rows)x\(r.d2.cols), expected \(rows)x\(dd)")
        }
    }
}
