import Foundation
import XCTest

/// Sharded work through real processes: three georepl runs, each told its shard by the
/// environment (GEO_SHARD, a Slurm array's variables, a Kubernetes Indexed Job's), write their
/// slices as JSON; a fourth merges them and compares with the single-process matrix.
final class ShardTests: XCTestCase {
    func testThreeProcessesMergeToTheSingleProcessMatrix() throws {
        let dir = NSTemporaryDirectory() + "/georepl-shards-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let setup = """
            local m = geo.sphere{}
            local pts = {}
            for i = 1, 14 do pts[i] = geo.vec{1 + 0.08 * i, 0.37 * i % 1.3} end
            """
        let worker = dir + "/worker.lua"
        try (setup + """

            local i, n = geo.shard()
            for _, method in ipairs({"graph", "geodesic", "line"}) do
              local slice = geo.distances(m, pts, {method = method, k = 4, points_per_path = 8, shard = i, shards = n})
              geo.write_json(arg[1] .. "/" .. method .. "-" .. i .. ".json", slice)
            end
            print(i, n)
            """).write(toFile: worker, atomically: true, encoding: .utf8)
        let environments: [[String: String]] = [
            ["GEO_SHARD": "1/3"],
            ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "3"],
            ["JOB_COMPLETION_INDEX": "2", "GEO_SHARDS": "3"],
        ]
        for (k, env) in environments.enumerated() {
            let r = try GeoreplRunner.run([worker, dir], environment: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, "\(k + 1)\t3\n")
        }
        let check = dir + "/check.lua"
        try (setup + """

            for _, method in ipairs({"graph", "geodesic", "line"}) do
              local files = {}
              for s = 3, 1, -1 do files[#files + 1] = arg[1] .. "/" .. method .. "-" .. s .. ".json" end
              local merged = geo.merge(files)
              local whole = geo.distances(m, pts, {method = method, k = 4, points_per_path = 8})
              print(method, merged == whole, merged:rows())
            end
            print(pcall(geo.merge, {arg[1] .. "/line-1.json", arg[1] .. "/line-2.json"}))
            """).write(toFile: check, atomically: true, encoding: .utf8)
        let r = try GeoreplRunner.run([check, dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "graph\ttrue\t14\ngeodesic\ttrue\t14\nline\ttrue\t14\nfalse\tshard 3/3 missing\n")
    }
}
