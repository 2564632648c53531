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
    /// The numbers `code` evaluates to, to the last bit (%.17g; tostring keeps only 14 digits).
    func numbers(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> [Double] {
        eval("(function(...) local t = table.pack(...) for i = 1, t.n do t[i] = math.type(t[i]) and string.format('%.17g', t[i]) or tostring(t[i]) end return table.unpack(t, 1, t.n) end)(\(code))",
             file: file, line: line).map { Double($0) ?? .nan }
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

    /// geo.models(): one entry per shipped model, in order, with a summary whose latent size is
    /// the loaded model's; printed, one line each.
    func testModelsList() throws {
        XCTAssertEqual(eval("#geo.models(), geo.models()[1].name, geo.models()[2].name, geo.models()[3].name, geo.models()[4].name, geo.models()[5].name"),
                       ["5", "fashion-vae", "fashion-vae-2d", "fashion-vae-conv", "fashion-vae-2d-member-2", "fashion-vae-2d-member-3"])
        for i in 1...5 {
            let r = eval("(function() local e = geo.models()[\(i)] return e.name, e.summary, geo.model(e.name).latent_dim, e.summary:match('latent (%d+)') end)()")
            XCTAssertEqual(r.count, 4)
            XCTAssertEqual(r[2], r[3], "the summary's latent size is the model's: \(r)")
            XCTAssertTrue(r[1].contains("Fashion-MNIST"), r[1])
        }
        XCTAssertTrue(value("geo.models()[1].summary").contains("(the default)"))
        let lines = value("tostring(geo.models())").split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 5)
        for (i, l) in lines.enumerated() {
            let name = value("geo.models()[\(i + 1)].name"), summary = value("geo.models()[\(i + 1)].summary")
            XCTAssertTrue(l.hasPrefix(name + " ") && l.hasSuffix(" " + summary), l)
        }
    }

    /// latent_map's options on the saddle, whose volume sqrt det M = sqrt(1 + 4x^2 + 4y^2) is
    /// known: with resolution 4 over [-2, 2]^2 the cell centres are x, y in {+-0.5, +-1.5}, so
    /// the cells hold sqrt 3, sqrt 11 and sqrt 19; the gray colour map puts round(255 t) in
    /// every channel, t linear in the value (log = false) or in its log10 (the default).
    func testLatentMapOptions() throws {
        let path = NSTemporaryDirectory() + "/georepl-latent-options-\(getpid()).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        lua.run("s = geo.saddle{}")
        let values = [3.0, 11, 19].map { $0.squareRoot() }
        for logScale in [false, true] {
            XCTAssertNil(lua.run("geo.latent_map(s, '\(path)', {resolution = 4, width = 8, range = 2, colormap = 'gray', log = \(logScale), progress = false})"))
            let img = try PNG.read(path)
            XCTAssertEqual([img.width, img.height, img.channels], [8, 8, 3])
            let f: (Double) -> Double = logScale ? { log10($0) } : { $0 }
            func gray(_ v: Double) -> UInt8 { UInt8((255 * (f(v) - f(values[0])) / (f(values[2]) - f(values[0]))).rounded()) }
            for y in 0..<8 {
                for x in 0..<8 {
                    // Pixel (x, y) lies in cell column x / 2 and row (7 - y) / 2 (row 0 at the bottom).
                    let cx = -1.5 + Double(x / 2), cy = -1.5 + Double((7 - y) / 2)
                    let v = (1 + 4 * cx * cx + 4 * cy * cy).squareRoot()
                    let g = gray(v)
                    XCTAssertEqual(img.pixel(x: x, y: y), [g, g, g], "log \(logScale) pixel (\(x), \(y))")
                }
            }
        }
        // The viridis default: its ends are dark purple (0x440154) and yellow (0xFDE725).
        XCTAssertNil(lua.run("geo.latent_map(s, '\(path)', {resolution = 4, width = 8, range = 2})"))
        let viridis = try PNG.read(path)
        XCTAssertEqual(viridis.pixel(x: 3, y: 3), [0x44, 0x01, 0x54], "the centre cells hold the smallest volume")
        XCTAssertEqual(viridis.pixel(x: 0, y: 0), [0xFD, 0xE7, 0x25], "the corner cells the largest")
        // A path is drawn over the cells in the first path colour, red (228, 26, 28): a
        // horizontal line through y = 0.2 crosses pixel row (2 - 0.2) / 4 * 64 = 28.8.
        XCTAssertNil(lua.run("geo.latent_map(s, '\(path)', {resolution = 4, width = 64, range = 2, paths = {{geo.vec{-2.5, 0.2}, geo.vec{2.5, 0.2}}}})"))
        let withPath = try PNG.read(path)
        XCTAssertEqual(withPath.pixel(x: 20, y: 28), [228, 26, 28])
        XCTAssertNotEqual(withPath.pixel(x: 20, y: 40), [228, 26, 28])
        let f = "bad argument #3 to 'latent_map'"
        assertError("geo.latent_map(s, '\(path)', {colormap = 'jet'})", "\(f) (option 'colormap' must be one of \"viridis\", \"magma\", \"gray\", got \"jet\")")
        assertError("geo.latent_map(s, '\(path)', {log = 1})", "\(f) (option 'log' must be a boolean, got number)")
        assertError("geo.latent_map(s, '\(path)', {scale = 2})",
                    "\(f) (unknown option 'scale' (expected one of: paths, points, range, resolution, width, log, colormap, progress))")
    }

    /// save_png's options: cols, scale, separator, shape; the background of separators and
    /// empty cells is 0.5, i.e. 128.
    func testSavePNGOptions() throws {
        let path = NSTemporaryDirectory() + "/georepl-grid-options-\(getpid()).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        lua.run("a = geo.zeros(4) b = geo.vec{1, 1, 1, 1} c = geo.vec{0, 0.25, 0.5, 1}")
        XCTAssertNil(lua.run("geo.save_png('\(path)', {a, b, c}, {cols = 2, scale = 3, separator = 2})"))
        let img = try PNG.read(path)
        // 2 columns and 2 rows of 2x2 tiles scaled to 6x6, 2 pixels apart: 14 x 14.
        XCTAssertEqual([img.width, img.height, img.channels], [14, 14, 1])
        XCTAssertEqual(img.pixel(x: 5, y: 5), [0], "tile a")
        XCTAssertEqual(img.pixel(x: 8, y: 0), [255], "tile b starts at x = 6 + 2")
        XCTAssertEqual(img.pixel(x: 6, y: 3), [128], "separator")
        XCTAssertEqual(img.pixel(x: 0, y: 8), [0], "tile c, its top-left pixel 0")
        XCTAssertEqual(img.pixel(x: 3, y: 8), [64], "c's second pixel 0.25 -> round(63.75)")
        XCTAssertEqual(img.pixel(x: 0, y: 11), [128], "c's third pixel 0.5 -> round(127.5)")
        XCTAssertEqual(img.pixel(x: 5, y: 13), [255], "c's last pixel")
        XCTAssertEqual(img.pixel(x: 10, y: 10), [128], "the empty cell")
        // shape: the same 4 values as a 1x4 strip.
        XCTAssertNil(lua.run("geo.save_png('\(path)', c, {shape = {1, 1, 4}, separator = 0})"))
        let strip = try PNG.read(path)
        XCTAssertEqual([strip.width, strip.height], [4, 1])
        XCTAssertEqual((0..<4).map { strip.pixel(x: $0, y: 0)![0] }, [0, 64, 128, 255])
        let f = "bad argument #3 to 'save_png'"
        assertError("geo.save_png('\(path)', a, {scale = 0})", "\(f) (option 'scale' must be an integer from 1 to 32, got 0)")
        assertError("geo.save_png('\(path)', a, {separator = 17})", "\(f) (option 'separator' must be an integer from 0 to 16, got 17)")
        assertError("geo.save_png('\(path)', a, {shape = {1, 0}})", "\(f) (option 'shape' must be a table of positive integers, got 0)")
        assertError("geo.save_png('\(path)', a, {shape = {1, 3, 3}})", "dimension mismatch: data shape [1, 3, 3] does not fit a vector of 4 values")
        assertError("geo.save_png('\(path)', a, {rows = 1})", "\(f) (unknown option 'rows' (expected one of: cols, shape, scale, separator))")
    }

    // MARK: Error messages

    func testLogErrors() {
        lua.run("s = geo.sphere{} a, b = geo.vec{1, 0.2}, geo.vec{2, 2.5}")
        let f = "bad argument #4 to 'log'"
        assertError("geo.log(s, a)", "bad argument #3 to 'log' (geo.Vector expected, got no value)")
        assertError("geo.log(a, a, b)", "bad argument #1 to 'log' (geo.Manifold expected, got geo.Vector)")
        assertError("geo.log(s, geo.vec{1, 2, 3}, b)", "dimension mismatch: latent_dim is 2, start point has 3")
        assertError("geo.log(s, a, geo.vec{0/0, 1})", "end point has a NaN or infinite entry")
        assertError("geo.log(s, a, b, {steps = 0})", "\(f) (option 'steps' must be an integer from 1 to 10000000, got 0)")
        assertError("geo.log(s, a, b, {points = 1})", "\(f) (option 'points' must be an integer from 2 to 100000, got 1)")
        assertError("geo.log(s, a, b, {details = 'yes'})", "\(f) (option 'details' must be a boolean, got string)")
        assertError("geo.log(s, a, b, {detail = true})",
                    "\(f) (unknown option 'detail' (expected one of: points, solver, tol, max_iter, progress, steps, details, init))")
        // The geodesic through the pole leaves the chart (its metric is singular there): the
        // shooting fails with a message that says so, and the session goes on.
        let e = lua.run("geo.log(s, geo.vec{0.3, 0}, geo.vec{0.3, math.pi}, {points = 8, max_iter = 20})", chunkName: "=t")?.description ?? ""
        XCTAssertTrue(e.hasPrefix("log map did not converge: ") && e.contains("(b may lie beyond the cut locus or across a nearly singular region"), e)
        XCTAssertEqual(value("1 + 1"), "2")
    }

    func testAnalogyErrors() {
        lua.run("s = geo.sphere{} a, b, c = geo.vec{1, 0.2}, geo.vec{1.3, 0.5}, geo.vec{0.9, 0.4}")
        let f = "bad argument #5 to 'analogy'"
        assertError("geo.analogy(s, a, b)", "bad argument #4 to 'analogy' (geo.Vector expected, got no value)")
        assertError("geo.analogy(s, a, b, geo.vec{1})", "dimension mismatch: latent_dim is 2, c has 1")
        assertError("geo.analogy(s, a, geo.vec{1, 1/0}, c)", "b has a NaN or infinite entry")
        assertError("geo.analogy(s, a, b, c, {transport = 'schild'})",
                    "\(f) (option 'transport' must be one of \"projection\", \"polar\", got \"schild\")")
        assertError("geo.analogy(s, a, b, c, {steps = 0})", "\(f) (option 'steps' must be an integer from 1 to 10000000, got 0)")
        assertError("geo.analogy(s, a, b, c, {solver = 'gauss'})",
                    "\(f) (option 'solver' must be one of \"newton\", \"georce\", \"descent\", got \"gauss\")")
        assertError("geo.analogy(s, a, b, c, {details = true})",
                    "\(f) (unknown option 'details' (expected one of: points, solver, tol, max_iter, progress, steps, transport))")
    }

    func testCurvatureAndManifoldMethodErrors() {
        lua.run("s = geo.sphere{} m = geo.load('\(ModelLoadingTests.fixture)')")
        assertError("geo.scalar(s)", "bad argument #2 to 'scalar' (geo.Vector expected, got no value)")
        assertError("geo.scalar(geo.vec{1, 2}, geo.vec{1, 2})", "bad argument #1 to 'scalar' (geo.Manifold expected, got geo.Vector)")
        assertError("geo.scalar(s, geo.vec{1, 2, 3})", "dimension mismatch: latent_dim is 2, point has 3")
        assertError("geo.scalar(s, geo.vec{1, 0/0})", "point has a NaN or infinite entry")
        // At the pole the chart's metric is singular.
        let pole = lua.run("geo.scalar(s, geo.vec{0, 1})", chunkName: "=t")?.description ?? ""
        XCTAssertTrue(pole.contains("singular") && pole.contains("(at this point)"), pole)
        assertError("s:jacobian()", "bad argument #1 to 'jacobian' (geo.Vector expected, got no value)")
        assertError("s:jacobian(geo.vec{1})", "dimension mismatch: latent_dim is 2, vector has 1")
        assertError("m:jacobian(geo.vec{1, 2})", "dimension mismatch: latent_dim is 4, vector has 2")
        assertError("s.jacobian(geo.vec{1, 2})", "bad argument #1 to 'jacobian' (geo.Manifold expected, got geo.Vector)")
        assertError("s:volume('x')", "bad argument #1 to 'volume' (geo.Vector expected, got string)")
        assertError("s:volume(geo.vec{1, 2, 3})", "dimension mismatch: latent_dim is 2, vector has 3")
        assertError("s:volume(geo.vec{1/0, 2})", "vector has a NaN or infinite entry")
        assertError("m:volume(geo.zeros(5))", "dimension mismatch: latent_dim is 4, vector has 5")
    }

    func testDatasetClassErrors() throws {
        try requireFashionMNIST()
        XCTAssertEqual(eval("ds:class(1), ds:class(10000)"), ["Ankle boot", value("ds.classes[ds:label(10000)]")])
        assertError("ds:class(0)", "bad argument #1 to 'class' (index 0 is out of range (1 to 10000))")
        assertError("ds:class(10001)", "bad argument #1 to 'class' (index 10001 is out of range (1 to 10000))")
        assertError("ds:class()", "bad argument #1 to 'class' (number expected, got no value)")
        assertError("ds:class('x')", "bad argument #1 to 'class' (number expected, got string)")
        assertError("ds:class(1.5)", "bad argument #1 to 'class' (number has no integer representation)")
        assertError("ds.class(3)", "bad argument #1 to 'class' (geo.Dataset expected, got number)")
    }
}
