import CBLAS

/// Dense symmetric positive definite solves by Cholesky factorisation (LAPACK dpotrf/dpotrs),
/// for the small d x d blocks of the geodesic solvers.
enum Cholesky {
    /// Solves A X = B in place for a symmetric positive definite n x n matrix A (row-major,
    /// overwritten by its Cholesky factor) and n x nrhs right-hand sides B (row-major,
    /// overwritten by X), with LAPACK dpotrf/dpotrs. Returns false when A is not positive
    /// definite or has non-finite entries.
    static func solve(_ a: inout [Double], _ n: Int, _ b: inout [Double], _ nrhs: Int) throws -> Bool {
        guard n > 0 else { return true }
        try BLAS.ready()
        guard a.allSatisfy({ $0.isFinite }), b.allSatisfy({ $0.isFinite }) else { return false }
        let lower = CChar(UInt8(ascii: "L"))
        let info = a.withUnsafeMutableBufferPointer { pa in
            LAPACKE_dpotrf(LAPACK_ROW_MAJOR, lower, Int32(n), pa.baseAddress, Int32(n))
        }
        guard info == 0 else { return false }
        let info2 = a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeMutableBufferPointer { pb in
                LAPACKE_dpotrs(LAPACK_ROW_MAJOR, lower, Int32(n), Int32(nrhs), pa.baseAddress, Int32(n),
                               pb.baseAddress, Int32(nrhs))
            }
        }
        return info2 == 0 && b.allSatisfy { $0.isFinite }
    }
}
