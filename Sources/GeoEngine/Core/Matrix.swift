import CBLAS

/// A dense row-major matrix of Doubles. Batches of points are matrices with one point per row.
public struct Matrix: Equatable, CustomStringConvertible {
    public let rows: Int
    public let cols: Int
    /// Row-major entries: element (i, j) is `scalars[i * cols + j]`.
    public var scalars: [Double]

    /// A rows x cols matrix of zeros.
    public init(rows: Int, cols: Int) {
        self.rows = max(0, rows); self.cols = max(0, cols)
        scalars = [Double](repeating: 0, count: self.rows * self.cols)
    }
    /// Wraps row-major `scalars`; throws when the count is not rows * cols.
    public init(rows: Int, cols: Int, scalars: [Double]) throws {
        guard rows >= 0, cols >= 0, scalars.count == rows * cols else {
            throw GeoError.dimensionMismatch("a \(rows)x\(cols) matrix needs \(max(0, rows * cols)) entries, got \(scalars.count)")
        }
        self.rows = rows; self.cols = cols; self.scalars = scalars
    }
    /// Internal unchecked initialiser for code that has already established the count.
    init(rows: Int, cols: Int, unchecked scalars: [Double]) {
        self.rows = rows; self.cols = cols; self.scalars = scalars
    }
    /// Checks a requested shape from user input: at most `Vector.maxCount` entries, within the
    /// memory budget.
    public static func checkShape(rows: Int, cols: Int) throws {
        guard let n = MemoryBudget.product([rows, cols]) else {
            throw GeoError.invalidSetting(name: "size", requirement: "at most \(Vector.maxCount) entries", got: "\(rows)x\(cols)")
        }
        try Setting.integer("size", n, in: 0...Vector.maxCount)
        try MemoryBudget.doubles(n, for: "a \(rows)x\(cols) matrix")
    }

    /// The n x n identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<max(0, n) { m.scalars[i * n + i] = 1 }
        return m
    }
    /// A matrix with the given vectors as rows (all of equal length).
    public init(rowVectors: [Vector]) throws {
        let c = rowVectors.first?.count ?? 0
        guard rowVectors.allSatisfy({ $0.count == c }) else {
            throw GeoError.dimensionMismatch("rows of different lengths")
        }
        self.init(rows: rowVectors.count, cols: c, unchecked: rowVectors.flatMap { $0.scalars })
    }
    /// A 1 x n matrix holding one point.
    public init(row v: Vector) { self.init(rows: 1, cols: v.count, unchecked: v.scalars) }

    public subscript(i: Int, j: Int) -> Double {
        get { scalars[i * cols + j] }
        set { scalars[i * cols + j] = newValue }
    }
    /// Row i as a vector.
    public func row(_ i: Int) -> Vector { Vector(Array(scalars[(i * cols)..<((i + 1) * cols)])) }
    /// Column j as a vector.
    public func column(_ j: Int) -> Vector { Vector((0..<rows).map { scalars[$0 * cols + j] }) }
    /// Replaces row i.
    public mutating func setRow(_ i: Int, _ v: Vector) {
        for j in 0..<cols { scalars[i * cols + j] = v.scalars[j] }
    }
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for i in 0..<rows { for j in 0..<cols { t.scalars[j * rows + i] = scalars[i * cols + j] } }
        return t
    }
    /// Each row repeated k times in place: rows r0,r0,..,r1,r1,.. (for k tangents per point).
    public func repeatingRows(_ k: Int) -> Matrix {
        var out = [Double](); out.reserveCapacity(rows * cols * k)
        for i in 0..<rows { let r = scalars[(i * cols)..<((i + 1) * cols)]; for _ in 0..<k { out.append(contentsOf: r) } }
        return Matrix(rows: rows * k, cols: cols, unchecked: out)
    }
    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }

    public var description: String {
        (0..<rows).map { i in (0..<cols).map { formatNumber(self[i, $0]) }.joined(separator: " ") }
            .joined(separator: "\n")
    }

    // MARK: Products (OpenBLAS dgemm / dgemv)

    /// C = alpha * op(A) op(B) + beta * C, op = transpose when the flag is set. Shapes are checked.
    public static func gemm(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
                            alpha: Double = 1, beta: Double = 0, into c: inout Matrix) throws {
        let m = transposeA ? a.cols : a.rows, k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows, n = transposeB ? b.rows : b.cols
        guard k == kb, c.rows == m, c.cols == n else {
            throw GeoError.dimensionMismatch("cannot multiply \(m)x\(k) by \(kb)x\(n) into \(c.rows)x\(c.cols)")
        }
        try a.scalars.withUnsafeBufferPointer { pa in
            try b.scalars.withUnsafeBufferPointer { pb in
                try c.scalars.withUnsafeMutableBufferPointer { pc in
                    try dgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: alpha,
                              pa.baseAddress, lda: a.cols, pb.baseAddress, ldb: b.cols, beta: beta, pc.baseAddress, ldc: c.cols)
                }
            }
        }
    }
    /// op(A) op(B) as a new matrix.
    public static func product(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false) throws -> Matrix {
        var c = Matrix(rows: transposeA ? a.cols : a.rows, cols: transposeB ? b.rows : b.cols)
        try gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
        return c
    }
    /// A v.
    public func apply(_ v: Vector) throws -> Vector {
        guard v.count == cols else { throw GeoError.dimensionMismatch("matrix has \(cols) columns, vector has \(v.count) entries") }
        return Vector(try Matrix.product(self, Matrix(rows: cols, cols: 1, unchecked: v.scalars)).scalars)
    }
    /// A^T v.
    public func applyTransposed(_ v: Vector) throws -> Vector {
        guard v.count == rows else { throw GeoError.dimensionMismatch("matrix has \(rows) rows, vector has \(v.count) entries") }
        return Vector(try Matrix.product(self, transposeA: true, Matrix(rows: rows, cols: 1, unchecked: v.scalars)).scalars)
    }

    public static func + (a: Matrix, b: Matrix) throws -> Matrix {
        guard a.rows == b.rows, a.cols == b.cols else { throw GeoError.dimensionMismatch("cannot add \(a.rows)x\(a.cols) and \(b.rows)x\(b.cols)") }
        return Matrix(rows: a.rows, cols: a.cols, unchecked: zip(a.scalars, b.scalars).map { $0 + $1 })
    }
    public static func - (a: Matrix, b: Matrix) throws -> Matrix {
        guard a.rows == b.rows, a.cols == b.cols else { throw GeoError.dimensionMismatch("cannot subtract \(b.rows)x\(b.cols) from \(a.rows)x\(a.cols)") }
        return Matrix(rows: a.rows, cols: a.cols, unchecked: zip(a.scalars, b.scalars).map { $0 - $1 })
    }
    public static func * (s: Double, a: Matrix) -> Matrix {
        Matrix(rows: a.rows, cols: a.cols, unchecked: a.scalars.map { s * $0 })
    }
}
