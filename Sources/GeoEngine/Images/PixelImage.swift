/// An 8-bit raster image: `width` x `height` pixels of `channels` samples each (1 = gray,
/// 3 = RGB), interleaved and row-major with the top row first — the layout PNG stores. Sample
/// 0 is black, 255 full intensity (sRGB-encoded, as images are usually displayed).
public struct PixelImage: Equatable {
    public let width: Int
    public let height: Int
    /// 1 (gray) or 3 (RGB).
    public let channels: Int
    /// `height * width * channels` samples; pixel (x, y) channel c is at `(y * width + x) * channels + c`.
    /// Only this module writes them, so the count always matches the size.
    public internal(set) var pixels: [UInt8]

    /// The largest image accepted, in samples (width * height * channels): 2^30.
    public static let maxSamples = 1 << 30

    /// Wraps samples; throws `.invalidArgument` for channels other than 1 or 3, an empty or
    /// oversized image, or a sample count that is not width * height * channels.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        let n = try Self.checkedSize(width: width, height: height, channels: channels)
        guard pixels.count == n else {
            throw GeoError.invalidArgument("a \(width)x\(height) image with \(channels) channel(s) needs \(n) samples, got \(pixels.count)")
        }
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }

    /// An image filled with one colour: `fill` has 1 or 3 samples, matching `channels`.
    public init(width: Int, height: Int, channels: Int, fill: [UInt8]) throws {
        let n = try Self.checkedSize(width: width, height: height, channels: channels)
        guard fill.count == channels else {
            throw GeoError.invalidArgument("fill colour has \(fill.count) samples, the image has \(channels) channel(s)")
        }
        var p = [UInt8](); p.reserveCapacity(n)
        for _ in 0..<(n / channels) { p.append(contentsOf: fill) }
        self.width = width; self.height = height; self.channels = channels; self.pixels = p
    }

    /// An image from Doubles in [0, 1] in planar [C, H, W] order (channel after channel, each
    /// row-major: the layout of a decoded image vector), quantised by `quantize`.
    public init(width: Int, height: Int, channels: Int, planar values: [Double]) throws {
        let n = try Self.checkedSize(width: width, height: height, channels: channels)
        guard values.count == n else {
            throw GeoError.invalidArgument("a \(channels)x\(height)x\(width) image needs \(n) values, got \(values.count)")
        }
        var p = [UInt8](repeating: 0, count: n)
        let plane = width * height
        for c in 0..<channels {
            for i in 0..<plane { p[i * channels + c] = Self.quantize(values[c * plane + i]) }
        }
        self.width = width; self.height = height; self.channels = channels; self.pixels = p
    }

    /// A value in [0, 1] as a byte: clamped to [0, 1], NaN -> 0, then round(x * 255).
    @inline(__always)
    public static func quantize(_ x: Double) -> UInt8 {
        guard x > 0 else { return 0 }          // also NaN
        guard x < 1 else { return 255 }
        return UInt8((x * 255).rounded())
    }

    /// The samples of pixel (x, y), or nil outside the image.
    public func pixel(x: Int, y: Int) -> [UInt8]? {
        guard x >= 0, x < width, y >= 0, y < height else { return nil }
        let i = (y * width + x) * channels
        return Array(pixels[i..<(i + channels)])
    }

    /// Sets pixel (x, y) to `color` (its first `channels` samples; a gray image takes the
    /// first). Pixels outside the image are ignored, so drawing code may clip by writing.
    @inline(__always)
    public mutating func set(x: Int, y: Int, _ color: RGB) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        let i = (y * width + x) * channels
        if channels == 3 {
            pixels[i] = color.r; pixels[i + 1] = color.g; pixels[i + 2] = color.b
        } else {
            pixels[i] = color.r
        }
    }

    /// width * height * channels after checking the shape.
    static func checkedSize(width: Int, height: Int, channels: Int) throws -> Int {
        guard channels == 1 || channels == 3 else {
            throw GeoError.invalidArgument("an image has 1 (gray) or 3 (RGB) channels, not \(channels)")
        }
        guard width > 0, height > 0 else {
            throw GeoError.invalidArgument("an image must be at least 1x1 pixels, not \(width)x\(height)")
        }
        let (wh, o1) = width.multipliedReportingOverflow(by: height)
        let (n, o2) = wh.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, n <= maxSamples else {
            throw GeoError.invalidArgument("an image of \(width)x\(height) pixels is too large (at most \(maxSamples) samples)")
        }
        // The samples, and the PNG encoder's output buffer of about the same size.
        try MemoryBudget.check(bytes: 2 * n, for: "a \(width)x\(height) image")
        return n
    }
}

/// An 8-bit sRGB colour.
public struct RGB: Equatable, Hashable, CustomStringConvertible {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    /// A colour from components in [0, 1] (quantised like image values).
    public init(unit r: Double, _ g: Double, _ b: Double) {
        self.init(PixelImage.quantize(r), PixelImage.quantize(g), PixelImage.quantize(b))
    }
    public var samples: [UInt8] { [r, g, b] }
    public var description: String { "RGB(\(r), \(g), \(b))" }
}
