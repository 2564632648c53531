import XCTest
@testable import Bindings

final class ManifoldTests: LuaTestCase {
    func testSurfacesAndTheirFields() {
        lua.run("s = geo.sphere{radius = 2}")
        XCTAssertEqual(eval("s.name, s.latent_dim, s.data_dim, s.data_shape[1], #s.data_shape, s.has_encoder"),
                       ["sphere", "2", "3", "3", "1", "false"])
        XCTAssertEqual(value("tostring(s)"), "geo.Manifold(sphere: latent_dim 2, data_dim 3)")
        XCTAssertEqual(value("s:decode(geo.vec{math.pi / 2, 0})[1]"), "2.0")
        let m = eval("(function() local g = s:metric(geo.vec{math.pi / 6, 0.3}) return g:get(1,1), g:get(2,2), g:get(1,2) end)()")
        XCTAssertEqual(Double(m[0])!, 4, accuracy: 1e-12)
        XCTAssertEqual(Double(m[1])!, 1, accuracy: 1e-12)   // r^2 sin^2(pi/6) = 1
        XCTAssertEqual(Double(m[2])!, 0, accuracy: 1e-12)
        // sqrt det g = r^2 sin t.
        XCTAssertEqual(Double(value("s:volume(geo.vec{math.pi / 6, 1})"))!, 2, accuracy: 1e-12)
        XCTAssertEqual(Double(value("s:volume(geo.vec{0, 1})"))!, 0, accuracy: 1e-12)
        XCTAssertEqual(eval("s:jacobian(geo.vec{1, 2}):rows(), s:jacobian(geo.vec{1, 2}):cols()"), ["3", "2"])
        XCTAssertEqual(eval("geo.torus{}.name, geo.torus{R = 3, r = 0.5}.data_dim, geo.plane{}.data_dim, geo.plane{dim = 4}.latent_dim, geo.saddle{}.name, geo.swissroll{}.name"),
                       ["torus", "3", "3", "4", "saddle", "swissroll"])
        XCTAssertEqual(value("geo.plane():decode(geo.vec{1, 2})"), "geo.vec{1, 2, 0}")
        XCTAssertEqual(lua.completions(for: "s.lat"), ["s.latent_dim"])
        XCTAssertEqual(lua.completions(for: "s:dec"), ["s:decode"])
    }

    func testManifoldErrors() {
        lua.run("s = geo.sphere{}")
        assertError("geo.sphere{radius = -1}", "bad argument #1 to 'sphere' (option 'radius' must be a positive number, got -1)")
        assertError("geo.sphere{r = 1}", "bad argument #1 to 'sphere' (unknown option 'r' (expected one of: radius))")
        assertError("geo.sphere(1)", "bad argument #1 to 'sphere' (table expected, got number)")
        assertError("geo.torus{R = 1, r = 2}", "bad argument #1 to 'torus' (option 'r' must be smaller than R = 1 (the tube radius), got 2)")
        assertError("geo.saddle{a = 1}", "bad argument #1 to 'saddle' (unknown option 'a' (this function takes no options))")
        assertError("geo.plane{dim = 0}", "bad argument #1 to 'plane' (option 'dim' must be an integer from 1 to 4096, got 0)")
        assertError("s:decode(geo.vec{1, 2, 3})", "dimension mismatch: latent_dim is 2, vector has 3")
        assertError("s:decode({1, 2})", "bad argument #1 to 'decode' (geo.Vector expected, got table)")
        assertError("s:decode(geo.vec{0/0, 1})", "vector has a NaN or infinite entry")
        assertError("s:metric()", "bad argument #1 to 'metric' (geo.Vector expected, got no value)")
        assertError("s.decode(geo.vec{1, 2})", "bad argument #1 to 'decode' (geo.Manifold expected, got geo.Vector)")
        assertError("s:encode(geo.vec{1, 2, 3})", "manifold 'sphere' has no encoder")
        assertError("return s + 1", "test:1: attempt to perform arithmetic on a geo.Manifold value (global 's')")
    }

