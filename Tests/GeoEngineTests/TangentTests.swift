import Foundation
import XCTest
@testable import GeoEngine

/// Parallel transport, holonomy and the exponential map against closed forms.
final class TangentTests: XCTestCase {
    override func setUp() { Cancellation.reset() }

    /// A wiggly (non-geodesic) path on the sphere's chart.
    private func wigglyPath(_ n: Int) -> Path {
        Path(points: (0..<n).map { i in
            let s = Double(i) / Double(n - 1)
            return Vector([0.6 + 0.9 * s + 0.2 * sin(7 * s), -0.4 + 2.5 * s + 0.3 * cos(5 * s)])
        }, solver: "test")
    }

    // MARK: Parallel transport

    /// The closed form of parallel transport along a latitude circle of the sphere of radius r
    /// (polar angle t, azimuth from 0 to phi): in the orthonormal frame E1 = d/dt / r,
    /// E2 = d/dp / (r sin t) a parallel vector turns against the frame by the angle -phi cos t
    /// (from E1 towards E2). Derivation: the Levi-Civita connection form of
    /// ds^2 = r^2 (dt^2 + sin^2 t dp^2) in this frame is omega_12 = -cos t dp, so the frame
    /// components (a, b) of a parallel field satisfy a' = -cos t b, b' = cos t a (d/dp); check:
    /// on the equator (cos t = 0) nothing turns (a great circle), and near the pole the frame
    /// (radial, tangential) turns once per loop while the vector stays fixed in the almost flat
    /// tangent plane. One whole loop gives -2 pi cos t = 2 pi (1 - cos t) mod 2 pi, the holonomy.
    static func latitudeTransport(_ v: Vector, radius r: Double, polar t: Double, azimuth phi: Double) -> Vector {
        let a = r * v[0], b = r * sin(t) * v[1]
        let alpha = -phi * cos(t)
        let a1 = a * cos(alpha) - b * sin(alpha), b1 = a * sin(alpha) + b * cos(alpha)
        return Vector([a1 / r, b1 / (r * sin(t))])
    }

    /// The metric norm of the latent vector v at polar angle t on the sphere of radius r.
    static func sphereNorm(_ v: Vector, radius r: Double, polar t: Double) -> Double {
        (r * r * (v[0] * v[0] + sin(t) * sin(t) * v[1] * v[1])).squareRoot()
    }

    /// Transport along a latitude circle against the closed form (not only its length, which
    /// both methods keep by construction): the direction at every point of the loop.
    /// Achieved (largest metric error over the loop relative to |v|_M, over the cases below):
    /// projection with 2000 points 1.89e-3 (first order), polar with 200 points 1.80e-4 (second
    /// order); doubling the points divides them by 2.00 and 4.02.
    func testTransportAlongALatitudeTurnsByTheClosedFormAngle() throws {
        var worst: [ParallelTransport.Method: Double] = [:]
        var ratios: [ParallelTransport.Method: Double] = [:]
        for radius in [1.0, 2.5] {
            let g = try Sphere(radius: radius)
            for t in [Double.pi / 6, 1.2, 2.0] {
                for v in [Vector([1, 0]), Vector([0.3, 2])] {
                    let norm = Self.sphereNorm(v, radius: radius, polar: t)
                    for (method, n) in [(ParallelTransport.Method.projection, 2000), (.polar, 200)] {
                        var errors: [Double] = []
                        for points in [n, 2 * n] {
                            let loop = latitude(t, points: points)
                            let r = try ParallelTransport.transport(v, along: loop, on: g, method: method, recordAll: true)
                            XCTAssertEqual(r.vectors.count, points)
                            XCTAssertEqual(r.vectors.last, r.vector)
                            var e = 0.0
                            for i in 0..<points {
                                let phi = loop.points[i][1]
                                let expected = Self.latitudeTransport(v, radius: radius, polar: t, azimuth: phi)
                                e = max(e, Self.sphereNorm(try r.vectors[i] - expected, radius: radius, polar: t) / norm)
                            }
                            errors.append(e)
                        }
                        worst[method] = max(worst[method] ?? 0, errors[0])
                        ratios[method] = max(ratios[method] ?? 0, errors[0] / errors[1])
                        // Doubling the points halves the error (projection, first order) or
                        // quarters it (polar, second order).
                        // Achieved: 1.9993 to 2.0043, and 4.0201 to 4.0204.
                        XCTAssertEqual(errors[0] / errors[1], method == .projection ? 2 : 4, accuracy: method == .projection ? 0.01 : 0.03,
                                       "\(method) r \(radius) t \(t) v \(v)")
                    }
                }
            }
        }
        print("latitude transport: worst relative error \(worst), worst error ratio on doubling \(ratios)")
        XCTAssertLessThan(worst[.projection] ?? .infinity, 2e-3)   // achieved 1.89e-3
        XCTAssertLessThan(worst[.polar] ?? .infinity, 2e-4)        // achieved 1.80e-4
    }

