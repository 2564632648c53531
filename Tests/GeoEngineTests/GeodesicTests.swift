import Foundation
import XCTest
@testable import GeoEngine

/// A small random neural decoder for the geodesic tests: g(z) = W2 tanh(W1 z + b1) + b2 with
/// exact first and second derivatives (test-only; the real neural layers live elsewhere).
///     J t         = W2 [tanh'(a) . (W1 t)]
///     J^T c       = W1^T [tanh'(a) . (W2^T c)]
///     D2g[u, v]   = W2 [tanh''(a) . (W1 u) . (W1 v)],  tanh' = 1 - tanh^2, tanh'' = -2 tanh tanh'
final class TanhMLP: Generator {
    let w1: Matrix, b1: [Double], w2: Matrix, b2: [Double]
    var latentDim: Int { w1.cols }
    var dataShape: [Int] { [w2.rows] }

    init(latentDim d: Int, hidden h: Int, dataDim dd: Int, seed: UInt64, scale: Double = 1) {
        var rng = SeededRandom(seed: seed)
        func random(_ rows: Int, _ cols: Int, _ s: Double) -> Matrix {
            var m = Matrix(rows: rows, cols: cols)
            for k in m.scalars.indices { m.scalars[k] = s * rng.normal() }
            return m
        }
        w1 = random(h, d, scale * 1.5 / Double(d).squareRoot())
        b1 = (0..<h).map { _ in 0.5 * rng.normal() }
        w2 = random(dd, h, 1 / Double(h).squareRoot())
        b2 = (0..<dd).map { _ in 0.1 * rng.normal() }
    }

    /// tanh(W1 z + b1) for each row of z: [n, h].
    private func hidden(_ z: Matrix) throws -> Matrix {
        _ = try checkBatch(z)
        var a = try Matrix.product(z, w1, transposeB: true)
        let h = w1.rows
        for i in 0..<a.rows { for j in 0..<h { a.scalars[i * h + j] = Foundation.tanh(a.scalars[i * h + j] + b1[j]) } }
        return a
    }
    private func output(_ hid: Matrix) throws -> Matrix {
        var x = try Matrix.product(hid, w2, transposeB: true)
        let dd = w2.rows
        for i in 0..<x.rows { for c in 0..<dd { x.scalars[i * dd + c] += b2[c] } }
        return x
    }
    /// Scales row r of m (h columns) by f(hidden row of point r / k).
    private func scaleRows(_ m: inout Matrix, _ hid: Matrix, k: Int, _ f: (Double) -> Double) {
        let h = w1.rows
        for r in 0..<m.rows { for j in 0..<h { m.scalars[r * h + j] *= f(hid.scalars[(r / k) * h + j]) } }
    }

    func forward(_ z: Matrix) throws -> Matrix { try output(try hidden(z)) }

    func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        let k = try checkBatch(z, tangents: tangents)
        let hid = try hidden(z)
        var da = try Matrix.product(tangents, w1, transposeB: true)
        if k > 0 { scaleRows(&da, hid, k: k) { 1 - $0 * $0 } }
        return (try output(hid), try Matrix.product(da, w2, transposeB: true))
    }

    func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        let k = try checkBatch(z, tangents: cotangents, tangentCols: w2.rows)
        let hid = try hidden(z)
        var dh = try Matrix.product(cotangents, w2)
        if k > 0 { scaleRows(&dh, hid, k: k) { 1 - $0 * $0 } }
        return (try output(hid), try Matrix.product(dh, w1))
    }

    func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        let k = try checkBatch(z, tangents: u)
        guard v.rows == u.rows, v.cols == u.cols else { throw GeoError.dimensionMismatch("u and v differ") }
        let hid = try hidden(z)
        let au = try Matrix.product(u, w1, transposeB: true), av = try Matrix.product(v, w1, transposeB: true)
        var su = au, sv = av, s2 = au
        if k > 0 {
            scaleRows(&su, hid, k: k) { 1 - $0 * $0 }
            scaleRows(&sv, hid, k: k) { 1 - $0 * $0 }
            scaleRows(&s2, hid, k: k) { -2 * $0 * (1 - $0 * $0) }
            for idx in s2.scalars.indices { s2.scalars[idx] *= av.scalars[idx] }
        }
        return SecondOrderResult(value: try output(hid), ju: try Matrix.product(su, w2, transposeB: true),
                                 jv: try Matrix.product(sv, w2, transposeB: true),
                                 d2: try Matrix.product(s2, w2, transposeB: true))
    }
}

