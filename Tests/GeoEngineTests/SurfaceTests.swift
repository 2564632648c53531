import XCTest
import Foundation
@testable import GeoEngine

final class SurfaceTests: XCTestCase {
    /// Every surface under test, with latent points that avoid coordinate singularities.
    func surfacesAndPoints() throws -> [(Generator, [Vector])] {
        [
            (try Sphere(), [Vector([0.7, 0.3]), Vector([1.2, -2]), Vector([2.5, 4])]),
            (try Sphere(radius: 2.5), [Vector([0.4, 1.0]), Vector([2.9, -0.5])]),
            (try Torus(), [Vector([0, 0]), Vector([1.1, 0.4]), Vector([-2.5, 3]), Vector([3.1, -1])]),
            (try Torus(R: 3, r: 0.5), [Vector([0.9, 2.2]), Vector([2, -4])]),
            (try Plane(), [Vector([0, 0]), Vector([1.5, -2])]),
            (try Plane(dim: 3), [Vector([0.3, -1, 2])]),
            (Saddle(), [Vector([0, 0]), Vector([0.5, -0.3]), Vector([1.5, 2])]),
            (try SwissRoll(), [Vector([0, 0]), Vector([3, 1]), Vector([-10, 2]), Vector([-21, 0.5]),
                               Vector([-30, -1]), Vector([50, -1])]),
            (try SwissRoll(a: 0.3, theta0: 4), [Vector([0, 0]), Vector([2, 5]), Vector([-3, 1])]),
        ]
    }

    func testDerivativesMatchFiniteDifferences() throws {
        for (g, points) in try surfacesAndPoints() {
            for (i, z) in points.enumerated() {
                try assertDerivativesMatchFiniteDifferences(g, at: z, seed: UInt64(i + 1))
            }
        }
    }

    func assertMetric(_ g: Generator, at z: Vector, equals expected: [Double], accuracy: Double,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let m = try g.metric(z)
        XCTAssertEqual(m.scalars.count, expected.count, file: file, line: line)
        for (x, e) in zip(m.scalars, expected) {
            XCTAssertEqual(x, e, accuracy: accuracy, "metric at \(z)", file: file, line: line)
        }
    }

    func testSphereMetric() throws {
        for r in [1.0, 2.5] {
            let g = try Sphere(radius: r)
            for z in [Vector([0.7, 0.3]), Vector([1.2, -2]), Vector([2.5, 4]), Vector([0, 1])] {
                let st = sin(z[0])
                try assertMetric(g, at: z, equals: [r * r, 0, 0, r * r * st * st], accuracy: 1e-12)
            }
            XCTAssertEqual(try g.decode(Vector([0.7, 0.3])).norm, r, accuracy: 1e-14)
        }
    }

    func testTorusMetric() throws {
        for (bigR, r) in [(2.0, 1.0), (3.0, 0.5)] {
            let g = try Torus(R: bigR, r: r)
            for z in [Vector([0, 0]), Vector([1.1, 0.4]), Vector([-2.5, 3]), Vector([.pi, 1])] {
                let w = bigR + r * cos(z[0])
                try assertMetric(g, at: z, equals: [r * r, 0, 0, w * w], accuracy: 1e-12)
            }
        }
    }

    func testPlaneAndSaddleMetric() throws {
        try assertMetric(try Plane(), at: Vector([0.3, -4]), equals: [1, 0, 0, 1], accuracy: 0)
        try assertMetric(try Plane(dim: 3), at: Vector([1, 2, 3]), equals: [1, 0, 0, 0, 1, 0, 0, 0, 1], accuracy: 0)
        XCTAssertEqual(try Plane(dim: 3).decode(Vector([1, 2, 3])), Vector([1, 2, 3, 0]))
        let x = 0.5, y = -0.3
        try assertMetric(Saddle(), at: Vector([x, y]),
                         equals: [1 + 4 * x * x, -4 * x * y, -4 * x * y, 1 + 4 * y * y], accuracy: 1e-14)
    }

