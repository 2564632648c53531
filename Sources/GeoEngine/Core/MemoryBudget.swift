import Foundation

/// The memory budget: the one owner of the rule that no allocation whose size comes from a
/// user or a file may exceed what the process can get. Every such allocation is checked here
/// (overflow-safe) before it is made, so that what cannot fit is a `GeoError.outOfMemory` that
/// says what needed how much, instead of the Swift runtime's abort ("failed to allocate") or an
/// allocator that never returns. Batched passes ask `fits` and split their work to fit.
///
/// The budget, in bytes, is the smaller of
/// - `GEOREPL_MEMORY_LIMIT` when set (a number of bytes, optionally with a K, M, G or T suffix:
///   powers of 1024), else half of the physical memory, and
/// - what RLIMIT_AS (`ulimit -v`) leaves: the limit minus the address space the process
///   already uses (/proc/self/statm), minus `reserve` for the libraries' own needs (OpenBLAS's
///   buffers, Lua, malloc's bookkeeping).
/// The RLIMIT_AS part is re-read at every check, since the address space in use changes: it
/// is what makes many allocations that each fit add up to an error rather than an abort, so
/// GEOREPL_MEMORY_LIMIT (a bound on each allocation) does not lift it.
public enum MemoryBudget {
    /// Kept free for the libraries under an address-space limit: 96 MB.
    public static let reserve = 96 << 20

    /// A budget set by code (tests): it wins over the environment and the system.
    nonisolated(unsafe) public static var override: Int?

    /// The budget now, in bytes.
    public static var bytes: Int {
        if let o = override { return max(0, o) }
        return budget(limit: environmentLimit ?? physicalHalf, addressSpaceLeft: addressSpaceLeft())
    }

    /// The budget for a `limit` (GEOREPL_MEMORY_LIMIT or half the physical memory) when
    /// RLIMIT_AS leaves `addressSpaceLeft` bytes (nil: no limit).
    static func budget(limit: Int, addressSpaceLeft: Int?) -> Int {
        max(0, min(limit, addressSpaceLeft ?? Int.max))
    }

    /// Throws `GeoError.outOfMemory` unless `bytes` fit in the budget.
    public static func check(bytes needed: Int, for what: @autoclosure () -> String) throws {
        let budget = bytes
        guard needed >= 0, needed <= budget else { throw GeoError.outOfMemory(what: what(), needed: max(needed, 0), budget: budget) }
    }

    /// The product of `factors` (counts of Doubles, e.g. rows and columns), checked: throws
    /// `GeoError.outOfMemory` when 8 bytes times the product overflows or exceeds the budget.
    /// Returns the number of Doubles.
    @discardableResult
    public static func doubles(_ factors: Int..., for what: @autoclosure () -> String) throws -> Int {
        try doubles(factors, for: what())
    }

    /// `doubles(_:for:)` with the factors as an array.
    @discardableResult
    public static func doubles(_ factors: [Int], for what: @autoclosure () -> String) throws -> Int {
        guard let count = product(factors), let bytes = product([count, MemoryLayout<Double>.size]) else {
            throw GeoError.outOfMemory(what: what(), needed: Int.max, budget: MemoryBudget.bytes)
        }
        try check(bytes: bytes, for: what())
        return count
    }

    /// Whether `count` Doubles fit (no error).
    public static func fits(doubles count: Int) -> Bool {
        guard let b = product([count, MemoryLayout<Double>.size]) else { return false }
        return b <= bytes
    }

    /// The product of non-negative factors, nil on overflow or a negative factor.
    public static func product(_ factors: [Int]) -> Int? {
        var p = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: f)
            if o { return nil }
            p = r
        }
        return p
    }

    /// "1.5 GB", "512 MB", "12 KB", "100 bytes" (powers of 1024); "more than 8 EB" for Int.max.
    public static func format(bytes: Int) -> String {
        if bytes == Int.max { return "more than 8 EB" }
        let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"]
        var x = Double(bytes), u = 0
        while x >= 1024 && u < units.count - 1 { x /= 1024; u += 1 }
        if u == 0 { return "\(bytes) bytes" }
        return x >= 100 ? String(format: "%.0f %@", x, units[u]) : String(format: "%.3g %@", x, units[u])
    }

    // MARK: Sources

    /// Half the physical memory.
    static let physicalHalf: Int = Int(clamping: ProcessInfo.processInfo.physicalMemory / 2)

    /// GEOREPL_MEMORY_LIMIT parsed once; nil when unset or malformed (a malformed value is
    /// reported by `environmentProblem`).
    static let environmentLimit: Int? = parse(ProcessInfo.processInfo.environment["GEOREPL_MEMORY_LIMIT"] ?? "")

    /// Why GEOREPL_MEMORY_LIMIT was ignored, if it was set but not understood.
    public static var environmentProblem: String? {
        guard let raw = ProcessInfo.processInfo.environment["GEOREPL_MEMORY_LIMIT"], !raw.isEmpty,
              parse(raw) == nil else { return nil }
        return "GEOREPL_MEMORY_LIMIT='\(untrusted: raw)' is not a size (bytes, or a number with K, M, G or T); it is ignored"
    }

    /// "123", "512M", "2G", "1.5G" -> bytes; nil for anything else.
    static func parse(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        guard !t.isEmpty else { return nil }
        let suffixes: [Character: Double] = ["K": 1024, "M": 1_048_576, "G": 1_073_741_824, "T": 1_099_511_627_776]
        var number = Substring(t), scale = 1.0
        if let last = t.last, let s = suffixes[last] { number = t.dropLast(); scale = s }
        if number.hasSuffix("I") || number.hasSuffix("B") { return nil }
        guard let x = Double(number), x.isFinite, x >= 0 else { return nil }
        let b = x * scale
        return b < Double(Int.max) ? Int(b) : nil
    }

    /// RLIMIT_AS minus the address space in use minus `reserve`; nil when unlimited.
    static func addressSpaceLeft(reserve: Int = MemoryBudget.reserve) -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        let cap = Int(clamping: limit.rlim_cur)
        return max(0, cap - (addressSpaceInUse() ?? 0) - reserve)
    }

    /// The process's virtual size in bytes (first field of /proc/self/statm, in pages).
    static func addressSpaceInUse() -> Int? {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 127) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        guard let pages = text.split(separator: " ").first.flatMap({ Int($0) }) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
