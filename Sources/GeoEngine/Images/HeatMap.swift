import Foundation

/// An axis-aligned box in a 2-d latent space: x in [xMin, xMax], y in [yMin, yMax].
public struct LatentBox: Equatable {
    public let xMin: Double, xMax: Double, yMin: Double, yMax: Double

    /// Throws `.invalidArgument` unless all bounds are finite and xMin < xMax, yMin < yMax.
    public init(xMin: Double, xMax: Double, yMin: Double, yMax: Double) throws {
        guard [xMin, xMax, yMin, yMax].allSatisfy({ $0.isFinite }), xMin < xMax, yMin < yMax,
              (xMax - xMin).isFinite, (yMax - yMin).isFinite else {
            throw GeoError.invalidArgument("latent box x in [\(formatNumber(xMin)), \(formatNumber(xMax))], y in [\(formatNumber(yMin)), \(formatNumber(yMax))] must have finite bounds with min < max")
        }
        self.xMin = xMin; self.xMax = xMax; self.yMin = yMin; self.yMax = yMax
    }

    /// The square [lo, hi] x [lo, hi].
    public init(_ lo: Double, _ hi: Double) throws { try self.init(xMin: lo, xMax: hi, yMin: lo, yMax: hi) }
    /// The square [-range, range]^2; `range` must be a positive number.
    public init(range: Double) throws {
        try Setting.positive("range", range)
        try self.init(-range, range)
    }
}

/// Options of `HeatMap.render`.
public struct HeatMapOptions {
    /// The accepted picture widths and heights in pixels.
    public static let sizeRange = 1...8192
    /// Picture width in pixels, in `sizeRange`. Default 512.
    public var width: Int
    /// Picture height in pixels, in `sizeRange`; nil (default): width scaled by the box's aspect ratio.
    public var height: Int?
    /// Default viridis.
    public var colorMap: ColorMap
    /// Map log10(value) instead of value; values <= 0 then count as missing. Default false.
    public var logScale: Bool
    /// The values mapped to the two ends of the colour map (clamped beyond them); nil (default):
    /// the smallest and largest usable value. Must be finite with lo < hi (and lo > 0 on a
    /// log scale).
    public var valueRange: ClosedRange<Double>?
    /// Width of path lines in pixels, (0, 64]. Default 2.
    public var lineWidth: Double
    /// Radius of the dots at path endpoints in pixels, [0, 64]. Default 4.
    public var dotRadius: Double
    /// Colours of the paths, in turn (cycled). Default `HeatMap.pathPalette`.
    public var pathColors: [RGB]
    /// Radius of the point markers in pixels, (0, 64]. Default 1.5.
    public var pointRadius: Double
    /// Colour of the point markers. Default white.
    public var pointColor: RGB
    /// Colour of cells whose value is NaN, infinite, or <= 0 on a log scale. Default mid gray.
    public var missingColor: RGB

    public init(width: Int = 512, height: Int? = nil, colorMap: ColorMap = .viridis, logScale: Bool = false,
                valueRange: ClosedRange<Double>? = nil, lineWidth: Double = 2, dotRadius: Double = 4,
                pathColors: [RGB] = HeatMap.pathPalette, missingColor: RGB = RGB(128, 128, 128),
                pointRadius: Double = 1.5, pointColor: RGB = RGB(255, 255, 255)) {
        self.width = width; self.height = height; self.colorMap = colorMap; self.logScale = logScale
        self.valueRange = valueRange; self.lineWidth = lineWidth; self.dotRadius = dotRadius
        self.pathColors = pathColors; self.missingColor = missingColor
        self.pointRadius = pointRadius; self.pointColor = pointColor
    }
}

/// A heat map of scalar values sampled on a grid over a 2-d latent box (e.g. the volume
/// sqrt det M(z) of the metric), with point markers (e.g. encoded data) and polylines (latent
/// paths) drawn over it, the paths on top.
///
/// Grid convention: `values` has `rows` x `cols` cells covering the box; cell (i, j) spans
/// x in [xMin + j dx, xMin + (j+1) dx] and y in [yMin + i dy, yMin + (i+1) dy]
/// (dx = (xMax - xMin) / cols, dy = (yMax - yMin) / rows), and its value is sampled at the
/// cell's centre (`cellCenter`). Row 0 is the bottom of the picture: y grows upwards, x to the
/// right, as in a plot. Each pixel takes the colour of the cell its centre falls in (nearest
/// cell, no interpolation). Paths are in the same latent coordinates; parts outside the box
/// are clipped. The renderer is pure Swift; `write` stores the picture as an RGB PNG.
public struct HeatMap {
    /// rows x cols samples; see the grid convention above.
    public let values: Matrix
    public let box: LatentBox
    /// Polylines in latent coordinates; each point is (x, y).
    public let paths: [[SIMD2<Double>]]
    /// Markers in latent coordinates (x, y), drawn as small discs under the paths.
    public let points: [SIMD2<Double>]

