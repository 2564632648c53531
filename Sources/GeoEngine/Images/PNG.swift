import CPNG

/// PNG files through libpng's simplified API (`png_image`): 8-bit gray or RGB, sRGB-encoded.
///
/// Error handling: libpng reports errors by `longjmp` from its error callback. Jumping over
/// Swift frames is undefined behaviour (no cleanup, broken ARC). The simplified API avoids
/// this by construction: each entry point (`png_image_begin_read_from_memory`,
/// `png_image_finish_read`, `png_image_write_to_memory`) runs its work under libpng's own
/// `setjmp` (`png_safe_execute`) inside the C function, so a libpng error unwinds only C frames
/// and comes back to Swift as a zero return value with the text in `png_image.message`. We pass
/// no callbacks, so no Swift frame is ever between libpng's `setjmp` and its `longjmp`.
///
/// File I/O stays in Swift: reading loads the bytes with `FileBytes.read` and decodes them from
/// memory, writing encodes to memory and then writes the file. So an OS failure (missing file,
/// permission, full disk) is a `GeoError.io` naming the file, and anything libpng rejects is
/// a `GeoError.format` naming the file and quoting libpng's message.
public enum PNG {
    /// The 8-byte PNG signature.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

    /// Encodes `image` as a PNG (8-bit gray or RGB, not interlaced).
    public static func encode(_ image: PixelImage) throws -> [UInt8] {
        // A first guess of the size; libpng tells the exact need if it is too small.
        try encode(image, initialCapacity: image.pixels.count + image.pixels.count / 8 + image.height + 4096)
    }

    /// `encode` with a given first output buffer size (tests exercise the retry with small ones).
    static func encode(_ image: PixelImage, initialCapacity: Int) throws -> [UInt8] {
        var capacity = max(1, initialCapacity)
        for _ in 0..<2 {
            var png = makeImage(image)
            var out = [UInt8](repeating: 0, count: capacity)
            var size = png_alloc_size_t(capacity)
            let ok = out.withUnsafeMutableBytes { mem in
                image.pixels.withUnsafeBytes { px in
                    png_image_write_to_memory(&png, mem.baseAddress, &size, 0, px.baseAddress, 0, nil)
                }
            }
            if ok != 0 {
                out.removeSubrange(Int(size)...)
                return out
            }
            let failure = message(&png)
            png_image_free(&png)
            guard Int(size) > capacity else {
                throw GeoError.format("libpng could not encode a \(image.width)x\(image.height) image: \(failure)")
            }
            capacity = Int(size)
        }
        throw GeoError.format("libpng could not encode a \(image.width)x\(image.height) image: output buffer too small")
    }

    /// Writes `image` as a PNG file at `path` through `AtomicFile` (the old file stays intact when the write fails). OS failures are `.io`.
    public static func write(_ image: PixelImage, to path: String) throws {
        try write(image, to: try AtomicFile(path: path))
    }

    /// Encodes `image` into an `AtomicFile` opened before the work that made the image, and
    /// commits it.
    public static func write(_ image: PixelImage, to file: AtomicFile) throws {
        try file.write(encode(image))
        try file.commit()
    }

    /// Decodes PNG bytes; `name` is used in error messages. Any PNG is accepted: colour images
    /// come back as RGB (3 channels), gray ones as gray (1 channel), 16-bit samples are reduced
    /// to 8 bits, palettes expanded, and an alpha channel is composited onto black.
    public static func decode(_ bytes: [UInt8], name: String) throws -> PixelImage {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
            throw GeoError.format("\(name): not a PNG file (missing the PNG signature)")
        }
        var png = png_image()
        png.version = png_uint_32(PNG_IMAGE_VERSION)
        let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&png, $0.baseAddress, $0.count) }
        guard begun != 0 else {
            let m = message(&png)
            png_image_free(&png)
            throw GeoError.format("\(name): invalid PNG: \(m)")
        }
        let color = (png.format & png_uint_32(PNG_FORMAT_FLAG_COLOR)) != 0
        let channels = color ? 3 : 1
        png.format = color ? rgbFormat : grayFormat
        let width = Int(png.width), height = Int(png.height)
        let count: Int
        do {
            count = try PixelImage.checkedSize(width: width, height: height, channels: channels)
        } catch {
            png_image_free(&png)
            throw GeoError.format("\(name): a PNG of \(width)x\(height) pixels is too large to read")
        }
        var pixels = [UInt8](repeating: 0, count: count)   // black: alpha is composited onto it
        let finished = pixels.withUnsafeMutableBytes {
            png_image_finish_read(&png, nil, $0.baseAddress, 0, nil)
        }
        guard finished != 0 else {
            let m = message(&png)
            png_image_free(&png)
            throw GeoError.format("\(name): invalid PNG: \(m)")
        }
        return try PixelImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Reads the PNG file at `path`; see `decode`.
    public static func read(_ path: String) throws -> PixelImage {
        try decode(FileBytes.read(path), name: path)
    }

    // The format macros import with different integer types.
    private static let rgbFormat = png_uint_32(PNG_FORMAT_RGB)
    private static let grayFormat = png_uint_32(PNG_FORMAT_GRAY)

    /// A png_image describing `image` for writing.
    private static func makeImage(_ image: PixelImage) -> png_image {
        var png = png_image()
        png.version = png_uint_32(PNG_IMAGE_VERSION)
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        png.format = image.channels == 3 ? rgbFormat : grayFormat
        return png
    }

    /// libpng's message in `png_image.message` (a NUL-terminated char[64]).
    private static func message(_ png: inout png_image) -> String {
        let text = withUnsafeBytes(of: &png.message) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }
}