    /// The bookkeeping of `recordAll` on a wiggly path (no closed form there): one vector per
    /// point, the first the given vector, the last the result.
    func testTransportRecordsEveryPoint() throws {
        let g = try Sphere(radius: 3)
        let path = wigglyPath(300)
        let v = Vector([0.7, -1.3])
        let r = try ParallelTransport.transport(v, along: path, on: g, recordAll: true)
        XCTAssertEqual(r.vectors.count, 300)
        XCTAssertLessThan(try (r.vectors[0] - v).norm, 1e-12)
        XCTAssertEqual(r.vectors[299], r.vector)
        // u_T is J(z_T) v_T: the data vector is the pushed-forward latent result.
        let pushed = try g.jacobian(path.end!).apply(r.vector)
        XCTAssertLessThan(try (pushed - r.dataVector).norm, 1e-12 * r.dataVector.norm)
    }

    func testTransportAlongMeridianIsExactAndAlongEquatorConverges() throws {
        let g = try Sphere(radius: 2)
        // Along a meridian (a geodesic) the east vector stays east: v_p scales by sin t0 / sin t1.
        let meridian = try Path.line(from: Vector([0.5, 0.3]), to: Vector([1.2, 0.3]), points: 50)
        let east = try ParallelTransport.transport(Vector([0, 1]), along: meridian, on: g).vector
        XCTAssertEqual(east[0], 0, accuracy: 1e-12)
        XCTAssertEqual(east[1], sin(0.5) / sin(1.2), accuracy: 1e-12)
        let south = try ParallelTransport.transport(Vector([1, 0]), along: meridian, on: g).vector
        XCTAssertEqual(south[0], 1, accuracy: 1e-12)
        XCTAssertEqual(south[1], 0, accuracy: 1e-12)
        // Along the equator (also a geodesic) every latent vector is unchanged in the limit; the
        // discrete transport shrinks the east component by cos(step) before rescaling, an
        // O(1/T) error.
        var errors = [Double]()
        for n in [40, 400, 4000] {
            let equator = try Path.line(from: Vector([Double.pi / 2, 0]), to: Vector([Double.pi / 2, 2.5]), points: n)
            let w = try ParallelTransport.transport(Vector([0.3, -0.8]), along: equator, on: g).vector
            errors.append(try (w - Vector([0.3, -0.8])).norm)
        }
        XCTAssertLessThan(errors[2], 5e-4)
        XCTAssertEqual(errors[1] / errors[2], 10, accuracy: 0.5)
        // The polar variant has no such shrinkage: exact along the equator even with 5 points.
        let coarse = try Path.line(from: Vector([Double.pi / 2, 0]), to: Vector([Double.pi / 2, 2.5]), points: 5)
        let w = try ParallelTransport.transport(Vector([0.3, -0.8]), along: coarse, on: g, method: .polar).vector
        XCTAssertLessThan(try (w - Vector([0.3, -0.8])).norm, 1e-12)
        let eastPolar = try ParallelTransport.transport(Vector([0, 1]), along: meridian, on: g, method: .polar).vector
        XCTAssertEqual(eastPolar[1], sin(0.5) / sin(1.2), accuracy: 1e-12)
    }

