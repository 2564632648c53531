import Foundation
import XCTest

/// The Lua scripts in scripts/ run end to end with the real binary.
final class ScriptTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func script(_ name: String) -> String { root.appendingPathComponent("scripts/\(name)").path }

    /// Every row of the tour is read, each with its own tolerance near what it achieves (the
    /// printed error has two digits; "computed" twelve decimals), and rows the table does not
    /// know fail: a new row needs its tolerance here.
    func testTourPrintsComputedBesideClosedForms() throws {
        let r = try GeoreplRunner.run([Self.script("tour.lua")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Sphere of radius 2"))
        // The sphere of radius 2 from a = (1, 0.2) to b = (2, 2.5), independently.
        func x(_ t: Double, _ p: Double) -> SIMD3<Double> { 2 * SIMD3(sin(t) * cos(p), sin(t) * sin(p), cos(t)) }
        let theta = acos((x(1, 0.2) * x(2, 2.5)).sum() / 4)
        let chords = 2 * 2 * 63 * sin(theta / 126)          // the 64-point discrete geodesic
        var line = 0.0                                       // the 64-point straight latent line
        for i in 0..<63 {
            let s0 = Double(i) / 63, s1 = Double(i + 1) / 63
            let d = x(1 + s1, 0.2 + 2.3 * s1) - x(1 + s0, 0.2 + 2.3 * s0)
            line += (d * d).sum().squareRoot()
        }
        // (label prefix, largest printed error; or nil and the value the computed column must
        // have to 2e-12). Achieved errors in the comments.
        let rows: [(String, Double?, Double?)] = [
            ("geodesic length (newton", nil, chords),            // 4.791588857919 (chords 4.791588857919154)
            // GEORCE minimises the linearised energy: within O(1/T^2) of the great circle.
            ("geodesic length (georce", 1e-4, nil),
            ("geodesic length (descent", nil, chords),           // 4.791588857920
            ("|log_a(b)| in the metric", 5e-9, nil),             // 2.8e-9: the log of RK4 with 100 steps
            ("|exp_a(log_a(b)) - b| (latent)", 2e-11, nil),      // 8.2e-12 (the log map stops at 1e-9)
            ("sectional curvature K", 1e-15, nil),               // 2.2e-16
            ("scalar curvature", 1e-15, nil),                    // 2.2e-16
            ("holonomy around latitude t = 0.5", 1.5e-4, nil),   // 1.3e-4 (projection, 2001 points)
            ("holonomy around latitude t = 1.0", 3e-5, nil),     // 2.2e-5
            ("length after transport along the geodesic", 1e-15, nil),  // 0
            ("sectional curvature at t = ", 1e-15, nil),         // at most 4.0e-16
            ("plane analogy", 1e-14, nil),                       // 3.6e-15, 6.1e-15
            ("Swiss roll analogy", 1e-14, nil),                  // 8.9e-16 (abs), 7.1e-15
            ("Swiss roll sectional curvature", 1e-15, nil),      // 0 (abs)
            ("Swiss roll geodesic/line length ratio (mean)", 1e-12, nil),   // 0
        ]
        let pattern = try NSRegularExpression(pattern: #"^  (.+?) +(-?\d+\.\d{12}) +(-?\d+\.\d{12})   (rel|abs)\.err (\S+)$"#)
        var matched = 0
        for line in r.stdout.split(separator: "\n").map(String.init) {
            guard let m = pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) else { continue }
            func group(_ k: Int) -> String { String(line[Range(m.range(at: k), in: line)!]) }
            let label = group(1), computed = Double(group(2))!, err = Double(group(5))!
            guard let row = rows.first(where: { label.hasPrefix($0.0) }) else {
                XCTFail("a tour row without a tolerance here: \(line)"); continue
            }
            matched += 1
            if let tolerance = row.1 { XCTAssertLessThanOrEqual(err, tolerance, line) }
            if let value = row.2 { XCTAssertEqual(computed, value, accuracy: 2e-12, line) }
        }
        XCTAssertEqual(matched, 20, "every row of the tour was read")
        // The straight line's length (printed alone) and the torus sweep: values within
        // K's range [-1/(r(R - r)), 1/(r(R + r))] = [-1, 1/3].
        let lineRow = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.contains("straight latent line length") })
        XCTAssertEqual(Double(lineRow.split(separator: " ").last!)!, line, accuracy: 2e-12)
        let sweep = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.contains("sweep of 500 random planes") })
        let numbers = sweep.split(whereSeparator: { " ,()[]".contains($0) }).compactMap { Double($0) }
        XCTAssertEqual(numbers.count, 6, String(sweep))   // 500, mean, min, max, range ends
        XCTAssertGreaterThanOrEqual(numbers[2], -1); XCTAssertLessThanOrEqual(numbers[3], 1.0 / 3 + 5e-5)
        XCTAssertEqual(Array(numbers[4...]), [-1, 0.3333])
        // The mean of K = cos t / (2 + cos t) over t ~ N(0, 1) (the prior's first coordinate),
        // by Simpson's rule; the sample mean of 500 lies within 4 standard errors of it
        // (achieved: 0.1909 against 0.1987, standard error 0.0093).
        func moment(_ f: (Double) -> Double) -> Double {
            let n = 4000, h = 20.0 / Double(n)
            var sum = 0.0
            for i in 0...n {
                let t = -10 + Double(i) * h, w = (i == 0 || i == n) ? 1.0 : (i % 2 == 1 ? 4.0 : 2.0)
                sum += w * f(t) * exp(-t * t / 2) / (2 * Double.pi).squareRoot()
            }
            return sum * h / 3
        }
        let mean = moment { cos($0) / (2 + cos($0)) }
        let sd = (moment { pow(cos($0) / (2 + cos($0)), 2) } - mean * mean).squareRoot()
        XCTAssertEqual(numbers[1], mean, accuracy: 4 * sd / 500.0.squareRoot())
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

    func testEnsembleVolume() throws {
        let r = try run(["ensemble_volume.lua", "3", "4"])
        XCTAssertTrue(r.stdout.contains("of the 2-d decoder ensemble (fashion-vae-2d, fashion-vae-2d-member-2, fashion-vae-2d-member-3)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("3 encoded test images") && r.stdout.contains("|z| = 10 (4 directions)"), r.stdout)
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

    func testUncertaintyMap() throws {
        let dir = NSTemporaryDirectory() + "/georepl-scripts-\(getpid())"
        let r = try run(["uncertainty_map.lua", "OUT", "12", "20", "12", "8", "10"])
        for label in ["pullback", "uncertainty"] {
            XCTAssertTrue(r.stdout.contains("\(label): \(dir)/latent_\(label).png"), r.stdout)
            // The PNG signature, then IHDR's big-endian width and height.
            let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/latent_\(label).png")))
            XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            let size = [16, 20].map { o in png[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
            XCTAssertEqual(size, [480, 480])
        }
        XCTAssertEqual(r.stdout.components(separatedBy: "mean distance to the data along each geodesic: Trouser -> Bag ").count, 3, r.stdout)
    }

    func testArchitectures() throws {
        let r = try run(["architectures.lua", "2", "1", "8"])
        for name in ["fashion-vae ", "fashion-vae-2d", "fashion-vae-conv"] { XCTAssertTrue(r.stdout.contains(name), r.stdout) }
    }
}
