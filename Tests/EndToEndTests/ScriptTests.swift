import Foundation
import XCTest

/// The Lua scripts in scripts/ run end to end with the real binary.
final class ScriptTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func script(_ name: String) -> String { root.appendingPathComponent("scripts/\(name)").path }

    func testTourPrintsComputedBesideClosedForms() throws {
        let r = try GeoreplRunner.run([Self.script("tour.lua")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Sphere of radius 2"))
        // Every relative error the tour prints is small.
        for line in r.stdout.split(separator: "\n") where line.contains("rel.err") {
            let err = Double(line.split(separator: " ").last ?? "") ?? .infinity
            XCTAssertLessThan(err, 1e-3, String(line))
        }
    }
}

/// The study scripts of scripts/ on the shipped models, in small settings.
final class StudyScriptTests: XCTestCase {
    func run(_ args: [String]) throws -> GeoreplRunner.Output {
        let dir = NSTemporaryDirectory() + "/georepl-scripts-\(getpid())"
        let r = try GeoreplRunner.run([ScriptTests.script(args[0])] + args.dropFirst().map { $0 == "OUT" ? dir : $0 })
        XCTAssertEqual(r.status, 0, r.stderr)
        return r
    }

    func testGeodesicsVsLines() throws {
        let r = try run(["geodesics_vs_lines.lua", "2", "OUT", "fashion-vae", "8"])
        XCTAssertTrue(r.stdout.contains("length ratio geodesic/line"), r.stdout)
        XCTAssertTrue(r.stdout.contains("latent excursion"), r.stdout)
        XCTAssertTrue(r.stdout.range(of: #"geodesic solver stops +converged"#, options: .regularExpression) != nil, r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: NSTemporaryDirectory() + "/georepl-scripts-\(getpid())/geodesics_vs_lines.png"))
        let reg = try run(["geodesics_vs_lines.lua", "1", "OUT", "fashion-vae", "8", "0.1"])
        XCTAssertTrue(reg.stdout.contains("on fashion-vae+0.1I"), reg.stdout)
        XCTAssertTrue(reg.stdout.contains("ratio in J^T J + 0.1 I"), reg.stdout)
    }

    func testAnalogies() throws {
        let r = try run(["analogies.lua", "1", "OUT", "fashion-vae-2d", "8"])
        XCTAssertTrue(r.stdout.contains("Sneaker -> Ankle boot"), r.stdout)
        XCTAssertFalse(r.stdout.contains("failed"), r.stdout)
        // The 16-d model needs the regularised metric (it ignores some latent directions); with
        // it the log map converges and the analogy completes.
        let reg = try run(["analogies.lua", "1", "OUT", "fashion-vae", "8", "0.1"])
        XCTAssertTrue(reg.stdout.contains("on fashion-vae+0.1I"), reg.stdout)
        XCTAssertTrue(reg.stdout.contains("Sneaker -> Ankle boot"), reg.stdout)
        XCTAssertFalse(reg.stdout.contains("failed"), reg.stdout)
    }

    func testSingularValues() throws {
        let r = try run(["singular_values.lua", "fashion-vae-2d", "3"])
        XCTAssertTrue(r.stdout.contains("fashion-vae-2d: median singular values of J at 3 encoded test images: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("2 directions above 1% of s_1: 3 images"), r.stdout)
    }

    func testCurvature() throws {
        let r = try run(["curvature.lua", "3", "fashion-vae-2d"])
        XCTAssertTrue(r.stdout.contains("sectional, encoded test images"), r.stdout)
    }

    func testArchitectures() throws {
        let r = try run(["architectures.lua", "2", "1", "8"])
        for name in ["fashion-vae ", "fashion-vae-2d", "fashion-vae-conv"] { XCTAssertTrue(r.stdout.contains(name), r.stdout) }
    }
}
