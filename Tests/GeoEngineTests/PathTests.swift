import XCTest
@testable import GeoEngine

/// A linear generator g(z) = A z, for which lengths and energies have closed forms.
final class LinearMap: Generator {
    let a: Matrix
    init(_ a: Matrix) { self.a = a }
    var latentDim: Int { a.cols }
    var dataShape: [Int] { [a.rows] }
    func forward(_ z: Matrix) throws -> Matrix { try Matrix.product(z, a, transposeB: true) }
    func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        _ = try checkBatch(z, tangents: tangents)
        return (try forward(z), try Matrix.product(tangents, a, transposeB: true))
    }
    func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        _ = try checkBatch(z, tangents: cotangents, tangentCols: a.rows)
        return (try forward(z), try Matrix.product(cotangents, a))
    }
    func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        let (value, ju) = try jvp(z, tangents: u)
        return SecondOrderResult(value: value, ju: ju, jv: try jvp(z, tangents: v).tangents,
                                 d2: Matrix(rows: u.rows, cols: a.rows))
    }
}

final class PathTests: XCTestCase {
    func testLineLengthAndEnergyUnderALinearMap() throws {
        let g = LinearMap(try Matrix(rows: 3, cols: 2, scalars: [2, 0, 0, 3, 1, 1]))
        try assertDerivativesMatchFiniteDifferences(g, at: Vector([0.3, -0.2]))
        let a = Vector([1, 2]), b = Vector([-1, 0.5])
        let p = try Path.line(from: a, to: b, points: 11)
        XCTAssertEqual(p.count, 11)
        XCTAssertEqual(p.points[5], Vector([0, 1.25]))
        let chord = try g.decode(b) - g.decode(a)
        XCTAssertEqual(try p.length(on: g), chord.norm, accuracy: 1e-12)
        // Equal steps: E = L^2 / 2.
        XCTAssertEqual(try p.energy(on: g), chord.squaredNorm / 2, accuracy: 1e-12)
        XCTAssertEqual(try p.latentLength, try (b - a).norm, accuracy: 1e-12)
        XCTAssertEqual(try p.decode(on: g).rows, 11)
    }

    func testLineRejectsBadInput() {
        XCTAssertThrowsError(try Path.line(from: Vector([0, 0]), to: Vector([1]), points: 4))
        XCTAssertThrowsError(try Path.line(from: Vector([0]), to: Vector([1]), points: 1))
        XCTAssertThrowsError(try Path.line(from: Vector([.nan]), to: Vector([1]), points: 3))
    }
}
