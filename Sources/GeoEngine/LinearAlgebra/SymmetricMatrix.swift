import CBLAS

/// A real symmetric n x n matrix (a metric M = J^T J, a Hessian, a covariance), with the
/// LAPACK solvers that exploit symmetry:
///     solvePositiveDefinite  A x = b by Cholesky factorisation A = L L^T (LAPACKE_dposv)
///     eigenDecomposition     A = Q diag(lambda) Q^T (LAPACKE_dsyevd, divide and conquer)
///
/// Construction checks that the matrix is square, finite and symmetric to a relative tolerance
/// (|A_ij - A_ji| <= symmetryTolerance * max |A_kl|, default 1e-10, which admits the rounding
/// of products such as J^T J) and stores the exactly symmetric (A + A^T) / 2.
///
/// Singularity: Cholesky fails with a thrown `GeoError.numerical` when a leading minor is not
/// positive (the matrix is not positive definite), and also when it succeeds but LAPACK's
/// estimate of the reciprocal 1-norm condition number (LAPACKE_dpocon) is below machine
/// epsilon 2.2e-16 (the criterion LAPACK's expert drivers dposvx/dgesvx use to flag a
/// numerically singular matrix): the solution would have no correct digits.
public struct SymmetricMatrix {
    /// Off-diagonal asymmetry allowed relative to the largest entry (1e-10).
    public static let defaultSymmetryTolerance = 1e-10

    /// The symmetric matrix, n x n.
    public let matrix: Matrix
    /// n, the number of rows and columns.
    public var size: Int { matrix.rows }

    /// Checks and symmetrises `a`. Throws `GeoError.dimensionMismatch` unless a is square,
    /// `GeoError.invalidArgument` when it has a NaN or infinite entry or is not symmetric.
    public init(_ a: Matrix, symmetryTolerance: Double = SymmetricMatrix.defaultSymmetryTolerance) throws {
        guard a.rows == a.cols else {
            throw GeoError.dimensionMismatch("a symmetric matrix must be square, got \(a.rows)x\(a.cols)")
        }
        guard a.isFinite else { throw GeoError.invalidArgument("the matrix has a NaN or infinite entry") }
        _ = try LAPACKSupport.dimensions(a.rows, a.cols, "the matrix")
        let n = a.rows
        let scale = a.scalars.reduce(0) { max($0, abs($1)) }
        var s = a
        for i in 0..<n {
            for j in (i + 1)..<max(i + 1, n) {
                let x = a.scalars[i * n + j], y = a.scalars[j * n + i]
                guard abs(x - y) <= symmetryTolerance * scale else {
                    throw GeoError.invalidArgument("the matrix is not symmetric: entry (\(i + 1),\(j + 1)) is \(formatNumber(x)) but (\(j + 1),\(i + 1)) is \(formatNumber(y))")
                }
                let mean = (x + y) / 2
                s.scalars[i * n + j] = mean; s.scalars[j * n + i] = mean
            }
        }
        matrix = s
    }

    /// Solves A x = b for each row b of `rows` ([k, n] -> [k, n]) by Cholesky factorisation.
    /// Throws `GeoError.numerical` when A is not positive definite or numerically singular
    /// (see the type's documentation), `GeoError.dimensionMismatch` on a wrong row length,
    /// `GeoError.invalidArgument` on a non-finite right-hand side.
    public func solvePositiveDefinite(rows b: Matrix) throws -> Matrix {
        let n = size
        guard b.cols == n else {
            throw GeoError.dimensionMismatch("the matrix is \(n)x\(n), right-hand sides have \(b.cols) entries")
        }
        guard b.isFinite else { throw GeoError.invalidArgument("the right-hand side has a NaN or infinite entry") }
        if n == 0 || b.rows == 0 { return b }
        let (n32, k32) = try LAPACKSupport.dimensions(n, b.rows, "the right-hand side")
        var a = matrix.scalars
        var x = b.transposed.scalars   // n x k, one right-hand side per column
        let upper = LAPACKSupport.char("U")
        let anorm = a.withUnsafeBufferPointer {
            LAPACKE_dlansy(LAPACKSupport.rowMajor, LAPACKSupport.char("1"), upper, n32, $0.baseAddress, n32)
        }
        let info = a.withUnsafeMutableBufferPointer { pa in
            x.withUnsafeMutableBufferPointer { px in
                LAPACKE_dposv(LAPACKSupport.rowMajor, upper, n32, k32, pa.baseAddress, n32, px.baseAddress, k32)
            }
        }
        if info > 0 {
            throw GeoError.numerical("the matrix is not positive definite (its leading \(info)x\(info) minor is not positive)")
        }
        guard info == 0 else { throw GeoError.numerical("Cholesky solve failed (LAPACK info \(info))") }
        var rcond = 0.0
        let cinfo = a.withUnsafeBufferPointer {
            LAPACKE_dpocon(LAPACKSupport.rowMajor, upper, n32, $0.baseAddress, n32, anorm, &rcond)
        }
        guard cinfo == 0, rcond >= Double.ulpOfOne else {
            throw GeoError.numerical("the matrix is numerically singular (reciprocal condition number \(formatNumber(rcond)))")
        }
        return Matrix(rows: n, cols: b.rows, unchecked: x).transposed
    }

    /// Solves A x = b by Cholesky factorisation (see `solvePositiveDefinite(rows:)`).
    public func solvePositiveDefinite(_ b: Vector) throws -> Vector {
        try solvePositiveDefinite(rows: Matrix(row: b)).row(0)
    }

    /// The eigenvalues (ascending) and orthonormal eigenvectors: A = Q diag(lambda) Q^T.
    /// Throws `GeoError.numerical` if the algorithm does not converge (LAPACK info > 0).
    public func eigenDecomposition() throws -> SymmetricEigenDecomposition {
        let n = size
        if n == 0 { return SymmetricEigenDecomposition(values: Vector([]), vectors: Matrix(rows: 0, cols: 0)) }
        let (n32, _) = try LAPACKSupport.dimensions(n, n, "the matrix")
        var a = matrix.scalars   // overwritten by the eigenvectors, one per column
        var w = [Double](repeating: 0, count: n)
        let info = a.withUnsafeMutableBufferPointer { pa in
            w.withUnsafeMutableBufferPointer { pw in
                LAPACKE_dsyevd(LAPACKSupport.rowMajor, LAPACKSupport.char("V"), LAPACKSupport.char("U"),
                               n32, pa.baseAddress, n32, pw.baseAddress)
            }
        }
        guard info == 0 else {
            throw GeoError.numerical("the symmetric eigenvalue algorithm failed (LAPACK info \(info))")
        }
        return SymmetricEigenDecomposition(values: Vector(w), vectors: Matrix(rows: n, cols: n, unchecked: a))
    }
}