    /// geo.uncertainty, geo.fisher_rao and geo.ensemble from Lua: fields, the metric each
    /// defines, option checking and error messages.
    func testMetricsFromLua() {
        // A Bernoulli decoder: geo.model("fashion-vae-2d") ends in a sigmoid.
        lua.run("m = geo.model('fashion-vae-2d') z = geo.vec{0.3, -0.2}")
        lua.run("f = geo.fisher_rao(m)")
        XCTAssertEqual(eval("f.name, f.latent_dim, f.data_dim, f:decode(z) == m:decode(z)"), ["fashion-vae-2d+fisher-rao", "2", "784", "true"])
        XCTAssertGreaterThan(Double(value("f:volume(z) / m:volume(z)"))!, 2, "1/(p(1-p)) >= 4 weighs every pixel up")
        assertError("geo.fisher_rao(geo.plane{})", "the Fisher–Rao metric needs Bernoulli means in [0, 1], but output 1 is -0.15157274547711 at point 2")
        // An ensemble of one model twice has that model's metric; members must agree.
        lua.run("e = geo.ensemble{m, m}")
        XCTAssertEqual(Double(value("e:volume(z) / m:volume(z)"))!, 1, accuracy: 1e-12)
        XCTAssertEqual(eval("e.data_dim, #e:decode(z)"), ["784", "784"])
        assertError("geo.ensemble{}", "bad argument #1 to 'ensemble' (an ensemble needs at least one geo.Manifold)")
        assertError("geo.ensemble{m, 3}", "bad argument #1 to 'ensemble' (entry 2 is a number, geo.Manifold expected)")
        assertError("geo.ensemble{m, geo.model('fashion-vae')}", "dimension mismatch: generator 2 has latent_dim 16, generator 1 has 2")
        // Uncertainty fitted to a few data vectors (decoded points plus a little noise).
        lua.run("""
            data = {}
            for i = 1, 60 do
              local x = m:decode(geo.randn(2, i))
              local t = x:totable()
              for j = 1, #t do t[j] = t[j] + 0.05 * math.sin(i * j) end
              data[i] = geo.vec(t)
            end
            u = geo.uncertainty(m, {data = data, centers = 4, seed = 3, progress = false})
            """)
        XCTAssertEqual(eval("u.name, u.latent_dim, u:decode(z) == m:decode(z)"), ["fashion-vae-2d+uncertainty", "2", "true"])
        XCTAssertGreaterThanOrEqual(Double(value("u:volume(z) / m:volume(z)"))!, 1 - 1e-12, "J_sigma^T J_sigma only adds")
        assertError("geo.uncertainty(m, {data = data, centers = 0})", "bad argument #2 to 'uncertainty' (option 'centers' must be an integer from 1 to 4096, got 0)")
        assertError("geo.uncertainty(m, {data = data, colour = 1})", "bad argument #2 to 'uncertainty' (unknown option 'colour' (expected one of: data, centers, seed, bandwidth, floor, samples, iterations, background_centers, background_bandwidth, background_weight, progress))")
        lua.run("b = geo.uncertainty(m, {data = data, centers = 4, seed = 3, background_centers = 2, background_weight = 0.1, progress = false})")
        XCTAssertGreaterThanOrEqual(Double(value("b:volume(z) / m:volume(z)"))!, 1 - 1e-12)
        assertError("geo.uncertainty(m, {data = data, background_weight = 2})", "bad argument #2 to 'uncertainty' (option 'background_weight' must be a number in (0, 1], got 2)")
        assertError("geo.uncertainty(geo.plane{}, {background_centers = 4})", "bad argument #2 to 'uncertainty' (option 'data' is required (a geo.Dataset or a table of geo.Vector to fit sigma to))")
        assertError("geo.uncertainty(m, {data = {geo.vec{1, 2}}})", "bad argument #2 to 'uncertainty' (data: vector 1 has 2 entries, the model's data_dim is 784)")
        assertError("geo.uncertainty(m, {data = 5})", "bad argument #2 to 'uncertainty' (option 'data' must be a geo.Dataset or a table of geo.Vector, got number)")
        assertError("geo.uncertainty(geo.plane{}, {centers = 4})", "bad argument #2 to 'uncertainty' (option 'data' is required (a geo.Dataset or a table of geo.Vector to fit sigma to))")
    }

