import XCTest
@testable import GeoEngine

/// The intrinsic mean and tangent PCA on the unit sphere, against symmetric configurations.
final class FrechetMeanTests: XCTestCase {
    /// exp_c(r (cos a e_t + sin a e_p)) on the unit sphere in closed form, in (t, p) coordinates.
    func sphereExp(_ c: Vector, _ r: Double, _ a: Double) -> Vector {
        let (t, p) = (c[0], c[1])
        let c3 = [sin(t) * cos(p), sin(t) * sin(p), cos(t)]
        let et = [cos(t) * cos(p), cos(t) * sin(p), -sin(t)], ep = [-sin(p), cos(p), 0]
        let x = (0..<3).map { cos(r) * c3[$0] + sin(r) * (cos(a) * et[$0] + sin(a) * ep[$0]) }
        return Vector([acos(x[2]), atan2(x[1], x[0])])
    }

    /// Three points at distance 0.5 from c, 120 degrees apart: by symmetry their mean is c,
    /// which the latent mean (the start) misses by 0.02.
    func testMeanOfSymmetricPointsIsTheCentre() throws {
        let s = try Sphere()
        let c = Vector([1.0, 0.3])
        let points = (0..<3).map { sphereExp(c, 0.5, Double($0) * 2 * .pi / 3 + 0.2) }
        var start = [0.0, 0.0]
        for p in points { start[0] += p[0] / 3; start[1] += p[1] / 3 }
        XCTAssertGreaterThan(try (Vector(start) - c).norm, 0.01)
        var o = FrechetMean.Options()
        o.log.geodesic = GeodesicOptions(points: 32)
        let m = try FrechetMean(on: s, points: points, options: o)
        XCTAssertTrue(m.converged, "\(m.gradientNorms)")
        XCTAssertEqual(m.mean[0], c[0], accuracy: 1e-6); XCTAssertEqual(m.mean[1], c[1], accuracy: 1e-6)
        XCTAssertEqual(m.objective, 0.125, accuracy: 1e-6, "half the mean squared distance 0.5^2")
        for (k, v) in m.gradientNorms.enumerated().dropFirst() { XCTAssertLessThanOrEqual(v, m.gradientNorms[k - 1] * 1.001) }
        XCTAssertThrowsError(try FrechetMean(on: s, points: []))
    }

    /// Points at +-0.4 along the meridian and +-0.2 along the parallel through c: principal
    /// variances 0.08 and 0.02 along (1, 0) and (0, 1 / sin t) in the chart.
    func testTangentPCAOfACross() throws {
        let s = try Sphere()
        let c = Vector([1.2, 0.5])
        let points = [sphereExp(c, 0.4, 0), sphereExp(c, 0.4, .pi), sphereExp(c, 0.2, .pi / 2), sphereExp(c, 0.2, -.pi / 2)]
        var o = FrechetMean.Options()
        o.log.geodesic = GeodesicOptions(points: 32)
        let m = try FrechetMean(on: s, points: points, options: o)
        XCTAssertEqual(try (m.mean - c).norm, 0, accuracy: 1e-6)
        let pca = try TangentPCA(metric: try s.metric(m.mean), logs: m.logs)
        XCTAssertEqual(pca.variances[0], 0.08, accuracy: 1e-6); XCTAssertEqual(pca.variances[1], 0.02, accuracy: 1e-6)
        XCTAssertEqual(abs(pca.directions[0][0]), 1, accuracy: 1e-6); XCTAssertEqual(pca.directions[0][1], 0, accuracy: 1e-6)
        XCTAssertEqual(abs(pca.directions[1][1]), 1 / sin(c[0]), accuracy: 1e-5)
        XCTAssertEqual(abs(pca.coordinates[0][0]), 0.4, accuracy: 1e-6)
        XCTAssertEqual(abs(pca.coordinates[2][1]), 0.2, accuracy: 1e-6)
    }
}