final class GeodesicTests: XCTestCase {
    override func setUp() { Cancellation.reset() }
    override func tearDown() { Cancellation.reset() }

    func solve(_ g: Generator, _ a: Vector, _ b: Vector, _ solver: GeodesicSolver, points: Int = 64,
               tol: Double = 1e-6, maxIterations: Int? = nil, initial: Path? = nil,
               progress: ProgressHandler? = nil) throws -> Path {
        try Geodesic.solve(g, from: a, to: b,
                           options: GeodesicOptions(points: points, solver: solver, tolerance: tol,
                                                    maxIterations: maxIterations, initialPath: initial),
                           progress: progress)
    }

    /// A path from a to b bent by `bump` * sin(pi s) (s = i/T), a non-geodesic starting path.
    func bentPath(_ a: Vector, _ b: Vector, bump: Vector, points: Int) throws -> Path {
        var p = try Path.line(from: a, to: b, points: points)
        for i in 1..<(points - 1) {
            p.points[i] = try p.points[i].adding(bump, scaledBy: sin(Double.pi * Double(i) / Double(points - 1)))
        }
        return p
    }

    // MARK: The energy and its gradient

    /// The solvers' gradient dE/dz_i = J(z_i)^T c_i against central differences of Path.energy.
    func testEnergyGradientMatchesFiniteDifferences() throws {
        let g = TanhMLP(latentDim: 3, hidden: 8, dataDim: 5, seed: 3)
        let a = Vector([-1, 0.2, 0.5]), b = Vector([0.8, -0.3, 0.1])
        let path = try bentPath(a, b, bump: Vector([0.2, 0.3, -0.1]), points: 9)
        let problem = try GeodesicProblem(g, a, b, segments: 8)
        let z = try Matrix(rowVectors: Array(path.points[1..<8]))
        let x = try problem.forward(z)
        XCTAssertEqual(problem.energy(x), try path.energy(on: g), accuracy: 1e-12)
        let gradient = try problem.vjp(z, cotangents: problem.energyCotangents(x)).cotangents
        var rng = SeededRandom(seed: 11)
        let direction = Matrix(rows: 7, cols: 3, unchecked: (0..<21).map { _ in rng.normal() })
        let h = 1e-6
        func energy(_ s: Double) throws -> Double {
            var p = path
            for i in 1..<8 { p.points[i] = try p.points[i].adding(direction.row(i - 1), scaledBy: s) }
            return try p.energy(on: g)
        }
        let fd = (try energy(h) - energy(-h)) / (2 * h)
        XCTAssertEqual(problem.inner(gradient, direction), fd, accuracy: 1e-6 * max(1, abs(fd)))
    }

    /// The test decoder's exact derivatives.
    func testTanhMLPDerivatives() throws {
        let g = TanhMLP(latentDim: 4, hidden: 16, dataDim: 20, seed: 7)
        try assertDerivativesMatchFiniteDifferences(g, at: Vector([0.3, -0.5, 0.8, 0.1]))
    }

    // MARK: Closed forms

