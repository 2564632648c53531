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

    /// Euclidean inner product. Precondition (checked by callers): equal counts.
    public func dot(_ w: Vector) -> Double {
        var s = 0.0
        for i in 0..<min(count, w.count) { s += scalars[i] * w.scalars[i] }
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
    public var squaredNorm: Double { dot(self) }
    /// True when every entry is finite (no NaN or infinity).
    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }

    public static func + (a: Vector, b: Vector) -> Vector {
        Vector(zip(a.scalars, b.scalars).map { $0 + $1 })
    }
    public static func - (a: Vector, b: Vector) -> Vector {
        Vector(zip(a.scalars, b.scalars).map { $0 - $1 })
    }
    public static prefix func - (a: Vector) -> Vector { Vector(a.scalars.map { -$0 }) }
    public static func * (s: Double, a: Vector) -> Vector { Vector(a.scalars.map { s * $0 }) }
    public static func * (a: Vector, s: Double) -> Vector { Vector(a.scalars.map { $0 * s }) }
    public static func / (a: Vector, s: Double) -> Vector { Vector(a.scalars.map { $0 / s }) }
    public static func += (a: inout Vector, b: Vector) { for i in 0..<min(a.count, b.count) { a.scalars[i] += b.scalars[i] } }
    public static func -= (a: inout Vector, b: Vector) { for i in 0..<min(a.count, b.count) { a.scalars[i] -= b.scalars[i] } }

    /// a + s * b, the BLAS axpy.
    public func adding(_ b: Vector, scaledBy s: Double) -> Vector {
        Vector(zip(scalars, b.scalars).map { $0 + s * $1 })
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