    /// Distinct colours for paths, chosen to stand out against viridis and magma: red, white,
    /// orange, magenta, black, cyan, brown, pink.
    public static let pathPalette = [RGB(228, 26, 28), RGB(255, 255, 255), RGB(255, 127, 0), RGB(255, 0, 255),
                                     RGB(0, 0, 0), RGB(0, 255, 255), RGB(166, 86, 40), RGB(247, 129, 191)]

    /// Throws `.invalidArgument` for an empty grid, an empty path, or a path point or marker
    /// that is not finite (messages count paths and points from 1).
    public init(values: Matrix, box: LatentBox, paths: [[SIMD2<Double>]] = [], points: [SIMD2<Double>] = []) throws {
        guard values.rows > 0, values.cols > 0 else {
            throw GeoError.invalidArgument("a heat map needs at least 1x1 values, got \(values.rows)x\(values.cols)")
        }
        for (k, path) in paths.enumerated() {
            guard !path.isEmpty else { throw GeoError.invalidArgument("path #\(k + 1) has no points") }
            if let i = path.firstIndex(where: { !$0.x.isFinite || !$0.y.isFinite }) {
                throw GeoError.invalidArgument("path #\(k + 1), point #\(i + 1) has a NaN or infinite coordinate")
            }
        }
        if let i = points.firstIndex(where: { !$0.x.isFinite || !$0.y.isFinite }) {
            throw GeoError.invalidArgument("point #\(i + 1) has a NaN or infinite coordinate")
        }
        self.values = values; self.box = box; self.paths = paths; self.points = points
    }

    /// The latent point (x, y) at the centre of cell (row, col), where its value belongs.
    public static func cellCenter(row: Int, col: Int, rows: Int, cols: Int, box: LatentBox) -> SIMD2<Double> {
        SIMD2(box.xMin + (Double(col) + 0.5) * (box.xMax - box.xMin) / Double(cols),
              box.yMin + (Double(row) + 0.5) * (box.yMax - box.yMin) / Double(rows))
    }

    /// The values at the two ends of the colour map under `options`, or nil when no value is
    /// usable (all NaN, infinite, or <= 0 on a log scale). Throws for a bad `valueRange`.
    public func colorRange(_ options: HeatMapOptions = .init()) throws -> ClosedRange<Double>? {
        if let r = options.valueRange {
            guard r.lowerBound.isFinite, r.upperBound.isFinite, r.lowerBound < r.upperBound else {
                throw GeoError.invalidArgument("value range [\(formatNumber(r.lowerBound)), \(formatNumber(r.upperBound))] must be finite with lo < hi")
            }
            guard !options.logScale || r.lowerBound > 0 else {
                throw GeoError.invalidArgument("value range [\(formatNumber(r.lowerBound)), \(formatNumber(r.upperBound))] must be positive on a log scale")
            }
            return r
        }
        var lo = Double.infinity, hi = -Double.infinity
        for v in values.scalars where usable(v, options) { lo = min(lo, v); hi = max(hi, v) }
        return lo <= hi ? lo...hi : nil
    }

    /// The colour of one value under `options` and the colour range `range` (see `colorRange`).
    public func color(of value: Double, range: ClosedRange<Double>?, options: HeatMapOptions) -> RGB {
        guard usable(value, options), let r = range else { return options.missingColor }
        let f: (Double) -> Double = options.logScale ? { log10Positive($0) } : { $0 }
        let lo = f(r.lowerBound), hi = f(r.upperBound)
        let t = hi > lo ? (f(value) - lo) / (hi - lo) : 0.5
        return options.colorMap.color(t)
    }

