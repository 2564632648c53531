import Foundation

/// A dense vector of Doubles. A value type; indices are 0-based in Swift (Lua's are 1-based).
public struct Vector: Equatable, Hashable, CustomStringConvertible {
    public var scalars: [Double]

    public init(_ scalars: [Double]) { self.scalars = scalars }
    public init(zeros count: Int) { scalars = [Double](repeating: 0, count: max(0, count)) }
    public init(repeating value: Double, count: Int) {
        scalars = [Double](repeating: value, count: max(0, count))
    }

    public var count: Int { scalars.count }
    public subscript(i: Int) -> Double {
        get { scalars[i] }
        set { scalars[i] = newValue }
    }

    /// The most entries a vector (or a matrix) made from user input may have: 10^8.
    public static let maxCount = 100_000_000

    /// Checks a requested entry count against `maxCount` and the memory budget.
    public static func checkCount(_ n: Int) throws {
        try Setting.integer("size", n, in: 0...maxCount)
        try MemoryBudget.doubles(n, for: "a vector of \(n) entries")
    }

    /// Throws `GeoError.dimensionMismatch` unless `w` has as many entries as this vector.
    @inline(__always)
    func checkSameCount(_ w: Vector, _ op: String) throws {
        guard count == w.count else {
            throw GeoError.dimensionMismatch("cannot \(op) vectors of length \(count) and \(w.count)")
        }
    }

    /// Euclidean inner product; the counts must agree.
    public func dot(_ w: Vector) throws -> Double {
        try checkSameCount(w, "take the inner product of")
        var s = 0.0
        for i in 0..<count { s += scalars[i] * w.scalars[i] }
        return s
    }
    /// Euclidean norm, computed without overflow for large entries.
    public var norm: Double {
        let m = scalars.reduce(0.0) { max($0, abs($1)) }
        if m == 0 || !m.isFinite { return m == 0 ? 0 : m }
        var s = 0.0
        for x in scalars { let y = x / m; s += y * y }
        return m * s.squareRoot()
    }
    public var squaredNorm: Double { scalars.reduce(0.0) { $0 + $1 * $1 } }
    /// True when every entry is finite (no NaN or infinity).
    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }

    // Sums and differences refuse vectors of different lengths (GeoError.dimensionMismatch)
    // rather than silently dropping entries.
    public static func + (a: Vector, b: Vector) throws -> Vector {
        try a.checkSameCount(b, "add")
        return Vector(zip(a.scalars, b.scalars).map { $0 + $1 })
    }
    public static func - (a: Vector, b: Vector) throws -> Vector {
        try a.checkSameCount(b, "subtract")
        return Vector(zip(a.scalars, b.scalars).map { $0 - $1 })
    }
    public static prefix func - (a: Vector) -> Vector { Vector(a.scalars.map { -$0 }) }
    public static func * (s: Double, a: Vector) -> Vector { Vector(a.scalars.map { s * $0 }) }
    public static func * (a: Vector, s: Double) -> Vector { Vector(a.scalars.map { $0 * s }) }
    public static func / (a: Vector, s: Double) -> Vector { Vector(a.scalars.map { $0 / s }) }
    public static func += (a: inout Vector, b: Vector) throws {
        try a.checkSameCount(b, "add")
        for i in 0..<a.count { a.scalars[i] += b.scalars[i] }
    }
    public static func -= (a: inout Vector, b: Vector) throws {
        try a.checkSameCount(b, "subtract")
        for i in 0..<a.count { a.scalars[i] -= b.scalars[i] }
    }

    /// a + s * b, the BLAS axpy; the counts must agree.
    public func adding(_ b: Vector, scaledBy s: Double) throws -> Vector {
        try checkSameCount(b, "add")
        return Vector(zip(scalars, b.scalars).map { $0 + s * $1 })
    }

    public var description: String {
        "[" + scalars.map { formatNumber($0) }.joined(separator: ", ") + "]"
    }
}

/// Formats a Double the way Lua's `tostring` formats a float (`%.14g`).
public func formatNumber(_ x: Double) -> String {
    if x.isNaN { return x.sign == .minus ? "-nan" : "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    return String(format: "%.14g", x)
}
