import XCTest
@testable import GeoEngine

final class IDXTests: XCTestCase {
    let images: [UInt8] = Array(0..<24)   // 2 images of 3 x 4

    func testGzipRoundTripAndConcatenatedMembers() throws {
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 7) }
        let gz = try Gzip.compress(data)
        XCTAssertTrue(Gzip.isGzip(gz))
        XCTAssertEqual(try Gzip.decompress(gz, name: "x.gz"), data)
        let two = try Gzip.compress([1, 2, 3]) + Gzip.compress([4, 5])
        XCTAssertEqual(try Gzip.decompress(two, name: "two.gz"), [1, 2, 3, 4, 5])
        XCTAssertEqual(try Gzip.decompress(Gzip.compress([]), name: "empty.gz"), [])
    }

    func testCorruptTruncatedAndOversizedGzip() throws {
        let data = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 % 251 &* $0) }
        let gz = try Gzip.compress(data)
        // Truncated: cut in the middle of the deflate data, and just before the trailer.
        assertDataFormatError(try Gzip.decompress(Array(gz[0..<(gz.count / 2)]), name: "half.gz"),
                          "half.gz", "truncated gzip stream")
        assertDataFormatError(try Gzip.decompress(Array(gz[0..<(gz.count - 3)]), name: "cut.gz"), "truncated")
        assertDataFormatError(try Gzip.decompress(Array(gz[0..<5]), name: "hdr.gz"), "truncated")
        // Corrupt: flip bits in the deflate data, or in the CRC of the trailer.
        var bad = gz
        for i in stride(from: 20, to: 60, by: 3) { bad[i] ^= 0x5a }
        assertDataFormatError(try Gzip.decompress(bad, name: "bad.gz"), "bad.gz", "corrupt gzip stream")
        var badCRC = gz
        badCRC[gz.count - 6] ^= 0xff
        assertDataFormatError(try Gzip.decompress(badCRC, name: "crc.gz"), "corrupt gzip stream", "check")
        var badMethod = gz
        badMethod[2] = 7
        assertDataFormatError(try Gzip.decompress(badMethod, name: "m.gz"), "corrupt gzip stream")
        assertDataFormatError(try Gzip.decompress(gz + [1, 2, 3], name: "tail.gz"), "3 unexpected bytes")
        assertDataFormatError(try Gzip.decompress([1, 2, 3], name: "plain"), "not a gzip stream")
        assertDataFormatError(try Gzip.decompress(gz, name: "big.gz", maxOutput: 1000), "more than 1000 bytes")
    }

    func testParsePlainAndGzipFiles() throws {
        let dir = try makeDataTestDirectory(self)
        let imageBytes = try IDX.encode(dims: [2, 3, 4], data: images)
        let labelBytes = try IDX.encode(dims: [2], data: [7, 3])
        XCTAssertEqual(Array(imageBytes[0..<8]), [0, 0, 8, 3, 0, 0, 0, 2])
        let plain = try writeDataTestFile(dir, "images-idx3-ubyte", imageBytes)
        let gz = try writeDataTestFile(dir, "images-idx3-ubyte.gz", Gzip.compress(imageBytes))
        let labels = try writeDataTestFile(dir, "labels-idx1-ubyte", labelBytes)
        for path in [plain, gz] {
            let a = try IDX.read(path, expectedMagic: IDX.imageMagic)
            XCTAssertEqual(a.dims, [2, 3, 4])
            XCTAssertEqual(a.data, images)
        }
        XCTAssertEqual(try IDX.read(labels, expectedMagic: IDX.labelMagic), IDXArray(dims: [2], data: [7, 3]))
    }

    func testWrongMagic() throws {
        let dir = try makeDataTestDirectory(self)
        let labels = try writeDataTestFile(dir, "labels", IDX.encode(dims: [2], data: [7, 3]))
        assertDataFormatError(try IDX.read(labels, expectedMagic: IDX.imageMagic),
                          labels, "wrong magic number 0x00000801, expected 0x00000803")
        let junk = try writeDataTestFile(dir, "junk", [0x50, 0x4b, 3, 4, 0, 0, 0, 0])
        assertDataFormatError(try IDX.read(junk), junk, "does not start with two zero bytes")
        assertDataFormatError(try IDX.parse([0, 0, 0x0d, 1, 0, 0, 0, 0], name: "f"), "unsupported IDX element type 0xd")
        assertDataFormatError(try IDX.parse([0, 0], name: "tiny"), "tiny", "too short")
    }

    func testTruncatedAndMismatchedData() throws {
        let dir = try makeDataTestDirectory(self)
        let full = try IDX.encode(dims: [2, 3, 4], data: images)
        let truncated = try writeDataTestFile(dir, "truncated.gz", Gzip.compress(Array(full.dropLast(5))))
        assertDataFormatError(try IDX.read(truncated, expectedMagic: IDX.imageMagic),
                          truncated, "truncated IDX data", "[2, 3, 4]", "need 24 bytes", "has 19")
        let extra = try writeDataTestFile(dir, "extra", full + [9, 9])
        assertDataFormatError(try IDX.read(extra), extra, "need 24 bytes of data, but the file has 26")
        let header = try writeDataTestFile(dir, "header", Array(full[0..<10]))
        assertDataFormatError(try IDX.read(header), header, "truncated IDX header", "3 dimensions need 16 header bytes")
        let huge: [UInt8] = [0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        assertDataFormatError(try IDX.parse(huge, name: "huge"), "huge", "are too large")
        assertDataFormatError(try IDX.parse([0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff, 1], name: "big"),
                          "truncated IDX data", "need 4294967295 bytes", "has 1")
    }

    func testCorruptGzipFileNamesTheFile() throws {
        let dir = try makeDataTestDirectory(self)
        var gz = try Gzip.compress(IDX.encode(dims: [2, 3, 4], data: images))
        gz[gz.count - 8] ^= 0x01
        let path = try writeDataTestFile(dir, "corrupt.gz", gz)
        assertDataFormatError(try IDX.read(path), path, "corrupt gzip stream")
    }

    func testMissingFileIsIOError() {
        XCTAssertThrowsError(try IDX.read("/nonexistent/georepl/x-idx1-ubyte")) { error in
            guard case GeoError.io(let m)? = error as? GeoError else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("/nonexistent/georepl/x-idx1-ubyte") && m.contains("No such file"), m)
        }
    }
}
