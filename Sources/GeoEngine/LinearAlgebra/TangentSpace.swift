import CBLAS

/// The tangent space of an immersion g: R^d -> R^D at one latent point, from its Jacobian J
/// (D x d, row-major, as `Generator.jacobian` returns it), factorised once by a thin singular
/// value decomposition
///
///     J = U S V^T,   U: D x d with orthonormal columns, S = diag(s_1 >= ... >= s_d >= 0),
///                    V: d x d orthogonal,
///
/// computed by LAPACKE_dgesdd (divide and conquer; LAPACKE_dgesvd as a fallback should it not
/// converge). Why an SVD and not a thin QR: the singular values are exactly what the geometry
/// needs and QR without pivoting does not reveal them: the numerical rank (a reliable
/// singularity test), the volume element sqrt(det J^T J) = s_1 ... s_d, and the condition
/// number s_1/s_d. The metric is never formed: (J^T J)^-1 = V S^-2 V^T, so its squared
/// condition number does not cost accuracy. The cost is O(D d^2), the same order as QR when
/// D >> d (dgesdd reduces by QR first), and it is paid once per point.
///
/// Offered maps (all through OpenBLAS dgemm; batched variants take one vector per row):
///     pseudoInverse  J^+ u        = V S^-1 U^T u     (R^D -> R^d; the least-squares latent
///                                                     velocity whose image is closest to u)
///     project        J J^+ u      = U U^T u          (orthogonal projection onto the tangent
///                                                     space in R^D; symmetric, idempotent)
///     normalPart     (I - J J^+) u = u - U U^T u     (the component normal to the surface)
///     solveMetric    (J^T J)^-1 b = V S^-2 V^T b     (R^d -> R^d)
///     volume         sqrt(det J^T J) = s_1 ... s_d   (the Riemannian volume element)
///
/// Rank threshold: a singular value s_i <= relativeTolerance * s_1 counts as zero, with
/// `defaultRelativeTolerance` = 1e-10. Rationale: the SVD is backward stable, so U is known only
/// to an angle of about eps * s_1 / s_d; at s_d/s_1 = 1e-10 that is ~2e-6 and projections,
/// transport and curvature built on U would lose all meaning soon after, while J^+ would amplify
/// noise by 1e10. A J of rank r < d (or with D < d, or J = 0) throws
/// `GeoError.numerical("the metric is singular at this point (rank r < d)")` unless
/// `requireFullRank` is false, in which case the maps above use the rank-r truncation (J^+ is
/// the Moore-Penrose pseudo-inverse with the tiny singular values dropped, the projection is
/// onto the r-dimensional column space), `volume` is the product of all d singular values, and
/// `solveMetric` throws. A NaN or infinite entry in J always throws `GeoError.numerical`.
public struct TangentSpace {
    /// Singular values at or below this fraction of the largest count as zero (1e-10).
    public static let defaultRelativeTolerance = 1e-10

    /// J, D x d.
    public let jacobian: Matrix
    /// d, the latent dimension (columns of J).
    public var latentDim: Int { jacobian.cols }
    /// D, the data dimension (rows of J).
    public var dataDim: Int { jacobian.rows }
    /// The singular values s_1 >= s_2 >= ... of J, min(D, d) of them.
    public let singularValues: Vector
    /// The numerical rank r: the number of singular values above relativeTolerance * s_1.
    public let rank: Int
    /// The relative tolerance used for `rank`.
    public let relativeTolerance: Double
    /// U_r, D x r: an orthonormal basis of the tangent space (the column space of J) in R^D.
    public let basis: Matrix
    /// V_r^T, r x d: row i is the right singular vector v_i (the latent direction that J maps
    /// to s_i times column i of `basis`).
    public let rightSingularVectors: Matrix

