import XCTest
import CLua
import Foundation
@testable import Bindings
import GeoEngine

final class GeometryTests: LuaTestCase {
    /// The numbers `code` evaluates to, to the last bit (%.17g; tostring keeps only 14 digits).
    func numbers(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> [Double] {
        eval("(function(...) local t = table.pack(...) for i = 1, t.n do t[i] = math.type(t[i]) and string.format('%.17g', t[i]) or tostring(t[i]) end return table.unpack(t, 1, t.n) end)(\(code))",
             file: file, line: line).map { Double($0) ?? .nan }
    }
    func number(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> Double {
        numbers(code, file: file, line: line).first ?? .nan
    }


    func testSphereFromLua() {
        lua.run("s = geo.sphere{} a, b = geo.vec{1, 0.2}, geo.vec{2, 2.5} p = geo.geodesic(s, a, b)")
        // The unit sphere, independently: x(t, p) = (sin t cos p, sin t sin p, cos t).
        typealias R3 = SIMD3<Double>
        func x(_ t: Double, _ p: Double) -> R3 { R3(sin(t) * cos(p), sin(t) * sin(p), cos(t)) }
        func dot(_ u: R3, _ v: R3) -> Double { (u * v).sum() }
        let xa = x(1, 0.2), xb = x(2, 2.5)
        let great = acos(dot(xa, xb))
        // 64 points: 63 equal chords of the great circle. Achieved 0 (to the last bit).
        let chords = 2 * 63 * sin(great / 126)
        XCTAssertEqual(number("p:length()"), chords, accuracy: 1e-14 * chords)
        XCTAssertEqual(eval("#p, p.solver, p.converged, p.stop"), ["64", "newton", "true", "converged"])
        // Why a solver stopped: its iteration limit, or a stall below the rounding floor.
        XCTAssertEqual(eval("(function() local q = geo.geodesic(s, a, b, {max_iter = 1}) return q.converged, q.stop, tostring(q) end)()"),
                       ["false", "max_iter", "geo.Path(64 points on sphere, solver newton, not converged (max_iter) after 1 iteration)"])
        XCTAssertEqual(eval("geo.geodesic(s, a, b, {points = 16, tol = 1e-300}).stop, geo.line(s, a, b).stop"), ["stalled", "converged"])
        XCTAssertEqual(eval("geo.geodesic(s, a, b, {points = 16, solver = 'descent'}).solver"), ["descent"])
        // exp undoes log to the log map's tolerance, 1e-9 (achieved 8.2e-12).
        XCTAssertLessThanOrEqual(number("(geo.exp(s, a, geo.log(s, a, b)) - b):norm()"), 1e-9)
        XCTAssertEqual(eval("select('#', geo.exp(s, a, geo.vec{0.1, 0}))"), ["2"])
        // log's details: the 64-point newton geodesic, the shot ending at exp_a(v), the residual
        // that is that end's distance to b, a guess O(1/T^2) from v, a whole number of
        // Broyden iterations within the limit (50); |v|_M is the great-circle distance.
        lua.run("v, d = geo.log(s, a, b, {details = true})")
        XCTAssertEqual(eval("select('#', geo.log(s, a, b)), #d.geodesic, d.geodesic.solver, #d.shot, d.shot.solver, d.shot[#d.shot] == geo.exp(s, a, v), math.type(d.iterations)"),
                       ["1", "64", "newton", "101", "exp-rk4", "true", "integer"])
        XCTAssertEqual(number("d.residual - (d.shot[#d.shot] - b):norm()"), 0)
        XCTAssertLessThanOrEqual(number("d.iterations"), 50)
        let (guessError, speed) = (number("(d.initial_guess - v):norm() / v:norm()"), number("math.sqrt(v:dot(s:metric(a) * v))"))
        XCTAssertLessThan(guessError, 5e-4)   // achieved 3.9e-4 (64 points)
        XCTAssertEqual(speed, great, accuracy: 5e-9 * great)   // achieved 2.8e-9 (the log of RK4 with 100 steps)
        XCTAssertEqual(number("geo.sectional(s, a, geo.vec{1, 0}, geo.vec{0.3, 1})"), 1, accuracy: 1e-15)   // achieved 2.2e-16
        XCTAssertEqual(number("geo.scalar(s, a)"), 2, accuracy: 2e-15)   // achieved 4.4e-16
        // Holonomy around the latitude at t = 1: 2 pi (1 - cos 1). Achieved 2.2e-5 relative.
        let holonomy = 2 * Double.pi * (1 - cos(1))
        XCTAssertEqual(number("geo.holonomy(s, geo.line(s, geo.vec{1, 0}, geo.vec{1, 2 * math.pi}, {points = 2001}), geo.vec{1, 0})"),
                       holonomy, accuracy: 3e-5 * holonomy)
        // Transport along the geodesic p (a great circle) is the rotation about x_a x x_b by
        // their angle; compared in R^3 (J w against the rotated J v), not only its length.
        // Achieved: projection (the default, first order) 1.29e-2 relative with 64 points, polar
        // 1.0e-9 (the path is a geodesic to tol 1e-6).
        let n = { (u: R3) -> R3 in u / dot(u, u).squareRoot() }(R3(xa.y * xb.z - xa.z * xb.y, xa.z * xb.x - xa.x * xb.z, xa.x * xb.y - xa.y * xb.x))
        func rotate(_ u: R3) -> R3 {
            let c = R3(n.y * u.z - n.z * u.y, n.z * u.x - n.x * u.z, n.x * u.y - n.y * u.x)
            return u * cos(great) + c * sin(great) + n * (dot(n, u) * (1 - cos(great)))
        }
        func pushed(_ t: Double, _ p: Double, _ v: (Double, Double)) -> R3 {
            R3(cos(t) * cos(p), cos(t) * sin(p), -sin(t)) * v.0 + R3(-sin(t) * sin(p), sin(t) * cos(p), 0) * v.1
        }
        let expected = rotate(pushed(1, 0.2, (0.3, 0.1)))
        for (method, tolerance) in [("projection", 1.5e-2), ("polar", 2e-9)] {
            let w = numbers("(function() local w = geo.transport(s, p, geo.vec{0.3, 0.1}, {method = '\(method)'}) return w[1], w[2] end)()")
            let e = pushed(2, 2.5, (w[0], w[1])) - expected
            XCTAssertLessThan(dot(e, e).squareRoot(), tolerance * dot(expected, expected).squareRoot(), method)
        }
        // The init option restarts from a given path.
        XCTAssertEqual(eval("geo.geodesic(s, a, b, {init = p}).iterations"), ["0"])
    }

    /// Sweeps against closed forms: the seeded prior sample is SeededRandom(seed)'s normal
    /// draws (the engine's generator, checked in GeoEngineTests' CoreTests), and every value on
    /// the torus (R = 2, r = 1) is K = cos t / (r (R + r cos t)) at its point; the statistics are
    /// recomputed here from those closed-form values (quantiles by linear interpolation, "type 7").
    func testAnalogiesAndSweeps() {
        XCTAssertEqual(value("geo.analogy(geo.plane{}, geo.vec{0, 0}, geo.vec{1, 2}, geo.vec{5, 5})"), "geo.vec{6, 7}")
        XCTAssertEqual(eval("(function() local d, t = geo.analogy(geo.plane{}, geo.vec{0, 0}, geo.vec{1, 2}, geo.vec{5, 5}) return t.log, t.transported, #t.ab, t.cd.solver end)()"),
                       ["geo.vec{1, 2}", "geo.vec{1, 2}", "64", "exp-rk4"])
        lua.run("st = geo.sweep(geo.sphere{radius = 2}, {points = {geo.vec{1, 1}, geo.vec{2, 3}}, measure = 'scalar'})")
        XCTAssertEqual(number("st.mean"), 0.5, accuracy: 1e-15)
        XCTAssertEqual(eval("st.count, #st.values, st.measure, st.dropped"), ["2", "2", "scalar", "0"])
        XCTAssertEqual(value("geo.sweep(geo.plane{}, {samples = 10, seed = 1}).max"), "0.0")

        lua.run("st = geo.sweep(geo.torus{}, {samples = 50, seed = 9})")
        var rng = SeededRandom(seed: 9)
        let k = (0..<50).map { _ -> Double in let z = rng.normalVector(2); return cos(z[0]) / (2 + cos(z[0])) }
        let values = numbers("table.unpack(st.values)")
        XCTAssertEqual(values.count, 50)
        var worst = 0.0
        for (v, e) in zip(values, k) { worst = max(worst, abs(v - e)) }
        XCTAssertLessThan(worst, 2e-12)   // achieved 7.8e-13 (the Gauss equation through an SVD)
        let sorted = k.sorted(), mean = k.reduce(0, +) / 50
        func quantile(_ q: Double) -> Double {
            let h = 49 * q, i = Int(h)
            return i + 1 < 50 ? sorted[i] + (h - Double(i)) * (sorted[i + 1] - sorted[i]) : sorted[49]
        }
        let std = (k.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 49).squareRoot()
        let stats = numbers("st.mean, st.std, st.min, st.max, st.median, st.q05, st.q95, st.count")
        let expected = [mean, std, sorted[0], sorted[49], quantile(0.5), quantile(0.05), quantile(0.95), 50]
        for (i, (a, e)) in zip(stats, expected).enumerated() { XCTAssertEqual(a, e, accuracy: 2e-12, "statistic \(i + 1)") }
        // A different seed draws different points (the chance of 50 equal values is nil).
        XCTAssertEqual(value("geo.sweep(geo.torus{}, {samples = 50, seed = 10}).mean == st.mean"), "false")
        // The Swiss roll is isometric to the plane: geodesic/line ratios of 1 (achieved exactly 1:
        // the straight latent line already meets the solver's tolerance).
        XCTAssertEqual(number("geo.sweep(geo.swissroll{}, {samples = 3, seed = 2, measure = 'ratio', path_points = 16}).mean"), 1, accuracy: 1e-12)
        XCTAssertEqual(value("geo.sweep(geo.sphere{}, {sampler = function(k) return geo.vec{1, k} end, samples = 4, measure = 'scalar'}).count"), "4")
    }

    func testBadInput() {
        lua.run("s = geo.sphere{} a, b = geo.vec{1, 0.2}, geo.vec{2, 2.5}")
        assertError("geo.geodesic(s, a, geo.vec{1})", "dimension mismatch: latent_dim is 2, end point has 1")
        assertError("geo.geodesic(s, geo.vec{0/0, 1}, b)", "start point has a NaN or infinite entry")
        assertError("geo.geodesic(s, a, b, {points = 1})", "bad argument #4 to 'geodesic' (option 'points' must be an integer from 2 to 100000, got 1)")
        assertError("geo.geodesic(s, a, b, {solver = 'adam'})", "bad argument #4 to 'geodesic' (option 'solver' must be one of \"newton\", \"georce\", \"descent\", got \"adam\")")
        assertError("geo.geodesic(s, a, b, {init = 3})", "bad argument #4 to 'geodesic' (option 'init' must be a geo.Path, got number)")
        assertError("geo.geodesic(s, a)", "bad argument #3 to 'geodesic' (geo.Vector expected, got no value)")
        assertError("geo.exp(s, a, b, {steps = 0})", "bad argument #4 to 'exp' (option 'steps' must be an integer from 1 to 10000000, got 0)")
        assertError("geo.exp(s, a, b, {method = 'euler'})", "bad argument #4 to 'exp' (option 'method' must be one of \"rk4\", \"projection\", got \"euler\")")
        assertError("geo.sectional(s, a, geo.vec{0, 0}, geo.vec{0, 1})", "vector u is zero: sectional curvature needs two independent vectors")
        // The gap |x(2, 2.5) - x(1, 0.2)| = sqrt(2 - 2 cos(angle)) on the unit sphere; the latent
        // distance sqrt(1 + 2.3^2).
        let cosAngle = sin(1) * sin(2) * cos(2.3) + cos(1) * cos(2)
        assertError("geo.holonomy(s, geo.line(s, a, b), geo.vec{1, 0})",
                    "the loop is not closed: its last point lies \(formatNumber((2 - 2 * cosAngle).squareRoot())) from its first in data space (latent distance \(formatNumber((1 + 2.3 * 2.3).squareRoot())); tolerance 1e-06)")
        assertError("geo.transport(s, a, b)", "bad argument #2 to 'transport' (geo.Path expected, got geo.Vector)")
        assertError("geo.sweep(s, {measure = 'ricci'})", "bad argument #2 to 'sweep' (option 'measure' must be one of \"sectional\", \"scalar\", \"ratio\", got \"ricci\")")
        assertError("geo.sweep(s, {points = {geo.vec{1}}})", "dimension mismatch: latent_dim is 2, point 1 has 1")
        assertError("geo.sweep(s, {points = {}})", "bad argument #2 to 'sweep' (option 'points' must hold at least 1 point (2 for measure \"ratio\"))")
        assertError("geo.sweep(s, {sampler = 5})", "bad argument #2 to 'sweep' (option 'sampler' must be a function, got number)")
        assertError("geo.sweep(s, {sampler = function() return 1 end})", "sampler must return a geo.Vector, got number")
    }

    /// Ctrl-C during a long geodesic: the interrupt comes from inside the solver's loop (the
    /// generator's 50th evaluation calls it), so it can neither arrive early nor be lost.
    func testCtrlCStopsALongGeodesic() {
        let g = InterruptingGenerator(try! Sphere(), interruptAtCall: 50)
        ManifoldLua.type.push(lua.L, Manifold(name: "sphere", generator: g))
        lua_setglobal(lua.L, "s")
        let e = lua.run("p = geo.geodesic(s, geo.vec{1, 0.2}, geo.vec{2, 2.5}, {solver = 'descent', points = 2000, tol = 1e-300, max_iter = 100000000})",
                        chunkName: "=t")
        XCTAssertEqual(e?.description.components(separatedBy: "\n").first, "interrupted")
        XCTAssertLessThanOrEqual(g.calls, 55, "the solver stopped at its next check (between iterations of a few evaluations)")
        XCTAssertEqual(value("p"), "nil", "nothing was assigned")
        XCTAssertEqual(value("s.name"), "sphere", "the session survives")
    }
}
