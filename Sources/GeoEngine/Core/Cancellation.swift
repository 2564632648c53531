import Synchronization

/// A process-wide cancellation flag. The REPL's SIGINT handler calls `request()` (an atomic
/// store, safe in a signal handler); the engine's long loops call `check()` between iterations
/// and throw `GeoError.interrupted`. Whoever starts a long operation calls `reset()` first.
public enum Cancellation {
    private static let flag = Atomic<Bool>(false)

    /// Asks running engine loops to stop. Async-signal-safe.
    public static func request() { flag.store(true, ordering: .relaxed) }
    /// Clears a pending request.
    public static func reset() { flag.store(false, ordering: .relaxed) }
    /// Whether a stop was requested and not yet reset.
    public static var isRequested: Bool { flag.load(ordering: .relaxed) }
    /// Throws `GeoError.interrupted` when a stop was requested (and clears the request).
    public static func check() throws {
        if flag.exchange(false, ordering: .relaxed) { throw GeoError.interrupted }
    }
}
