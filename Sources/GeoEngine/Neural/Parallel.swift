import Dispatch
import Foundation
import Synchronization

/// Splits 0..<count into at most `Parallel.workers` contiguous ranges and runs `body` on each
/// concurrently (DispatchQueue.concurrentPerform), or runs it once on the whole range when the
/// work (`count * costPerItem` scalar operations) is too small to pay for the threads. Used for
/// the memory-bound passes around the GEMMs (im2col, col2im, batchnorm, activations), which
/// would otherwise leave the other cores idle. `body` must only write data owned by its range.
enum Parallel {
    /// The active processor count (at least 1).
    static let processors = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// The limit set by `setComputeThreads` (0: none).
    private static let limit = Atomic<Int>(0)
    /// The number of worker threads: the active processor count, or the limit set by
    /// `setComputeThreads` when that is smaller (at least 1).
    static var workers: Int {
        let l = limit.load(ordering: .relaxed)
        return l > 0 ? min(processors, l) : processors
    }

    /// Sets the limit of `workers` (0 or less: none).
    static func setLimit(_ n: Int) { limit.store(max(0, n), ordering: .relaxed) }
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

/// Limits the threads of the engine's dense work: OpenBLAS's threads and the workers of the
/// elementwise passes (`Parallel`) to `n` each; `nil` restores the defaults (OpenBLAS's thread
/// count at start-up and the active processor count). The benchmark times single-threaded
/// runs with it; results do not depend on it.
public func setComputeThreads(_ n: Int?) {
    Parallel.setLimit(n ?? 0)
    BLAS.setThreads(n)
}