    /// Factorises J (D x d). Throws `GeoError.numerical` when J has a NaN or infinite entry,
    /// when the SVD fails, or (with `requireFullRank`, the default) when rank J < d;
    /// `GeoError.invalidArgument` when d = 0 or J is too large for LAPACK.
    public init(jacobian j: Matrix, relativeTolerance: Double = TangentSpace.defaultRelativeTolerance,
                requireFullRank: Bool = true) throws {
        guard relativeTolerance.isFinite, relativeTolerance >= 0, relativeTolerance < 1 else {
            throw GeoError.invalidArgument("relative tolerance must be a number in [0, 1), got \(formatNumber(relativeTolerance))")
        }
        guard j.cols > 0 else {
            throw GeoError.invalidArgument("a tangent space needs a latent dimension of at least 1")
        }
        guard j.isFinite else {
            throw GeoError.numerical("the Jacobian has a NaN or infinite entry at this point")
        }
        let (m, n) = try LAPACKSupport.dimensions(j.rows, j.cols, "the Jacobian")
        let k = min(j.rows, j.cols)
        var s = [Double](repeating: 0, count: k)
        var u = [Double](repeating: 0, count: j.rows * k)
        var vt = [Double](repeating: 0, count: k * j.cols)
        if k > 0 {
            var info = TangentSpace.svd(j, m, n, Int32(k), &s, &u, &vt, divideAndConquer: true)
            if info > 0 { info = TangentSpace.svd(j, m, n, Int32(k), &s, &u, &vt, divideAndConquer: false) }
            guard info == 0, s.allSatisfy({ $0.isFinite }) else {
                throw GeoError.numerical("the singular value decomposition of the Jacobian failed (LAPACK info \(info))")
            }
        }
        let largest = s.first ?? 0
        let r = largest > 0 ? s.filter { $0 > relativeTolerance * largest }.count : 0
        if requireFullRank && r < j.cols {
            throw GeoError.numerical("the metric is singular at this point (rank \(r) < \(j.cols))")
        }
        jacobian = j
        singularValues = Vector(s)
        rank = r
        self.relativeTolerance = relativeTolerance
        // Keep the first r columns of U and the first r rows of V^T.
        var ur = Matrix(rows: j.rows, cols: r)
        for row in 0..<j.rows { for c in 0..<r { ur.scalars[row * r + c] = u[row * k + c] } }
        basis = ur
        rightSingularVectors = Matrix(rows: r, cols: j.cols, unchecked: Array(vt[0..<(r * j.cols)]))
    }

    /// The tangent space of `generator` at the latent point z (see `init(jacobian:...)`).
    public init(of generator: Generator, at z: Vector,
                relativeTolerance: Double = TangentSpace.defaultRelativeTolerance,
                requireFullRank: Bool = true) throws {
        try self.init(jacobian: try generator.jacobian(z), relativeTolerance: relativeTolerance,
                      requireFullRank: requireFullRank)
    }

    /// Thin SVD of the row-major m x n matrix j: s (k), u (m x k), vt (k x n), k = min(m, n).
    private static func svd(_ j: Matrix, _ m: Int32, _ n: Int32, _ k: Int32, _ s: inout [Double],
                            _ u: inout [Double], _ vt: inout [Double], divideAndConquer: Bool) -> Int32 {
        var a = j.scalars   // overwritten by LAPACK
        var superb = [Double](repeating: 0, count: max(1, Int(k)))
        let jobS = LAPACKSupport.char("S")
        return a.withUnsafeMutableBufferPointer { pa in
            s.withUnsafeMutableBufferPointer { ps in
                u.withUnsafeMutableBufferPointer { pu in
                    vt.withUnsafeMutableBufferPointer { pvt in
                        divideAndConquer
                            ? LAPACKE_dgesdd(LAPACKSupport.rowMajor, jobS, m, n, pa.baseAddress, n,
                                             ps.baseAddress, pu.baseAddress, k, pvt.baseAddress, n)
                            : LAPACKE_dgesvd(LAPACKSupport.rowMajor, jobS, jobS, m, n, pa.baseAddress, n,
                                             ps.baseAddress, pu.baseAddress, k, pvt.baseAddress, n,
                                             &superb)
                    }
                }
            }
        }
    }

