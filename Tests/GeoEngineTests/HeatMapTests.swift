import XCTest
@testable import GeoEngine

final class HeatMapTests: XCTestCase {
    let viridis0 = RGB(0x44, 0x01, 0x54), viridisMid = RGB(0x21, 0x90, 0x8C), viridis1 = RGB(0xFD, 0xE7, 0x25)

    func testColorMapInterpolation() throws {
        let m = ColorMap.viridis
        XCTAssertEqual(m.color(0), viridis0)
        XCTAssertEqual(m.color(0.5), viridisMid)
        XCTAssertEqual(m.color(1), viridis1)
        XCTAssertEqual(m.color(-1), viridis0)
        XCTAssertEqual(m.color(7), viridis1)
        XCTAssertEqual(m.color(.nan), viridis0)
        // Between stops 5 (0x27AD81) and 6 (0x5DC863), a third of the way.
        XCTAssertEqual(m.color(2.0 / 3.0), RGB(57, 182, 119))
        XCTAssertEqual(ColorMap.gray.color(0.5), RGB(128, 128, 128))
        XCTAssertEqual(try ColorMap.named("Magma"), .magma)
        XCTAssertThrowsError(try ColorMap.named("jet"))
        XCTAssertThrowsError(try ColorMap(name: "one", stops: [RGB(0, 0, 0)]))
    }

    /// 2x2 values, row 0 at the bottom: [[0, 1], [2, 3]] over [0, 1]^2.
    private func quadrants() throws -> HeatMap {
        try HeatMap(values: Matrix(rows: 2, cols: 2, scalars: [0, 1, 2, 3]), box: LatentBox(0, 1))
    }

    func testCellsAndOrientation() throws {
        let img = try quadrants().render(HeatMapOptions(width: 100))
        XCTAssertEqual(img.width, 100)
        XCTAssertEqual(img.height, 100)
        XCTAssertEqual(img.channels, 3)
        let m = ColorMap.viridis
        XCTAssertEqual(img.pixel(x: 10, y: 90), viridis0.samples)                 // bottom left: value 0
        XCTAssertEqual(img.pixel(x: 90, y: 90), m.color(1.0 / 3.0).samples)       // bottom right: 1
        XCTAssertEqual(img.pixel(x: 10, y: 10), m.color(2.0 / 3.0).samples)       // top left: 2
        XCTAssertEqual(img.pixel(x: 99, y: 0), viridis1.samples)                  // top right: 3
        // The cell boundary is at the middle of the picture.
        XCTAssertEqual(img.pixel(x: 49, y: 99), viridis0.samples)
        XCTAssertEqual(img.pixel(x: 50, y: 99), m.color(1.0 / 3.0).samples)
        XCTAssertEqual(img.pixel(x: 0, y: 49), m.color(2.0 / 3.0).samples)
        XCTAssertEqual(img.pixel(x: 0, y: 50), viridis0.samples)
        XCTAssertEqual(HeatMap.cellCenter(row: 1, col: 0, rows: 2, cols: 2, box: try LatentBox(0, 1)), SIMD2(0.25, 0.75))
    }

    func testKnownValueHasExpectedColourInWrittenPNG() throws {
        // 1..5 on a 1x5 grid: value 3 is the middle of the range -> viridis(0.5) = #21908C.
        let map = try HeatMap(values: Matrix(rows: 1, cols: 5, scalars: [1, 2, 3, 4, 5]),
                              box: LatentBox(xMin: -2, xMax: 2, yMin: -1, yMax: 1))
        let dir = try makeDataTestDirectory(self)
        let path = dir.appendingPathComponent("heat.png").path
        try map.write(to: path, options: HeatMapOptions(width: 200))
        XCTAssertEqual(Array(try FileBytes.read(path)[0..<8]), PNG.signature)
        let img = try PNG.read(path)
        XCTAssertEqual(img.width, 200)
        XCTAssertEqual(img.height, 100)     // the box's aspect ratio
        XCTAssertEqual(img.channels, 3)
        XCTAssertEqual(img.pixel(x: 100, y: 50), [0x21, 0x90, 0x8C])
        XCTAssertEqual(img.pixel(x: 0, y: 0), viridis0.samples)
        XCTAssertEqual(img.pixel(x: 199, y: 99), viridis1.samples)
        XCTAssertEqual(img, try map.render(HeatMapOptions(width: 200)))
    }

