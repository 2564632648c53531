import XCTest
@testable import GeoEngine

/// GEORCE as published: its fixed point against an independent computation of its objective's
/// gradient, and its paths against the closed forms of the sphere, the torus and the plane.
final class GEORCETests: XCTestCase {
    func solve(_ g: Generator, _ a: Vector, _ b: Vector, points: Int, tol: Double = 1e-9) throws -> Path {
        try Geodesic.solve(g, from: a, to: b, options: GeodesicOptions(points: points, solver: .georce, tolerance: tol))
    }

    /// E_G = sum_t |J(z_t) (z_{t+1} - z_t)|^2 with Jacobians from the generator's JVP.
    func linearisedEnergy(_ g: Generator, _ pts: [Vector]) throws -> Double {
        var e = 0.0
        for t in 0..<(pts.count - 1) {
            let u = try pts[t + 1] - pts[t]
            let ju = try g.jvp(Matrix(row: pts[t]), tangents: Matrix(row: u)).tangents
            e += ju.scalars.reduce(0) { $0 + $1 * $1 }
        }
        return e
    }

    /// At GEORCE's solution the gradient of its objective vanishes: central differences of E_G
    /// at the interior points (an independent computation) are ~0 relative to E_G / |z|.
    func testTheSolutionIsStationaryForTheLinearisedEnergy() throws {
        let cases: [(Generator, Vector, Vector)] = [
            (try Sphere(radius: 1.5), Vector([0.8, 0.3]), Vector([2.0, 2.4])),
            (try Torus(R: 2, r: 1), Vector([0.3, 0.2]), Vector([2.2, 1.9])),
            (try SwissRoll(), Vector([1, 0.5]), Vector([6, -1])),
        ]
        for (g, a, b) in cases {
            let p = try solve(g, a, b, points: 33)
            XCTAssertEqual(p.stop, .converged, "\(g)")
            XCTAssertEqual(p.solver, "georce")
            let e = try linearisedEnergy(g, p.points), h = 1e-6
            var worst = 0.0
            for i in 1..<(p.count - 1) {
                for k in 0..<2 {
                    var plus = p.points, minus = p.points
                    plus[i][k] += h; minus[i][k] -= h
                    let fd = (try linearisedEnergy(g, plus) - linearisedEnergy(g, minus)) / (2 * h)
                    worst = max(worst, abs(fd))
                }
            }
            // Scale: E_G / (latent length / points): the size of a gradient entry of a generic path.
            let scale = e / (try p.latentLength / Double(p.count))
            XCTAssertLessThan(worst / scale, 1e-7, "\(g): |dE_G/dz| / scale")
        }
    }

    /// On the sphere GEORCE's length tends to the great circle's as O(1/T^2) (its discrete
    /// problem is a linearisation of the data-space energy).
    func testSphereLengthsConvergeToTheGreatCircle() throws {
        let s = try Sphere(radius: 2)
        let a = Vector([1.0, 0.2]), b = Vector([2.0, 2.5])
        let xa = try s.decode(a), xb = try s.decode(b)
        let exact = 2 * acos(try xa.dot(xb) / 4)
        var errors: [Double] = []
        // GEORCE, like its authors' runs (T = 100), wants many points: with T = 8 or 11 its
        // frozen-metric update is a poor model and it crawls (3000 iterations short of 1e-6).
        for points in [33, 65, 129] {
            let p = try solve(s, a, b, points: points)
            XCTAssertEqual(p.stop, .converged)
            errors.append(abs(try p.length(on: s) - exact) / exact)
        }
        // Each doubling of T divides the error by about 4.
        for k in 1..<errors.count { XCTAssertEqual(errors[k - 1] / errors[k], 4, accuracy: 0.3, "\(errors)") }
        XCTAssertLessThan(errors.last ?? 1, 1e-4)
    }

    /// On flat spaces the metric is constant, GEORCE's model is exact and one iteration lands on
    /// the straight (unrolled) line.
    func testFlatSpacesTakeOneIteration() throws {
        let plane = try Plane(dim: 3)
        let p = try solve(plane, Vector([0, 1, 2]), Vector([3, -1, 0.5]), points: 10)
        XCTAssertEqual(p.stop, .converged)
        XCTAssertLessThanOrEqual(p.iterations, 1)
        let line = try Path.line(from: Vector([0, 1, 2]), to: Vector([3, -1, 0.5]), points: 10)
        for i in 0..<10 { XCTAssertLessThan(try (p.points[i] - line.points[i]).norm, 1e-12) }
    }

    /// A metric that is singular on the path is a clear error, not garbage.
    func testSingularMetricIsAnError() throws {
        let net = try NeuralNetwork(latentDim: 3, layers: [.linear(weight: try Tensor(shape: [2, 3], scalars: [1, 0, 0, 0, 1, 0]), bias: nil)])
        XCTAssertThrowsError(try solve(net, Vector([0, 0, 0]), Vector([1, 1, 1]), points: 5)) {
            XCTAssertTrue(($0 as? GeoError)?.description.hasPrefix("the metric is singular at the start point: GEORCE needs an invertible metric") == true, "\($0)")
        }
    }
}