    func testTransportIsIdentityOnFlatManifolds() throws {
        let plane = try Plane(dim: 3)
        let path = Path(points: (0..<20).map { i in Vector([sin(Double(i)), Double(i) * 0.1, -Double(i * i) * 0.01]) }, solver: "test")
        let v = Vector([1, -2, 0.5])
        XCTAssertLessThan((try ParallelTransport.transport(v, along: path, on: plane).vector - v).norm, 1e-14)

        // The Swiss roll is isometric to the plane: transport converges to the identity as the
        // path is refined (the discrete projection transport is first order).
        let roll = try SwissRoll()
        let u = Vector([0.6, 0.8])
        var errors = [Double]()
        for n in [50, 500] {
            let line = try Path.line(from: Vector([-3, 0]), to: Vector([4, 1]), points: n)
            errors.append((try ParallelTransport.transport(u, along: line, on: roll).vector - u).norm)
        }
        XCTAssertLessThan(errors[1], 1e-3)
        XCTAssertLessThan(errors[1], errors[0] / 5)
        // The polar variant is exact on the roll (its tangent planes turn about the axis).
        let line = try Path.line(from: Vector([-3, 0]), to: Vector([4, 1]), points: 20)
        XCTAssertLessThan((try ParallelTransport.transport(u, along: line, on: roll, method: .polar).vector - u).norm, 1e-12)
    }

    func testTransportOfSeveralRowsMatchesSingleVectors() throws {
        let g = try Torus(R: 3, r: 1)
        let path = wigglyPath(100)
        let rows = try Matrix(rowVectors: [Vector([1, 0]), Vector([0.2, 0.9]), Vector([0, 0])])
        for method in ParallelTransport.Method.allCases {
            let out = try ParallelTransport.transport(rows: rows, along: path, on: g, method: method)
            for i in 0..<2 {
                let single = try ParallelTransport.transport(rows.row(i), along: path, on: g, method: method).vector
                XCTAssertLessThan(try (out.row(i) - single).norm, 1e-13)
            }
            XCTAssertEqual(out.row(2), Vector([0, 0]))
        }
    }

    func testTransportRejectsBadInput() throws {
        let g = try Sphere()
        let path = wigglyPath(10)
        assertTangentError(try ParallelTransport.transport(Vector([1, 2, 3]), along: path, on: g), contains: "latent_dim is 2, vector has 3")
        assertTangentError(try ParallelTransport.transport(Vector([.nan, 0]), along: path, on: g), contains: "NaN")
        assertTangentError(try ParallelTransport.transport(Vector([1, 0]), along: Path(points: [Vector([1, 1])], solver: "x"), on: g),
                       contains: "at least 2 points")
        let bad = Path(points: [Vector([1, 1]), Vector([1, 1, 1])], solver: "x")
        assertTangentError(try ParallelTransport.transport(Vector([1, 0]), along: bad, on: g), contains: "path point 2 has 3")
        // Through the pole the chart's metric is singular.
        let pole = try Path.line(from: Vector([-0.5, 0]), to: Vector([0.5, 0]), points: 3)
        assertTangentError(try ParallelTransport.transport(Vector([1, 0]), along: pole, on: g), contains: "singular")
    }

    // MARK: Holonomy

    private func latitude(_ t: Double, points n: Int) -> Path {
        Path(points: (0..<n).map { i in Vector([t, 2 * Double.pi * Double(i) / Double(n - 1)]) }, solver: "loop")
    }

