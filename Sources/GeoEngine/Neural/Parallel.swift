import Dispatch
import Foundation

/// Splits 0..<count into at most `Parallel.workers` contiguous ranges and runs `body` on each
/// concurrently (DispatchQueue.concurrentPerform), or runs it once on the whole range when the
/// work (`count * costPerItem` scalar operations) is too small to pay for the threads. Used for
/// the memory-bound passes around the GEMMs (im2col, col2im, batchnorm, activations), which
/// would otherwise leave the other cores idle. `body` must only write data owned by its range.
enum Parallel {
    /// The number of worker threads: the active processor count (at least 1).
    static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Below this many scalar operations a pass runs on the calling thread.
    static let minimumWork = 1 << 15

    static func forRanges(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        let tasks = min(workers, count)
        if tasks <= 1 || count * max(1, costPerItem) < minimumWork {
            if count > 0 { body(0..<count) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: tasks) { t in
            let lo = count * t / tasks, hi = count * (t + 1) / tasks
            if lo < hi { body(lo..<hi) }
        }
    }
}