    func testSwissRollIsIsometric() throws {
        for g in [try SwissRoll(), try SwissRoll(a: 0.3, theta0: 4), try SwissRoll(a: 5, theta0: -1)] {
            for s in stride(from: -60.0, through: 60.0, by: 2.5) {
                for h in [-3.0, 0, 7] {
                    try assertMetric(g, at: Vector([s, h]), equals: [1, 0, 0, 1], accuracy: 1e-10)
                }
            }
        }
    }

    func testSwissRollArcLengthInverse() throws {
        let g = try SwissRoll()
        XCTAssertEqual(g.angle(atArcLength: 0), 2 * .pi, accuracy: 1e-14)
        XCTAssertEqual(g.angle(atArcLength: -g.arcLengthOffset), 0, accuracy: 1e-14)
        var rng = SeededRandom(seed: 3)
        for _ in 0..<500 {
            let s = 200 * (rng.uniform() - 0.5)
            let theta = g.angle(atArcLength: s)
            XCTAssertEqual(g.arcLength(atAngle: theta), s, accuracy: 1e-12 * max(1, abs(s)))
        }
        // Tiny, huge and non-finite arguments terminate with sensible answers.
        XCTAssertEqual(SwissRoll.inverseHalfArcLength(1e-300) / 1e-300, 1, accuracy: 1e-14)
        XCTAssertEqual(SwissRoll.inverseHalfArcLength(-1e-20), -1e-20, accuracy: 1e-34)
        let big = SwissRoll.inverseHalfArcLength(1e200)
        XCTAssertEqual(SwissRoll.halfArcLength(big) / 1e200, 1, accuracy: 1e-14)
        XCTAssertTrue(SwissRoll.inverseHalfArcLength(.nan).isNaN)
        XCTAssertEqual(SwissRoll.inverseHalfArcLength(-.infinity), -.infinity)
        // Nearby latent points are as far apart in R^3 as in the plane (to second order).
        let z = Vector([4, 1]), dz = Vector([3e-4, -4e-4])
        let dist = (try g.decode(z + dz) - (try g.decode(z))).norm
        XCTAssertEqual(dist, dz.norm, accuracy: 1e-9)
    }

    func testInvalidParametersThrow() {
        XCTAssertThrowsError(try Sphere(radius: -1)) {
            XCTAssertEqual($0 as? GeoError, .invalidSetting(name: "radius", requirement: "a positive number", got: "-1"))
        }
        XCTAssertThrowsError(try Sphere(radius: 0))
        XCTAssertThrowsError(try Sphere(radius: .nan))
        XCTAssertThrowsError(try Sphere(radius: .infinity))
        XCTAssertThrowsError(try Torus(R: 1, r: 2)) {
            XCTAssertEqual(($0 as? GeoError)?.description, "r must be smaller than R = 1 (the tube radius), got 2")
        }
        XCTAssertThrowsError(try Torus(R: 1, r: 1))
        XCTAssertThrowsError(try Torus(R: 2, r: 0))
        XCTAssertThrowsError(try Torus(R: -3, r: 1))
        XCTAssertThrowsError(try Torus(R: .nan, r: 1))
        XCTAssertThrowsError(try Plane(dim: 0)) {
            XCTAssertEqual(($0 as? GeoError)?.description, "dim must be an integer from 1 to 4096, got 0")
        }
        XCTAssertThrowsError(try Plane(dim: 1_000_000))
        XCTAssertThrowsError(try SwissRoll(a: 0))
        XCTAssertThrowsError(try SwissRoll(a: -2))
        XCTAssertThrowsError(try SwissRoll(theta0: .infinity))
    }

