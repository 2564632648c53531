/// An array read from an IDX file: its dimensions and its unsigned bytes in row-major order.
public struct IDXArray: Equatable {
    /// The dimensions, outermost first, e.g. [60000, 28, 28] for images, [60000] for labels.
    public let dims: [Int]
    /// The elements, row-major; `data.count` is the product of `dims`.
    public let data: [UInt8]
}

/// The IDX format of the MNIST family (http://yann.lecun.com/exdb/mnist/):
///
///     bytes 0-1   zero
///     byte  2     element type: 0x08 = unsigned byte (the only type supported here)
///     byte  3     number of dimensions n
///     then        n dimensions, each a big-endian UInt32
///     then        the elements, row-major, exactly the product of the dimensions
///
/// So the magic number (bytes 0-3 read as a big-endian UInt32) is 0x00000801 for a label file
/// (one dimension) and 0x00000803 for an image file (three dimensions: count, rows, columns).
/// Files may be gzip-compressed (detected by the magic bytes 1f 8b). Every inconsistency is a
/// `GeoError.format` that names the file.
public enum IDX {
    /// Magic number of a label file: unsigned bytes, one dimension.
    public static let labelMagic: UInt32 = 0x0000_0801
    /// Magic number of an image file: unsigned bytes, three dimensions.
    public static let imageMagic: UInt32 = 0x0000_0803

    /// Parses IDX bytes.
    /// - Parameters:
    ///   - bytes: the (already decompressed) file contents.
    ///   - name: the file name used in error messages.
    ///   - expectedMagic: when given, the magic number the file must have.
    public static func parse(_ bytes: [UInt8], name: String, expectedMagic: UInt32? = nil) throws -> IDXArray {
        guard bytes.count >= 4 else {
            throw GeoError.format("\(name): not an IDX file: \(bytes.count) bytes is too short for the 4-byte magic number")
        }
        let magic = readUInt32(bytes, at: 0)
        if let expected = expectedMagic, magic != expected {
            throw GeoError.format("\(name): wrong magic number \(hex(magic)), expected \(hex(expected)) (\(describe(expected)))")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw GeoError.format("\(name): not an IDX file: magic number \(hex(magic)) does not start with two zero bytes")
        }
        guard bytes[2] == 0x08 else {
            throw GeoError.format("\(name): unsupported IDX element type 0x\(String(bytes[2], radix: 16)) (only 0x08, unsigned byte, is supported)")
        }
        let ndims = Int(bytes[3])
        let headerSize = 4 + 4 * ndims
        guard bytes.count >= headerSize else {
            throw GeoError.format("\(name): truncated IDX header: \(ndims) dimensions need \(headerSize) header bytes, the file has \(bytes.count)")
        }
        let dims = (0..<ndims).map { Int(readUInt32(bytes, at: 4 + 4 * $0)) }
        var expectedCount = 1
        for d in dims {
            let (p, overflow) = expectedCount.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw GeoError.format("\(name): IDX dimensions \(dims) are too large")
            }
            expectedCount = p
        }
        let available = bytes.count - headerSize
        if available < expectedCount {
            throw GeoError.format("\(name): truncated IDX data: dimensions \(dims) need \(expectedCount) bytes of data, the file has \(available)")
        }
        if available > expectedCount {
            throw GeoError.format("\(name): IDX dimensions \(dims) need \(expectedCount) bytes of data, but the file has \(available) (\(available - expectedCount) bytes too many)")
        }
        return IDXArray(dims: dims, data: Array(bytes[headerSize...]))
    }

    /// Reads an IDX file (plain or gzip) from disk; see `parse`.
    public static func read(_ path: String, expectedMagic: UInt32? = nil) throws -> IDXArray {
        try parse(FileBytes.readMaybeGzip(path), name: path, expectedMagic: expectedMagic)
    }

    /// The bytes of an IDX file of unsigned bytes with the given dimensions (uncompressed).
    /// Throws `.invalidArgument` when `data.count` is not the product of `dims`, when there are
    /// more than 255 dimensions or a dimension is outside 0...UInt32.max.
    public static func encode(dims: [Int], data: [UInt8]) throws -> [UInt8] {
        guard dims.count <= 255, dims.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }) else {
            throw GeoError.invalidArgument("IDX dimensions \(dims) are not representable")
        }
        guard dims.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) == data.count else {
            throw GeoError.invalidArgument("IDX dimensions \(dims) do not match \(data.count) elements")
        }
        var out: [UInt8] = [0, 0, 0x08, UInt8(dims.count)]
        for d in dims {
            let u = UInt32(d)
            out += [UInt8(u >> 24), UInt8((u >> 16) & 0xff), UInt8((u >> 8) & 0xff), UInt8(u & 0xff)]
        }
        return out + data
    }

    /// Big-endian UInt32 at `offset`; the caller has checked that 4 bytes are there.
    private static func readUInt32(_ b: [UInt8], at offset: Int) -> UInt32 {
        UInt32(b[offset]) << 24 | UInt32(b[offset + 1]) << 16 | UInt32(b[offset + 2]) << 8 | UInt32(b[offset + 3])
    }

    private static func hex(_ x: UInt32) -> String {
        let s = String(x, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    private static func describe(_ magic: UInt32) -> String {
        switch magic {
        case labelMagic: return "IDX labels: unsigned bytes, 1 dimension"
        case imageMagic: return "IDX images: unsigned bytes, 3 dimensions"
        default: return "IDX unsigned bytes, \(magic & 0xff) dimensions"
        }
    }
}
