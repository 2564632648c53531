import Foundation

/// geo.clock(): elapsed wall-clock time in seconds (a Double, nanosecond resolution) from a
/// monotonic clock with an arbitrary origin; differences of two calls time a section of a
/// script. Unlike os.clock, which is the process's CPU time summed over its threads (up to
/// twice the elapsed time on 2 cores while OpenBLAS works in parallel), it measures what a
/// user waits for, and unlike os.time it resolves below a second.
enum ClockLua {
    static let functions: [Binding] = [
        Binding("clock") { call in
            var t = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t)
            return call.push(Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9)
        },
    ]
}
