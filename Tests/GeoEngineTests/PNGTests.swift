import XCTest
@testable import GeoEngine

final class PNGTests: XCTestCase {
    func testQuantize() {
        XCTAssertEqual(PixelImage.quantize(.nan), 0)
        XCTAssertEqual(PixelImage.quantize(-3), 0)
        XCTAssertEqual(PixelImage.quantize(-.infinity), 0)
        XCTAssertEqual(PixelImage.quantize(0), 0)
        XCTAssertEqual(PixelImage.quantize(0.5), 128)
        XCTAssertEqual(PixelImage.quantize(1 / 255.0), 1)
        XCTAssertEqual(PixelImage.quantize(1), 255)
        XCTAssertEqual(PixelImage.quantize(7), 255)
        XCTAssertEqual(PixelImage.quantize(.infinity), 255)
    }

    func testPlanarValuesBecomeInterleavedPixels() throws {
        // 2x1 RGB in [C, H, W] order: R plane, G plane, B plane.
        let img = try PixelImage(width: 2, height: 1, channels: 3, planar: [1, 0, 0, 1, 0.5, .nan])
        XCTAssertEqual(img.pixels, [255, 0, 128, 0, 255, 0])
        XCTAssertEqual(img.pixel(x: 1, y: 0), [0, 255, 0])
        XCTAssertNil(img.pixel(x: 2, y: 0))
        XCTAssertThrowsError(try PixelImage(width: 2, height: 1, channels: 3, planar: [1, 0]))
        XCTAssertThrowsError(try PixelImage(width: 2, height: 1, channels: 2, pixels: [0, 0, 0, 0]))
        XCTAssertThrowsError(try PixelImage(width: 0, height: 1, channels: 1, pixels: []))
        XCTAssertThrowsError(try PixelImage(width: 1 << 20, height: 1 << 20, channels: 1, fill: [0]))
    }

    func testWriteThenReadGivesQuantisedPixelsExactly() throws {
        let dir = try makeDataTestDirectory(self)
        var rng = SeededRandom(seed: 5)
        for (channels, w, h) in [(1, 28, 28), (3, 17, 9), (1, 1, 1), (3, 300, 2)] {
            var values = (0..<(channels * w * h)).map { _ in rng.uniform() * 1.4 - 0.2 }
            values[0] = .nan
            let image = try PixelImage(width: w, height: h, channels: channels, planar: values)
            let path = dir.appendingPathComponent("img-\(channels)-\(w)x\(h).png").path
            try PNG.write(image, to: path)
            let bytes = try FileBytes.read(path)
            XCTAssertEqual(Array(bytes[0..<8]), PNG.signature)
            let back = try PNG.read(path)
            XCTAssertEqual(back, image)
            XCTAssertEqual(back.pixels[0], 0)   // NaN -> 0
            // Quantisation of every value, independently of the layout conversion.
            let plane = w * h
            for c in 0..<channels { for i in 0..<plane {
                XCTAssertEqual(back.pixels[i * channels + c], PixelImage.quantize(values[c * plane + i]))
            } }
        }
    }

    func testLargeIncompressibleImageRoundTrips() throws {
        var rng = SeededRandom(seed: 9)
        let pixels = (0..<(3 * 200 * 150)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let image = try PixelImage(width: 200, height: 150, channels: 3, pixels: pixels)
        let encoded = try PNG.encode(image)
        XCTAssertEqual(try PNG.decode(encoded, name: "mem"), image)
        // A too small first buffer: libpng reports the size needed and the second try succeeds.
        XCTAssertEqual(try PNG.encode(image, initialCapacity: 100), encoded)
    }

    func testForeignFormatsAreConverted() throws {
        // 2x1 RGBA (made with Python's zlib): opaque red, half-transparent green.
        let rgba: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0xf4, 0x22, 0x7f, 0x8a, 0x00, 0x00, 0x00, 0x0f, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x08, 0x1b, 0x00, 0x10, 0x79, 0x03, 0x7e, 0x7d, 0x63, 0xce, 0xd7, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]
        let a = try PNG.decode(rgba, name: "rgba")
        XCTAssertEqual(a.channels, 3)
        XCTAssertEqual(a.pixel(x: 0, y: 0), [255, 0, 0])
        let green = try XCTUnwrap(a.pixel(x: 1, y: 0))
        XCTAssertEqual(green[0], 0)
        XCTAssertEqual(green[2], 0)
        XCTAssertTrue((100...200).contains(green[1]), "\(green)")   // composited onto black
        // 2x1 16-bit gray: 0x1234 and 0xffff.
        let g16: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x10, 0x00, 0x00, 0x00, 0x00, 0x81, 0xd9, 0xfc, 0x15, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x10, 0x32, 0xf9, 0xff, 0x1f, 0x00, 0x03, 0xe6, 0x02, 0x45, 0x2e, 0x42, 0x96, 0x75, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]
        let g = try PNG.decode(g16, name: "g16")
        XCTAssertEqual(g.channels, 1)
        XCTAssertEqual(g.width, 2)
        XCTAssertEqual(g.pixels[1], 255)
        XCTAssertGreaterThan(g.pixels[0], 0)
    }

    func testCorruptAndMissingFiles() throws {
        let dir = try makeDataTestDirectory(self)
        let image = try PixelImage(width: 8, height: 8, channels: 1, fill: [200])
        let good = try PNG.encode(image)
        let notPNG = try writeDataTestFile(dir, "not.png", Array("hello world".utf8))
        assertDataFormatError(try PNG.read(notPNG), notPNG, "not a PNG file")
        let truncated = try writeDataTestFile(dir, "truncated.png", Array(good[0..<(good.count - 20)]))
        assertDataFormatError(try PNG.read(truncated), truncated, "invalid PNG")
        var badCRC = good
        badCRC[29] ^= 0xff     // inside the IHDR CRC
        let crc = try writeDataTestFile(dir, "crc.png", badCRC)
        assertDataFormatError(try PNG.read(crc), crc, "invalid PNG: IHDR: CRC error")
        let short = try writeDataTestFile(dir, "short.png", Array(good[0..<12]))
        assertDataFormatError(try PNG.read(short), short, "invalid PNG")

        XCTAssertThrowsError(try PNG.read(dir.appendingPathComponent("missing.png").path)) {
            guard case GeoError.io(let m)? = $0 as? GeoError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("missing.png") && m.contains("No such file"), m)
        }
        XCTAssertThrowsError(try PNG.write(image, to: dir.appendingPathComponent("no/such/dir.png").path)) {
            guard case GeoError.io(let m)? = $0 as? GeoError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("no/such/dir.png"), m)
        }
        XCTAssertThrowsError(try PNG.write(image, to: dir.path)) {
            guard case GeoError.io? = $0 as? GeoError else { return XCTFail("\($0)") }
        }
    }
}
