import Foundation

/// The one writer of every file georepl writes (PNG pictures, model files, CSV and JSON): the
/// bytes go to a new temporary file in the target's directory, which is written completely,
/// flushed to disk (fsync) and only then renamed over the target. A failed write (a full
/// disk, `ulimit -f`, an interrupted program) therefore never leaves a broken file where a good
/// one was: the target is either the old file or the complete new one.
///
/// Rules, checked before any work is done (`init`):
/// - a target that exists and is not a regular file (a directory, a device, a pipe) is an
///   error: "cannot write 'x': is a directory" / "not a regular file";
/// - a symbolic link is followed (to any depth) and the file it points to is replaced; the link
///   stays a link;
/// - the directory must exist and be writable: creating the temporary file proves it.
/// The new file gets the old file's permission bits, or 0666 minus the umask for a new one.
/// Errors are `GeoError.io` with the operating system's reason as strerror words ("No space left
/// on device", "Permission denied").
///
///     let f = try AtomicFile(path: "model.safetensors")   // fails now, not after an hour of work
///     ... long work ...
///     try f.write(bytes); try f.commit()
///
/// An AtomicFile that is not committed removes its temporary file when it goes away.
public final class AtomicFile {
    /// The path as the caller gave it (for messages).
    public let path: String
    /// The file that is replaced: `path` with symbolic links followed.
    public let target: String
    /// The temporary file beside the target.
    let temporary: String
    private var fd: Int32
    private var finished = false
    private let mode: mode_t?

    /// Checks the target and creates the temporary file (see the type's rules).
    public init(path: String) throws {
        AtomicFile.ignoreFileSizeSignal
        self.path = path
        guard !path.isEmpty else { throw GeoError.io("cannot write '': no file name") }
        target = try AtomicFile.resolve(path)
        var info = stat()
        if stat(target, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG: mode = info.st_mode & 0o7777
            case S_IFDIR: throw GeoError.io("cannot write '\(untrusted: path)': is a directory")
            default: throw GeoError.io("cannot write '\(untrusted: path)': not a regular file")
            }
        } else if errno == ENOENT {
            mode = nil
        } else {
            throw GeoError.io("cannot write '\(untrusted: path)': \(FileBytes.lastErrorText())")
        }
        let url = URL(fileURLWithPath: target)
        let dir = url.deletingLastPathComponent().path, base = url.lastPathComponent
        var created: (Int32, String)?
        for _ in 0..<100 {
            let name = "\(dir)/.\(base).georepl-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
            let f = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if f >= 0 { created = (f, name); break }
            if errno != EEXIST {
                throw GeoError.io("cannot write '\(untrusted: path)': \(FileBytes.lastErrorText())")
            }
        }
        guard let (f, name) = created else {
            throw GeoError.io("cannot write '\(untrusted: path)': no free temporary file name in '\(untrusted: dir)'")
        }
        fd = f; temporary = name
    }

    deinit { if !finished { discard() } }

    /// Appends bytes to the temporary file.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write(raw: $0) }
    }
    /// Appends the bytes of `data`.
    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write(raw: $0) }
    }
    /// Appends UTF-8 text.
    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    private func write(raw: UnsafeRawBufferPointer) throws {
        guard !finished else { throw GeoError.io("cannot write '\(untrusted: path)': the file was already finished") }
        guard let base = raw.baseAddress else { return }
        var done = 0
        while done < raw.count {
            let n = Foundation.write(fd, base + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw fail()
            }
            done += n
        }
    }

    /// Flushes the temporary file to disk and renames it over the target.
    public func commit() throws {
        guard !finished else { throw GeoError.io("cannot write '\(untrusted: path)': the file was already finished") }
        if let m = mode, fchmod(fd, m) != 0 { throw fail() }
        guard fsync(fd) == 0 else { throw fail() }
        guard close(fd) == 0 else { fd = -1; throw fail() }
        fd = -1
        guard rename(temporary, target) == 0 else { throw fail() }
        finished = true
        // Make the rename itself durable.
        let dir = open(URL(fileURLWithPath: target).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { _ = fsync(dir); close(dir) }
    }

    /// Removes the temporary file; the target is left as it was.
    public func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        if !finished { unlink(temporary) }
        finished = true
    }

    /// The error for the current errno, after discarding the temporary file.
    private func fail() -> GeoError {
        let reason = FileBytes.lastErrorText()
        discard()
        return GeoError.io("cannot write '\(untrusted: path)': \(reason)")
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let f = try AtomicFile(path: path)
        try f.write(bytes)
        try f.commit()
    }
    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        let f = try AtomicFile(path: path)
        try f.write(data)
        try f.commit()
    }

    /// `path` with every symbolic link along the final component followed (a dangling link
    /// resolves to the file it would create). Links in the directory part are left to the
    /// operating system, which follows them on open and rename.
    static func resolve(_ path: String) throws -> String {
        var current = path
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n >= 0 else { throw GeoError.io("cannot write '\(untrusted: path)': \(FileBytes.lastErrorText())") }
            let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/") ? link
                : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(link).path
        }
        throw GeoError.io("cannot write '\(untrusted: path)': too many levels of symbolic links")
    }

    /// A write beyond RLIMIT_FSIZE (`ulimit -f`) sends SIGXFSZ, whose default action kills the
    /// process; ignored, the write fails with EFBIG ("File too large") and becomes an error.
    private static let ignoreFileSizeSignal: Void = { signal(SIGXFSZ, SIG_IGN); return () }()
}
