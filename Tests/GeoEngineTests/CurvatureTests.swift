import XCTest
@testable import GeoEngine

/// Sectional and scalar curvature by the Gauss equation against closed forms and an
/// independent finite-difference Riemann tensor.
final class CurvatureTests: XCTestCase {
    override func setUp() { Cancellation.reset() }

    private let planes: [(Vector, Vector)] = [
        (Vector([1, 0]), Vector([0, 1])),
        (Vector([0.3, -1.2]), Vector([2, 0.5])),
        (Vector([1, 1]), Vector([1, 1.001])),      // nearly parallel, still a plane
    ]

    func testSphereSectionalAndScalarCurvature() throws {
        for radius in [0.3, 1.0, 4.0] {
            let g = try Sphere(radius: radius)
            for z in [Vector([0.2, 0]), Vector([1.0, 2.0]), Vector([Double.pi / 2, -1]), Vector([2.9, 5])] {
                for (u, v) in planes {
                    let k = try Curvature.sectional(on: g, at: z, u, v)
                    XCTAssertEqual(k, 1 / (radius * radius), accuracy: 1e-8 / (radius * radius), "r = \(radius), z = \(z)")
                }
                XCTAssertEqual(try Curvature.scalar(on: g, at: z), 2 / (radius * radius), accuracy: 1e-8 / (radius * radius))
            }
        }
    }

    func testTorusCurvatureChangesSign() throws {
        let bigR = 2.5, r = 0.8
        let g = try Torus(R: bigR, r: r)
        for t in [0.0, 0.7, Double.pi / 2, -Double.pi / 2, 2.2, Double.pi] {
            let expected = cos(t) / (r * (bigR + r * cos(t)))
            for p in [0.0, 1.3] {
                let z = Vector([t, p])
                for (u, v) in planes {
                    XCTAssertEqual(try Curvature.sectional(on: g, at: z, u, v), expected, accuracy: 1e-8, "t = \(t)")
                }
                XCTAssertEqual(try Curvature.scalar(on: g, at: z), 2 * expected, accuracy: 1e-8)
                XCTAssertEqual(try Curvature.sectional(on: g, at: z, Vector([1, 0]), Vector([0, 1])),
                               try g.gaussCurvature(at: z), accuracy: 1e-8)
            }
        }
    }

    func testSaddleCurvature() throws {
        let g = Saddle()
        for z in [Vector([0, 0]), Vector([0.5, -0.2]), Vector([-1.5, 2])] {
            let expected = -4 / pow(1 + 4 * z[0] * z[0] + 4 * z[1] * z[1], 2)
            for (u, v) in planes {
                XCTAssertEqual(try Curvature.sectional(on: g, at: z, u, v), expected, accuracy: 1e-8 * abs(expected))
            }
            XCTAssertEqual(try Curvature.scalar(on: g, at: z), 2 * expected, accuracy: 1e-8 * abs(expected))
        }
    }

    func testFlatManifoldsHaveZeroCurvature() throws {
        let roll = try SwissRoll()
        let roll2 = try SwissRoll(a: 0.3, theta0: 1)
        for g in [roll, roll2] as [Generator] {
            for z in [Vector([0, 0]), Vector([-4, 1]), Vector([7.5, -3])] {
                for (u, v) in planes {
                    XCTAssertEqual(try Curvature.sectional(on: g, at: z, u, v), 0, accuracy: 1e-10)
                }
                XCTAssertEqual(try Curvature.scalar(on: g, at: z), 0, accuracy: 1e-10)
            }
        }
        let plane = try Plane(dim: 5)
        let z = Vector([1, 2, 3, 4, 5])
        XCTAssertEqual(try Curvature.sectional(on: plane, at: z, Vector([1, 0, 2, 0, 0]), Vector([0, 1, 0, 0, -1])), 0, accuracy: 1e-10)
        XCTAssertEqual(try Curvature.scalar(on: plane, at: z), 0, accuracy: 1e-10)
        // d = 1: no pairs, scalar curvature 0.
        XCTAssertEqual(try Curvature.scalar(on: try Plane(dim: 1), at: Vector([3])), 0)
    }

    func testBatchedVariantsMatchSinglePoints() throws {
        let g = try Torus()
        let pts = try Matrix(rowVectors: [Vector([0.1, 0]), Vector([1.7, 2]), Vector([3, -1])])
        let us = try Matrix(rowVectors: [Vector([1, 0]), Vector([1, 2]), Vector([-1, 0.4])])
        let vs = try Matrix(rowVectors: [Vector([0, 1]), Vector([0.5, -2]), Vector([0.3, 0.3])])
        var reports = [ProgressReport]()
        let ks = try Curvature.sectional(on: g, at: pts, u: us, v: vs, progress: { reports.append($0) })
        let ss = try Curvature.scalar(on: g, at: pts)
        XCTAssertEqual(reports.last?.completed, 3)
        for i in 0..<3 {
            XCTAssertEqual(ks[i], try Curvature.sectional(on: g, at: pts.row(i), us.row(i), vs.row(i)), accuracy: 1e-14)
            XCTAssertEqual(ss[i], try Curvature.scalar(on: g, at: pts.row(i)), accuracy: 1e-14)
        }
        XCTAssertEqual(try Curvature.scalar(on: g, at: Matrix(rows: 0, cols: 2)), [])
    }