    func testShapeErrorsThrow() throws {
        for (g, _) in try surfacesAndPoints() {
            let d = g.latentDim, dd = g.dataDim
            func isMismatch(_ e: Error) -> Bool {
                if case .dimensionMismatch = e as? GeoError { return true } else { return false }
            }
            XCTAssertThrowsError(try g.forward(Matrix(rows: 1, cols: d + 1))) { XCTAssertTrue(isMismatch($0)) }
            XCTAssertThrowsError(try g.decode(Vector(zeros: d + 1))) { XCTAssertTrue(isMismatch($0)) }
            XCTAssertThrowsError(try g.jacobian(Vector(zeros: d - 1))) { XCTAssertTrue(isMismatch($0)) }
            XCTAssertThrowsError(try g.jvp(Matrix(rows: 2, cols: d), tangents: Matrix(rows: 3, cols: d))) { XCTAssertTrue(isMismatch($0)) }
            XCTAssertThrowsError(try g.jvp(Matrix(rows: 1, cols: d), tangents: Matrix(rows: 1, cols: dd))) { XCTAssertTrue(isMismatch($0)) }
            XCTAssertThrowsError(try g.vjp(Matrix(rows: 1, cols: d), cotangents: Matrix(rows: 1, cols: d))) { XCTAssertTrue(isMismatch($0)) }
            XCTAssertThrowsError(try g.secondOrder(Matrix(rows: 1, cols: d), u: Matrix(rows: 2, cols: d),
                                                   v: Matrix(rows: 1, cols: d))) { XCTAssertTrue(isMismatch($0)) }
            // Non-finite latent points are rejected, never propagated or looped on.
            var bad = Matrix(rows: 2, cols: d); bad[1, 0] = .nan
            XCTAssertThrowsError(try g.forward(bad)) { XCTAssertFalse(isMismatch($0)) }
            bad[1, 0] = .infinity
            XCTAssertThrowsError(try g.jvp(bad, tangents: Matrix(rows: 2, cols: d)))
            XCTAssertThrowsError(try g.secondOrder(bad, u: Matrix(rows: 2, cols: d), v: Matrix(rows: 2, cols: d)))
            // Empty batches are fine.
            XCTAssertEqual(try g.forward(Matrix(rows: 0, cols: d)).rows, 0)
        }
    }

    func testBatchesWithSeveralTangentsPerPoint() throws {
        let g = try Torus()
        let z = try Matrix(rowVectors: [Vector([0.3, 1]), Vector([2, -1])])
        let t = try Matrix(rowVectors: [Vector([1, 0]), Vector([0, 1]), Vector([1, 0]), Vector([0, 1])])
        let (_, jt) = try g.jvp(z, tangents: t)
        let j0 = try g.jacobian(z.row(0)), j1 = try g.jacobian(z.row(1))
        XCTAssertEqual(jt.row(0), j0.column(0)); XCTAssertEqual(jt.row(1), j0.column(1))
        XCTAssertEqual(jt.row(2), j1.column(0)); XCTAssertEqual(jt.row(3), j1.column(1))
        let so = try g.secondOrder(z, u: t, v: t)
        XCTAssertEqual(so.ju, jt)
        // d2g/dp2 at t = 2: -(R + r cos t) (cos p, sin p, 0).
        let w = 2 + cos(2.0)
        XCTAssertEqual(so.d2.row(3)[0], -w * cos(-1.0), accuracy: 1e-14)
        XCTAssertEqual(so.d2.row(3)[1], -w * sin(-1.0), accuracy: 1e-14)
    }

