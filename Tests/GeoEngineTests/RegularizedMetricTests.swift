import XCTest
@testable import GeoEngine

/// The regularised metric J^T J + lambda I (`RegularizedMetric`), against closed forms: on the
/// plane and the Swiss roll (both with metric I) it is the flat metric (1 + lambda) I.
final class RegularizedMetricTests: XCTestCase {
    override func setUp() { Cancellation.reset() }

    func testDerivativesMatchFiniteDifferences() throws {
        try assertDerivativesMatchFiniteDifferences(try RegularizedMetric(try Sphere(radius: 1.5), lambda: 0.3),
                                                    at: Vector([0.9, 0.4]))
        try assertDerivativesMatchFiniteDifferences(try RegularizedMetric(try SwissRoll(), lambda: 2),
                                                    at: Vector([1.3, -0.2]))
        try assertDerivativesMatchFiniteDifferences(
            try RegularizedMetric(DeepTanhMLP(latent: 3, hidden: 8, data: 5, seed: 4), lambda: 1e-2),
            at: Vector([0.2, -0.4, 0.1]))
    }

    func testMetricIsTheBaseMetricPlusLambda() throws {
        let base = try Torus(R: 2, r: 0.7)
        let g = try RegularizedMetric(base, lambda: 0.25)
        XCTAssertEqual(g.dataShape, [5])
        XCTAssertEqual(g.latentDim, 2)
        let z = Vector([0.4, 1.1])
        let m = try g.metric(z), m0 = try base.metric(z)
        for i in 0..<2 {
            for j in 0..<2 {
                XCTAssertEqual(m[i, j], m0[i, j] + (i == j ? 0.25 : 0), accuracy: 1e-12)
            }
        }
        // The outputs: g(z), then sqrt(lambda) z.
        XCTAssertEqual(try g.decode(z).scalars, try base.decode(z).scalars + [0.2, 0.55])
        // Its smallest singular value is at least sqrt(lambda), even where J is singular.
        let pole = Vector([0, 0.3])
        XCTAssertEqual(try Sphere().volume(pole), 0, accuracy: 1e-15)
        let s = try RegularizedMetric(try Sphere(), lambda: 0.04).singularValues(pole)
        XCTAssertEqual(s.scalars, [(1.04).squareRoot(), 0.2], accuracy: 1e-12)
    }

    func testPlaneAndSwissRollBecomeTheScaledPlane() throws {
        let lambda = 0.44, scale = (1 + lambda).squareRoot()   // 1.2
        let a = Vector([-1, 0.5]), b = Vector([2, -1]), c = Vector([0.5, 1.5])
        for base in [try Plane(dim: 2), try SwissRoll()] as [Generator] {
            let g = try RegularizedMetric(base, lambda: lambda)
            // Geodesics are straight lines of length sqrt(1 + lambda) |b - a|.
            let p = try Geodesic.solve(g, from: a, to: b, options: GeodesicOptions(points: 64))
            XCTAssertTrue(p.converged)
            XCTAssertEqual(try p.length(on: g), try scale * (b - a).norm, accuracy: try 1e-4 * (b - a).norm)
            for i in 0..<p.count {
                let t = Double(i) / Double(p.count - 1)
                XCTAssertLessThan(try (p.points[i] - a.adding(b - a, scaledBy: t)).norm, 1e-4)
            }
            // Flat: every sectional curvature is 0 (exact second derivatives; D2g != 0 on the roll).
            XCTAssertEqual(try Curvature.sectional(on: g, at: c, Vector([1, 0]), Vector([0.3, 1])), 0, accuracy: 1e-10)
            XCTAssertEqual(try Curvature.scalar(on: g, at: c), 0, accuracy: 1e-10)
            // log_a(b) = b - a, and the analogy is the parallelogram.
            let log = try LogMap.compute(on: g, from: a, to: b, options: .init(geodesic: GeodesicOptions(points: 16)))
            XCTAssertLessThan(try (log.vector - (b - a)).norm, 1e-6)
            let d = try Analogy.solve(on: g, a, b, c, options: .init(geodesic: GeodesicOptions(points: 16))).point
            XCTAssertLessThan(try (d - (c + (b - a))).norm, 1e-5)
        }
    }

    /// A decoder with more latent than data dimensions has a singular metric everywhere: the
    /// geometry of J^T J is undefined, that of J^T J + lambda I is not.
    func testRegularisationMakesACollapsedDecoderUsable() throws {
        let base = DeepTanhMLP(latent: 4, hidden: 10, data: 3, seed: 7)
        let a = Vector([0.1, 0.2, -0.3, 0.4]), b = Vector([-0.3, 0.5, 0.2, 0.1])
        XCTAssertThrowsError(try LogMap.compute(on: base, from: a, to: b)) { error in
            XCTAssertTrue("\(error)".contains("singular"), "\(error)")
        }
        let g = try RegularizedMetric(base, lambda: 0.05)
        let log = try LogMap.compute(on: g, from: a, to: b, options: .init(geodesic: GeodesicOptions(points: 32)))
        XCTAssertLessThan(log.residual, LogMap.defaultTolerance)
        let shot = try ExponentialMap.shoot(from: a, velocity: log.vector, on: g)
        XCTAssertLessThan(try (shot.point - b).norm, 1e-8)
        // A geodesic's velocity is parallel along it: transporting the initial velocity along
        // the discrete geodesic gives the shot geodesic's end velocity (not merely a vector of
        // the same length, which the orthogonal polar transport keeps by construction).
        let w = try ParallelTransport.transport(log.vector, along: log.geodesic, on: g, method: .polar).vector
        let e = try w - shot.velocity
        let error = (try e.dot(g.metric(b).apply(e)) / shot.velocity.dot(g.metric(b).apply(shot.velocity))).squareRoot()
        XCTAssertLessThan(error, 1.2e-4)   // achieved 8.9e-5 (32 points, second order)
    }

    func testManifoldKeepsItsDecoderAndEncoder() throws {
        let base = DeepTanhMLP(latent: 2, hidden: 6, data: 5, seed: 3)
        let encoder = DeepTanhMLP(latent: 5, hidden: 6, data: 4, seed: 5)
        let m = Manifold(name: "toy", generator: base, encoder: encoder)
        let r = try m.regularized(lambda: 0.5)
        XCTAssertEqual(r.name, "toy+0.5I")
        XCTAssertTrue(r.decoder === base)
        XCTAssertTrue(r.encoder === encoder)
        XCTAssertEqual(r.dataShape, [5])
        XCTAssertEqual(r.generator.dataShape, [7])
        XCTAssertEqual((r.generator as? RegularizedMetric)?.lambda, 0.5)
        for lambda in [0, -1, .nan, .infinity] {
            XCTAssertThrowsError(try m.regularized(lambda: lambda)) { error in
                XCTAssertTrue("\(error)".contains("lambda must be a positive number"), "\(error)")
            }
        }
        // Shapes are checked: a cotangent of the base's width is not one of the wrapper's.
        let g = try RegularizedMetric(base, lambda: 1)
        XCTAssertThrowsError(try g.vjp(Matrix(row: Vector([0, 0])), cotangents: Matrix(rows: 1, cols: 5)))
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
