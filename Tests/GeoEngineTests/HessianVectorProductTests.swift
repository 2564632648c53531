import XCTest
@testable import GeoEngine

/// `Generator.hessianVectorProducts` on the analytic surfaces (the protocol's default) and
/// through the regularised metric: against central differences of VJPs and against the
/// contraction of second-order forward mode. The graph evaluator's own implementation is tested
/// in GraphTests and op by op in OpTestHelpers.
final class HessianVectorProductTests: XCTestCase {
    func check(_ g: Generator, points: [[Double]], file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = SeededRandom(seed: 17)
        let n = points.count, d = g.latentDim, k = 2
        let z = try Matrix(rowVectors: points.map { Vector($0) })
        let c = try Matrix(rows: n, cols: g.dataDim, scalars: (0..<(n * g.dataDim)).map { _ in rng.normal() })
        let u = try Matrix(rows: n * k, cols: d, scalars: (0..<(n * k * d)).map { _ in rng.normal() })
        var seen: Matrix?
        let r = try g.hessianVectorProducts(z, tangents: u) { values, _ in seen = values; return c }
        XCTAssertEqual(seen, try g.forward(z), "the cotangent closure sees g(z)", file: file, line: line)
        XCTAssertLessThan(relativeError(r.value.scalars, try g.forward(z).scalars), 1e-15, file: file, line: line)
        XCTAssertLessThan(relativeError(r.jvp.scalars, try g.jvp(z, tangents: u).tangents.scalars), 1e-14, file: file, line: line)
        XCTAssertLessThan(relativeError(r.gradient.scalars, try g.vjp(z, cotangents: c).cotangents.scalars), 1e-14, file: file, line: line)
        let h = 1e-5
        for p in 0..<n {
            let cp = Matrix(row: c.row(p))
            for j in 0..<k {
                let t = u.row(p * k + j)
                let plus = try g.vjp(Matrix(row: try z.row(p).adding(t, scaledBy: h)), cotangents: cp).cotangents.scalars
                let minus = try g.vjp(Matrix(row: try z.row(p).adding(t, scaledBy: -h)), cotangents: cp).cotangents.scalars
                let fd = zip(plus, minus).map { ($0 - $1) / (2 * h) }
                XCTAssertLessThan(relativeError(r.hvp.row(p * k + j).scalars, fd, floor: 1e-8), 1e-7,
                                  "point \(p), tangent \(j): HVP vs differences of VJPs", file: file, line: line)
                let tt = try Matrix(rowVectors: [Vector](repeating: t, count: d))
                let so = try g.secondOrder(Matrix(row: z.row(p)), u: Matrix.identity(d), v: tt)
                let contracted = (0..<d).map { a in (0..<g.dataDim).reduce(0.0) { $0 + cp.scalars[$1] * so.d2[a, $1] } }
                XCTAssertLessThan(relativeError(r.hvp.row(p * k + j).scalars, contracted, floor: 1e-12), 1e-12,
                                  "point \(p), tangent \(j): HVP vs contracted second order", file: file, line: line)
            }
        }
    }

    let surfacePoints: [[Double]] = [[0.3, -0.7], [1.2, 0.4], [-0.5, 2.1]]

    func testAnalyticSurfaces() throws {
        try check(try Sphere(radius: 1.5), points: surfacePoints)
        try check(try Torus(R: 2, r: 1), points: surfacePoints)
        try check(try Plane(dim: 2), points: surfacePoints)
        try check(Saddle(), points: surfacePoints)
        try check(try SwissRoll(a: 1, theta0: 2 * Double.pi), points: surfacePoints.map { [$0[0] + 3, $0[1]] })
    }

    func testRegularizedMetric() throws {
        try check(try RegularizedMetric(try Sphere(), lambda: 0.3), points: surfacePoints)
        try check(try RegularizedMetric(try GraphTests.network(seed: 4), lambda: 0.1),
                  points: [[0.2, -0.1, 0.5], [-0.4, 0.9, 0.3]])
    }
}
