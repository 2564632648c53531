/// Progress of a long engine operation (geodesic iterations, sweep samples, training epochs).
/// Engine loops call their `ProgressHandler` between iterations, next to `Cancellation.check()`;
/// the Lua bindings draw a progress bar on stderr from it.
public struct ProgressReport {
    /// Units of work done so far, out of `total` (total is an upper bound for iterative solvers).
    public var completed: Int
    public var total: Int
    /// A short status, e.g. "energy 1.234e-02" or "loss 231.5".
    public var detail: String
    public init(completed: Int, total: Int, detail: String = "") {
        self.completed = completed; self.total = total; self.detail = detail
    }
}

/// Receives progress reports. Must be cheap; it is called from the engine's loops.
public typealias ProgressHandler = (ProgressReport) -> Void