    /// x wrapped into (-pi, pi].
    private func wrap(_ x: Double) -> Double {
        var y = x.truncatingRemainder(dividingBy: 2 * Double.pi)
        if y > Double.pi { y -= 2 * Double.pi }
        if y <= -Double.pi { y += 2 * Double.pi }
        return y
    }

    /// Holonomy around latitude circles against 2 pi (1 - cos t): the angle, and the
    /// transported vector itself (the closed-form rotation of `latitudeTransport`).
    /// Achieved relative errors of the angle: projection with 2000 points at most 4.81e-4 (the
    /// transported vector 1.10e-3), polar with 200 points 1.34e-4, backwards 2.80e-4.
    func testSphereLatitudeHolonomy() throws {
        var worstProjection = 0.0, worstPolar = 0.0, worstVector = 0.0
        for radius in [1.0, 2.5] {
            let g = try Sphere(radius: radius)
            for t in [Double.pi / 6, Double.pi / 4, 1.2, 2.0] {
                let expected = wrap(2 * Double.pi * (1 - cos(t)))
                for v in [Vector([1, 0]), Vector([0.3, 2])] {
                    let h = try Holonomy.measure(v, around: latitude(t, points: 2000), on: g)
                    XCTAssertTrue(h.signed)
                    worstProjection = max(worstProjection, abs(h.angle - expected) / abs(expected))
                    XCTAssertEqual(h.angle, expected, accuracy: 5e-4 * abs(expected), "t = \(t), r = \(radius)")
                    let w = Self.latitudeTransport(v, radius: radius, polar: t, azimuth: 2 * Double.pi)
                    let vectorError = Self.sphereNorm(try h.transported - w, radius: radius, polar: t)
                        / Self.sphereNorm(v, radius: radius, polar: t)
                    worstVector = max(worstVector, vectorError)
                    XCTAssertLessThan(vectorError, 1.2e-3)
                    XCTAssertLessThan(h.gap, 1e-12 * radius)
                }
            }
        }
        // The polar transport converges at second order.
        for t in [Double.pi / 6, 1.2] {
            let expected = wrap(2 * Double.pi * (1 - cos(t)))
            let h = try Holonomy.measure(Vector([1, 0]), around: latitude(t, points: 200), on: try Sphere(), method: .polar)
            worstPolar = max(worstPolar, abs(h.angle - expected) / abs(expected))
            XCTAssertEqual(h.angle, expected, accuracy: 1.5e-4 * abs(expected))
        }
        print("latitude holonomy: worst relative error projection (2000 points) \(worstProjection), polar (200 points) \(worstPolar), vector \(worstVector)")
        // Traversed backwards the sign flips.
        let g = try Sphere()
        let back = Path(points: latitude(Double.pi / 4, points: 2000).points.reversed(), solver: "loop")
        let h = try Holonomy.measure(Vector([1, 0]), around: back, on: g)
        let expected = -2 * Double.pi * (1 - cos(Double.pi / 4))
        XCTAssertEqual(h.angle, expected, accuracy: 3e-4 * abs(expected))
    }

    func testSaddleHolonomyIsTheIntegralOfCurvature() throws {
        // Around the latent circle of radius rho at the origin, with K = -4 / w^2 and
        // dA = sqrt(w) dx dy, w = 1 + 4 x^2 + 4 y^2: integral of K dA = -2 pi (1 - 1/sqrt(1 + 4 rho^2)).
        let g = Saddle()
        for rho in [0.1, 0.3] {
            let n = 2000
            let loop = Path(points: (0..<n).map { i in
                let a = 2 * Double.pi * Double(i) / Double(n - 1)
                return Vector([rho * cos(a), rho * sin(a)])
            }, solver: "loop")
            let h = try Holonomy.measure(Vector([0.5, 1]), around: loop, on: g)
            let expected = -2 * Double.pi * (1 - 1 / (1 + 4 * rho * rho).squareRoot())
            // Achieved relative errors: 2.8e-5 (rho 0.1) and 2.0e-4 (rho 0.3).
            XCTAssertEqual(h.angle, expected, accuracy: (rho < 0.2 ? 4e-5 : 2.5e-4) * abs(expected), "rho = \(rho)")
        }
    }

