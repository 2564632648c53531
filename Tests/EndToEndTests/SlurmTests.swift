import Foundation
import XCTest

/// A real one-node Slurm cluster (Debian's slurm-wlm and munge, started by scripts/slurm_local.sh
/// in a temporary directory, as root): a 4-task array job computes the shards of a distance
/// matrix with geo.shard(), georepl merges them, and the result equals the single-process
/// matrix bit for bit.
final class SlurmTests: XCTestCase {
    static var repository: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    @discardableResult
    func shell(_ command: String, environment: [String: String] = [:], timeout: Int = 180) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = [String(timeout), "/bin/bash", "-c", command]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out; p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testArrayJobShardsMergeToTheSingleProcessMatrix() throws {
        // The daemons run as root (the quick start installs slurm-wlm and munge; CI runs as root).
        guard getuid() == 0 else { return XCTFail("starting Slurm's daemons needs root: run ./quickstart test as root") }
        let dir = "/tmp/gs\(getpid())"
        let script = Self.repository.appendingPathComponent("scripts/slurm_local.sh").path
        try? FileManager.default.removeItem(atPath: dir)
        let start = try shell("'\(script)' start '\(dir)'", timeout: 300)
        defer {
            _ = try? shell("'\(script)' stop '\(dir)'")
            try? FileManager.default.removeItem(atPath: dir)
        }
        XCTAssertEqual(start.status, 0, start.output)
        guard start.status == 0 else { return }
        let georepl = GeoreplRunner.executable.path
        let points = """
            local m = geo.sphere{}
            local pts = {}
            for k = 1, 16 do pts[k] = geo.vec{1 + 0.07 * k, 0.41 * k % 1.5} end
            """
        try (points + """

            local i, n = geo.shard()
            geo.write_json(arg[1] .. "/d-" .. i .. ".json", geo.distances(m, pts, {k = 4, points_per_edge = 6, shard = i, shards = n}))
            print("shard", i, "of", n)
            """).write(toFile: dir + "/distances.lua", atomically: true, encoding: .utf8)
        try """
            #!/bin/sh
            #SBATCH --array=1-4
            exec '\(georepl)' '\(dir)/distances.lua' '\(dir)'
            """.write(toFile: dir + "/distances.sbatch", atomically: true, encoding: .utf8)
        let job = try shell("eval \"$('\(script)' env '\(dir)')\" && cd '\(dir)' && sbatch --wait --output='\(dir)/slurm-%A_%a.out' distances.sbatch && cat '\(dir)'/slurm-*.out",
                            timeout: 300)
        XCTAssertEqual(job.status, 0, job.output)
        for i in 1...4 { XCTAssertTrue(job.output.contains("shard\t\(i)\tof\t4"), job.output) }
        try (points + """

            local merged = geo.merge{arg[1] .. "/d-1.json", arg[1] .. "/d-2.json", arg[1] .. "/d-3.json", arg[1] .. "/d-4.json"}
            local whole = geo.distances(m, pts, {k = 4, points_per_edge = 6})
            geo.write_csv(arg[1] .. "/distances.csv", merged)
            print(merged == whole, merged:rows(), merged:get(1, 16) > 0)
            """).write(toFile: dir + "/check.lua", atomically: true, encoding: .utf8)
        let r = try GeoreplRunner.run([dir + "/check.lua", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "true\t16\ttrue\n")
    }
}
