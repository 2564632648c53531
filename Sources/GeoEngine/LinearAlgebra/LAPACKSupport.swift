import CBLAS

/// Small shared pieces for calling LAPACKE (32-bit `lapack_int`, row-major layout).
enum LAPACKSupport {
    /// LAPACKE's row-major layout flag (LAPACK_ROW_MAJOR = 101).
    static let rowMajor = Int32(LAPACK_ROW_MAJOR)

    /// A LAPACK character argument ("N", "S", "U", "V", "1", ...).
    static func char(_ c: Unicode.Scalar) -> CChar { CChar(truncatingIfNeeded: c.value) }

    /// Converts a matrix shape to LAPACK's 32-bit integers. Throws `GeoError.invalidArgument`
    /// when the matrix has more than Int32.max entries (reference LAPACK indexes with 32-bit
    /// integers), instead of trapping on the conversion.
    static func dimensions(_ rows: Int, _ cols: Int, _ what: String) throws -> (Int32, Int32) {
        try BLAS.ready()   // LAPACK runs on OpenBLAS
        let (count, overflow) = rows.multipliedReportingOverflow(by: cols)
        guard rows >= 0, cols >= 0, !overflow, count <= Int(Int32.max) else {
            throw GeoError.invalidArgument("\(what) is too large for LAPACK (\(rows)x\(cols))")
        }
        return (Int32(rows), Int32(cols))
    }
}
