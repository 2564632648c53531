/// The shape of one image: channels (1 = gray, 3 = RGB), height and width in pixels.
public struct ImageShape: Equatable {
    public let channels: Int
    public let height: Int
    public let width: Int
    /// channels * height * width, the length of an image vector.
    public var count: Int { channels * height * width }

    /// Interprets a data shape as an image shape, for vectors of `count` values:
    /// - [C, H, W] with C = 1 or 3 (the layout of decoded image vectors, planar, row-major);
    /// - [H, W]: a gray image;
    /// - [D] or nil: a gray square image of side sqrt(D) (D = `count` when nil), when D is a
    ///   perfect square.
    /// Anything else, or a shape whose size is not `count`, is `.invalidArgument`.
    public init(dataShape: [Int]?, count: Int) throws {
        let shape = dataShape ?? [count]
        func notAnImage(_ why: String) -> GeoError {
            GeoError.invalidArgument("data shape \(shape) is not an image: \(why)")
        }
        guard shape.allSatisfy({ $0 > 0 }) else { throw notAnImage("sizes must be positive") }
        switch shape.count {
        case 1:
            let side = Int(Double(shape[0]).squareRoot().rounded())
            let (square, overflow) = side.multipliedReportingOverflow(by: side)
            guard !overflow, square == shape[0] else {
                throw notAnImage("\(shape[0]) values are not a square gray image (give a shape [C,H,W])")
            }
            (channels, height, width) = (1, side, side)
        case 2:
            (channels, height, width) = (1, shape[0], shape[1])
        case 3:
            guard shape[0] == 1 || shape[0] == 3 else {
                throw notAnImage("an image has 1 (gray) or 3 (RGB) channels, not \(shape[0])")
            }
            (channels, height, width) = (shape[0], shape[1], shape[2])
        default:
            throw notAnImage("expected [C,H,W], [H,W] or [D]")
        }
        let (hw, o1) = height.multipliedReportingOverflow(by: width)
        let (n, o2) = hw.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, n == count else {
            throw GeoError.dimensionMismatch("data shape \(shape) does not fit a vector of \(count) values")
        }
    }
}

/// Options of `ImageGrid.compose`.
public struct ImageGridOptions: Equatable {
    /// The accepted column counts, separators and scales.
    public static let colsRange = 1...10_000, separatorRange = 0...16, scaleRange = 1...32
    /// Columns of the grid; nil: ceil(sqrt(n)). At least 1; more than n is reduced to n.
    public var cols: Int?
    /// Pixels between neighbouring tiles (not around the outside), 0...16. Default 1.
    public var separator: Int
    /// Integer upscale factor of every tile (nearest neighbour), 1...32. Default 1.
    public var scale: Int
    /// Intensity in [0, 1] of the separators and of empty cells in the last row. Default 0.5
    /// (mid gray, visible against both dark and light images).
    public var background: Double

    public init(cols: Int? = nil, separator: Int = 1, scale: Int = 1, background: Double = 0.5) {
        self.cols = cols; self.separator = separator; self.scale = scale; self.background = background
    }
}

/// Composes image vectors into one grid picture, row by row (image k goes to row k / cols,
/// column k % cols). Tile k's top-left pixel is at x = col * (W * scale + separator),
/// y = row * (H * scale + separator); the picture is cols * W * scale + (cols - 1) * separator
/// pixels wide and rows * H * scale + (rows - 1) * separator high. Values are intensities in
/// [0, 1], clamped, NaN -> 0 (see `PixelImage.quantize`).
public enum ImageGrid {
    /// The grid's geometry for `count` tiles of `tile`.
    public struct Layout: Equatable {
        public let cols: Int
        public let rows: Int
        /// Size of one tile after upscaling, in pixels.
        public let tileWidth: Int
        public let tileHeight: Int
        public let separator: Int
        /// Size of the whole picture, in pixels.
        public let width: Int
        public let height: Int

        /// The top-left pixel of tile `index` (0-based).
        public func origin(of index: Int) -> (x: Int, y: Int) {
            ((index % cols) * (tileWidth + separator), (index / cols) * (tileHeight + separator))
        }
    }

    /// Checks the options and computes the layout of `count` tiles of `tile`.
    public static func layout(count: Int, tile: ImageShape, options: ImageGridOptions = .init()) throws -> Layout {
        guard count > 0 else { throw GeoError.invalidArgument("no images to put in a grid") }
        try Setting.integer("separator", options.separator, in: ImageGridOptions.separatorRange)
        try Setting.integer("scale", options.scale, in: ImageGridOptions.scaleRange)
        let defaultCols = Int(Double(count).squareRoot().rounded(.up))
        let requested = options.cols ?? defaultCols
        try Setting.integer("cols", requested, in: ImageGridOptions.colsRange)
        let cols = min(requested, count)
        let rows = (count + cols - 1) / cols
        let tw = tile.width * options.scale, th = tile.height * options.scale
        let sep = options.separator
        // Sizes are checked against PixelImage.maxSamples before any of these can overflow
        // (tile sides and counts are bounded by the vectors that exist in memory).
        let width = cols * tw + (cols - 1) * sep
        let height = rows * th + (rows - 1) * sep
        _ = try PixelImage.checkedSize(width: width, height: height, channels: tile.channels)
        return Layout(cols: cols, rows: rows, tileWidth: tw, tileHeight: th, separator: sep,
                      width: width, height: height)
    }

    /// The grid picture of `images`, all of `dataShape` (nil: square gray images, see
    /// `ImageShape`). Throws for an empty list, vectors of different lengths, a shape that is
    /// not an image, or bad options.
    public static func compose(_ images: [Vector], dataShape: [Int]? = nil,
                               options: ImageGridOptions = .init()) throws -> PixelImage {
        guard let first = images.first else { throw GeoError.invalidArgument("no images to put in a grid") }
        if let k = images.firstIndex(where: { $0.count != first.count }) {
            throw GeoError.dimensionMismatch("images of different shapes: image #\(k + 1) has \(images[k].count) values, image #1 has \(first.count)")
        }
        let tile = try ImageShape(dataShape: dataShape, count: first.count)
        let grid = try layout(count: images.count, tile: tile, options: options)
        let c = tile.channels
        let bg = PixelImage.quantize(options.background)
        var out = try PixelImage(width: grid.width, height: grid.height, channels: c,
                                 fill: [UInt8](repeating: bg, count: c))
        let s = options.scale, plane = tile.height * tile.width
        for (k, image) in images.enumerated() {
            let (x0, y0) = grid.origin(of: k)
            for y in 0..<tile.height {
                for x in 0..<tile.width {
                    for ch in 0..<c {
                        let v = PixelImage.quantize(image.scalars[ch * plane + y * tile.width + x])
                        for dy in 0..<s {
                            let rowStart = ((y0 + y * s + dy) * grid.width + x0 + x * s) * c + ch
                            for dx in 0..<s { out.pixels[rowStart + dx * c] = v }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Composes the grid and writes it as a PNG file at `path`.
    public static func write(_ images: [Vector], dataShape: [Int]? = nil, options: ImageGridOptions = .init(),
                             to path: String) throws {
        try write(images, dataShape: dataShape, options: options, to: try AtomicFile(path: path))
    }

    /// `write` into an `AtomicFile` the caller opened before its own work.
    public static func write(_ images: [Vector], dataShape: [Int]? = nil, options: ImageGridOptions = .init(),
                             to file: AtomicFile) throws {
        try PNG.write(compose(images, dataShape: dataShape, options: options), to: file)
    }
}
