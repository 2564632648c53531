import CZlib

/// Gzip (RFC 1952) decompression and compression through zlib.
///
/// Decompression streams the input through `inflate` (window bits 16 + MAX_WBITS: gzip
/// wrapper only) in bounded chunks into a growing `[UInt8]`; every zlib status is checked, so a
/// corrupt stream (bad header, bad deflate data, CRC or length mismatch in the trailer), a
/// truncated stream and bytes after the last member each throw `GeoError.format` naming the
/// file. Several concatenated gzip members (as `cat a.gz b.gz` makes) decompress to the
/// concatenation of their contents, as gzip(1) does.
public enum Gzip {
    /// The gzip magic bytes 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Default cap on the decompressed size: 1 GiB (the whole Fashion-MNIST training set is 47 MB).
    public static let defaultMaxOutput = 1 << 30

    /// Decompresses a gzip stream.
    /// - Parameters:
    ///   - bytes: the compressed file contents.
    ///   - name: the file name used in error messages.
    ///   - maxOutput: the largest decompressed size accepted, in bytes; more is a `.format` error.
    public static func decompress(_ bytes: [UInt8], name: String, maxOutput: Int = defaultMaxOutput) throws -> [UInt8] {
        guard isGzip(bytes) else {
            throw GeoError.format("\(name): not a gzip stream (missing magic bytes 1f 8b)")
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw GeoError.io("\(name): zlib could not start inflating (out of memory?)")
        }
        defer { inflateEnd(&stream) }

        var output = [UInt8]()
        // The trailer's ISIZE (length mod 2^32) is a good guess for a single-member file.
        if bytes.count >= 18 {
            let n = bytes.count
            let isize = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
            // Deflate expands at most ~1032:1, so a lying trailer cannot make us reserve much more.
            output.reserveCapacity(min(isize, maxOutput, bytes.count * 1032))
        }
        let chunkSize = 1 << 18
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        let maxInputStep = Int(UInt32.max >> 1)

        try bytes.withUnsafeBufferPointer { input in
            guard let inBase = input.baseAddress else { return }
            var consumed = 0          // bytes of `input` handed to zlib so far
            var memberEnded = false
            while true {
                if stream.avail_in == 0 && consumed < input.count {
                    let step = min(input.count - consumed, maxInputStep)
                    stream.next_in = UnsafeMutablePointer(mutating: inBase + consumed)
                    stream.avail_in = UInt32(step)
                    consumed += step
                }
                let remainingInput = Int(stream.avail_in) + (input.count - consumed)
                if memberEnded {
                    if remainingInput == 0 { return }
                    // Another member must follow; anything else is trailing garbage.
                    let at = input.count - remainingInput
                    guard remainingInput >= 2, inBase[at] == 0x1f, inBase[at + 1] == 0x8b else {
                        throw GeoError.format("\(name): corrupt gzip stream: \(remainingInput) unexpected bytes after the end of the compressed data")
                    }
                    guard inflateReset(&stream) == Z_OK else {
                        throw GeoError.format("\(name): corrupt gzip stream: cannot restart at the next member")
                    }
                    memberEnded = false
                }
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunkSize - Int(stream.avail_out)
                if produced > 0 {
                    guard output.count + produced <= maxOutput else {
                        throw GeoError.format("\(name): decompresses to more than \(maxOutput) bytes, the limit")
                    }
                    output.append(contentsOf: chunk[0..<produced])
                }
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    memberEnded = true
                case Z_BUF_ERROR:
                    // No progress possible: output space was available, so the input ran out.
                    if stream.avail_in == 0 && consumed == input.count {
                        throw GeoError.format("\(name): truncated gzip stream (the compressed data ends early after \(output.count) decompressed bytes)")
                    }
                    continue
                case Z_NEED_DICT:
                    throw GeoError.format("\(name): corrupt gzip stream: a preset dictionary is required")
                case Z_MEM_ERROR:
                    throw GeoError.io("\(name): out of memory while decompressing")
                default:
                    throw GeoError.format("\(name): corrupt gzip stream: \(zlibMessage(stream, status))")
                }
            }
        }
        return output
    }

    /// Compresses `bytes` into a single gzip member (no file name, mtime 0).
    /// - Parameter level: zlib compression level 0...9 (default 6); others are `.invalidArgument`.
    public static func compress(_ bytes: [UInt8], level: Int = 6) throws -> [UInt8] {
        guard (0...9).contains(level) else {
            throw GeoError.invalidArgument("gzip compression level must be 0...9, got \(level)")
        }
        var stream = z_stream()
        guard deflateInit2_(&stream, Int32(level), Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw GeoError.io("zlib could not start deflating (out of memory?)")
        }
        defer { deflateEnd(&stream) }
        guard bytes.count <= Int(UInt32.max >> 1) else {
            throw GeoError.invalidArgument("gzip: input of \(bytes.count) bytes is too large to compress in one piece")
        }
        var output = [UInt8]()
        let chunkSize = 1 << 16
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        try bytes.withUnsafeBufferPointer { input in
            stream.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0) }
            stream.avail_in = UInt32(input.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return deflate(&stream, Z_FINISH)
                }
                output.append(contentsOf: chunk[0..<(chunkSize - Int(stream.avail_out))])
                if status == Z_STREAM_END { return }
                guard status == Z_OK || status == Z_BUF_ERROR else {
                    throw GeoError.io("gzip compression failed: \(zlibMessage(stream, status))")
                }
            }
        }
        return output
    }

    /// zlib's message for the last error, or the status code when it gave none.
    private static func zlibMessage(_ stream: z_stream, _ status: Int32) -> String {
        if let m = stream.msg { return String(cString: m) }
        return "zlib status \(status)"
    }
}
