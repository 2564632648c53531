import XCTest
@testable import GeoEngine

/// Graphs, distance matrices, k-medoids and shards against closed forms: the plane (exact) and
/// the sphere (great-circle distances).
final class DistanceTests: XCTestCase {
    /// Great-circle distance on the unit sphere between (t, p) chart points.
    func greatCircle(_ a: Vector, _ b: Vector) -> Double {
        let c = cos(a[0]) * cos(b[0]) + sin(a[0]) * sin(b[0]) * cos(a[1] - b[1])
        return acos(min(1, max(-1, c)))
    }

    /// Points spread over a patch of the sphere around the equator (seeded).
    func spherePoints(_ n: Int, seed: UInt64) -> [Vector] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in Vector([.pi / 2 + 0.5 * (2 * rng.uniform() - 1), 1.0 * rng.uniform()]) }
    }

    func testPlaneDistancesAreEuclidean() throws {
        let plane = try Plane()
        var rng = SeededRandom(seed: 1)
        let points = (0..<9).map { _ in Vector([4 * rng.uniform(), 4 * rng.uniform()]) }
        for method in [Distances.Method.line, .geodesic] {
            var o = Distances.Options()
            o.method = method; o.graph.k = 3
            let d = try Distances.matrix(on: plane, points: points, options: o)
            for i in 0..<9 {
                XCTAssertEqual(d[i, i], 0)
                for j in 0..<9 where j != i {
                    XCTAssertEqual(d[i, j], try (points[i] - points[j]).norm, accuracy: 1e-10, "\(method) (\(i), \(j))")
                    XCTAssertEqual(d[i, j], d[j, i])
                }
            }
        }
        // Graph distances are upper bounds, and exact along a line of points (k = 2).
        var o = Distances.Options()
        o.graph.k = 3
        let g = try Distances.matrix(on: plane, points: points, options: o)
        for i in 0..<9 { for j in 0..<9 { XCTAssertGreaterThanOrEqual(g[i, j], try (points[i] - points[j]).norm - 1e-12) } }
        let row = (0..<7).map { Vector([Double($0) * 0.5, 1]) }
        o.graph.k = 2; o.graph.weight = .line
        let r = try Distances.matrix(on: plane, points: row, options: o)
        for i in 0..<7 { for j in 0..<7 { XCTAssertEqual(r[i, j], 0.5 * Double(abs(i - j)), accuracy: 1e-12) } }
    }

    /// Graph distances converge to great-circle distances as k and the point count grow: a graph
    /// path turns only between neighbours, so its excess length is set by the directions k
    /// neighbours offer (Bernstein et al. 2000). Measured on a 1 x 1 radian patch (line edges,
    /// pairs over 0.3 apart): mean relative error 4.8% (150 points, k = 10), 4.3% (600, 10),
    /// 1.3% (600, 20), 0.4% (600, 40), 0.4% (1200, 40); never below the true distance. The bound
    /// checked (and documented in the README): 5%, 1.5%, 0.5% for k = 10, 20, 40.
    func testSphereGraphDistancesConvergeToGreatCircles() throws {
        let s = try Sphere()
        var errors: [Double] = []
        let bounds = [0.05, 0.015, 0.005]
        for (n, k) in [(150, 10), (600, 20), (600, 40)] {
            let points = spherePoints(n, seed: 7)
            var o = Distances.Options()
            o.graph.k = k; o.graph.weight = .line; o.graph.pointsPerEdge = 4
            let d = try Distances.matrix(on: s, points: points, options: o)
            var sum = 0.0, count = 0
            for i in stride(from: 0, to: n, by: 7) {
                for j in stride(from: i + 1, to: n, by: 5) {
                    let exact = greatCircle(points[i], points[j])
                    guard exact > 0.3 else { continue }
                    XCTAssertGreaterThanOrEqual(d[i, j], exact * (1 - 1e-3), "(\(i), \(j))")
                    sum += (d[i, j] - exact) / exact; count += 1
                }
            }
            errors.append(sum / Double(count))
        }
        for (e, bound) in zip(errors, bounds) { XCTAssertLessThan(e, bound, "\(errors)") }
        XCTAssertLessThan(errors[2], errors[1]); XCTAssertLessThan(errors[1], errors[0])
    }

    /// Geodesic distances (graph-initialised) are the great-circle distances.
    func testSphereGeodesicDistances() throws {
        let s = try Sphere()
        let points = spherePoints(8, seed: 3)
        var o = Distances.Options()
        o.method = .geodesic; o.graph.k = 3; o.pointsPerPath = 32
        let d = try Distances.matrix(on: s, points: points, options: o)
        for i in 0..<8 { for j in 0..<8 where i != j {
            XCTAssertEqual(d[i, j], greatCircle(points[i], points[j]), accuracy: 2e-3 * max(1, greatCircle(points[i], points[j])))
        } }
    }

    /// Three shards merge to exactly the single-process matrix, for every method, in any order;
    /// a missing or repeated shard is an error.
    func testShardsMergeExactly() throws {
        let s = try Sphere()
        let points = spherePoints(10, seed: 5)
        for method in Distances.Method.allCases {
            var o = Distances.Options()
            o.method = method; o.graph.k = 3; o.pointsPerPath = 8
            let whole = try Distances.matrix(on: s, points: points, options: o)
            let slices = try (1...3).map { try Distances.slice(on: s, points: points, options: o, shard: try Shard(index: $0, count: 3)) }
            XCTAssertEqual(slices.map(\.values.count).reduce(0, +), method == .graph ? slices[0].pairs.count : 45)
            let merged = try Distances.merge([slices[2], slices[0], slices[1]], points: points)
            XCTAssertEqual(merged.scalars, whole.scalars, "\(method)")
            XCTAssertThrowsError(try Distances.merge([slices[0], slices[1]], points: points)) { e in
                XCTAssertTrue("\(e)".contains("shard 3/3 missing"), "\(e)")
            }
            XCTAssertThrowsError(try Distances.merge([slices[0], slices[0], slices[1], slices[2]], points: points))
        }
    }

    func testGraphPathsAndResampling() throws {
        let plane = try Plane()
        let row = (0..<6).map { Vector([Double($0), 0]) }
        var o = NeighbourGraph.Options()
        o.k = 1; o.weight = .line
        let g = try NeighbourGraph.build(on: plane, points: row, options: o)
        XCTAssertEqual(g.edges.count, 5)
        XCTAssertEqual(try g.path(from: 0, to: 5), [0, 1, 2, 3, 4, 5])
        let p = try XCTUnwrap(try g.latentPath(from: 4, to: 1))
        XCTAssertEqual(p.points, [row[4], row[3], row[2], row[1]])
        let r = try p.resampled(points: 7)
        XCTAssertEqual(r.count, 7)
        for (k, z) in r.points.enumerated() { XCTAssertEqual(z[0], 4 - 0.5 * Double(k), accuracy: 1e-12) }
        // Two components: no path between them; Dijkstra gives infinity.
        let apart = try NeighbourGraph(points: row, edges: [.init(0, 1, weight: 1), .init(2, 3, weight: 1)])
        XCTAssertNil(try apart.path(from: 0, to: 3))
        XCTAssertEqual(try ShortestPaths(apart, from: 0).distances[3], .infinity)
        XCTAssertThrowsError(try NeighbourGraph(points: row, edges: [.init(0, 1, weight: -1)]))
        XCTAssertThrowsError(try NeighbourGraph(points: row, edges: [.init(0, 9, weight: 1)]))
        XCTAssertThrowsError(try NeighbourGraph.neighbourPairs(row, k: 6)) { e in XCTAssertEqual("\(e)", "k must be an integer from 1 to 5, got 6") }
    }

    /// Encoding many rows at once (batches of 1000) gives what encoding each row does.
    func testEncodeRowsMatchesOneByOne() throws {
        let m = try ModelCatalog.load("fashion-vae-2d")
        let x = try FashionMNIST.load(split: .test).batch(0..<1003)
        let all = try m.encode(rows: x)
        XCTAssertEqual(all.count, 1003)
        for i in [0, 999, 1000, 1002] {
            XCTAssertLessThan(try (all[i] - (try m.encode(x.row(i)))).norm, 1e-12, "row \(i)")
        }
        XCTAssertThrowsError(try Manifold(name: "p", generator: try Plane()).encode(rows: x))
    }

    func testKMedoidsFindsSeparatedGroups() throws {
        let plane = try Plane()
        var rng = SeededRandom(seed: 2)
        let centres = [Vector([0, 0]), Vector([10, 0]), Vector([0, 10])]
        let points = (0..<30).map { i in Vector([centres[i % 3][0] + rng.normal() * 0.3, centres[i % 3][1] + rng.normal() * 0.3]) }
        var o = Distances.Options()
        o.method = .line; o.pointsPerPath = 2
        let d = try Distances.matrix(on: plane, points: points, options: o)
        let km = try KMedoids(distances: d, k: 3, seed: 1)
        for i in 0..<30 { XCTAssertEqual(km.assignment[i], km.assignment[i % 3], "point \(i)") }
        XCTAssertEqual(Set(km.assignment).count, 3)
        for (c, m) in km.medoids.enumerated() { XCTAssertEqual(km.assignment[m], c) }
        let again = try KMedoids(distances: d, k: 3, seed: 1)
        XCTAssertEqual(again.medoids, km.medoids)
        var bad = d
        bad.scalars[1] = -1
        XCTAssertThrowsError(try KMedoids(distances: bad, k: 2, seed: 1))
        XCTAssertThrowsError(try KMedoids(distances: d, k: 31, seed: 1))
    }

    func testShardFromTheEnvironment() throws {
        XCTAssertNil(try Shard.fromEnvironment([:]))
        XCTAssertEqual(try Shard.fromEnvironment(["GEO_SHARD": "2/4"]), try Shard(index: 2, count: 4))
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"]),
                       try Shard(index: 4, count: 4))
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"]),
                       try Shard(index: 1, count: 4))
        XCTAssertEqual(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "0", "GEO_SHARDS": "3"]), try Shard(index: 1, count: 3))
        XCTAssertEqual(try Shard.fromEnvironment(["GEO_SHARD": "1/2", "SLURM_ARRAY_TASK_ID": "5"]), try Shard(index: 1, count: 2))
        for bad in [["GEO_SHARD": "5/4"], ["GEO_SHARD": "x"], ["SLURM_ARRAY_TASK_ID": "2"], ["JOB_COMPLETION_INDEX": "1"],
                    ["SLURM_ARRAY_TASK_ID": "a", "SLURM_ARRAY_TASK_COUNT": "2"]] {
            XCTAssertThrowsError(try Shard.fromEnvironment(bad), "\(bad)")
        }
        let s = try Shard(index: 2, count: 3)
        XCTAssertEqual(Array(s.items(8)), [1, 4, 7])
    }
}