    /// Great circles: the discrete geodesic of 64 points is 63 equal chords of the great circle,
    /// so its length is 2 r 63 sin(theta / 126) (theta the angle between the endpoints' images)
    /// and point i sits at angle i theta / 63 along it; converged.
    func testSphereGeodesicsAreGreatCircles() throws {
        // (radius, separation, solvers): every case with Newton, some with descent too (slow).
        let cases: [(Double, Double, [GeodesicSolver])] = [
            (1, 0.1, [.newton, .descent]), (1, 0.8, [.newton]), (1, 1.7, [.newton, .descent]), (1, 2.6, [.newton]),
            (2, 0.1, [.newton]), (2, 0.8, [.newton, .descent]), (2, 1.7, [.newton]), (2, 2.6, [.newton, .descent]),
        ]
        for (r, sep, solvers) in cases {
            let sphere = try Sphere(radius: r)
            // Endpoints away from the poles (the coordinates degenerate there, not the sphere).
            let a = Vector([Double.pi / 2 - 0.3, 0.2]), b = Vector([Double.pi / 2 + 0.4, 0.2 + sep])
            let xa = try sphere.decode(a), xb = try sphere.decode(b)
            let exact = try r * acos(max(-1, min(1, xa.dot(xb) / (r * r))))
            var normal = Vector([xa[1] * xb[2] - xa[2] * xb[1], xa[2] * xb[0] - xa[0] * xb[2], xa[0] * xb[1] - xa[1] * xb[0]])
            normal = normal / normal.norm
            for solver in solvers {
                let p = try solve(sphere, a, b, solver)
                let what = "\(solver) r=\(r) separation \(sep)"
                XCTAssertTrue(p.converged, what)
                XCTAssertEqual(p.solver, solver.rawValue)
                XCTAssertEqual(p.count, 64)
                XCTAssertEqual(p.points.first, a); XCTAssertEqual(p.points.last, b)
                XCTAssertLessThan(try Geodesic.residual(of: p, on: sphere), 1e-6, what)
                let length = try p.length(on: sphere)
                // The discrete geodesic: T - 1 = 63 equal chords of the great circle, each
                // subtending theta / 63 (theta = exact / r), so L = 2 r 63 sin(theta / 126).
                let chords = 2 * r * 63 * sin(exact / r / 126)
                // Achieved: newton <= 2.6e-15, descent <= 1.5e-13 (its residual stops at 1e-6).
                XCTAssertEqual(length, chords, accuracy: (solver == .newton ? 1e-14 : 3e-13) * chords, what)
                let x = try p.decode(on: sphere)
                var offPlane = 0.0, spacing = 0.0
                for i in 0..<x.rows { offPlane = try max(offPlane, abs(x.row(i).dot(normal))) }
                // Every point at the equal-angle position along the great circle.
                let e1 = xa / r, perp = try xb - xa * (xa.dot(xb) / (r * r)), e2 = perp / perp.norm
                for i in 0..<x.rows {
                    let angle = exact / r * Double(i) / 63
                    let expected = try (e1 * cos(angle) + e2 * sin(angle)) * r
                    spacing = try max(spacing, (x.row(i) - expected).norm / r)
                }
                // Achieved (relative to r): newton <= 6.5e-8, descent <= 1.2e-6.
                let positionTolerance = solver == .newton ? 1e-7 : 2e-6
                XCTAssertLessThan(offPlane, positionTolerance * r, what)
                XCTAssertLessThan(spacing, positionTolerance, what)
                // Equal data-space steps at a discrete geodesic: L^2 = 2E.
                XCTAssertEqual(length * length, 2 * (try p.energy(on: sphere)), accuracy: 1e-6 * length * length, what)
                print("sphere \(what): exact \(exact), length \(length), iterations \(p.iterations), evaluations \(p.evaluations)")
            }
        }
    }

    /// Near a pole the spherical coordinates degenerate (M = diag(r^2, r^2 sin^2 t)); Newton
    /// still converges between points close to it, and a path across the pole (where the chart,
    /// not the sphere, is singular) returns without error even if it cannot converge.
    func testSphereNearThePole() throws {
        let sphere = try Sphere()
        let a = Vector([0.05, 0]), b = Vector([0.05, 1.5])
        let exact = acos(try sphere.decode(a).dot(try sphere.decode(b)))
        let p = try solve(sphere, a, b, .newton)
        XCTAssertTrue(p.converged)
        // 63 equal chords of the great circle.
        let chords = 2 * 63 * sin(exact / 126)
        XCTAssertEqual(try p.length(on: sphere), chords, accuracy: 3e-14 * chords)   // achieved 1.3e-14
        let across = try solve(sphere, Vector([0.01, 0]), Vector([0.02, 3.1]), .newton, maxIterations: 50)
        XCTAssertEqual(across.count, 64)
        XCTAssertTrue(across.points.allSatisfy { $0.isFinite })
        XCTAssertLessThanOrEqual(try across.energy(on: sphere), try Path.line(from: Vector([0.01, 0]), to: Vector([0.02, 3.1])).energy(on: sphere))
    }