    /// Renders the picture: an RGB image of `options.width` x height pixels.
    public func render(_ options: HeatMapOptions = .init()) throws -> PixelImage {
        let (w, h) = try size(options)
        guard options.lineWidth.isFinite, options.lineWidth > 0, options.lineWidth <= 64 else {
            throw GeoError.invalidArgument("line width must be in (0, 64] pixels, got \(formatNumber(options.lineWidth))")
        }
        guard options.dotRadius.isFinite, (0...64).contains(options.dotRadius) else {
            throw GeoError.invalidArgument("dot radius must be in [0, 64] pixels, got \(formatNumber(options.dotRadius))")
        }
        guard options.pointRadius.isFinite, options.pointRadius > 0, options.pointRadius <= 64 else {
            throw GeoError.invalidArgument("point radius must be in (0, 64] pixels, got \(formatNumber(options.pointRadius))")
        }
        guard !options.pathColors.isEmpty else { throw GeoError.invalidArgument("no path colours given") }
        let range = try colorRange(options)
        let cellColors = values.scalars.map { color(of: $0, range: range, options: options) }

        var image = try PixelImage(width: w, height: h, channels: 3, fill: [0, 0, 0])
        let rows = values.rows, cols = values.cols
        // Pixel centre (x + 0.5) / w of the width falls in column floor((2x + 1) cols / 2w);
        // rows count from the bottom.
        let colOf = (0..<w).map { x in min(cols - 1, ((2 * x + 1) * cols) / (2 * w)) }
        for y in 0..<h {
            let row = rows - 1 - min(rows - 1, ((2 * y + 1) * rows) / (2 * h))
            for x in 0..<w { image.set(x: x, y: y, cellColors[row * cols + colOf[x]]) }
        }

        for p in points {
            let (u, v) = pixelCoordinates(p, w, h)
            image.fillDisc(u: u, v: v, radius: options.pointRadius, options.pointColor)
        }
        for (k, path) in paths.enumerated() {
            let c = options.pathColors[k % options.pathColors.count]
            let pts = path.map { pixelCoordinates($0, w, h) }
            for i in 1..<max(1, pts.count) {
                image.drawSegment(u0: pts[i - 1].0, v0: pts[i - 1].1, u1: pts[i].0, v1: pts[i].1,
                                  lineWidth: options.lineWidth, c)
            }
            if options.dotRadius > 0, let first = pts.first, let last = pts.last {
                for p in [first, last] {
                    image.fillDisc(u: p.0, v: p.1, radius: options.dotRadius + 1, RGB(0, 0, 0))
                    image.fillDisc(u: p.0, v: p.1, radius: options.dotRadius, c)
                }
            }
        }
        return image
    }

    /// Renders and writes an RGB PNG at `path`.
    public func write(to path: String, options: HeatMapOptions = .init()) throws {
        try PNG.write(render(options), to: path)
    }

    /// Renders into an `AtomicFile` the caller opened before its own work.
    public func write(to file: AtomicFile, options: HeatMapOptions = .init()) throws {
        try PNG.write(render(options), to: file)
    }

    /// Pixel size after checking the options.
    private func size(_ options: HeatMapOptions) throws -> (Int, Int) {
        let w = options.width
        try Setting.integer("width", w, in: HeatMapOptions.sizeRange)
        if let h = options.height {
            try Setting.integer("height", h, in: HeatMapOptions.sizeRange)
            return (w, h)
        }
        let aspect = (box.yMax - box.yMin) / (box.xMax - box.xMin)
        let h = (Double(w) * aspect).rounded()
        return (w, h.isFinite ? Int(max(1, min(8192, h))) : w)
    }

    /// Continuous pixel coordinates (u right, v down) of a latent point, clamped to +-1e9 so
    /// that far-away points stay finite (segments are clipped to the picture anyway).
    private func pixelCoordinates(_ p: SIMD2<Double>, _ w: Int, _ h: Int) -> (Double, Double) {
        let u = (p.x - box.xMin) / (box.xMax - box.xMin) * Double(w)
        let v = (box.yMax - p.y) / (box.yMax - box.yMin) * Double(h)
        func clamp(_ a: Double) -> Double { a.isNaN ? 0 : max(-1e9, min(1e9, a)) }
        return (clamp(u), clamp(v))
    }

    private func usable(_ v: Double, _ options: HeatMapOptions) -> Bool {
        v.isFinite && (!options.logScale || v > 0)
    }
}

private func log10Positive(_ x: Double) -> Double { Foundation.log10(x) }