    func testTanhNetworkAgainstFiniteDifferenceRiemannTensor() throws {
        // The finite-difference Riemann tensor is first validated on the sphere (K = 1/r^2 > 0:
        // same sign convention).
        let sphere = try Sphere(radius: 2)
        XCTAssertEqual(try finiteDifferenceSectional(sphere, Vector([1, 0.5]), Vector([1, 0]), Vector([0.3, 1])), 0.25, accuracy: 1e-5)

        for (d, seed) in [(2, UInt64(3)), (3, 7), (4, 9)] {
            let g = DeepTanhMLP(latent: d, hidden: 9, data: 6, seed: seed)
            var rng = SeededRandom(seed: seed + 100)
            let z = rng.normalVector(d) * 0.4
            try assertDerivativesMatchFiniteDifferences(g, at: z)
            for _ in 0..<3 {
                let u = rng.normalVector(d), v = rng.normalVector(d)
                let exact = try Curvature.sectional(on: g, at: z, u, v)
                let fd = try finiteDifferenceSectional(g, z, u, v)
                XCTAssertEqual(exact, fd, accuracy: 5e-5 * max(0.05, abs(fd)), "d = \(d)")   // observed ~1e-6 relative
                // A property of the plane, not of its basis.
                let other = try Curvature.sectional(on: g, at: z, u + 2 * v, v * 3 - u)
                XCTAssertEqual(other, exact, accuracy: 1e-10 * max(1, abs(exact)))
            }
            // Scalar curvature = sum over ordered pairs of a metric-orthonormal frame, built here
            // by Gram–Schmidt in the metric, independently of the engine's SVD frame.
            let m = try g.metric(z)
            func inner(_ a: Vector, _ b: Vector) throws -> Double { try a.dot(try m.apply(b)) }
            var frame = [Vector]()
            for i in 0..<d {
                var e = Vector(zeros: d); e[i] = 1
                for f in frame { e = try e.adding(f, scaledBy: -(try inner(e, f))) }
                frame.append(e / (try inner(e, e)).squareRoot())
            }
            var sum = 0.0
            for i in 0..<d { for j in 0..<d where i != j { sum += try Curvature.sectional(on: g, at: z, frame[i], frame[j]) } }
            XCTAssertEqual(try Curvature.scalar(on: g, at: z), sum, accuracy: 1e-9 * max(1, abs(sum)), "d = \(d)")
        }
    }

    func testCurvatureRejectsBadInput() throws {
        let g = try Sphere()
        let z = Vector([1, 1])
        assertTangentError(try Curvature.sectional(on: g, at: z, Vector([0, 0]), Vector([1, 0])), contains: "vector u is zero")
        assertTangentError(try Curvature.sectional(on: g, at: z, Vector([1, 0]), Vector([0, 0])), contains: "vector v is zero")
        assertTangentError(try Curvature.sectional(on: g, at: z, Vector([1, 2]), Vector([-2, -4])), contains: "parallel")
        assertTangentError(try Curvature.sectional(on: g, at: z, Vector([1, 2]), Vector([1, 2 + 1e-9])), contains: "parallel")
        assertTangentError(try Curvature.sectional(on: g, at: Vector([1, 1, 1]), Vector([1, 0]), Vector([0, 1])), contains: "latent_dim is 2, point has 3")
        assertTangentError(try Curvature.sectional(on: g, at: z, Vector([1]), Vector([0, 1])), contains: "vector u has 1")
        assertTangentError(try Curvature.sectional(on: g, at: z, Vector([1, 0]), Vector([0, .nan])), contains: "NaN")
        assertTangentError(try Curvature.scalar(on: g, at: Vector([.infinity, 0])), contains: "NaN or infinite")
        assertTangentError(try Curvature.scalar(on: g, at: Vector([1])), contains: "latent_dim is 2")
        assertTangentError(try Curvature.scalar(on: g, at: Vector([0, 1])), contains: "singular")   // the pole
        assertTangentError(try Curvature.sectional(on: try Plane(dim: 1), at: Vector([0]), Vector([1]), Vector([2])), contains: "parallel")
        let pts = try Matrix(rowVectors: [z, z])
        assertTangentError(try Curvature.sectional(on: g, at: pts, u: Matrix(rows: 1, cols: 2), v: Matrix(rows: 2, cols: 2)), contains: "vectors u are 1x2")
        assertTangentError(try Curvature.sectional(on: g, at: pts, u: try Matrix(rowVectors: [Vector([1, 0]), Vector([0, 0])]),
                                                   v: try Matrix(rowVectors: [Vector([0, 1]), Vector([0, 1])])), contains: "zero at point 2")
    }
}
