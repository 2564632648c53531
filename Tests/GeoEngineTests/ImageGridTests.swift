import XCTest
@testable import GeoEngine

final class ImageGridTests: XCTestCase {
    /// A 2x3 gray image (H = 2, W = 3) whose pixels are all `level / 255`.
    private func flat(_ level: Int, count: Int = 6) -> Vector {
        Vector(repeating: Double(level) / 255, count: count)
    }

    func testShapes() throws {
        XCTAssertEqual(try ImageShape(dataShape: nil, count: 784), try ImageShape(dataShape: [1, 28, 28], count: 784))
        XCTAssertEqual(try ImageShape(dataShape: [784], count: 784).width, 28)
        XCTAssertEqual(try ImageShape(dataShape: [2, 3], count: 6), try ImageShape(dataShape: [1, 2, 3], count: 6))
        XCTAssertEqual(try ImageShape(dataShape: [3, 4, 5], count: 60).channels, 3)
        for (shape, count) in [(nil, 10), ([10], 10), ([2, 4, 4], 32), ([0, 5], 0), ([1, 2, 3, 4], 24), ([], 1),
                               ([Int.max], Int.max)] as [([Int]?, Int)] {
            XCTAssertThrowsError(try ImageShape(dataShape: shape, count: count)) {
                XCTAssertTrue("\($0)".contains("is not an image"), "\($0)")
            }
        }
        XCTAssertThrowsError(try ImageShape(dataShape: [1, 28, 28], count: 100)) {
            XCTAssertEqual($0 as? GeoError, .dimensionMismatch("data shape [1, 28, 28] does not fit a vector of 100 values"))
        }
    }

    func testDefaultLayoutAndTilePositions() throws {
        // 5 images of 2x3: cols = ceil(sqrt 5) = 3, rows = 2, separator 1.
        let images = (0..<5).map { flat(10 * ($0 + 1)) }
        let img = try ImageGrid.compose(images, dataShape: [1, 2, 3])
        XCTAssertEqual(img.channels, 1)
        XCTAssertEqual(img.width, 3 * 3 + 2)
        XCTAssertEqual(img.height, 2 * 2 + 1)
        for k in 0..<5 {
            let x0 = (k % 3) * 4, y0 = (k / 3) * 3
            for y in 0..<2 { for x in 0..<3 {
                XCTAssertEqual(img.pixel(x: x0 + x, y: y0 + y), [UInt8(10 * (k + 1))], "tile \(k) pixel \(x),\(y)")
            } }
        }
        // Separators and the empty sixth cell are background gray (0.5 -> 128).
        XCTAssertEqual(img.pixel(x: 3, y: 0), [128])
        XCTAssertEqual(img.pixel(x: 0, y: 2), [128])
        XCTAssertEqual(img.pixel(x: 9, y: 4), [128])
    }

    func testPixelOrderWithinATileAndUpscaling() throws {
        // One 2x3 image with distinct pixels, scale 2, and a second one after a 2-pixel separator.
        let a = Vector((0..<6).map { Double($0 + 1) / 255 })
        let opts = ImageGridOptions(cols: 2, separator: 2, scale: 2, background: 0)
        let img = try ImageGrid.compose([a, flat(200)], dataShape: [2, 3], options: opts)
        XCTAssertEqual(img.width, 2 * 6 + 2)
        XCTAssertEqual(img.height, 4)
        for y in 0..<4 { for x in 0..<6 {
            XCTAssertEqual(img.pixel(x: x, y: y), [UInt8((y / 2) * 3 + x / 2 + 1)])
        } }
        XCTAssertEqual(img.pixel(x: 6, y: 0), [0])
        XCTAssertEqual(img.pixel(x: 7, y: 3), [0])
        XCTAssertEqual(img.pixel(x: 8, y: 0), [200])
        XCTAssertEqual(img.pixel(x: 13, y: 3), [200])
        let layout = try ImageGrid.layout(count: 2, tile: ImageShape(dataShape: [2, 3], count: 6), options: opts)
        XCTAssertEqual(layout.origin(of: 1).x, 8)
    }

    func testColourTilesAndColumnOptions() throws {
        // [3, 1, 2]: a 1x2 RGB image, planar: R = (1, 0), G = (0, 1), B = (0, 0.5).
        let rgb = Vector([1, 0, 0, 1, 0, 0.5])
        let img = try ImageGrid.compose([rgb, rgb, rgb], dataShape: [3, 1, 2], options: ImageGridOptions(cols: 1))
        XCTAssertEqual(img.channels, 3)
        XCTAssertEqual(img.width, 2)
        XCTAssertEqual(img.height, 5)
        XCTAssertEqual(img.pixel(x: 0, y: 4), [255, 0, 0])
        XCTAssertEqual(img.pixel(x: 1, y: 4), [0, 255, 128])
        XCTAssertEqual(img.pixel(x: 1, y: 1), [128, 128, 128])
        // More columns than images: one row.
        let wide = try ImageGrid.compose([flat(1), flat(2)], dataShape: [2, 3], options: ImageGridOptions(cols: 10))
        XCTAssertEqual(wide.width, 7)
        XCTAssertEqual(wide.height, 2)
    }

    func testErrors() throws {
        XCTAssertThrowsError(try ImageGrid.compose([])) {
            XCTAssertEqual($0 as? GeoError, .invalidArgument("no images to put in a grid"))
        }
        XCTAssertThrowsError(try ImageGrid.compose([flat(1, count: 784), flat(1, count: 784), flat(1, count: 100)])) {
            XCTAssertEqual($0 as? GeoError, .dimensionMismatch("images of different shapes: image #3 has 100 values, image #1 has 784"))
        }
        XCTAssertThrowsError(try ImageGrid.compose([flat(1, count: 10)])) {
            XCTAssertTrue("\($0)".contains("not a square gray image"), "\($0)")
        }
        for bad in [ImageGridOptions(cols: 0), ImageGridOptions(separator: -1), ImageGridOptions(separator: 17),
                    ImageGridOptions(scale: 0), ImageGridOptions(scale: 33)] {
            XCTAssertThrowsError(try ImageGrid.compose([flat(1)], dataShape: [2, 3], options: bad))
        }
    }

    func testWriteRealImagesToPNG() throws {
        let dir = try makeDataTestDirectory(self)
        let path = dir.appendingPathComponent("grid.png").path
        let images = (0..<7).map { k in Vector((0..<784).map { Double(($0 + k * 13) % 256) / 255 }) }
        try ImageGrid.write(images, dataShape: [1, 28, 28], options: ImageGridOptions(separator: 2), to: path)
        let back = try PNG.read(path)
        XCTAssertEqual(back, try ImageGrid.compose(images, dataShape: [1, 28, 28], options: ImageGridOptions(separator: 2)))
        XCTAssertEqual(back.width, 3 * 28 + 2 * 2)
        XCTAssertEqual(back.height, 3 * 28 + 2 * 2)
    }
}
