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
                XCTAssertLessThan((r.vector - v).norm, 1e-7 * max(1, v.norm), "v = \(v)")
                let back = try ExponentialMap.shoot(from: a, velocity: r.vector, on: g).point
                XCTAssertLessThan((back - b).norm, 1e-6)
                XCTAssertEqual(r.shot.count, ExponentialMap.defaultSteps + 1)
            }
            // The second-order difference of the exact geodesic path is accurate to O(1/T^2).
            let guess = try LogMap.shoot(on: g, from: a, to: b, along: shot.path).initialGuess
            XCTAssertLessThan((guess - v).norm, 1e-3 * v.norm)
        }
    }

    func testShootingOnFlatManifolds() throws {
        let plane = try Plane(dim: 3)
        let a = Vector([1, 2, 3]), b = Vector([-1, 0.5, 4])
        let r = try LogMap.shoot(on: plane, from: a, to: b, along: try Path.line(from: a, to: b, points: 10))
        XCTAssertLessThan((r.vector - (b - a)).norm, 1e-12)
        XCTAssertEqual(r.iterations, 0)
        let roll = try SwissRoll()
        let p = Vector([-2, 1]), q = Vector([3, -0.5])
        let s = try LogMap.shoot(on: roll, from: p, to: q, along: try Path.line(from: p, to: q, points: 2))
        XCTAssertLessThan((s.vector - (q - p)).norm, 1e-8)
        // a == b: the zero vector.
        let zero = try LogMap.shoot(on: roll, from: p, to: p, along: Path(points: [p, p], solver: "x"))
        XCTAssertEqual(zero.vector, Vector([0, 0]))
    }

    func testShootingOnTanhNetwork() throws {
        let g = TanhMLP(latent: 4, hidden: 10, data: 8, seed: 2)
        let a = Vector([0.1, 0.2, -0.3, 0.4]), b = Vector([-0.3, 0.5, 0.2, 0.1])
        let r = try LogMap.shoot(on: g, from: a, to: b, along: try Path.line(from: a, to: b, points: 32))
        let back = try ExponentialMap.shoot(from: a, velocity: r.vector, on: g).point
        XCTAssertLessThan((back - b).norm, 1e-6)
    }

    func testShootingRejectsBadInput() throws {
        let g = try Sphere()
        let a = Vector([1, 0]), b = Vector([1.5, 1])
        let line = try Path.line(from: a, to: b, points: 8)
        assertTangentError(try LogMap.shoot(on: g, from: a, to: Vector([1, 2, 3]), along: line), contains: "end point has 3")
        assertTangentError(try LogMap.shoot(on: g, from: Vector([.nan, 0]), to: b, along: line), contains: "NaN")
        assertTangentError(try LogMap.shoot(on: g, from: a, to: Vector([1.5, 1.1]), along: line), contains: "does not join")
        assertTangentError(try LogMap.shoot(on: g, from: a, to: b, along: line, steps: 0), contains: "at least 1 step")
        assertTangentError(try LogMap.shoot(on: g, from: a, to: b, along: line, tolerance: 0), contains: "tol must be a positive number")
        assertTangentError(try LogMap.shoot(on: g, from: a, to: b, along: line, maxIterations: -1), contains: "max_iter")
        assertTangentError(try LogMap.shoot(on: g, from: a, to: b, along: line, maxIterations: 0), contains: "did not converge")
    }
}
