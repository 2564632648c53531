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

/// Debian's Fashion-MNIST (the quick start installs dataset-fashion-mnist): the split, or a test
/// failure that names the package (never a skip: CI must not pass without the data).
func requireFashionMNIST(_ split: FashionMNIST.Split, file: StaticString = #filePath, line: UInt = #line) throws -> FashionMNIST {
    do {
        return try FashionMNIST.load(split: split)
    } catch {
        XCTFail("Debian's dataset-fashion-mnist is needed (apt-get install dataset-fashion-mnist; ./quickstart test installs it): \(error)",
                file: file, line: line)
        throw error
    }
}

/// A synthetic Fashion-MNIST-like split written as gzip IDX files (the loader's format) in a
/// fresh temporary directory: `n` images of `side` x `side` pixels, image i of class i % 10 a
/// bright horizontal band at rows 2k..2k+1 (k = class, wrapped to the image) over a dim
/// background whose level varies with i. Returns the directory.
func writeSyntheticFashionMNIST(_ test: XCTestCase, split: FashionMNIST.Split = .test, n: Int, side: Int = 12) throws -> String {
    let dir = try makeDataTestDirectory(test)
    var pixels = [UInt8](), labels = [UInt8]()
    for i in 0..<n {
        let k = i % 10
        labels.append(UInt8(k))
        let background = UInt8(10 * ((i / 10) % 5))
        for y in 0..<side {
            for _ in 0..<side { pixels.append((y / 2) % (side / 2) == k % (side / 2) ? 230 : background) }
        }
    }
    let prefix = split.filePrefix
    try writeDataTestFile(dir, "\(prefix)-images-idx3-ubyte.gz", Gzip.compress(IDX.encode(dims: [n, side, side], data: pixels)))
    try writeDataTestFile(dir, "\(prefix)-labels-idx1-ubyte.gz", Gzip.compress(IDX.encode(dims: [n], data: labels)))
    return dir.path
}