    /// The square root of the Gram determinant, sqrt(det J^T J) = s_1 ... s_d (0 when D < d).
    /// Equals the factor by which g scales d-dimensional volume at this point.
    public var volume: Double {
        singularValues.count < latentDim ? 0 : singularValues.scalars.reduce(1, *)
    }

    /// s_1 / s_d, the condition number of J; infinite when J is numerically rank deficient
    /// (`rank < latentDim`, by the same relative tolerance as everything else here, so the
    /// answer does not depend on the rounding of a tiny s_d). The metric's condition number is
    /// its square.
    public var conditionNumber: Double {
        guard rank == latentDim, let first = singularValues.scalars.first, singularValues.count == latentDim,
              let last = singularValues.scalars.last, last > 0 else { return .infinity }
        return first / last
    }

    // MARK: Batched maps (one vector per row; two dgemm calls each)

    private func checkRows(_ b: Matrix, _ cols: Int, _ what: String) throws {
        guard b.cols == cols else {
            throw GeoError.dimensionMismatch("\(what) takes vectors of length \(cols), got \(b.cols)")
        }
    }

    /// Multiplies column i of c by factor(s_i), in place.
    private func scaleColumns(_ c: inout Matrix, _ factor: (Double) -> Double) {
        let f = (0..<rank).map { factor(singularValues.scalars[$0]) }
        for row in 0..<c.rows { for i in 0..<rank { c.scalars[row * rank + i] *= f[i] } }
    }

    /// J^+ u for each row u of b ([k, D] -> [k, d]): the rows of b U S^-1 V^T.
    public func pseudoInverse(rows b: Matrix) throws -> Matrix {
        try checkRows(b, dataDim, "pseudoInverse")
        var c = try Matrix.product(b, basis)
        scaleColumns(&c) { 1 / $0 }
        return try Matrix.product(c, rightSingularVectors)
    }

    /// J J^+ u = U U^T u for each row u of b ([k, D] -> [k, D]): the orthogonal projection onto
    /// the tangent space.
    public func project(rows b: Matrix) throws -> Matrix {
        try checkRows(b, dataDim, "project")
        return try Matrix.product(try Matrix.product(b, basis), basis, transposeB: true)
    }

    /// (I - J J^+) u = u - U U^T u for each row u of b ([k, D] -> [k, D]): the part orthogonal
    /// to the tangent space (for second derivatives: the second fundamental form).
    public func normalPart(rows b: Matrix) throws -> Matrix {
        try checkRows(b, dataDim, "normalPart")
        var out = b
        try Matrix.gemm(try Matrix.product(b, basis), basis, transposeB: true, alpha: -1, beta: 1, into: &out)
        return out
    }

    /// (J^T J)^-1 b = V S^-2 V^T b for each row b ([k, d] -> [k, d]). Throws
    /// `GeoError.numerical` when the metric is singular (rank < d).
    public func solveMetric(rows b: Matrix) throws -> Matrix {
        try checkRows(b, latentDim, "solveMetric")
        guard rank == latentDim else {
            throw GeoError.numerical("the metric is singular at this point (rank \(rank) < \(latentDim))")
        }
        var c = try Matrix.product(b, rightSingularVectors, transposeB: true)
        scaleColumns(&c) { 1 / ($0 * $0) }
        return try Matrix.product(c, rightSingularVectors)
    }

    // MARK: Single vectors

    /// J^+ u (u of length D; result of length d).
    public func pseudoInverse(_ u: Vector) throws -> Vector { try pseudoInverse(rows: Matrix(row: u)).row(0) }
    /// J J^+ u (length D): the orthogonal projection of u onto the tangent space.
    public func project(_ u: Vector) throws -> Vector { try project(rows: Matrix(row: u)).row(0) }
    /// (I - J J^+) u (length D): the component of u normal to the tangent space.
    public func normalPart(_ u: Vector) throws -> Vector { try normalPart(rows: Matrix(row: u)).row(0) }
    /// (J^T J)^-1 b (b and result of length d).
    public func solveMetric(_ b: Vector) throws -> Vector { try solveMetric(rows: Matrix(row: b)).row(0) }
}