    /// Plane: the geodesic is the straight line, from the line itself (0 iterations) and from a
    /// bent start; Newton needs one iteration there (its model is exact for a linear map).
    func testPlaneGeodesicIsTheStraightLine() throws {
        let plane = try Plane(dim: 3)
        let a = Vector([1, -2, 0.5]), b = Vector([-0.5, 1, 2])
        for solver in GeodesicSolver.allCases {
            let p = try solve(plane, a, b, solver)
            XCTAssertTrue(p.converged); XCTAssertEqual(p.iterations, 0)
            XCTAssertEqual(p.points, try Path.line(from: a, to: b, points: 64).points)
        }
        let points = 16
        let line = try Path.line(from: a, to: b, points: points)
        let start = try bentPath(a, b, bump: Vector([0.4, 0.3, -0.6]), points: points)
        for (solver, tol) in [(GeodesicSolver.newton, 1e-6), (.descent, 1e-10)] {
            let p = try solve(plane, a, b, solver, points: points, tol: tol, initial: start)
            XCTAssertTrue(p.converged, "\(solver)")
            if solver == .newton { XCTAssertEqual(p.iterations, 1) }
            for i in 0..<points {
                XCTAssertLessThan(try (p.points[i] - line.points[i]).norm, 1e-8, "\(solver) point \(i)")
            }
        }
    }

    /// An anisotropic linear map: the metric is constant, so the geodesic is the straight latent
    /// line, which Newton reaches in one iteration from any start.
    func testLinearMapNewtonConvergesInOneIteration() throws {
        let g = LinearMap(try Matrix(rows: 3, cols: 2, scalars: [3, 0, 0, 0.2, 1, 1]))
        let a = Vector([1, 2]), b = Vector([-1, 0.5])
        let start = try bentPath(a, b, bump: Vector([0.5, -1]), points: 20)
        let p = try solve(g, a, b, .newton, points: 20, initial: start)
        XCTAssertTrue(p.converged); XCTAssertEqual(p.iterations, 1)
        let line = try Path.line(from: a, to: b, points: 20)
        // Exact up to rounding and the 1e-12 relative ridge on the metric.
        for i in 0..<20 { XCTAssertLessThan(try (p.points[i] - line.points[i]).norm, 1e-10) }
    }

    /// Swiss roll (isometric to the plane): the geodesic is the straight latent line, length |b - a|.
    func testSwissRollGeodesicIsTheUnrolledLine() throws {
        let roll = try SwissRoll()
        let a = Vector([-3, 0.5]), b = Vector([4, 2])
        let chord = try (b - a).norm
        for solver in GeodesicSolver.allCases {
            let p = try solve(roll, a, b, solver)
            XCTAssertTrue(p.converged, "\(solver)")
            XCTAssertEqual(try p.length(on: roll), chord, accuracy: 1e-4 * chord, "\(solver)")
            let line = try Path.line(from: a, to: b, points: 64)
            var deviation = 0.0
            for i in 0..<64 { deviation = try max(deviation, (p.points[i] - line.points[i]).norm) }
            // The chords of a discrete path cut across the roll, so the discrete optimum moves
            // off the latent line by O(step^2 * curvature); far below the tolerance here.
            XCTAssertLessThan(deviation, 1e-3 * chord, "\(solver)")
            print("swiss roll \(solver): length \(try p.length(on: roll)) vs \(chord), max deviation from the line \(deviation), iterations \(p.iterations)")
        }
    }