    func testHolonomyOnFlatAndHigherDimensionalManifolds() throws {
        let plane = try Plane(dim: 3)
        let loop = Path(points: (0..<100).map { i in
            let a = 2 * Double.pi * Double(i) / 99
            return Vector([cos(a), sin(a), cos(2 * a) - 1])
        }, solver: "loop")
        let h = try Holonomy.measure(Vector([1, 2, 3]), around: loop, on: plane)
        XCTAssertFalse(h.signed)
        XCTAssertEqual(h.angle, 0, accuracy: 1e-7)
        // A curved 3-manifold with a closed form: the sphere times a line, g(t, p, s) =
        // (r sin t cos p, r sin t sin p, r cos t, s). Around the latitude circle at polar angle t
        // (s fixed) the sphere part of v = a E1 + b E2 + c E3 (orthonormal frame) turns by
        // theta = 2 pi (1 - cos t) and the line part stays, so the unsigned angle between v and
        // its transport w is arccos(((a^2 + b^2) cos theta + c^2) / (a^2 + b^2 + c^2)).
        // Achieved with polar transport and 400 points: angle 2.8e-5 relative, the transported
        // vector 4.5e-5 (metric norm, relative to |v|_M).
        let r = 1.5
        let g = SphereTimesLine(radius: r)
        try assertDerivativesMatchFiniteDifferences(g, at: Vector([1.1, 0.3, -0.2]))
        for t in [0.7, 1.2, 2.0] {
            let theta = 2 * Double.pi * (1 - cos(t))
            let n = 400
            let loop3 = Path(points: (0..<n).map { i in Vector([t, 2 * Double.pi * Double(i) / Double(n - 1), 0.4]) }, solver: "loop")
            for v in [Vector([0.2, -0.4, 1]), Vector([1, 0.5, 0]), Vector([0, 1, 0.3])] {
                let h3 = try Holonomy.measure(v, around: loop3, on: g, method: .polar)
                XCTAssertFalse(h3.signed)
                let a = r * v[0], b = r * sin(t) * v[1], c = v[2]
                let inPlane = a * a + b * b, total = inPlane + c * c
                let dot = inPlane * cos(theta) + c * c
                let expected = atan2((max(0, total * total - dot * dot)).squareRoot(), dot)
                XCTAssertEqual(h3.angle, expected, accuracy: 4e-5 * expected, "t \(t) v \(v)")
                // The transported vector: the line component unchanged, the sphere part turned.
                let w = Self.latitudeTransport(Vector([v[0], v[1]]), radius: r, polar: t, azimuth: 2 * Double.pi)
                let m = try g.metric(Vector([t, 0, 0.4]))
                let e = try h3.transported - Vector([w[0], w[1], v[2]])
                let metricError = (try e.dot(m.apply(e)) / v.dot(m.apply(v))).squareRoot()
                XCTAssertLessThan(metricError, 5e-5, "t \(t) v \(v)")
            }
        }
    }

    func testHolonomyRejectsOpenLoopsAndZeroVectors() throws {
        let g = try Sphere()
        let open = try Path.line(from: Vector([1, 0]), to: Vector([1, 3]), points: 50)
        assertTangentError(try Holonomy.measure(Vector([1, 0]), around: open, on: g), contains: "the loop is not closed")
        assertTangentError(try Holonomy.measure(Vector([0, 0]), around: latitude(1, points: 50), on: g), contains: "nonzero vector")
        assertTangentError(try Holonomy.measure(Vector([1, 0]), around: Path(points: [Vector([1, 0]), Vector([1, 0])], solver: "x"), on: g),
                       contains: "at least 3 points")
        assertTangentError(try Holonomy.measure(Vector([1, 0]), around: latitude(1, points: 50), on: g, closureTolerance: -1),
                       contains: "closure_tol must be a finite number >= 0")
    }

