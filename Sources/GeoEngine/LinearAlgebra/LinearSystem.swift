import CBLAS

/// General square linear systems A x = b by LU factorisation with partial pivoting
/// (LAPACKE_dgesv), for matrices with no symmetry to exploit.
///
/// A singular matrix throws `GeoError.numerical`: exactly singular when dgesv finds a zero
/// pivot (info > 0), numerically singular when LAPACK's estimate of the reciprocal 1-norm
/// condition number of A (LAPACKE_dgecon on the LU factors) is below machine epsilon 2.2e-16,
/// the criterion LAPACK's expert driver dgesvx uses: the solution would have no correct digit.
extension Matrix {
    /// Solves A x = b for each row b of `rows` ([k, n] -> [k, n]); self is the n x n matrix A.
    /// Throws `GeoError.dimensionMismatch` unless A is square and rows have n entries,
    /// `GeoError.invalidArgument` on a NaN or infinite entry, `GeoError.numerical` when A is
    /// singular.
    public func solve(rows b: Matrix) throws -> Matrix {
        let n = rows
        guard cols == n else {
            throw GeoError.dimensionMismatch("cannot solve with a non-square \(rows)x\(cols) matrix")
        }
        guard b.cols == n else {
            throw GeoError.dimensionMismatch("the matrix is \(n)x\(n), right-hand sides have \(b.cols) entries")
        }
        guard isFinite else { throw GeoError.invalidArgument("the matrix has a NaN or infinite entry") }
        guard b.isFinite else { throw GeoError.invalidArgument("the right-hand side has a NaN or infinite entry") }
        if n == 0 || b.rows == 0 { return b }
        let (n32, k32) = try LAPACKSupport.dimensions(n, b.rows, "the right-hand side")
        _ = try LAPACKSupport.dimensions(n, n, "the matrix")
        var a = scalars   // overwritten by the LU factors
        var x = b.transposed.scalars   // n x k, one right-hand side per column
        var pivots = [Int32](repeating: 0, count: n)
        let norm1 = LAPACKSupport.char("1")
        let anorm = a.withUnsafeBufferPointer {
            LAPACKE_dlange(LAPACKSupport.rowMajor, norm1, n32, n32, $0.baseAddress, n32)
        }
        let info = a.withUnsafeMutableBufferPointer { pa in
            x.withUnsafeMutableBufferPointer { px in
                pivots.withUnsafeMutableBufferPointer { pp in
                    LAPACKE_dgesv(LAPACKSupport.rowMajor, n32, k32, pa.baseAddress, n32, pp.baseAddress,
                                  px.baseAddress, k32)
                }
            }
        }
        if info > 0 {
            throw GeoError.numerical("the matrix is singular (pivot \(info) of its LU factorisation is zero)")
        }
        guard info == 0 else { throw GeoError.numerical("linear solve failed (LAPACK info \(info))") }
        var rcond = 0.0
        let cinfo = a.withUnsafeBufferPointer {
            LAPACKE_dgecon(LAPACKSupport.rowMajor, norm1, n32, $0.baseAddress, n32, anorm, &rcond)
        }
        guard cinfo == 0, rcond >= Double.ulpOfOne else {
            throw GeoError.numerical("the matrix is numerically singular (reciprocal condition number \(formatNumber(rcond)))")
        }
        return Matrix(rows: n, cols: b.rows, unchecked: x).transposed
    }

    /// Solves A x = b (see `solve(rows:)`).
    public func solve(_ b: Vector) throws -> Vector {
        try solve(rows: Matrix(row: b)).row(0)
    }
}
