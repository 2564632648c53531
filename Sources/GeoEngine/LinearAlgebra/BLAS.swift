import CBLAS
import Synchronization

/// The one way into OpenBLAS's matrix product, and the guard in front of every BLAS and
/// LAPACK call.
///
/// OpenBLAS takes a work buffer per thread on its first use (in Debian's 0.3.21 build,
/// `bufferBytes` each) and keeps it. When that allocation fails, under an address-space limit
/// (`ulimit -v`), OpenBLAS 0.3.21 retries for ever, deaf to Ctrl-C (upstream issue 5289, fixed in
/// 0.3.30). So before the first BLAS call, `ready()` checks that the address space left holds
/// the buffers of every BLAS thread and then makes them all with one small product; what does
/// not fit is a `GeoError.outOfMemory`, never a hang. Once made, the buffers are reused and no
/// later call allocates.
enum BLAS {
    /// The size of one OpenBLAS work buffer in Debian's build (measured: 128 MB plus a page).
    static let bufferBytes = 134_221_824
    /// Address space to keep free beside the buffers (thread stacks, malloc's arenas).
    static let slack = 64 << 20

    private static let prepared = Atomic<Bool>(false)

    /// Makes sure OpenBLAS's work buffers exist (see the type's documentation). Cheap after the
    /// first success.
    static func ready() throws {
        if prepared.load(ordering: .acquiring) { return }
        let threads = max(1, Int(openblas_get_num_threads()))
        // Every thread's buffer.
        let need = threads * bufferBytes + slack
        if let left = MemoryBudget.addressSpaceLeft(reserve: 0), left < need {
            throw GeoError.outOfMemory(what: "OpenBLAS's work buffers (\(threads) thread\(threads == 1 ? "" : "s"))",
                                       needed: need, budget: left)
        }
        // A product large enough to run on every thread allocates every thread's buffer.
        let n = 256
        var a = [Double](repeating: 1, count: n * n), c = [Double](repeating: 0, count: n * n)
        a.withUnsafeMutableBufferPointer { pa in
            c.withUnsafeMutableBufferPointer { pc in
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                            pa.baseAddress, Int32(n), pa.baseAddress, Int32(n), 0, pc.baseAddress, Int32(n))
            }
        }
        prepared.store(true, ordering: .releasing)
    }

    /// OpenBLAS's thread count before the first `setThreads`.
    private static let initialThreads = max(1, Int(openblas_get_num_threads()))

    /// OpenBLAS's thread count now.
    static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets OpenBLAS's thread count to `n` (at least 1, at most the count it started with, whose
    /// buffers `ready` budgeted); `nil` restores that count.
    static func setThreads(_ n: Int?) {
        let t = min(initialThreads, max(1, n ?? initialThreads))
        openblas_set_num_threads(Int32(t))
    }

    /// Best effort at start-up, while the address space is still free: `ready()`, ignoring a
    /// failure (the first real BLAS call then reports it).
    public static func prepare() { try? ready() }
}

/// Prepares OpenBLAS's buffers at start-up (see `BLAS`); the REPL calls it once.
public func prepareLinearAlgebra() { BLAS.prepare() }

/// C = alpha op(A) op(B) + beta C on raw row-major storage (OpenBLAS dgemm): op(A) is m x k,
/// op(B) k x n, C m x n with leading dimensions lda, ldb, ldc. Empty products only scale C.
/// Throws instead of trapping when a dimension exceeds BLAS's 32-bit integers, and
/// `GeoError.outOfMemory` when OpenBLAS's buffers cannot be made (`BLAS.ready`).
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
    try BLAS.ready()
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                m32, n32, k32, alpha, a, lda32, b, ldb32, beta, c, ldc32)
}
