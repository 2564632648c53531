import XCTest
@testable import GeoEngine

final class SweepTests: XCTestCase {
    func testSphereAndTorusSweeps() throws {
        let s = try Sphere(radius: 2)
        var rng = SeededRandom(seed: 3)
        // Points away from the poles (where the chart is singular).
        let points = (0..<100).map { _ in Vector([0.3 + 2.5 * rng.uniform(), 6 * rng.uniform()]) }
        var planes = SeededRandom(seed: 4)
        let k = try Sweep.sectional(on: s, at: points, rng: &planes)
        XCTAssertEqual(k.count, 100)
        for x in k { XCTAssertEqual(x, 0.25, accuracy: 1e-8) }
        for x in try Sweep.scalar(on: s, at: points) { XCTAssertEqual(x, 0.5, accuracy: 1e-8) }
        // A pole gives NaN, dropped by the statistics, not an aborted sweep.
        var r2 = SeededRandom(seed: 5)
        let withPole = try Sweep.sectional(on: s, at: [Vector([0, 1]), Vector([1, 1])], rng: &r2)
        XCTAssertTrue(withPole[0].isNaN); XCTAssertEqual(withPole[1], 0.25, accuracy: 1e-8)
        XCTAssertEqual(try SampleStatistics(withPole).dropped, 1)
    }

    func testLengthRatios() throws {
        let plane = try Plane()
        let r = try Sweep.lengthRatios(on: plane, pairs: [(Vector([0, 0]), Vector([1, 2])), (Vector([1, 1]), Vector([1, 1]))],
                                       options: GeodesicOptions(points: 16))
        XCTAssertEqual(r[0], 1, accuracy: 1e-10)
        XCTAssertTrue(r[1].isNaN)
        // On the sphere, a line along a latitude is longer than the great circle: ratio < 1.
        let s = try Sphere()
        let q = try Sweep.lengthRatios(on: s, pairs: [(Vector([1, 0]), Vector([1, 2]))], options: GeodesicOptions(points: 32))
        XCTAssertLessThan(q[0], 1)
        let chord = 2 * sin(1.0) * sin(1.0)   // |x_a - x_b| for azimuth difference 2 at polar angle 1
        let great = 2 * asin(chord / 2)
        XCTAssertEqual(q[0], great / (2 * sin(1.0)), accuracy: 1e-3)
    }
}
