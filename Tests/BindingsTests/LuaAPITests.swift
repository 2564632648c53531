import XCTest
import Foundation
import GeoEngine
@testable import Bindings

/// Options and result fields of the Lua API that the other tests leave out, each against a
/// closed form on the sphere (or an independent computation): transport's methods, holonomy's
/// fields and options, analogy's options and details, exp's projection method, p:energy,
/// geo.models, latent_map and save_png options; and the error messages of geo.log, analogy,
/// scalar, jacobian, volume and ds:class.
final class LuaAPITests: LuaTestCase {
    func numbers(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> [Double] {
        eval(code, file: file, line: line).map { Double($0) ?? .nan }
    }
    func number(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> Double {
        numbers(code, file: file, line: line).first ?? .nan
    }

    // MARK: Closed forms on the unit sphere (latent: polar angle t, azimuth p)

    typealias R3 = SIMD3<Double>
    static func point(_ t: Double, _ p: Double) -> R3 { R3(sin(t) * cos(p), sin(t) * sin(p), cos(t)) }
    static func dot(_ a: R3, _ b: R3) -> Double { (a * b).sum() }
    static func cross(_ a: R3, _ b: R3) -> R3 {
        R3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }
    static func norm(_ a: R3) -> Double { dot(a, a).squareRoot() }
    /// The latent components of a tangent vector u at (t, p): u = v_t e_t + v_p e_p with
    /// e_t = dg/dt (unit) and e_p = dg/dp (length sin t), orthogonal.
    static func latent(_ u: R3, _ t: Double, _ p: Double) -> (Double, Double) {
        let et = R3(cos(t) * cos(p), cos(t) * sin(p), -sin(t)), ep = R3(-sin(t) * sin(p), sin(t) * cos(p), 0)
        return (dot(u, et), dot(u, ep) / (sin(t) * sin(t)))
    }
    /// Rodrigues: rotation of x about the unit axis n by the angle phi.
    static func rotate(_ x: R3, about n: R3, by phi: Double) -> R3 {
        x * cos(phi) + cross(n, x) * sin(phi) + n * (dot(n, x) * (1 - cos(phi)))
    }

    /// Transport along a latitude circle, both methods, against the closed-form rotation by
    /// -phi cos t in the frame (e_t, e_p / sin t) (see GeoEngineTests' TangentTests for the
    /// derivation). Achieved (relative, 400 points over phi = 2): projection 1.36e-3 (first
    /// order), polar 1.6e-6 (second order); the default is projection.
    func testTransportMethodsAlongALatitude() {
        let t = 1.0, phi = 2.0, v = (0.3, 0.8)
        lua.run("s = geo.sphere{} loop = geo.line(s, geo.vec{\(t), 0}, geo.vec{\(t), \(phi)}, {points = 400}) v = geo.vec{\(v.0), \(v.1)}")
        let a = v.0, b = sin(t) * v.1, alpha = -phi * cos(t)
        let expected = (a * cos(alpha) - b * sin(alpha), (a * sin(alpha) + b * cos(alpha)) / sin(t))
        let norm = (a * a + b * b).squareRoot()
        func error(_ w: [Double]) -> Double {
            (pow(w[0] - expected.0, 2) + pow(sin(t) * (w[1] - expected.1), 2)).squareRoot() / norm
        }
        let projection = numbers("(function() local w = geo.transport(s, loop, v, {method = 'projection'}) return w[1], w[2] end)()")
        let polar = numbers("(function() local w = geo.transport(s, loop, v, {method = 'polar'}) return w[1], w[2] end)()")
        let byDefault = numbers("(function() local w = geo.transport(s, loop, v) return w[1], w[2] end)()")
        XCTAssertLessThan(error(projection), 1.5e-3)
        XCTAssertLessThan(error(polar), 2e-6)
        XCTAssertEqual(byDefault, projection)
        assertError("geo.transport(s, loop, v, {method = 'schild'})",
                    "bad argument #4 to 'transport' (option 'method' must be one of \"projection\", \"polar\", got \"schild\")")
        assertError("geo.transport(s, loop, v, {steps = 3})",
                    "bad argument #4 to 'transport' (unknown option 'steps' (expected one of: method))")
        assertError("geo.transport(s, loop, geo.vec{1, 2, 3})", "dimension mismatch: latent_dim is 2, vector has 3")
    }

    /// geo.holonomy's angle and details around the latitude circle at polar angle 1: the angle
    /// 2 pi (1 - cos 1), details.signed, details.transported (the vector turned by -2 pi cos 1
    /// in the orthonormal frame), details.gap; the polar method and closure_tol.
    /// Achieved (relative): angle with projection and 2001 points 4.6e-5, with polar and 201
    /// points 6.8e-5; the transported vector 1.34e-4 and 1.98e-4; the gap 2.1e-16.
    func testHolonomyFieldsAndOptions() {
        let t = 1.0, expected = 2 * Double.pi * (1 - cos(t))
        lua.run("s = geo.sphere{} v = geo.vec{1, 0.5}")
        lua.run("fine = geo.line(s, geo.vec{\(t), 0}, geo.vec{\(t), 2 * math.pi}, {points = 2001})")
        lua.run("coarse = geo.line(s, geo.vec{\(t), 0}, geo.vec{\(t), 2 * math.pi}, {points = 201})")
        let alpha = -2 * Double.pi * cos(t), a = 1.0, b = sin(t) * 0.5
        let w = (a * cos(alpha) - b * sin(alpha), (a * sin(alpha) + b * cos(alpha)) / sin(t))
        func vectorError(_ x: [Double]) -> Double {
            (pow(x[0] - w.0, 2) + pow(sin(t) * (x[1] - w.1), 2)).squareRoot() / (a * a + b * b).squareRoot()
        }
        for (loop, method, angleTolerance, vectorTolerance) in [("fine", "projection", 6e-5, 1.6e-4), ("coarse", "polar", 8e-5, 2.5e-4)] {
            let r = eval("(function() local angle, d = geo.holonomy(s, \(loop), v, {method = '\(method)'}) return angle, d.signed, d.transported[1], d.transported[2], d.gap, #d.transported end)()")
            let angle = Double(r[0]) ?? .nan
            XCTAssertEqual(angle, expected, accuracy: angleTolerance * expected, method)
            XCTAssertEqual(r[1], "true", method)
            XCTAssertLessThan(vectorError([Double(r[2]) ?? .nan, Double(r[3]) ?? .nan]), vectorTolerance, method)
            XCTAssertLessThan(Double(r[4]) ?? .nan, 1e-15, "the latitude closes exactly (up to rounding)")
            XCTAssertEqual(r[5], "2")
        }
        // The default method is projection.
        XCTAssertEqual(eval("geo.holonomy(s, fine, v) == geo.holonomy(s, fine, v, {method = 'projection'})"), ["true"])
        // An open loop, 0.01 short of the full circle: its gap is the chord 2 sin t sin(0.005);
        // closure_tol decides whether it counts as closed (relative to max(1, |g(z_0)|) = 1).
        let gap = 2 * sin(t) * sin(0.005)
        lua.run("open = geo.line(s, geo.vec{\(t), 0}, geo.vec{\(t), 2 * math.pi - 0.01}, {points = 2001})")
        XCTAssertEqual(number("select(2, geo.holonomy(s, open, v, {closure_tol = 0.01})).gap"), gap, accuracy: 1e-15)
        let f = "bad argument #4 to 'holonomy'"
        assertError("geo.holonomy(s, open, v)", "the loop is not closed: its last point lies \(formatNumber(gap)) from its first in data space (latent distance \(formatNumber(2 * Double.pi - 0.01)); tolerance 1e-06)")
        assertError("geo.holonomy(s, open, v, {closure_tol = -1})", "\(f) (option 'closure_tol' must be a finite number >= 0, got -1)")
        assertError("geo.holonomy(s, open, v, {closure = 1})", "\(f) (unknown option 'closure' (expected one of: method, closure_tol))")
        assertError("geo.holonomy(s, fine, geo.vec{0, 0})", "holonomy needs a nonzero vector")
        assertError("geo.holonomy(s, v, v)", "bad argument #2 to 'holonomy' (geo.Path expected, got geo.Vector)")
    }

    /// a : b :: c : d on the unit sphere in closed form: u = log_a(b) in R^3 (the angle times the
    /// unit tangent towards b), transported along the great circle from a to c by the rotation
    /// about x_a x x_c through their angle (parallel transport along a great circle), and
    /// d = cos|u'| x_c + sin|u'| u'/|u'|. Every option changes the route, and the details come
    /// back. Achieved (|g(d) - x_d|; log and transported vectors relative to |log|): defaults
    /// (64 points, polar transport) 6.0e-11, 3.0e-11, 2.4e-11; 32 points with the paper's
    /// projection transport 4.7e-3, 2.7e-11, 6.7e-3 (first order); descent, 16 points, tol
    /// 1e-8, 200 steps 2.7e-10, 3.0e-11, 3.9e-10.
    func testAnalogyOptionsAndDetailsOnTheSphere() {
        let (ta, pa, tb, pb, tc, pc) = (1.1, 0.2, 1.5, 0.9, 0.8, 1.4)
        let xa = Self.point(ta, pa), xb = Self.point(tb, pb), xc = Self.point(tc, pc)
        let theta = acos(Self.dot(xa, xb)), w = xb - xa * Self.dot(xa, xb)
        let u = w * (theta / Self.norm(w))
        let axis = Self.cross(xa, xc) / Self.norm(Self.cross(xa, xc))
        let u2 = Self.rotate(u, about: axis, by: acos(Self.dot(xa, xc)))
        let xd = xc * cos(Self.norm(u2)) + u2 * (sin(Self.norm(u2)) / Self.norm(u2))
        let log = Self.latent(u, ta, pa), transported = Self.latent(u2, tc, pc)
        lua.run("s = geo.sphere{} a, b, c = geo.vec{\(ta), \(pa)}, geo.vec{\(tb), \(pb)}, geo.vec{\(tc), \(pc)}")
        // (options, tolerances of d, of details.log and of details.transported)
        let cases: [(String, Double, Double, Double)] = [
            ("", 1e-10, 6e-11, 5e-11),
            ("{points = 32, transport = 'projection'}", 6e-3, 6e-11, 8e-3),
            ("{points = 16, solver = 'descent', tol = 1e-8, max_iter = 100000, steps = 200, transport = 'polar'}", 4e-10, 6e-11, 5e-10),
        ]
        for (options, pointTolerance, logTolerance, transportTolerance) in cases {
            let r = numbers("""
                (function() local d, t = geo.analogy(s, a, b, c\(options.isEmpty ? "" : ", " + options))
                  local x = s:decode(d)
                  return x[1], x[2], x[3], t.log[1], t.log[2], t.transported[1], t.transported[2], t.residual,
                         #t.ab, #t.ac, #t.cd, (t.cd[#t.cd] - d):norm(), (t.ab[1] - a):norm() + (t.ac[#t.ac] - c):norm()
                end)()
                """)
            let pointError = Self.norm(R3(r[0], r[1], r[2]) - xd)
            let logError = hypot(r[3] - log.0, sin(ta) * (r[4] - log.1)) / theta
            let transportError = hypot(r[5] - transported.0, sin(tc) * (r[6] - transported.1)) / theta
            XCTAssertLessThan(pointError, pointTolerance, options)
            XCTAssertLessThan(logError, logTolerance, options)
            XCTAssertLessThan(transportError, transportTolerance, options)
            XCTAssertLessThanOrEqual(r[7], 1e-9, "the log map's residual")
            let points = options.contains("points = 32") ? 32 : options.contains("points = 16") ? 16 : 64
            XCTAssertEqual(r[8], Double(points)); XCTAssertEqual(r[9], Double(points))
            XCTAssertEqual(r[10], options.contains("steps = 200") ? 201 : 101)
            XCTAssertEqual(r[11], 0, "cd ends at d")
            XCTAssertEqual(r[12], 0, "ab starts at a, ac ends at c")
        }
        XCTAssertEqual(eval("(function() local _, t = geo.analogy(s, a, b, c, {points = 16, solver = 'descent', tol = 1e-8, max_iter = 100000}) return t.ab.solver, t.ac.solver, t.cd.solver end)()"),
                       ["descent", "descent", "exp-rk4"])
    }

    /// The step-and-project exponential map: the great circle through x_0 with the direction
    /// J v, to first order in the step. Achieved: |g(z) - x(1)| 1.04e-3 with 100 steps, halved
    /// (ratio 2.0025) with 200; rk4's default 100 steps 3.0e-11.
    func testExpProjectionMethod() {
        let (t0, p0, vt, vp) = (1.1, 0.4, 0.3, 0.9)
        let x0 = Self.point(t0, p0)
        let jv = R3(cos(t0) * cos(p0), cos(t0) * sin(p0), -sin(t0)) * vt + R3(-sin(t0) * sin(p0), sin(t0) * cos(p0), 0) * vp
        let speed = Self.norm(jv)
        let x1 = x0 * cos(speed) + jv * (sin(speed) / speed)
        lua.run("s = geo.sphere{} z0, v = geo.vec{\(t0), \(p0)}, geo.vec{\(vt), \(vp)}")
        var errors: [Double] = []
        for steps in [100, 200] {
            let r = eval("(function() local z, p = geo.exp(s, z0, v, {method = 'projection', steps = \(steps)}) local x = s:decode(z) return x[1], x[2], x[3], #p, p.solver, p[1] == z0, p[#p] == z end)()")
            errors.append(Self.norm(R3(Double(r[0])!, Double(r[1])!, Double(r[2])!) - x1))
            XCTAssertEqual(Array(r[3...]), ["\(steps + 1)", "exp-projection", "true", "true"])
        }
        XCTAssertLessThan(errors[0], 1.2e-3)
        XCTAssertEqual(errors[0] / errors[1], 2, accuracy: 0.01)
        // rk4 is the default, and far more accurate.
        let rk4 = numbers("(function() local x = s:decode(geo.exp(s, z0, v)) return x[1], x[2], x[3] end)()")
        XCTAssertLessThan(Self.norm(R3(rk4[0], rk4[1], rk4[2]) - x1), 6e-11)
        XCTAssertEqual(value("select(2, geo.exp(s, z0, v)).solver"), "exp-rk4")
    }

    /// p:energy of a line along the latitude at polar angle t: T = N - 1 equal chords of length
    /// c = 2 sin t sin(dp / 2T), so E = T/2 * T c^2 and L = T c (and L^2 = 2E, equal steps).
    func testPathEnergy() {
        let t = 0.9, dp = 2.5, n = 11
        lua.run("s = geo.sphere{radius = 2} p = geo.line(s, geo.vec{\(t), 0}, geo.vec{\(t), \(dp)}, {points = \(n)})")
        let segments = Double(n - 1), chord = 2 * 2 * sin(t) * sin(dp / (2 * segments))
        XCTAssertEqual(number("p:energy()"), segments / 2 * segments * chord * chord, accuracy: 1e-13 * segments * segments * chord * chord)
        XCTAssertEqual(number("p:length()"), segments * chord, accuracy: 1e-13 * segments * chord)
        // A converged geodesic has equal steps: L^2 = 2E.
        XCTAssertEqual(number("(function() local q = geo.geodesic(s, p[1], p[#p], {points = 11, tol = 1e-10}) return q:length()^2 / (2 * q:energy()) end)()"),
                       1, accuracy: 1e-12)
        assertError("p.energy(3)", "bad argument #1 to 'energy' (geo.Path expected, got number)")
    }
}
