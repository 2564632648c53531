import XCTest
@testable import GeoEngine

/// The log map (shooting on exp) and analogies.
final class AnalogyTests: XCTestCase {
    override func setUp() { Cancellation.reset() }

    // MARK: Log map from a given path

    func testShootingRecoversTheVelocityOfAShotGeodesic() throws {
        let g = try Sphere(radius: 1.5)
        let a = Vector([1.0, 0.3])
        for v in [Vector([0.8, 1.7]), Vector([-0.4, 0.3]), Vector([1.2, -2.5])] {
            let shot = try ExponentialMap.shoot(from: a, velocity: v, on: g)
            let b = shot.point
            // From the exact geodesic path the guess is already close; from a straight line it
            // is poor but shooting still converges.
            for path in [shot.path, try Path.line(from: a, to: b, points: 64)] {
                let r = try LogMap.shoot(on: g, from: a, to: b, along: path)
                XCTAssertLessThan(r.residual, LogMap.defaultTolerance)
                XCTAssertLessThan(try (r.vector - v).norm, 1e-7 * max(1, v.norm), "v = \(v)")
                let back = try ExponentialMap.shoot(from: a, velocity: r.vector, on: g).point
                XCTAssertLessThan(try (back - b).norm, 1e-6)
                XCTAssertEqual(r.shot.count, ExponentialMap.defaultSteps + 1)
            }
            // The second-order difference of the exact geodesic path is accurate to O(1/T^2).
            let guess = try LogMap.shoot(on: g, from: a, to: b, along: shot.path).initialGuess
            XCTAssertLessThan(try (guess - v).norm, 1e-3 * v.norm)
        }
    }

    func testShootingOnFlatManifolds() throws {
        let plane = try Plane(dim: 3)
        let a = Vector([1, 2, 3]), b = Vector([-1, 0.5, 4])
        let r = try LogMap.shoot(on: plane, from: a, to: b, along: try Path.line(from: a, to: b, points: 10))
        XCTAssertLessThan(try (r.vector - (b - a)).norm, 1e-12)
        XCTAssertEqual(r.iterations, 0)
        let roll = try SwissRoll()
        let p = Vector([-2, 1]), q = Vector([3, -0.5])
        let s = try LogMap.shoot(on: roll, from: p, to: q, along: try Path.line(from: p, to: q, points: 2))
        XCTAssertLessThan(try (s.vector - (q - p)).norm, 1e-8)
        // a == b: the zero vector.
        let zero = try LogMap.shoot(on: roll, from: p, to: p, along: Path(points: [p, p], solver: "x"))
        XCTAssertEqual(zero.vector, Vector([0, 0]))
    }

    func testShootingOnTanhNetwork() throws {
        let g = DeepTanhMLP(latent: 4, hidden: 10, data: 8, seed: 2)
        let a = Vector([0.1, 0.2, -0.3, 0.4]), b = Vector([-0.3, 0.5, 0.2, 0.1])
        let r = try LogMap.shoot(on: g, from: a, to: b, along: try Path.line(from: a, to: b, points: 32))
        let back = try ExponentialMap.shoot(from: a, velocity: r.vector, on: g).point
        XCTAssertLessThan(try (back - b).norm, 1e-6)
    }

    func testShootingRejectsBadInput() throws {
        let g = try Sphere()
        let a = Vector([1, 0]), b = Vector([1.5, 1])
        let line = try Path.line(from: a, to: b, points: 8)
        assertTangentError(try LogMap.shoot(on: g, from: a, to: Vector([1, 2, 3]), along: line), contains: "end point has 3")
        assertTangentError(try LogMap.shoot(on: g, from: Vector([.nan, 0]), to: b, along: line), contains: "NaN")
        assertTangentError(try LogMap.shoot(on: g, from: a, to: Vector([1.5, 1.1]), along: line), contains: "does not join")
        assertTangentError(try LogMap.shoot(on: g, from: a, to: b, along: line, steps: 0), contains: "steps must be an integer from 1 to 10000000, got 0")
        assertTangentError(try LogMap.shoot(on: g, from: a, to: b, along: line, tolerance: 0), contains: "log tolerance must be a positive number, got 0")
        assertTangentError(try LogMap.shoot(on: g, from: a, to: b, along: line, maxIterations: -1), contains: "max_iter")
        assertTangentError(try LogMap.shoot(on: g, from: a, to: b, along: line, maxIterations: 0), contains: "did not converge")
    }

    // MARK: Log map from the discrete geodesic

    func testLogExpRoundTripOnSphere() throws {
        for radius in [1.0, 2.0] {
            let g = try Sphere(radius: radius)
            let pairs: [(Vector, Vector)] = [
                (Vector([1.0, 0.3]), Vector([1.8, 2.0])),
                (Vector([0.5, 0]), Vector([2.5, 2.5])),       // nearly antipodal (2.77 rad)
                (Vector([1.2, 0]), Vector([1.2, 0.01])),
                (Vector([2.0, -1]), Vector([0.7, 1.5])),
            ]
            for (a, b) in pairs {
                let r = try LogMap.compute(on: g, from: a, to: b)
                let back = try ExponentialMap.shoot(from: a, velocity: r.vector, on: g).point
                XCTAssertLessThan(try (back - b).norm, 1e-6, "a = \(a), b = \(b)")
                // |log_a(b)|_M is the great-circle distance, up to the error of the 100-step RK4
                // exp being inverted (1.2e-7 relative for the nearly antipodal pair, whose
                // geodesic passes close to the pole where the chart is badly scaled).
                let xa = try g.decode(a), xb = try g.decode(b)
                let distance = try radius * acos(max(-1, min(1, xa.dot(xb) / (radius * radius))))
                XCTAssertEqual(try metricLength(g, a, r.vector), distance, accuracy: 1e-6 * distance)
                XCTAssertEqual(r.geodesic.count, GeodesicOptions().points)
            }
        }
    }

