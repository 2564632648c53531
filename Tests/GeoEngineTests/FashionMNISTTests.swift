import XCTest
@testable import GeoEngine

final class FashionMNISTTests: XCTestCase {
    func testRealTrainingSplit() throws {
        let ds = try requireFashionMNIST(.train)
        XCTAssertEqual(ds.count, 60000)
        XCTAssertEqual(ds.dataShape, [1, 28, 28])
        XCTAssertEqual(ds.imageSize, 784)
        XCTAssertEqual(try ds.label(0), 9)
        XCTAssertEqual(try ds.className(0), "Ankle boot")
        let first = try ds.image(0)
        XCTAssertEqual(first.count, 784)
        XCTAssertTrue(first.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        // Pixels span the whole byte range (checked on the first 1000 images: debug builds are slow).
        let some = try ds.batch(0..<1000).scalars
        XCTAssertEqual(some.min(), 0)
        XCTAssertEqual(some.max(), 1)
        XCTAssertEqual(Set(ds.labels), Set(0...9))
        // Each class has 6000 training images.
        var perClass = [Int](repeating: 0, count: 10)
        for l in ds.labels { perClass[Int(l)] += 1 }
        XCTAssertEqual(perClass, [Int](repeating: 6000, count: 10))
        // The cache returns the same object.
        XCTAssertTrue(try FashionMNIST.load(split: .train) === ds)
        XCTAssertTrue(try DatasetCatalog.load("fashion-mnist") === ds)
    }

    func testRealTestSplit() throws {
        _ = try requireFashionMNIST(.test)
        let ds = try DatasetCatalog.load("fashion-mnist", split: "test")
        XCTAssertEqual(ds.count, 10000)
        XCTAssertEqual(ds.split, .test)
        let last = try ds.image(9999)
        XCTAssertTrue(last.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertThrowsError(try ds.image(10000))
    }

    /// Writes a tiny data set of `n` 2x3 images (pixel k of image i = 10 i + k) to a temp dir.
    private func makeTinyDataSet(n: Int = 4, labels: [UInt8]? = nil, gzip: Bool = true) throws -> String {
        let dir = try makeDataTestDirectory(self)
        let pixels: [UInt8] = (0..<(n * 6)).map { (k: Int) -> UInt8 in UInt8(10 * (k / 6) + k % 6) }
        let images = try IDX.encode(dims: [n, 2, 3], data: pixels)
        let labelBytes = labels ?? (0..<n).map { UInt8($0 % 10) }
        let lab = try IDX.encode(dims: [labelBytes.count], data: labelBytes)
        let suffix = gzip ? ".gz" : ""
        try writeDataTestFile(dir, "t10k-images-idx3-ubyte" + suffix, gzip ? Gzip.compress(images) : images)
        try writeDataTestFile(dir, "t10k-labels-idx1-ubyte" + suffix, gzip ? Gzip.compress(lab) : lab)
        return dir.path
    }

    func testSyntheticDataSetAccessAndBatches() throws {
        for gzip in [true, false] {
            let ds = try FashionMNIST(split: .test, directory: makeTinyDataSet(gzip: gzip))
            XCTAssertEqual(ds.count, 4)
            XCTAssertEqual(ds.dataShape, [1, 2, 3])
            XCTAssertEqual(try ds.image(2), Vector([20, 21, 22, 23, 24, 25].map { $0 / 255.0 }))
            XCTAssertEqual(try ds.label(3), 3)
            XCTAssertEqual(try ds.className(1), "Trouser")
            let b = try ds.batch([3, 0, 3])
            XCTAssertEqual(b.rows, 3)
            XCTAssertEqual(b.cols, 6)
            XCTAssertEqual(b.row(0), try ds.image(3))
            XCTAssertEqual(b.row(1), try ds.image(0))
            XCTAssertEqual(try ds.batch(1..<3).row(1), try ds.image(2))
            XCTAssertEqual(try ds.labels([3, 1]), [3, 1])
            for bad in [-1, 4] {
                XCTAssertThrowsError(try ds.image(bad)) {
                    XCTAssertEqual($0 as? GeoError, .invalidArgument("image index \(bad) is out of range: the test split has 4 images (0-based indices 0...3)"))
                }
                XCTAssertThrowsError(try ds.label(bad))
                XCTAssertThrowsError(try ds.batch([0, bad]))
            }
            XCTAssertThrowsError(try ds.batch(2..<5))
        }
    }

    func testMissingDataSetNamesThePackage() throws {
        let dir = try makeDataTestDirectory(self).path
        XCTAssertThrowsError(try FashionMNIST.load(split: .train, directory: dir)) {
            XCTAssertEqual($0 as? GeoError, .io("Fashion-MNIST not found in \(dir): install Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"))
        }
        XCTAssertThrowsError(try FashionMNIST.load(directory: "/nonexistent/fashion-mnist/")) {
            XCTAssertEqual(($0 as? GeoError)?.description.hasPrefix("Fashion-MNIST not found in /nonexistent/fashion-mnist: install Debian's package dataset-fashion-mnist"), true)
        }
    }

    func testInconsistentFilesAreFormatErrors() throws {
        let mismatched = try makeTinyDataSet(n: 4, labels: [1, 2, 3])
        assertDataFormatError(try FashionMNIST(split: .test, directory: mismatched),
                          "has 4 images but", "t10k-labels-idx1-ubyte.gz has 3 labels")
        let badLabel = try makeTinyDataSet(n: 4, labels: [1, 2, 10, 3])
        assertDataFormatError(try FashionMNIST(split: .test, directory: badLabel),
                          "t10k-labels-idx1-ubyte.gz: label 10 of item 2 is outside 0...9")
        // Images and labels swapped: wrong magic, naming the file.
        let dir = try makeDataTestDirectory(self)
        try writeDataTestFile(dir, "t10k-images-idx3-ubyte", IDX.encode(dims: [1], data: [0]))
        try writeDataTestFile(dir, "t10k-labels-idx1-ubyte", IDX.encode(dims: [1, 1, 1], data: [0]))
        assertDataFormatError(try FashionMNIST(split: .test, directory: dir.path),
                          "t10k-images-idx3-ubyte: wrong magic number 0x00000801, expected 0x00000803")
    }

    func testCatalogRejectsUnknownNames() {
        XCTAssertThrowsError(try DatasetCatalog.load("mnist")) {
            XCTAssertEqual($0 as? GeoError, .invalidArgument("unknown data set 'mnist' (known: fashion-mnist)"))
        }
        XCTAssertThrowsError(try DatasetCatalog.load("fashion-mnist", split: "validation")) {
            XCTAssertEqual($0 as? GeoError, .invalidArgument("unknown split 'validation' (expected \"train\" or \"test\")"))
        }
    }
}