    /// Torus: both solvers reach the same energy to 1e-6 relative.
    func testTorusSolversAgree() throws {
        let torus = try Torus(R: 2, r: 1)
        let a = Vector([0.3, 0.1]), b = Vector([2.6, 1.9])
        let newton = try solve(torus, a, b, .newton, points: 32)
        let descent = try solve(torus, a, b, .descent, points: 32)
        XCTAssertTrue(newton.converged); XCTAssertTrue(descent.converged)
        let eg = try newton.energy(on: torus), ed = try descent.energy(on: torus)
        XCTAssertEqual(eg, ed, accuracy: 1e-6 * eg)
        XCTAssertLessThan(eg, try Path.line(from: a, to: b, points: 32).energy(on: torus) * 0.99)
        print("torus: energy newton \(eg) (\(newton.iterations) iterations, \(newton.evaluations) evaluations), descent \(ed) (\(descent.iterations) iterations, \(descent.evaluations) evaluations)")
    }

    /// A small random neural decoder: the solvers agree on the energy, and Newton uses at least
    /// 10x fewer generator evaluations.
    func testNeuralDecoderNewtonMatchesDescentWithFarFewerEvaluations() throws {
        let g = TanhMLP(latentDim: 4, hidden: 16, dataDim: 20, seed: 7)
        let a = Vector([-1, 0.5, 0.3, -0.8]), b = Vector([1, -0.4, 0.9, 0.6])
        let newton = try solve(g, a, b, .newton, points: 32)
        let descent = try solve(g, a, b, .descent, points: 32, maxIterations: 200_000)
        XCTAssertTrue(newton.converged); XCTAssertTrue(descent.converged)
        let eg = try newton.energy(on: g), ed = try descent.energy(on: g)
        let line = try Path.line(from: a, to: b, points: 32).energy(on: g)
        XCTAssertEqual(eg, ed, accuracy: 1e-6 * eg)
        XCTAssertLessThan(eg, 0.99 * line, "the geodesic should be clearly shorter than the line")
        XCTAssertLessThanOrEqual(10 * newton.evaluations, descent.evaluations)
        print("neural decoder (d 4, D 20, 32 points): line energy \(line); newton energy \(eg), \(newton.iterations) iterations, \(newton.evaluations) evaluations; descent energy \(ed), \(descent.iterations) iterations, \(descent.evaluations) evaluations; ratio \(Double(descent.evaluations) / Double(newton.evaluations))")
    }

    /// Path.residuals: one entry per iteration and the start, the last within the tolerance;
    /// Newton's are quadratic near the solution (each at most a few times the square of the one
    /// before, between 1e-2 and the rounding floor), on a 12-dimensional decoder with a curved energy. Restarting at
    /// the converged path takes no iteration, and its one fused pass stops before the reverse
    /// part: J(b) d, the endpoints 2 and n (d + 1) evaluations (not n (2d + 1)).
    func testResidualsAreRecordedAndNewtonConvergesQuadratically() throws {
        let g = DeepTanhMLP(latent: 12, hidden: 40, data: 60, seed: 3, scale: 1.5)
        var rng = SeededRandom(seed: 11)
        let a = rng.normalVector(12), b = rng.normalVector(12)
        let tol = 1e-10
        let newton = try solve(g, a, b, .newton, points: 24, tol: tol)
        XCTAssertTrue(newton.converged)
        XCTAssertEqual(newton.residuals.count, newton.iterations + 1)
        XCTAssertLessThanOrEqual(newton.residuals.last ?? 1, tol)
        XCTAssertGreaterThan(newton.iterations, 2, "the test needs a few Newton iterations")
        let r = newton.residuals
        // Above the rounding floor (~1e-12 here); achieved: at most 10 r^2.
        for k in 1..<r.count where r[k - 1] < 1e-2 && r[k - 1] > 1e-9 {
            XCTAssertLessThan(r[k], 100 * r[k - 1] * r[k - 1], "residuals \(r)")
        }
        let descent = try solve(g, a, b, .descent, points: 24, maxIterations: 40)
        XCTAssertEqual(descent.residuals.count, descent.iterations + 1)
        let georce = try solve(g, a, b, .georce, points: 24, maxIterations: 10)
        XCTAssertEqual(georce.residuals.count, georce.iterations + 1)
        XCTAssertEqual(try Path.line(from: a, to: b, points: 24).residuals, [])
        print("residuals (d 12, 24 points): newton \(r.map { String(format: "%.1e", $0) })")

        let again = try solve(g, a, b, .newton, points: 24, tol: 1e-6, initial: newton)
        XCTAssertTrue(again.converged); XCTAssertEqual(again.iterations, 0)
        let n = 22, d = 12
        XCTAssertEqual(again.evaluations, 2 + d + n * (d + 1))
    }

