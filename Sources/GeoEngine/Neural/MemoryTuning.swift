import Foundation

/// Process-wide malloc settings for the large, short-lived arrays of network passes. With
/// glibc's defaults every array of a few MB is mmapped and unmapped again (or trimmed from the
/// heap top), so each pass pays a page fault per 4 KB page it touches — measured at up to 40%
/// of a DCGAN VJP on batch 32. `configure()` (run once, when the first `NeuralNetwork` is
/// built) sets M_MMAP_THRESHOLD to 32 MB (glibc's maximum) and M_TRIM_THRESHOLD to 512 MB, so
/// such arrays are recycled from the heap instead; the cost is that up to 512 MB of freed memory
/// may stay with the process. mallopt is looked up with dlsym, so this does nothing where it
/// does not exist (non-glibc systems).
enum MemoryTuning {
    /// glibc's mallopt parameter numbers (malloc.h).
    private static let trimThresholdParameter: Int32 = -1, mmapThresholdParameter: Int32 = -3

    private static let applied: Bool = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        typealias MalloptFunction = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: MalloptFunction.self)
        let a = mallopt(mmapThresholdParameter, 32 << 20)
        let b = mallopt(trimThresholdParameter, 512 << 20)
        return a == 1 && b == 1
    }()

    /// Applies the settings once; returns whether mallopt accepted them.
    @discardableResult
    static func configure() -> Bool { applied }
}
