import XCTest
import CLua
import Foundation
@testable import Bindings
import GeoEngine

final class GeometryTests: LuaTestCase {
    func number(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> Double {
        Double(value(code, file: file, line: line)) ?? .nan
    }

    func testSphereFromLua() {
        lua.run("s = geo.sphere{} a, b = geo.vec{1, 0.2}, geo.vec{2, 2.5} p = geo.geodesic(s, a, b)")
        let great = number("math.acos(s:decode(a):dot(s:decode(b)))")
        XCTAssertEqual(number("p:length()"), great, accuracy: 1e-4 * great)
        XCTAssertEqual(eval("#p, p.solver, p.converged, p.stop"), ["64", "georce", "true", "converged"])
        // Why a solver stopped: its iteration limit, or a stall below the rounding floor.
        XCTAssertEqual(eval("(function() local q = geo.geodesic(s, a, b, {max_iter = 1}) return q.converged, q.stop, tostring(q) end)()"),
                       ["false", "max_iter", "geo.Path(64 points on sphere, solver georce, not converged (max_iter) after 1 iteration)"])
        XCTAssertEqual(eval("geo.geodesic(s, a, b, {points = 16, tol = 1e-300}).stop, geo.line(s, a, b).stop"), ["stalled", "converged"])
        XCTAssertEqual(eval("geo.geodesic(s, a, b, {points = 16, solver = 'descent'}).solver"), ["descent"])
        XCTAssertEqual(number("(geo.exp(s, a, geo.log(s, a, b)) - b):norm()"), 0, accuracy: 1e-6)
        XCTAssertEqual(eval("select('#', geo.exp(s, a, geo.vec{0.1, 0}))"), ["2"])
        XCTAssertEqual(eval("select('#', geo.log(s, a, b)), select(2, geo.log(s, a, b, {details = true})).iterations >= 0"), ["1", "true"])
        XCTAssertEqual(number("geo.sectional(s, a, geo.vec{1, 0}, geo.vec{0.3, 1})"), 1, accuracy: 1e-8)
        XCTAssertEqual(number("geo.scalar(s, a)"), 2, accuracy: 1e-8)
        XCTAssertEqual(number("geo.holonomy(s, geo.line(s, geo.vec{1, 0}, geo.vec{1, 2 * math.pi}, {points = 2001}), geo.vec{1, 0})"),
                       2 * Double.pi * (1 - cos(1)), accuracy: 0.01 * 2 * Double.pi * (1 - cos(1)))
        // Transport preserves the metric length.
        lua.run("v = geo.vec{0.3, 0.1} w = geo.transport(s, p, v) ga, gb = s:metric(a), s:metric(b[1] and p[#p])")
        XCTAssertEqual(number("math.sqrt(v:dot(ga * v))"), number("math.sqrt(w:dot(gb * w))"), accuracy: 1e-10)
        // The init option restarts from a given path.
        XCTAssertEqual(eval("geo.geodesic(s, a, b, {init = p}).iterations"), ["0"])
    }

    func testAnalogiesAndSweeps() {
        XCTAssertEqual(value("geo.analogy(geo.plane{}, geo.vec{0, 0}, geo.vec{1, 2}, geo.vec{5, 5})"), "geo.vec{6, 7}")
        XCTAssertEqual(eval("(function() local d, t = geo.analogy(geo.plane{}, geo.vec{0, 0}, geo.vec{1, 2}, geo.vec{5, 5}) return t.log, t.transported, #t.ab, t.cd.solver end)()"),
                       ["geo.vec{1, 2}", "geo.vec{1, 2}", "64", "exp-rk4"])
        lua.run("st = geo.sweep(geo.sphere{radius = 2}, {points = {geo.vec{1, 1}, geo.vec{2, 3}}, measure = 'scalar'})")
        XCTAssertEqual(number("st.mean"), 0.5, accuracy: 1e-8)
        XCTAssertEqual(eval("st.count, #st.values, st.measure, st.dropped"), ["2", "2", "scalar", "0"])
        XCTAssertEqual(value("geo.sweep(geo.plane{}, {samples = 10, seed = 1}).max"), "0.0")
        XCTAssertEqual(value("geo.sweep(geo.torus{}, {samples = 50, seed = 9}).mean == geo.sweep(geo.torus{}, {samples = 50, seed = 9}).mean"), "true")
        XCTAssertEqual(number("geo.sweep(geo.swissroll{}, {samples = 3, seed = 2, measure = 'ratio', path_points = 16}).mean"), 1, accuracy: 1e-4)
        XCTAssertEqual(value("geo.sweep(geo.sphere{}, {sampler = function(k) return geo.vec{1, k} end, samples = 4, measure = 'scalar'}).count"), "4")
    }

    func testBadInput() {
        lua.run("s = geo.sphere{} a, b = geo.vec{1, 0.2}, geo.vec{2, 2.5}")
        assertError("geo.geodesic(s, a, geo.vec{1})", "dimension mismatch: latent_dim is 2, end point has 1")
        assertError("geo.geodesic(s, geo.vec{0/0, 1}, b)", "start point has a NaN or infinite entry")
        assertError("geo.geodesic(s, a, b, {points = 1})", "bad argument #4 to 'geodesic' (option 'points' must be an integer from 2 to 100000, got 1)")
        assertError("geo.geodesic(s, a, b, {solver = 'adam'})", "bad argument #4 to 'geodesic' (option 'solver' must be one of \"georce\", \"descent\", got \"adam\")")
        assertError("geo.geodesic(s, a, b, {init = 3})", "bad argument #4 to 'geodesic' (option 'init' must be a geo.Path, got number)")
        assertError("geo.geodesic(s, a)", "bad argument #3 to 'geodesic' (geo.Vector expected, got no value)")
        assertError("geo.exp(s, a, b, {steps = 0})", "bad argument #4 to 'exp' (option 'steps' must be an integer from 1 to 10000000, got 0)")
        assertError("geo.exp(s, a, b, {method = 'euler'})", "bad argument #4 to 'exp' (option 'method' must be one of \"rk4\", \"projection\", got \"euler\")")
        assertError("geo.sectional(s, a, geo.vec{0, 0}, geo.vec{0, 1})", "vector u is zero: sectional curvature needs two independent vectors")
        assertError("geo.holonomy(s, geo.line(s, a, b), geo.vec{1, 0})",
                    "the loop is not closed: its last point lies 1.8626027282022 from its first in data space (latent distance 2.5079872407969; tolerance 1e-06)")
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
