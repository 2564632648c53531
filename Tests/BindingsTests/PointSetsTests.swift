import XCTest
@testable import Bindings

/// geo.graph, geo.distances, geo.kmedoids, geo.merge and the CSV/JSON files from Lua.
final class PointSetsTests: LuaTestCase {
    let dir = NSTemporaryDirectory() + "/georepl-pointsets-\(getpid())"
    override func setUpWithError() throws {
        try super.setUpWithError()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        lua.run("dir = '\(dir)' p = geo.plane{} pts = {} for i = 1, 6 do pts[i] = geo.vec{i, 0} end")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir); try super.tearDownWithError() }

    func testGraphAndDistances() {
        lua.run("g = geo.graph(p, pts, {k = 1, weight = 'line'}) q = g:path(6, 2) D = geo.distances(p, pts, {k = 2})")
        XCTAssertEqual(eval("tostring(g), #g, #g:edges(), g:edges()[1][3]"), ["geo.Graph(6 points, 5 edges on plane)", "6", "5", "1.0"])
        XCTAssertEqual(eval("#q, q[1][1], q[5][1], q.solver"), ["5", "6.0", "2.0", "graph"])
        XCTAssertEqual(eval("D:rows(), D:get(1, 6), D:get(6, 1), D:get(3, 3), g:distances():get(2, 5)"), ["6", "5.0", "5.0", "0.0", "3.0"])
        XCTAssertEqual(eval("geo.geodesic(p, pts[1], pts[6], {init = g:path(1, 6)}).converged"), ["true"])
        // The graph path as a start for geodesics of any resolution and for the log map.
        XCTAssertEqual(eval("#geo.geodesic(p, pts[1], pts[6], {init = g:path(1, 6), points = 11}), geo.log(p, pts[1], pts[6], {init = g:path(1, 6), points = 9})[1]"),
                       ["11", "5.0"])
        lua.run("M = geo.matrix{{1, 0}, {2, 0}, {4, 0}} L = geo.distances(p, M, {method = 'line'})")
        XCTAssertEqual(eval("L:get(1, 3), L:get(2, 3)"), ["3.0", "2.0"])
        lua.run("km = geo.kmedoids(geo.distances(p, {geo.vec{0,0}, geo.vec{0.1,0}, geo.vec{9,0}, geo.vec{9.2,0}}, {method = 'line'}), 2, {seed = 3})")
        XCTAssertEqual(eval("km.assignment[1] == km.assignment[2], km.assignment[3] == km.assignment[4], km.assignment[1] ~= km.assignment[3], #km.medoids"),
                       ["true", "true", "true", "2"])
        lua.run("gs = {} for i = 1, 2 do gs[i] = geo.graph(p, pts, {k = 2, shard = i, shards = 2}) end G = geo.merge(gs, p)")
        XCTAssertEqual(eval("tostring(G), G:distances() == geo.graph(p, pts, {k = 2}):distances(), G:path(1, 6)[#G:path(1, 6)][1]"),
                       ["geo.Graph(6 points, 7 edges on plane)", "true", "6.0"])
        assertError("geo.merge({geo.distances(p, pts, {method = 'line', shard = 1, shards = 1})}, p)", "bad argument #2 to 'merge' (only graph slices merge to a geo.Graph)")
        // A data set stands for its encodings (Manifold.encode(rows:), tested in the engine); a
        // model without an encoder cannot place it.
        assertError("geo.graph(p, geo.dataset('fashion-mnist', {split = 'test'}))", "manifold 'plane' has no encoder")
        assertError("geo.graph(p, pts, {k = 6})", "bad argument #3 to 'graph' (option 'k' must be an integer from 1 to 5, got 6)")
        assertError("geo.distances(p, pts, {method = 'fast'})", "bad argument #3 to 'distances' (option 'method' must be one of \"graph\", \"geodesic\", \"line\", got \"fast\")")
        assertError("geo.distances(p, pts, {shard = 1})", "bad argument #3 to 'distances' (options 'shard' and 'shards' go together)")
        assertError("geo.distances(p, pts, {shard = 3, shards = 2})", "bad argument #3 to 'distances' (option 'shard' must be an integer from 1 to 2, got 3)")
        assertError("geo.distances(p, {pts[1], 5})", "bad argument #2 to 'distances' (entry 2 is a number, geo.Vector expected)")
        assertError("g:path(1, 7)", "bad argument #2 to 'path' (node 7 is out of range (1 to 6))")
        assertError("geo.kmedoids(geo.matrix{{0, 1}, {2, 0}}, 1)", "the distance matrix is not symmetric at (1, 2)")
        assertError("geo.merge{}", "bad argument #1 to 'merge' (nothing to merge: give the shards' slices or files)")
    }

    func testShardsInOneSession() {
        lua.run("""
            s = {}
            for i = 1, 3 do s[i] = geo.distances(p, pts, {method = 'geodesic', k = 2, points_per_path = 4, shard = i, shards = 3}) end
            geo.write_json(dir .. '/s2.json', s[2])
            merged = geo.merge{s[1], dir .. '/s2.json', s[3]}
            whole = geo.distances(p, pts, {method = 'geodesic', k = 2, points_per_path = 4})
            """)
        XCTAssertEqual(eval("merged == whole, s[1].shard, s[1].shards, s[1].method, #s[1].values"), ["true", "1", "3", "geodesic", "5"])
        assertError("geo.merge{s[1], s[1], s[2]}", "shard 1/3 is given twice")
        assertError("geo.merge{{georepl = 'sweep'}}", "not a sweep slice")
        assertError("geo.merge{{georepl = 'other'}}", "not a distance slice (its \"georepl\" field is not \"distances\")")
    }

    /// Sweeps shard too: the slices (through JSON, with NaN as "nan") merge to the unsharded result.
    func testShardedSweeps() {
        lua.run("""
            t = geo.torus{}
            function same(a, b)
              if a.count ~= b.count or a.dropped ~= b.dropped or a.median ~= b.median or #a.values ~= #b.values then return false end
              for k = 1, #a.values do if a.values[k] ~= b.values[k] then return false end end
              return true
            end
            results = {}
            for _, measure in ipairs({'sectional', 'scalar', 'ratio'}) do
              local o = {samples = 7, seed = 4, measure = measure, path_points = 6}
              local whole = geo.sweep(t, o)
              local parts = {}
              for i = 1, 3 do
                o.shard, o.shards = i, 3
                parts[i] = geo.sweep(t, o)
                geo.write_json(dir .. '/sw' .. i .. '.json', parts[i])
              end
              results[#results + 1] = tostring(same(whole, geo.merge{parts[3], parts[1], parts[2]}))
              results[#results + 1] = tostring(same(whole, geo.merge{dir .. '/sw1.json', dir .. '/sw2.json', dir .. '/sw3.json'}))
            end
            pole = geo.sweep(geo.sphere{}, {points = {geo.vec{0, 1}, geo.vec{1, 1}}, shard = 1, shards = 1})
            geo.write_json(dir .. '/pole.json', pole)
            back = geo.merge{dir .. '/pole.json'}
            """)
        XCTAssertEqual(value("table.concat(results, ' ')"), "true true true true true true")
        XCTAssertEqual(eval("pole.values[1], back.dropped, back.count"), ["nan", "1", "1"])
        assertError("geo.merge{geo.sweep(t, {samples = 4, seed = 1, shard = 1, shards = 2})}", "shard 2/2 missing")
    }

    func testFrechetMeanAndTangentPCA() {
        lua.run("""
            s = geo.sphere{}
            q = {geo.vec{1.2, 0.3}, geo.vec{1.4, 0.3}, geo.vec{1.3, 0.2}, geo.vec{1.3, 0.4}}
            mu, info = geo.frechet_mean(s, q, {points = 16})
            pca = geo.tangent_pca(s, mu, q)
            """)
        XCTAssertEqual(eval("info.converged, #info.logs, #pca.directions, #pca.variances, #pca.coordinates, pca.variances[1] >= pca.variances[2]"),
                       ["true", "4", "2", "2", "4", "true"])
        XCTAssertEqual(Double(value("mu[1]"))!, 1.3, accuracy: 2e-3)
        assertError("geo.frechet_mean(s, {})", "the mean of no points")
        assertError("geo.frechet_mean(s, q, {tol = -1})", "bad argument #3 to 'frechet_mean' (option 'tol' must be a finite number >= 0, got -1)")
        assertError("geo.tangent_pca(s, geo.vec{1}, q)", "dimension mismatch: latent_dim is 2, mean has 1")
    }

    func testFiles() {
        lua.run("""
            geo.write_csv(dir .. '/a.csv', {{1, 'x,y', 0.1}, geo.vec{2, 3, 1/3}}, {header = {'i', 'label', 'v'}})
            rows, header = geo.read_csv(dir .. '/a.csv')
            geo.write_csv(dir .. '/m.csv', geo.matrix{{1, 0/0}, {1/0, -1/0}})
            mrows = geo.read_csv(dir .. '/m.csv', {header = false})
            geo.write_csv(dir .. '/s.csv', {values = {1.5, 2.5}, mean = 2})
            srows, sheader = geo.read_csv(dir .. '/s.csv')
            geo.write_json(dir .. '/v.json', {name = 'run', n = 3, xs = {0.1, 1/3}, v = geo.vec{1, 2}, ok = true, path = geo.line(p, pts[1], pts[2], {points = 3})})
            j = geo.read_json(dir .. '/v.json')
            """)
        XCTAssertEqual(eval("header[2], rows[1][2], rows[2][3] == 1/3, rows[1][1], #rows"), ["label", "x,y", "true", "1", "2"])
        XCTAssertEqual(eval("mrows[1][2] ~= mrows[1][2], mrows[2][1], mrows[2][2]"), ["true", "inf", "-inf"])
        XCTAssertEqual(eval("sheader[1], srows[2][1]"), ["value", "2.5"])
        XCTAssertEqual(eval("j.name, j.n, j.xs[2] == 1/3, j.v[2], j.ok, j.path.length, #j.path.points"), ["run", "3", "true", "2", "true", "1", "3"])
        assertError("geo.write_json(dir .. '/bad.json', {1, 0/0})", "JSON cannot hold NaN (at [2]): JSON numbers are finite")
        assertError("t = {} t.t = t geo.write_json(dir .. '/bad.json', t)", ".t contains itself: a table that refers back to itself has no plain-data form")
        assertError("geo.write_json(dir .. '/bad.json', {[true] = 1})", "the value has a key that is not a string (nor a sequence index 1..n)")
        assertError("geo.write_json(dir .. '/bad.json', {print})", "[1] is a function, which has no plain-data form")
        assertError("geo.read_json(dir .. '/missing.json')", "cannot open '\(dir)/missing.json': No such file or directory")
        assertError("geo.write_csv(dir .. '/c.csv', {{1, {2}}})", "row 1, column 2: a CSV cell holds a number or a string, not a table")
    }
}
