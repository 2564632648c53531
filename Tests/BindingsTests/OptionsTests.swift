import XCTest
import CLua
import GeoEngine
@testable import Bindings

final class OptionsTests: LuaTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        // A binding that reads an options table the way geo.geodesic will.
        Self.probe.push(lua.L)
        lua_setglobal(lua.L, "probe")
    }

    static let probe = Binding("probe") { call in
        let o = try Options(call, 2, allowed: ["points", "tol", "solver", "progress", "name"])
        // Ranges are the engine's rules (Setting); its verdicts name the option.
        let points = try Setting.integer("points", try o.integer("points") ?? 64, in: 2...10_000)
        let tol = try Setting.positive("tol", try o.number("tol") ?? 1e-6)
        let solver = try o.choice("solver", ["georce", "descent"]) ?? "georce"
        let progress = try o.boolean("progress") ?? false
        let name = try o.string("name") ?? "-"
        return call.push("\(points) \(formatNumber(tol)) \(solver) \(progress) \(name)")
    }

    func testValidOptions() {
        XCTAssertEqual(value("probe(1)"), "64 1e-06 georce false -")
        XCTAssertEqual(value("probe(1, nil)"), "64 1e-06 georce false -")
        XCTAssertEqual(value("probe(1, {})"), "64 1e-06 georce false -")
        XCTAssertEqual(value("probe(1, {points = 8.0, tol = 1e-3, solver = 'descent', progress = true, name = 'x'})"),
                       "8 0.001 descent true x")
    }

    func testBadOptions() {
        assertError("probe(1, {iters = 5})",
                    "bad argument #2 to 'probe' (unknown option 'iters' (expected one of: points, tol, solver, progress, name))")
        assertError("probe(1, {points = 'many'})", "bad argument #2 to 'probe' (option 'points' must be an integer, got string)")
        assertError("probe(1, {points = 2.5})", "bad argument #2 to 'probe' (option 'points' must be an integer, got 2.5)")
        assertError("probe(1, {points = 1})", "bad argument #2 to 'probe' (option 'points' must be an integer from 2 to 10000, got 1)")
        assertError("probe(1, {points = 0/0})", "bad argument #2 to 'probe' (option 'points' must be an integer, got -nan)")  // as Lua prints 0/0
        assertError("probe(1, {tol = -1})", "bad argument #2 to 'probe' (option 'tol' must be a positive number, got -1)")
        assertError("probe(1, {tol = 1/0})", "bad argument #2 to 'probe' (option 'tol' must be a positive number, got inf)")
        assertError("probe(1, {tol = {}})", "bad argument #2 to 'probe' (option 'tol' must be a number, got table)")
        assertError("probe(1, {solver = 'newton'})",
                    "bad argument #2 to 'probe' (option 'solver' must be one of \"georce\", \"descent\", got \"newton\")")
        assertError("probe(1, {progress = 1})", "bad argument #2 to 'probe' (option 'progress' must be a boolean, got number)")
        assertError("probe(1, {name = geo.vec{1}})", "bad argument #2 to 'probe' (option 'name' must be a string, got geo.Vector)")
        assertError("probe(1, {5})", "bad argument #2 to 'probe' (option names must be strings)")
        assertError("probe(1, 'fast')", "bad argument #2 to 'probe' (table expected, got string)")
    }

    /// An engine setting given as a plain argument is reported at its position.
    func testSettingsAsArguments() {
        assertError("geo.regularized(geo.sphere{}, 0)", "bad argument #2 to 'regularized' (lambda must be a positive number, got 0)")
        assertError("geo.zeros(-3)", "bad argument #1 to 'zeros' (size must be an integer from 0 to 100000000, got -3)")
        assertError("geo.sweep(geo.sphere{}, {measure = 'ratio', path_points = 1})",
                    "bad argument #2 to 'sweep' (option 'path_points' must be an integer from 2 to 100000, got 1)")
        // One limit, one owner: the binding accepts what the engine accepts, and no more.
        XCTAssertEqual(value("geo.plane{dim = \(Plane.maxDim)}.latent_dim"), "\(Plane.maxDim)")
        assertError("geo.plane{dim = \(Plane.maxDim + 1)}",
                    "bad argument #1 to 'plane' (option 'dim' must be an integer from 1 to \(Plane.maxDim), got \(Plane.maxDim + 1))")
        // tol = 0 is the engine's "as far as rounding allows", at every entry point.
        XCTAssertEqual(value("geo.geodesic(geo.sphere{}, geo.vec{1, 0}, geo.vec{1.2, 0.3}, {points = 4, tol = 0}).solver"), "newton")
    }
}