    func testLogScaleRangesAndMissingValues() throws {
        let map = try HeatMap(values: Matrix(rows: 1, cols: 5, scalars: [1, 10, 100, 0, .nan]), box: LatentBox(0, 1))
        let log = HeatMapOptions(width: 50, height: 10, logScale: true)
        XCTAssertEqual(try map.colorRange(log), 1...100)
        let img = try map.render(log)
        XCTAssertEqual(img.pixel(x: 15, y: 5), viridisMid.samples)        // 10: halfway in log10
        XCTAssertEqual(img.pixel(x: 35, y: 5), [128, 128, 128])            // 0: missing on a log scale
        XCTAssertEqual(img.pixel(x: 45, y: 5), [128, 128, 128])            // NaN
        // Linear, with a fixed range: 10 maps to (10 - 0) / 20 = 0.5; 100 is clamped to the top.
        let fixed = try map.render(HeatMapOptions(width: 50, height: 10, valueRange: 0...20))
        XCTAssertEqual(fixed.pixel(x: 15, y: 5), viridisMid.samples)
        XCTAssertEqual(fixed.pixel(x: 25, y: 5), viridis1.samples)
        XCTAssertEqual(fixed.pixel(x: 35, y: 5), viridis0.samples)
        // A constant map sits in the middle of the colour map; an all-missing one is gray.
        let flat = try HeatMap(values: Matrix(rows: 2, cols: 2, scalars: [4, 4, 4, 4]), box: LatentBox(0, 1))
        XCTAssertEqual(try flat.render(HeatMapOptions(width: 4)).pixel(x: 1, y: 1), viridisMid.samples)
        let none = try HeatMap(values: Matrix(rows: 1, cols: 1, scalars: [-1]), box: LatentBox(0, 1))
        XCTAssertNil(try none.colorRange(log))
        XCTAssertEqual(try none.render(log).pixel(x: 0, y: 0), [128, 128, 128])
        for bad in [HeatMapOptions(valueRange: 1...1), HeatMapOptions(logScale: true, valueRange: 0...1),
                    HeatMapOptions(valueRange: 0...Double.infinity)] {
            XCTAssertThrowsError(try map.render(bad))
        }
    }

    func testPathsAndEndpointDots() throws {
        let values = Matrix(rows: 4, cols: 4)   // constant: viridisMid everywhere
        let paths: [[SIMD2<Double>]] = [
            [SIMD2(0.2, 0.5), SIMD2(0.8, 0.5)],                    // horizontal, through the centre
            [SIMD2(0.5, 0.9), SIMD2(0.5, 0.95)],                   // second colour
            [SIMD2(-5, 0.1), SIMD2(5, 0.1), SIMD2(1e300, -1e300)], // mostly outside: clipped
            [SIMD2(0.1, 0.9)],                                     // a single point: just a dot
        ]
        let map = try HeatMap(values: values, box: LatentBox(0, 1), paths: paths)
        let img = try map.render(HeatMapOptions(width: 100, lineWidth: 2, dotRadius: 4))
        let red = HeatMap.pathPalette[0].samples, white = HeatMap.pathPalette[1].samples
        let orange = HeatMap.pathPalette[2].samples, magenta = HeatMap.pathPalette[3].samples
        // Line pixels along y = 0.5 (pixel rows 49 and 50 around v = 50).
        XCTAssertEqual(img.pixel(x: 50, y: 49), red)
        XCTAssertEqual(img.pixel(x: 50, y: 50), red)
        XCTAssertEqual(img.pixel(x: 50, y: 47), viridisMid.samples)   // off the 2-pixel line
        // Endpoint dots of radius 4 at u = 20 and u = 80, with a black rim.
        XCTAssertEqual(img.pixel(x: 20, y: 46), red)
        XCTAssertEqual(img.pixel(x: 80, y: 53), red)
        XCTAssertEqual(img.pixel(x: 20, y: 45), [0, 0, 0])
        XCTAssertEqual(img.pixel(x: 20, y: 43), viridisMid.samples)
        // Second path in the second colour; the clipped third path crosses the picture at v = 90.
        XCTAssertEqual(img.pixel(x: 50, y: 8), white)
        XCTAssertEqual(img.pixel(x: 5, y: 90), orange)
        XCTAssertEqual(img.pixel(x: 95, y: 90), orange)
        XCTAssertEqual(img.pixel(x: 10, y: 10), magenta)
    }

