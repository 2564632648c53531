import Foundation

/// Whole-file reads for the data loaders, with OS failures reported as `GeoError.io`.
public enum FileBytes {
    /// The contents of the file at `path`. Throws `GeoError.io` naming the file and the
    /// operating system's reason (no such file, permission denied, is a directory, ...).
    public static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GeoError.io("cannot open '\(untrusted: path)': \(lastErrorText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GeoError.io("cannot stat '\(untrusted: path)': \(lastErrorText())") }
        guard (info.st_mode & S_IFMT) != S_IFDIR else { throw GeoError.io("cannot read '\(untrusted: path)': is a directory") }

        var bytes = [UInt8]()
        bytes.reserveCapacity(max(0, Int(info.st_size)))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw GeoError.io("cannot read '\(untrusted: path)': \(lastErrorText())")
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// Writes `bytes` to `path`, creating or truncating the file (mode 0644 before the umask).
    /// Throws `GeoError.io` naming the file and the operating system's reason.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw GeoError.io("cannot create '\(untrusted: path)': \(lastErrorText())") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                return Foundation.write(fd, base + written, buf.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = lastErrorText()
                close(fd)
                throw GeoError.io("cannot write '\(untrusted: path)': \(reason)")
            }
            written += n
        }
        guard close(fd) == 0 else { throw GeoError.io("cannot write '\(untrusted: path)': \(lastErrorText())") }
    }

    /// The contents of the file at `path`, decompressed when it is gzip (detected by the magic
    /// bytes 1f 8b, whatever the file's name).
    public static func readMaybeGzip(_ path: String, maxOutput: Int = Gzip.defaultMaxOutput) throws -> [UInt8] {
        let raw = try read(path)
        return Gzip.isGzip(raw) ? try Gzip.decompress(raw, name: path, maxOutput: maxOutput) : raw
    }

    /// Whether a regular file (or a link to one) exists at `path`.
    public static func isFile(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
    }

    static func lastErrorText() -> String { String(cString: strerror(errno)) }
}