    // MARK: Exponential map

    func testExpRK4FollowsGreatCircles() throws {
        for radius in [1.0, 2.0] {
            let g = try Sphere(radius: radius)
            let z0 = Vector([1.1, 0.4])
            for v in [Vector([0.3, 0.9]), Vector([-0.5, 0.2]), Vector([0.7, -1.1])] {
                let r = try ExponentialMap.shoot(from: z0, velocity: v, on: g)
                XCTAssertEqual(r.path.count, ExponentialMap.defaultSteps + 1)
                XCTAssertEqual(r.path.solver, "exp-rk4")
                let x0 = try g.decode(z0)
                let jv = try g.jacobian(z0).apply(v)
                let speed = jv.norm, e = jv / speed
                // Arc length |v|_M along the great circle through x0 with direction e.
                func expected(_ s: Double) throws -> Vector {
                    try x0 * cos(s * speed / radius) + e * (radius * sin(s * speed / radius))
                }
                XCTAssertLessThan((try g.decode(r.point) - expected(1)).norm, 1e-8, "r = \(radius), v = \(v)")
                for i in stride(from: 0, through: 100, by: 10) {
                    XCTAssertLessThan((try g.decode(r.path.points[i]) - expected(Double(i) / 100)).norm, 1e-8)
                }
                // The end velocity has the same metric speed.
                XCTAssertEqual(try metricLength(g, r.point, r.velocity), speed, accuracy: 1e-8)
            }
        }
    }

