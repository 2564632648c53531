import XCTest
@testable import GeoEngine

/// Helpers shared by the data and image tests.

/// A fresh temporary directory per test, removed afterwards.
func makeDataTestDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("georepl-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// Writes bytes to dir/name and returns the path.
@discardableResult
func writeDataTestFile(_ dir: URL, _ name: String, _ bytes: [UInt8]) throws -> String {
    let url = dir.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

/// Asserts that `body` throws a GeoError.format whose message contains every fragment.
func assertDataFormatError(_ body: @autoclosure () throws -> Any, _ fragments: String...,
                           file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard case GeoError.format(let message)? = error as? GeoError else {
            return XCTFail("expected GeoError.format, got \(error)", file: file, line: line)
        }
        for f in fragments {
            XCTAssertTrue(message.contains(f), "'\(message)' lacks '\(f)'", file: file, line: line)
        }
    }
}