    /// The sectional curvature of the plane spanned by u, v at z by the Gauss equation,
    /// K = (<II(u,u), II(v,v)> - |II(u,v)|^2) / (|Ju|^2 |Jv|^2 - <Ju,Jv>^2),
    /// II(u, v) = (I - J J^+) D2g(z)[u, v], from the surface's exact second derivatives and the
    /// TangentSpace projection. (Test-only: validates both; the engine's curvature module is
    /// separate.)
    func gaussEquationCurvature(_ g: Generator, at z: Vector, _ u: Vector, _ v: Vector) throws -> Double {
        let so = try g.secondOrder(Matrix(row: z), u: try Matrix(rowVectors: [u, v, u]),
                                   v: try Matrix(rowVectors: [u, v, v]))
        let ii = try TangentSpace(of: g, at: z).normalPart(rows: so.d2)
        let ju = so.ju.row(0), jv = so.ju.row(1)
        let numerator = try ii.row(0).dot(ii.row(1)) - ii.row(2).squaredNorm
        let denominator = try ju.squaredNorm * jv.squaredNorm - ju.dot(jv) * ju.dot(jv)
        return numerator / denominator
    }

    func testGaussCurvatureFromSecondDerivatives() throws {
        var rng = SeededRandom(seed: 17)
        let cases: [(Generator, (Vector) throws -> Double, [Vector])] = [
            (try Sphere(), { _ in 1 }, [Vector([0.7, 0.3]), Vector([2.5, 4]), Vector([1e-3, 1])]),
            (try Sphere(radius: 2.5), { _ in 1 / 6.25 }, [Vector([0.4, 1.0]), Vector([2.9, -0.5])]),
            (try Torus(), { z in cos(z[0]) / (2 + cos(z[0])) },
             [Vector([0, 0]), Vector([1.1, 0.4]), Vector([.pi / 2, 1]), Vector([.pi, -2]), Vector([-2.5, 3])]),
            (try Torus(R: 3, r: 0.5), { z in cos(z[0]) / (0.5 * (3 + 0.5 * cos(z[0]))) }, [Vector([0.9, 2.2]), Vector([2, -4])]),
            (Saddle(), { z in -4 / pow(1 + 4 * z[0] * z[0] + 4 * z[1] * z[1], 2) },
             [Vector([0, 0]), Vector([0.5, -0.3]), Vector([1.5, 2])]),
            (try Plane(), { _ in 0 }, [Vector([0, 0]), Vector([1.5, -2])]),
            (try Plane(dim: 3), { _ in 0 }, [Vector([0.3, -1, 2])]),
            (try SwissRoll(), { _ in 0 }, [Vector([0, 0]), Vector([3, 1]), Vector([-21, 0.5]), Vector([-30, -1]), Vector([50, -1])]),
            (try SwissRoll(a: 0.3, theta0: 4), { _ in 0 }, [Vector([0, 0]), Vector([-3, 1])]),
        ]
        for (g, expected, points) in cases {
            let d = g.latentDim
            for z in points {
                let k = try expected(z)
                // The engine's own ground truth agrees with the closed forms written here.
                if let s = g as? Sphere { XCTAssertEqual(try s.gaussCurvature(at: z), k, accuracy: 1e-15) }
                if let t = g as? Torus { XCTAssertEqual(try t.gaussCurvature(at: z), k, accuracy: 1e-15) }
                if let s = g as? Saddle { XCTAssertEqual(try s.gaussCurvature(at: z), k, accuracy: 1e-15) }
                var e1 = Vector(zeros: d), e2 = Vector(zeros: d); e1[0] = 1; e2[1] = 1
                let kCoordinate = try gaussEquationCurvature(g, at: z, e1, e2)
                XCTAssertEqual(kCoordinate, k, accuracy: 1e-8 * max(1, abs(k)), "\(g) at \(z)")
                // A 2-surface has one sectional curvature: any non-parallel pair gives it.
                let kRandom = try gaussEquationCurvature(g, at: z, rng.normalVector(d), rng.normalVector(d))
                if d == 2 {
                    XCTAssertEqual(kRandom, k, accuracy: 1e-8 * max(1, abs(k)), "\(g) at \(z), random plane")
                } else {
                    XCTAssertEqual(kRandom, 0, accuracy: 1e-8, "\(g) at \(z), random plane")
                }
            }
        }
    }
}