    /// Step-and-project shooting against the great circle (closed form), point and end
    /// velocity, at first order: 10 times the steps, a tenth of the error.
    func testExpProjectionConvergesToTheGeodesic() throws {
        let g = try Sphere()
        let z0 = Vector([1.1, 0.4]), v = Vector([0.3, 0.9])
        let x0 = try g.decode(z0), jv = try g.jacobian(z0).apply(v)
        let speed = jv.norm, e = jv / speed
        let x1 = try x0 * cos(speed) + e * sin(speed)             // the point at arc length |v|_M
        let u1 = try (x0 * -sin(speed) + e * cos(speed)) * speed   // and the velocity there
        var errors = [Double](), velocityErrors = [Double]()
        for n in [100, 1000] {
            let r = try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: n, method: .projection)
            XCTAssertEqual(r.path.solver, "exp-projection")
            XCTAssertEqual(r.path.count, n + 1)
            errors.append((try g.decode(r.point) - x1).norm)
            velocityErrors.append((try g.jacobian(r.point).apply(r.velocity) - u1).norm / speed)
        }
        // Achieved: point 1.04e-3 and 1.04e-4, velocity 6.9e-4 and 6.9e-5 (relative to |v|_M);
        // ratios 10.02 and 10.07.
        XCTAssertLessThan(errors[0], 1.2e-3)
        XCTAssertLessThan(velocityErrors[0], 8e-4)
        XCTAssertEqual(errors[0] / errors[1], 10, accuracy: 0.1)
        XCTAssertEqual(velocityErrors[0] / velocityErrors[1], 10, accuracy: 0.15)
    }

    func testExpOnFlatManifoldsIsAStraightLine() throws {
        let plane = try Plane(dim: 4)
        let z = Vector([1, 2, 3, 4]), v = Vector([-1, 0.5, 2, 0])
        for method in ExponentialMap.Method.allCases {
            let r = try ExponentialMap.shoot(from: z, velocity: v, on: plane, steps: 7, method: method)
            XCTAssertLessThan(try (r.point - (z + v)).norm, 1e-13)
        }
        let roll = try SwissRoll()
        let r = try ExponentialMap.shoot(from: Vector([-2, 0.5]), velocity: Vector([5, -1]), on: roll)
        XCTAssertLessThan(try (r.point - Vector([3, -0.5])).norm, 1e-8)
        // v = 0 stays put.
        let still = try ExponentialMap.shoot(from: z, velocity: Vector(zeros: 4), on: plane, steps: 3)
        XCTAssertEqual(still.point, z)
    }

    func testExpOnTorusConservesSpeedAndClairaut() throws {
        let g = try Torus(R: 2, r: 0.7)
        let z0 = Vector([0.4, 0.1]), v = Vector([1.5, 0.8])
        let r = try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 200)
        // Clairaut: (R + r cos t)^2 p' is constant along a geodesic of a surface of revolution.
        func clairaut(_ z: Vector, _ w: Vector) -> Double { pow(2 + 0.7 * cos(z[0]), 2) * w[1] }
        XCTAssertEqual(clairaut(r.point, r.velocity), clairaut(z0, v), accuracy: 1e-9)
        XCTAssertEqual(try metricLength(g, r.point, r.velocity), try metricLength(g, z0, v), accuracy: 1e-9)
        // RK4 converges at fourth order: halving the step cuts the error ~16x.
        let reference = try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 800).point
        let coarse = try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 40).point
        let medium = try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 80).point
        let e1 = try (coarse - reference).norm, e2 = try (medium - reference).norm
        XCTAssertGreaterThan(e1 / e2, 12)
        XCTAssertLessThan(e2, 1e-9)
    }

    func testExpOnTanhNetwork() throws {
        let g = DeepTanhMLP(latent: 3, hidden: 10, data: 7, seed: 11)
        try assertDerivativesMatchFiniteDifferences(g, at: Vector([0.2, -0.3, 0.5]))
        // (A much longer shot runs off into the saturated region where the metric degenerates.)
        let z0 = Vector([0.1, 0.2, -0.3]), v = Vector([0.2, -0.12, 0.15])
        let fine = try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 800)
        // Fourth-order convergence of RK4.
        let e25 = (try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 25).point - fine.point).norm
        let e50 = (try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 50).point - fine.point).norm
        XCTAssertGreaterThan(e25 / e50, 12)
        let r = try ExponentialMap.shoot(from: z0, velocity: v, on: g)
        XCTAssertLessThan(try (r.point - fine.point).norm, 1e-9)
        let speed = try metricLength(g, z0, v)
        XCTAssertEqual(try metricLength(g, r.point, r.velocity), speed, accuracy: 1e-9)
        // The discrete path's data-space length equals the speed |v|_M (to O(h^2)).
        XCTAssertEqual(try fine.path.length(on: g), speed, accuracy: 1e-8)
        // Projection shooting converges to the same point at first order.
        let p1 = (try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 100, method: .projection).point - fine.point).norm
        let p2 = (try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 1000, method: .projection).point - fine.point).norm
        XCTAssertLessThan(p2, 2e-4)
        XCTAssertEqual(p1 / p2, 10, accuracy: 1.5)
        // The velocity transported along the geodesic is the geodesic's own velocity: O(1/T)
        // for the paper's projection, O(1/T^2) for the polar variant.
        let path100 = try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 100)
        let path400 = try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 400)
        func transportError(_ p: ExponentialMap.Result, _ m: ParallelTransport.Method) throws -> Double {
            (try ParallelTransport.transport(v, along: p.path, on: g, method: m).vector - p.velocity).norm
        }
        XCTAssertLessThan(try transportError(path400, .projection), 1e-3 * v.norm)
        XCTAssertEqual(try transportError(path100, .projection) / transportError(path400, .projection), 4, accuracy: 0.5)
        XCTAssertLessThan(try transportError(path400, .polar), 1e-7 * v.norm)
        XCTAssertEqual(try transportError(path100, .polar) / transportError(path400, .polar), 16, accuracy: 2)
    }

    func testExpRejectsBadInputAndCanBeInterrupted() throws {
        let g = try Sphere()
        assertTangentError(try ExponentialMap.shoot(from: Vector([1]), velocity: Vector([1, 0]), on: g), contains: "latent_dim is 2, point has 1")
        assertTangentError(try ExponentialMap.shoot(from: Vector([1, 0]), velocity: Vector([1, 0, 0]), on: g), contains: "velocity has 3")
        assertTangentError(try ExponentialMap.shoot(from: Vector([1, 0]), velocity: Vector([.nan, 0]), on: g), contains: "NaN")
        assertTangentError(try ExponentialMap.shoot(from: Vector([1, 0]), velocity: Vector([1, 0]), on: g, steps: 0), contains: "steps must be an integer from 1 to 10000000, got 0")
        for method in ExponentialMap.Method.allCases {
            // A request made while the loop runs (here from its progress handler, on the loop's
            // own thread, so that it cannot arrive before the loop starts or be lost) stops a
            // run of a million steps at the next step: the only report is the first one (every
            // 1% = 10000 steps).
            Cancellation.reset()
            var reports: [Int] = []
            XCTAssertThrowsError(try ExponentialMap.shoot(from: Vector([1, 0]), velocity: Vector([0.1, 0.2]), on: g,
                                                          steps: 1_000_000, method: method) { report in
                reports.append(report.completed)
                Cancellation.request()
            }) {
                XCTAssertEqual($0 as? GeoError, .interrupted)
            }
            XCTAssertEqual(reports, [10_000], "\(method)")
            XCTAssertFalse(Cancellation.isRequested, "the request was consumed")
        }
        // Shooting through the pole meets the chart's singular metric.
        assertTangentError(try ExponentialMap.shoot(from: Vector([0.5, 0]), velocity: Vector([-1, 0]), on: g, steps: 2), contains: "singular")
    }
}