    /// Markers are discs of `pointRadius` in `pointColor` at their latent positions, under the
    /// paths.
    func testPointMarkers() throws {
        let values = Matrix(rows: 4, cols: 4)   // constant: viridisMid everywhere
        let map = try HeatMap(values: values, box: LatentBox(0, 1), paths: [[SIMD2(0.1, 0.5), SIMD2(0.9, 0.5)]],
                              points: [SIMD2(0.25, 0.75), SIMD2(0.5, 0.5), SIMD2(7, 7)])
        let img = try map.render(HeatMapOptions(width: 100, lineWidth: 2, dotRadius: 0, pointRadius: 3, pointColor: RGB(1, 2, 3)))
        // (0.25, 0.75) is pixel (25, 25): inside radius 3, not at 4 pixels.
        XCTAssertEqual(img.pixel(x: 25, y: 25), [1, 2, 3])
        XCTAssertEqual(img.pixel(x: 27, y: 25), [1, 2, 3])
        XCTAssertEqual(img.pixel(x: 29, y: 25), viridisMid.samples)
        // The marker at the centre lies under the red path, which is drawn on top.
        XCTAssertEqual(img.pixel(x: 50, y: 49), HeatMap.pathPalette[0].samples)
        XCTAssertEqual(img.pixel(x: 50, y: 47), [1, 2, 3])
        XCTAssertThrowsError(try HeatMap(values: values, box: LatentBox(0, 1), points: [SIMD2(0, 0), SIMD2(0, .infinity)])) {
            XCTAssertEqual($0 as? GeoError, .invalidArgument("point #2 has a NaN or infinite coordinate"))
        }
        for bad in [0, -1, 65, Double.nan] {
            XCTAssertThrowsError(try map.render(HeatMapOptions(pointRadius: bad)))
        }
    }

    func testErrors() throws {
        XCTAssertThrowsError(try LatentBox(1, 1))
        XCTAssertThrowsError(try LatentBox(xMin: 0, xMax: .nan, yMin: 0, yMax: 1))
        XCTAssertThrowsError(try LatentBox(xMin: -Double.greatestFiniteMagnitude, xMax: .greatestFiniteMagnitude, yMin: 0, yMax: 1))
        let box = try LatentBox(0, 1)
        XCTAssertThrowsError(try HeatMap(values: Matrix(rows: 0, cols: 3), box: box))
        XCTAssertThrowsError(try HeatMap(values: Matrix(rows: 1, cols: 1), box: box, paths: [[SIMD2(0, 0)], []])) {
            XCTAssertEqual($0 as? GeoError, .invalidArgument("path #2 has no points"))
        }
        XCTAssertThrowsError(try HeatMap(values: Matrix(rows: 1, cols: 1), box: box, paths: [[SIMD2(0, 0), SIMD2(.nan, 0)]])) {
            XCTAssertEqual($0 as? GeoError, .invalidArgument("path #1, point #2 has a NaN or infinite coordinate"))
        }
        let map = try HeatMap(values: Matrix(rows: 1, cols: 1), box: box)
        for bad in [HeatMapOptions(width: 0), HeatMapOptions(width: 9000), HeatMapOptions(height: -1),
                    HeatMapOptions(lineWidth: 0), HeatMapOptions(lineWidth: .nan), HeatMapOptions(dotRadius: -1),
                    HeatMapOptions(pathColors: [])] {
            XCTAssertThrowsError(try map.render(bad))
        }
        XCTAssertThrowsError(try map.write(to: "/nonexistent/dir/heat.png")) {
            guard case GeoError.io? = $0 as? GeoError else { return XCTFail("\($0)") }
        }
    }
}
