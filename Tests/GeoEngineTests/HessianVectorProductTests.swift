import XCTest
@testable import GeoEngine

/// `Generator.hessianVectorProducts` on the analytic surfaces (the protocol's default) and
/// through the regularised metric: against central differences of VJPs and against the
/// contraction of second-order forward mode. The graph evaluator's own implementation is tested
/// in GraphTests and op by op in OpTestHelpers.
final class HessianVectorProductTests: XCTestCase {
    let surfacePoints: [[Double]] = [[0.3, -0.7], [1.2, 0.4], [-0.5, 2.1]]

    func testAnalyticSurfaces() throws {
        try assertHessianVectorProductsMatch(try Sphere(radius: 1.5), points: surfacePoints)
        try assertHessianVectorProductsMatch(try Torus(R: 2, r: 1), points: surfacePoints)
        try assertHessianVectorProductsMatch(try Plane(dim: 2), points: surfacePoints)
        try assertHessianVectorProductsMatch(Saddle(), points: surfacePoints)
        try assertHessianVectorProductsMatch(try SwissRoll(a: 1, theta0: 2 * Double.pi), points: surfacePoints.map { [$0[0] + 3, $0[1]] })
    }

    func testRegularizedMetric() throws {
        try assertHessianVectorProductsMatch(try RegularizedMetric(try Sphere(), lambda: 0.3), points: surfacePoints)
        try assertHessianVectorProductsMatch(try RegularizedMetric(try GraphTests.network(seed: 4), lambda: 0.1),
                  points: [[0.2, -0.1, 0.5], [-0.4, 0.9, 0.3]])
    }
}