    func testRegularizedMetric() {
        lua.run("s = geo.sphere{radius = 2} r = geo.regularized(s, 0.25) z = geo.vec{math.pi / 6, 0.3}")
        XCTAssertEqual(eval("r.name, r.latent_dim, r.data_dim, #r:decode(z), r:decode(z) == s:decode(z), #r:jacobian(z):totable()"),
                       ["sphere+0.25I", "2", "3", "3", "true", "5"])
        XCTAssertEqual(value("r.description"), "sphere with the regularised metric J^T J + 0.25 I")
        let m = eval("(function() local g = r:metric(z) return g:get(1,1), g:get(2,2), g:get(1,2) end)()")
        XCTAssertEqual(Double(m[0])!, 4.25, accuracy: 1e-12)
        XCTAssertEqual(Double(m[1])!, 1.25, accuracy: 1e-12)
        XCTAssertEqual(Double(m[2])!, 0, accuracy: 1e-12)
        // Singular values of J: r and r sin t on the sphere; sqrt(lambda) at the pole once regularised.
        let sv = eval("(function() local v = s:singular_values(z) return v[1], v[2], #v end)()")
        XCTAssertEqual(Double(sv[0])!, 2, accuracy: 1e-12)
        XCTAssertEqual(Double(sv[1])!, 1, accuracy: 1e-12)
        XCTAssertEqual(sv[2], "2")
        XCTAssertEqual(Double(value("r:singular_values(geo.vec{0, 1})[2]"))!, 0.5, accuracy: 1e-12)
        // Paths on r decode to the sphere's points; lengths include the latent term.
        lua.run("p = geo.line(r, geo.vec{1, 0}, geo.vec{1, 1}, {points = 2})")
        XCTAssertEqual(eval("#p:decode()[1], p:decode()[2] == s:decode(geo.vec{1, 1})"), ["3", "true"])
        XCTAssertEqual(Double(value("p:length()"))!, (pow(2 * 2 * sin(1) * sin(0.5), 2) + 0.25).squareRoot(), accuracy: 1e-12)
        assertError("geo.regularized(s, 0)", "bad argument #2 to 'regularized' (lambda must be a positive number, got 0)")
        assertError("geo.regularized(s, -math.huge)", "bad argument #2 to 'regularized' (lambda must be a positive number, got -inf)")
        assertError("geo.regularized(s)", "bad argument #2 to 'regularized' (number expected, got no value)")
        assertError("geo.regularized(geo.vec{1}, 1)", "bad argument #1 to 'regularized' (geo.Manifold expected, got geo.Vector)")
        assertError("s:singular_values(geo.vec{1, 2, 3})", "dimension mismatch: latent_dim is 2, vector has 3")
    }

    func testLinePaths() {
        lua.run("s = geo.sphere{} p = geo.line(s, geo.vec{1, 0}, geo.vec{1, 1}, {points = 5})")
        XCTAssertEqual(eval("#p, p.solver, p.converged, p.iterations, p[3], p[0], p[6]"),
                       ["5", "line", "true", "0", "geo.vec{1, 0.5}", "nil", "nil"])
        XCTAssertEqual(value("#geo.line(s, geo.vec{1, 0}, geo.vec{1, 1})"), "64")
        // Along a latitude at polar angle 1 the line covers azimuth 1: chord sum ~ sin(1).
        XCTAssertEqual(Double(value("p:length()"))!, 4 * 2 * sin(1) * sin(0.125), accuracy: 1e-12)
        XCTAssertEqual(eval("#p:decode(), #p:points(), p.manifold == s"), ["5", "5", "true"])
        assertError("geo.line(s, geo.vec{1}, geo.vec{1, 2})", "dimension mismatch: latent_dim is 2, vector has 1")
        assertError("geo.line(s, geo.vec{1, 2})", "bad argument #3 to 'line' (geo.Vector expected, got no value)")
        assertError("geo.line(s, geo.vec{1, 2}, geo.vec{1, 2}, {points = 1})",
                    "bad argument #4 to 'line' (option 'points' must be an integer from 2 to 100000, got 1)")
        assertError("geo.line(s, geo.vec{1, 2}, geo.vec{1, 2}, {points = 1e10})",
                    "bad argument #4 to 'line' (option 'points' must be an integer from 2 to 100000, got 10000000000)")
        assertError("geo.line(nil, geo.vec{1, 2}, geo.vec{1, 2})", "bad argument #1 to 'line' (geo.Manifold expected, got nil)")
    }
}

