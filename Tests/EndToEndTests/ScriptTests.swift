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