    func testLogOnFlatManifolds() throws {
        let plane = try Plane(dim: 2)
        let a = Vector([1, 2]), b = Vector([-3, 0.5])
        XCTAssertLessThan((try LogMap.compute(on: plane, from: a, to: b).vector - (b - a)).norm, 1e-10)
        let roll = try SwissRoll()
        let p = Vector([-2, 1]), q = Vector([3, -0.5])
        XCTAssertLessThan((try LogMap.compute(on: roll, from: p, to: q).vector - (q - p)).norm, 1e-8)
    }

    // MARK: Analogy

    func testAnalogyOnThePlaneIsTheParallelogram() throws {
        for dim in [2, 5] {
            let g = try Plane(dim: dim)
            var rng = SeededRandom(seed: UInt64(dim))
            let a = rng.normalVector(dim), b = rng.normalVector(dim), c = rng.normalVector(dim)
            let r = try Analogy.solve(on: g, a, b, c)
            XCTAssertLessThan(try (r.point - (c + (b - a))).norm, 1e-10)
            XCTAssertLessThan(try (r.logVector - (b - a)).norm, 1e-10)
            XCTAssertLessThan(try (r.transported - (b - a)).norm, 1e-10)
            XCTAssertEqual(r.cdPath.start, c)
            XCTAssertEqual(r.acPath.start, a)
            XCTAssertEqual(r.acPath.end, c)
        }
    }

    func testAnalogyOnTheSwissRollMatchesTheUnrolledAnswer() throws {
        let g = try SwissRoll()
        let cases: [(Vector, Vector, Vector)] = [
            (Vector([0, 0]), Vector([1, 0.5]), Vector([3, -1])),
            (Vector([-4, 1]), Vector([-2.5, 0]), Vector([5, 2])),
        ]
        for (a, b, c) in cases {
            let r = try Analogy.solve(on: g, a, b, c)
            XCTAssertLessThan(try (r.point - (c + (b - a))).norm, 1e-4, "a = \(a)")
            // The paper's first-order transport along the same 64-point path is visibly worse
            // (measured 8e-4 and 1.4e-2 for these two cases; the polar transport gives 3e-14).
            let paper = try Analogy.solve(on: g, a, b, c, options: Analogy.Options(transport: .projection))
            let paperError = try (paper.point - (c + (b - a))).norm
            XCTAssertLessThan(paperError, 0.05)
            XCTAssertGreaterThan(paperError, 1e-4)
        }
    }

    func testAnalogyOnTheSphere() throws {
        let g = try Sphere()
        // Rotation about the axis maps a to c, so it maps b to d: d = b + (0, 1).
        let a = Vector([Double.pi / 2, 0]), b = Vector([1.2, 0.5]), c = Vector([Double.pi / 2, 1])
        let r = try Analogy.solve(on: g, a, b, c)
        XCTAssertLessThan(try (r.point - Vector([1.2, 1.5])).norm, 1e-6)
        // In general: |w|_M = |v|_M and d lies at that distance from c.
        let a2 = Vector([1.0, 0.2]), b2 = Vector([1.4, 0.9]), c2 = Vector([2.0, -0.5])
        let r2 = try Analogy.solve(on: g, a2, b2, c2)
        let speed = try metricLength(g, a2, r2.logVector)
        XCTAssertEqual(try metricLength(g, c2, r2.transported), speed, accuracy: 1e-10)
        let xc = try g.decode(c2), xd = try g.decode(r2.point)
        XCTAssertEqual(try acos(xc.dot(xd)), speed, accuracy: 1e-7)
        // c = a gives d = b.
        let same = try Analogy.solve(on: g, a2, b2, a2)
        XCTAssertLessThan(try (same.point - b2).norm, 1e-6)
    }

    func testAnalogyOnTanhNetwork() throws {
        let g = DeepTanhMLP(latent: 3, hidden: 10, data: 7, seed: 11)
        let a = Vector([0.1, 0.2, -0.3]), b = Vector([0.3, 0.1, -0.1]), c = Vector([-0.1, 0.25, -0.2])
        let r = try Analogy.solve(on: g, a, b, c)
        XCTAssertEqual(try metricLength(g, c, r.transported), try metricLength(g, a, r.logVector), accuracy: 1e-10)
        XCTAssertLessThan(r.log.residual, LogMap.defaultTolerance)
        // Self-consistency: exp_c(w) lands on the end of the c -> d path; c = a gives d = b.
        XCTAssertEqual(r.cdPath.end, r.point)
        XCTAssertLessThan((try Analogy.solve(on: g, a, b, a).point - b).norm, 1e-6)
    }

    func testAnalogyRejectsBadInput() throws {
        let g = try Sphere()
        let a = Vector([1, 0]), b = Vector([1.5, 1])
        assertTangentError(try Analogy.solve(on: g, a, b, Vector([1, 2, 3])), contains: "c has 3")
        assertTangentError(try Analogy.solve(on: g, a, Vector([.nan, 1]), b), contains: "NaN")
        assertTangentError(try Analogy.solve(on: g, a, b, b, options: Analogy.Options(steps: 0)), contains: "steps must be an integer from 1 to 10000000, got 0")
        assertTangentError(try LogMap.compute(on: g, from: a, to: b, options: LogMap.Options(tolerance: -1)), contains: "tol")
    }
}
