/// Every failure the engine reports. Nothing in the engine traps on user data: it throws one
/// of these, and the Lua bindings turn it into a Lua error with `description` as the message.
public enum GeoError: Error, CustomStringConvertible, Equatable {
    /// Sizes that do not fit together, e.g. a 3-vector given to a manifold of latent_dim 16.
    case dimensionMismatch(String)
    /// A value outside what an operation accepts (NaN, a zero vector, points=1, ...).
    case invalidArgument(String)
    /// A numerical failure: a singular or hopelessly ill-conditioned system, a diverged solver.
    case numerical(String)
    /// A malformed, truncated or inconsistent file (model, data set, image).
    case format(String)
    /// The operating system refused a file operation.
    case io(String)
    /// The user pressed Ctrl-C (see `Cancellation`).
    case interrupted

    public var description: String {
        switch self {
        case .dimensionMismatch(let m): return "dimension mismatch: \(m)"
        case .invalidArgument(let m): return m
        case .numerical(let m): return m
        case .format(let m): return m
        case .io(let m): return m
        case .interrupted: return "interrupted"
        }
    }
}
