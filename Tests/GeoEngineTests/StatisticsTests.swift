import XCTest
@testable import GeoEngine

final class StatisticsTests: XCTestCase {
    func testAgainstHandComputedValues() throws {
        let s = try SampleStatistics([4, 1, 3, 2, .nan, 5])
        XCTAssertEqual(s.count, 5); XCTAssertEqual(s.dropped, 1)
        XCTAssertEqual(s.mean, 3); XCTAssertEqual(s.std, (2.5).squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(s.min, 1); XCTAssertEqual(s.max, 5); XCTAssertEqual(s.median, 3)
        XCTAssertEqual(s.q05, 1.2, accuracy: 1e-15)   // h = 0.2
        XCTAssertEqual(s.q95, 4.8, accuracy: 1e-15)
        XCTAssertEqual(try SampleStatistics([7]).std, 0)
        XCTAssertThrowsError(try SampleStatistics([.nan]))
        XCTAssertThrowsError(try SampleStatistics([]))
    }
}