    // MARK: Options, counting, progress

    func testStartingPathOptionAndTightTolerance() throws {
        let sphere = try Sphere()
        let a = Vector([1.2, 0.1]), b = Vector([1.9, 1.5])
        let start = try bentPath(a, b, bump: Vector([0.3, -0.2]), points: 40)
        let fromLine = try solve(sphere, a, b, .newton, points: 40, tol: 1e-10)
        let fromBent = try solve(sphere, a, b, .newton, points: 40, tol: 1e-10, initial: start)
        XCTAssertTrue(fromLine.converged); XCTAssertTrue(fromBent.converged)
        XCTAssertEqual(fromBent.count, 40)
        XCTAssertLessThan(try Geodesic.residual(of: fromBent, on: sphere), 1e-10)
        for i in 0..<40 { XCTAssertLessThan(try (fromLine.points[i] - fromBent.points[i]).norm, 1e-8) }
    }

    func testIterationLimitProgressAndEvaluationCounts() throws {
        let g = TanhMLP(latentDim: 4, hidden: 16, dataDim: 20, seed: 7)
        let a = Vector([-1, 0.5, 0.3, -0.8]), b = Vector([1, -0.4, 0.9, 0.6])
        // No iterations: the start is returned, not converged; evaluations follow the rule
        // (endpoints 2; Newton: J(b) d + one fused pass, n*d tangents and n*(d + 1) cotangents;
        // descent: forward n + VJP n).
        let n = 30, d = 4
        let g0 = try solve(g, a, b, .newton, points: 32, maxIterations: 0)
        let d0 = try solve(g, a, b, .descent, points: 32, maxIterations: 0)
        for p in [g0, d0] {
            XCTAssertFalse(p.converged); XCTAssertEqual(p.iterations, 0); XCTAssertEqual(p.stop, .maxIterations)
            XCTAssertEqual(p.points, try Path.line(from: a, to: b, points: 32).points)
        }
        XCTAssertEqual(g0.evaluations, 2 + d + n * (2 * d + 1))
        XCTAssertEqual(d0.evaluations, 2 + n + n)

        var reports = [ProgressReport]()
        let p = try solve(g, a, b, .newton, points: 32, maxIterations: 3) { reports.append($0) }
        XCTAssertFalse(p.converged); XCTAssertEqual(p.iterations, 3); XCTAssertEqual(p.stop, .maxIterations)
        XCTAssertEqual(reports.map(\.completed), [0, 1, 2, 3])
        XCTAssertTrue(reports.allSatisfy { $0.total == 3 && $0.detail.hasPrefix("energy ") })
        XCTAssertEqual(GeodesicSolver.newton.defaultMaxIterations, 200)
        XCTAssertEqual(GeodesicSolver.descent.defaultMaxIterations, 50_000)
    }

    /// A tolerance of 0 is below the residual's rounding floor: Newton reaches the great circle
    /// (quadratically), then stalls within `stallWindow` iterations instead of running to its
    /// limit; descent runs to its limit.
    func testToleranceBelowTheRoundingFloorStalls() throws {
        let sphere = try Sphere()
        let a = Vector([1.2, 0.1]), b = Vector([1.9, 1.5])
        let converged = try solve(sphere, a, b, .newton, points: 40, tol: 1e-10)
        XCTAssertEqual(converged.stop, .converged)
        let p = try solve(sphere, a, b, .newton, points: 40, tol: 0)
        XCTAssertEqual(p.stop, .stalled); XCTAssertFalse(p.converged)
        XCTAssertLessThanOrEqual(p.iterations, converged.iterations + 2 * Newton.stallWindow)
        XCTAssertLessThan(try Geodesic.residual(of: p, on: sphere), 1e-10)
        for i in 0..<40 { XCTAssertLessThan(try (p.points[i] - converged.points[i]).norm, 1e-8) }
        let d = try solve(sphere, a, b, .descent, points: 40, tol: 0, maxIterations: 30)
        XCTAssertEqual(d.stop, .maxIterations); XCTAssertEqual(d.iterations, 30)
    }

