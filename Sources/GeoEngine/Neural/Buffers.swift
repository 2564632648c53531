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
