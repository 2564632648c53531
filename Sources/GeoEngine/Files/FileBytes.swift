import Foundation

/// Whole-file reads for every loader (model files, data sets, PNG), with OS failures reported
/// as `GeoError.io` and the size checked against the memory budget before it is read. Writing
/// is `AtomicFile`'s.
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
        // Devices and pipes have no size to check and may never end (/dev/zero): only regular files.
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw GeoError.io("cannot read '\(untrusted: path)': not a regular file")
        }
        let size = Int(info.st_size)
        try MemoryBudget.check(bytes: size, for: "reading '\(untrusted: path)' (\(size) bytes)")

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
            // A file that grows while it is read is read up to the budget, not without end.
            try MemoryBudget.check(bytes: bytes.count + n, for: "reading '\(untrusted: path)'")
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// The size in bytes of the regular file at `path`.
    public static func size(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw GeoError.io("cannot open '\(untrusted: path)': \(lastErrorText())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw GeoError.io("cannot read '\(untrusted: path)': not a regular file") }
        return Int(info.st_size)
    }

    /// `count` bytes of the regular file at `path` from byte `offset` (the range must lie in
    /// the file), checked against the memory budget.
    public static func read(_ path: String, offset: Int, count: Int) throws -> [UInt8] {
        try MemoryBudget.check(bytes: count, for: "reading \(count) bytes of '\(untrusted: path)'")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw GeoError.io("cannot open '\(untrusted: path)': \(lastErrorText())") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                return pread(fd, base + done, count - done, off_t(offset + done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw GeoError.io("cannot read '\(untrusted: path)': \(lastErrorText())")
            }
            if n == 0 { throw GeoError.format("'\(untrusted: path)' ends before byte \(offset + count)") }
            done += n
        }
        return bytes
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