    /// On a ReLU network the energy has kinks, and a minimum can sit on one with a nonzero
    /// gradient, so no tolerance-based test can pass there. Newton stops as stalled at such a
    /// point (before this rule it used all 200 iterations, to an energy 1.3e-7 lower), and the
    /// point is a minimum to that order: 500 steps of gradient descent started from it lower the
    /// energy by less than 1e-6 of itself.
    func testNewtonStallsAtAKinkOfAReLUNetwork() throws {
        var rng = SeededRandom(seed: 1)
        func lin(_ o: Int, _ i: Int) -> LayerSpec {
            .linear(weight: randomTensor([o, i], &rng, scale: 1 / Double(i).squareRoot()), bias: randomTensor([o], &rng, scale: 0.1))
        }
        let g = try NeuralNetwork(latentDim: 4, layers: [lin(64, 4), .activation(.relu), lin(64, 64), .activation(.relu),
                                                         lin(40, 64), .activation(.sigmoid)])
        let a = rng.normalVector(4), b = rng.normalVector(4)
        let p = try solve(g, a, b, .newton, points: 32)
        XCTAssertEqual(p.stop, .stalled)
        XCTAssertLessThan(p.iterations, 100)
        let e = try p.energy(on: g)
        XCTAssertLessThan(e, try Path.line(from: a, to: b, points: 32).energy(on: g))
        let polished = try solve(g, a, b, .descent, points: 32, maxIterations: 500, initial: p)
        XCTAssertGreaterThan(try polished.energy(on: g), e * (1 - 1e-6))
    }

    func testStallDetector() {
        var s = Newton.StallDetector(window: 3)
        // Progress: a new energy below the best by more than the round-off zone, or a residual
        // below half the best.
        XCTAssertFalse(s.stalled(energy: 10, residual: 1))
        XCTAssertFalse(s.stalled(energy: 10 * (1 - 1e-9), residual: 0.9))   // idle 1
        XCTAssertFalse(s.stalled(energy: 10 * (1 + 1e-9), residual: 0.6))   // idle 2
        XCTAssertFalse(s.stalled(energy: 10 * (1 - 1e-9), residual: 0.4))   // progress: 0.4 < 0.5
        XCTAssertFalse(s.stalled(energy: 10, residual: 0.3))                // idle 1
        XCTAssertFalse(s.stalled(energy: 9, residual: 0.3))                 // progress: energy
        XCTAssertFalse(s.stalled(energy: 9, residual: 0.3))                 // idle 1
        XCTAssertFalse(s.stalled(energy: 9, residual: 0.3))                 // idle 2
        XCTAssertTrue(s.stalled(energy: 9, residual: 0.3))                  // idle 3 = window
    }

    func testTwoPointsGiveTheSegment() throws {
        let p = try solve(try Sphere(), Vector([1, 0]), Vector([2, 1]), .newton, points: 2)
        XCTAssertEqual(p.points, [Vector([1, 0]), Vector([2, 1])])
        XCTAssertTrue(p.converged); XCTAssertEqual(p.iterations, 0)
    }

    // MARK: Bad input