final class ModelLoadingTests: LuaTestCase {
    /// The model file exported from PyTorch by scripts/export_torch_example.py.
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/torch/torch_example.safetensors").path

    func testLoadFromLua() {
        lua.run("m = geo.load('\(Self.fixture)')")
        XCTAssertEqual(eval("m.name, m.latent_dim, m.data_dim, table.concat(m.data_shape, 'x'), m.has_encoder"),
                       ["torch-example", "4", "1024", "1x32x32", "true"])
        XCTAssertEqual(eval("#m:decode(geo.vec{0, 0, 0, 0}), #m:encode(m:decode(geo.vec{0, 0, 0, 0}))"), ["1024", "4"])
        XCTAssertEqual(eval("m:jacobian(geo.vec{0, 0, 0, 0}):rows(), m:metric(geo.zeros(4)):cols()"), ["1024", "4"])
        assertError("m:decode(geo.vec{1, 2, 3})", "dimension mismatch: latent_dim is 4, vector has 3")
        assertError("m:encode(geo.vec{1, 2, 3})", "dimension mismatch: data_dim is 1024, vector has 3")
        assertError("geo.load('/nonexistent/model.safetensors')", "cannot open '/nonexistent/model.safetensors': No such file or directory")
        assertError("geo.load()", "bad argument #1 to 'load' (string expected, got no value)")
    }
}

final class ShippedModelTests: LuaTestCase {
    func testShippedModelsLoadAndDecodeToImages() {
        for name in ["fashion-vae", "fashion-vae-2d", "fashion-vae-conv", "fashion-vae-2d-member-2", "fashion-vae-2d-member-3"] {
            lua.run("m = geo.model('\(name)')")
            XCTAssertEqual(eval("m.name, m.data_dim, m.has_encoder, table.concat(m.data_shape, 'x')"), [name, "784", "true", "1x28x28"])
            let r = eval("(function() local x = m:decode(geo.randn(m.latent_dim, 7)) local lo, hi = 1, 0 for _, v in ipairs(x) do lo = math.min(lo, v) hi = math.max(hi, v) end return lo >= 0 and hi <= 1, #m:encode(x) == m.latent_dim end)()")
            XCTAssertEqual(r, ["true", "true"], name)
        }
        XCTAssertEqual(value("geo.model().latent_dim"), "16")
        XCTAssertEqual(value("geo.model() == geo.model('fashion-vae')"), "true")
        assertError("geo.model('nope')", "unknown model 'nope' (known: fashion-vae, fashion-vae-2d, fashion-vae-conv, fashion-vae-2d-member-2, fashion-vae-2d-member-3)")
        // The members share the 2-d model's encoder; geo.ensemble joins the three decoders.
        lua.run("e = geo.ensemble{geo.model('fashion-vae-2d'), geo.model('fashion-vae-2d-member-2'), geo.model('fashion-vae-2d-member-3')}")
        XCTAssertEqual(eval("(function() local x = e:decode(geo.vec{0.1, 0.2}) return e.latent_dim, e:encode(x) == geo.model('fashion-vae-2d-member-3'):encode(x) end)()"), ["2", "true"])
    }
}