/// Asserts that `expression` throws a GeoError whose description contains `text`.
func assertTangentError<T>(_ expression: @autoclosure () throws -> T, contains text: String,
                       file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try expression()
        XCTFail("expected an error containing '\(text)'", file: file, line: line)
    } catch let error as GeoError {
        XCTAssertTrue(error.description.contains(text), "'\(error.description)' does not contain '\(text)'", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

/// The sphere of radius r times a line, R^3 -> R^4: g(t, p, s) = (r sin t cos p, r sin t sin p,
/// r cos t, s). A product manifold: its holonomy is the sphere's, acting on the first two
/// latent directions only.
final class SphereTimesLine: AnalyticImmersion {
    let radius: Double
    let latentDim = 3
    let dataShape = [4]
    init(radius: Double) { self.radius = radius }

    func jet(at z: [Double], secondOrder: Bool) -> ImmersionJet {
        let r = radius
        let st = sin(z[0]), ct = cos(z[0]), sp = sin(z[1]), cp = cos(z[1])
        let value = [r * st * cp, r * st * sp, r * ct, z[2]]
        let jacobian = [r * ct * cp, -r * st * sp, 0,
                        r * ct * sp,  r * st * cp, 0,
                        -r * st,      0,           0,
                        0,            0,           1]
        guard secondOrder else { return ImmersionJet(value: value, jacobian: jacobian) }
        // Per output c: the 3 x 3 block [d2/dt dt, d2/dt dp, d2/dt ds; ...].
        let hessian = [-r * st * cp, -r * ct * sp, 0, -r * ct * sp, -r * st * cp, 0, 0, 0, 0,
                       -r * st * sp,  r * ct * cp, 0,  r * ct * cp, -r * st * sp, 0, 0, 0, 0,
                       -r * ct,       0,           0,  0,            0,           0, 0, 0, 0,
                       0, 0, 0, 0, 0, 0, 0, 0, 0]
        return ImmersionJet(value: value, jacobian: jacobian, hessian: hessian)
    }
}