    func testBadInputThrowsClearErrors() throws {
        let sphere = try Sphere()
        let a = Vector([1, 0]), b = Vector([2, 1])
        func expect(_ expected: GeoError, _ body: () throws -> Path, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                XCTAssertEqual((error as? GeoError)?.description, expected.description, "\(error)", line: line)
            }
        }
        expect(.dimensionMismatch("latent_dim is 2, start point has 3")) { try self.solve(sphere, Vector([1, 0, 0]), b, .newton) }
        expect(.dimensionMismatch("latent_dim is 2, end point has 1")) { try self.solve(sphere, a, Vector([1]), .descent) }
        expect(.invalidArgument("start point has a NaN or infinite entry")) { try self.solve(sphere, Vector([.nan, 0]), b, .newton) }
        expect(.invalidArgument("end point has a NaN or infinite entry")) { try self.solve(sphere, a, Vector([1, .infinity]), .descent) }
        for points in [1, 0, -5, GeodesicOptions.maxPoints + 1] {
            expect(.invalidArgument("points must be an integer from 2 to \(GeodesicOptions.maxPoints), got \(points)")) {
                try self.solve(sphere, a, b, .newton, points: points)
            }
        }
        expect(.invalidArgument("tol must be a finite number >= 0, got nan")) { try self.solve(sphere, a, b, .newton, tol: .nan) }
        expect(.invalidArgument("tol must be a finite number >= 0, got -1")) { try self.solve(sphere, a, b, .newton, tol: -1) }
        expect(.invalidArgument("max_iter must be an integer from 0 to 2147483647, got -1")) { try self.solve(sphere, a, b, .descent, maxIterations: -1) }
        let wrongEnd = try Path.line(from: a, to: Vector([2, 2]), points: 5)
        expect(.invalidArgument("the initial path must start at the start point and end at the end point")) {
            try self.solve(sphere, a, b, .newton, initial: wrongEnd)
        }
        var wrongDim = try Path.line(from: a, to: b, points: 5)
        wrongDim.points[2] = Vector([1, 2, 3])
        expect(.dimensionMismatch("latent_dim is 2, initial path point 3 has 3")) { try self.solve(sphere, a, b, .newton, initial: wrongDim) }
        var nanPath = try Path.line(from: a, to: b, points: 5)
        nanPath.points[1] = Vector([.nan, 1])
        expect(.invalidArgument("initial path point 2 has a NaN or infinite entry")) { try self.solve(sphere, a, b, .descent, initial: nanPath) }
        expect(.invalidArgument("the initial path must have from 2 to \(GeodesicOptions.maxPoints) points, got 1")) {
            try self.solve(sphere, a, b, .newton, initial: Path(points: [a], solver: "line"))
        }
    }

    /// Identical endpoints: the constant path (length 0, converged, 0 iterations), both solvers.
    func testIdenticalEndpointsGiveTheConstantPath() throws {
        let sphere = try Sphere()
        let a = Vector([1, 0.5])
        for solver in GeodesicSolver.allCases {
            let p = try solve(sphere, a, a, solver, points: 10)
            XCTAssertEqual(p.points, [Vector](repeating: a, count: 10))
            XCTAssertTrue(p.converged); XCTAssertEqual(p.iterations, 0)
            XCTAssertEqual(try p.length(on: sphere), 0)
            XCTAssertEqual(p.solver, solver.rawValue)
        }
    }

    func testCancellationRequestedBeforeSolvingThrowsInterrupted() {
        for solver in GeodesicSolver.allCases {
            Cancellation.request()
            XCTAssertThrowsError(try solve(try Sphere(), Vector([1, 0]), Vector([2, 1]), solver)) { error in
                XCTAssertEqual(error as? GeoError, .interrupted)
            }
            XCTAssertFalse(Cancellation.isRequested)
        }
    }

    /// A request during the solve (from the progress handler, as Ctrl-C would) stops it.
    func testCancellationDuringSolvingThrowsInterrupted() {
        for solver in GeodesicSolver.allCases {
            XCTAssertThrowsError(try solve(try Sphere(), Vector([1, 0]), Vector([2, 1]), solver) { report in
                if report.completed == 2 { Cancellation.request() }
            }) { error in
                XCTAssertEqual(error as? GeoError, .interrupted)
            }
        }
    }

    /// A generator whose values become NaN: a clear numerical error, never a trap.
    func testNonFiniteGeneratorValuesThrow() {
        let g = LinearMap(try! Matrix(rows: 2, cols: 2, scalars: [.nan, 0, 0, 1]))
        for solver in GeodesicSolver.allCases {
            XCTAssertThrowsError(try solve(g, Vector([1, 0]), Vector([2, 1]), solver)) { error in
                guard case .numerical = error as? GeoError else { return XCTFail("\(error)") }
            }
        }
    }
}
