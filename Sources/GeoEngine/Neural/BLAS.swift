import CBLAS

/// C = alpha op(A) op(B) + beta C on raw row-major storage (OpenBLAS dgemm): op(A) is m x k,
/// op(B) k x n, C m x n with leading dimensions lda, ldb, ldc. Empty products only scale C.
/// Throws instead of trapping when a dimension exceeds BLAS's 32-bit integers.
func dgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Double = 1,
           _ a: UnsafePointer<Double>?, lda: Int, _ b: UnsafePointer<Double>?, ldb: Int,
           beta: Double = 0, _ c: UnsafeMutablePointer<Double>?, ldc: Int) throws {
    guard m > 0, n > 0, let c = c else { return }
    guard k > 0, let a = a, let b = b else {
        if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } } }
        return
    }
    guard let m32 = Int32(exactly: m), let n32 = Int32(exactly: n), let k32 = Int32(exactly: k),
          let lda32 = Int32(exactly: max(1, lda)), let ldb32 = Int32(exactly: max(1, ldb)),
          let ldc32 = Int32(exactly: max(1, ldc)) else {
        throw GeoError.dimensionMismatch("matrix product \(m)x\(k)x\(n) is too large for BLAS")
    }
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                m32, n32, k32, alpha, a, lda32, b, ldb32, beta, c, ldc32)
}

/// The number of points processed together by the convolution kernels: enough that the column
/// buffer (patch * grid entries per point) holds about `budget` doubles (4 MB), at least one.
func convolutionChunk(rows: Int, perRow: Int, budget: Int = 1 << 19) -> Int {
    max(1, min(rows, budget / max(1, perRow)))
}

/// The largest stride or padding a convolution accepts (keeps shape arithmetic far from overflow).
let maxConvolutionParameter = 1 << 16

/// The most features one point may have after any layer (2^26 doubles, 512 MB per row), and the
/// most entries of one point's convolution column matrix: model files asking for more are
/// rejected at construction rather than failing to allocate later.
let maxFeaturesPerPoint = 1 << 26

/// Runs `body` with the base address of a non-empty array (throws for an empty one).
func withBase<R>(_ a: [Double], _ body: (UnsafePointer<Double>) throws -> R) throws -> R {
    try a.withUnsafeBufferPointer { p in
        guard let b = p.baseAddress, !p.isEmpty else { throw GeoError.dimensionMismatch("empty operand") }
        return try body(b)
    }
}

/// Runs `body` with uninitialised scratch storage for `count` Doubles.
func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Double>) throws -> R) throws -> R {
    try withUnsafeTemporaryAllocation(of: Double.self, capacity: max(1, count)) { buffer in
        guard let b = buffer.baseAddress else { throw GeoError.dimensionMismatch("no scratch storage") }
        return try body(b)
    }
}
