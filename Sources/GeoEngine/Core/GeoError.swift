/// Every failure the engine reports. Nothing in the engine traps on user data: it throws one
/// of these, and the Lua bindings turn it into a Lua error with `description` as the message.
public enum GeoError: Error, CustomStringConvertible, Equatable {
    /// Sizes that do not fit together, e.g. a 3-vector given to a manifold of latent_dim 16.
    case dimensionMismatch(String)
    /// A value outside what an operation accepts (NaN, a zero vector, points=1, ...).
    case invalidArgument(String)
    /// A user-chosen setting (an option such as `tol`, a size such as `dim`) outside its
    /// rule: "<name> must be <requirement>, got <got>" (see `Setting`).
    case invalidSetting(name: String, requirement: String, got: String)
    /// An allocation that the memory budget cannot hold (see `MemoryBudget`): what it was for,
    /// how many bytes it needs and the budget.
    case outOfMemory(what: String, needed: Int, budget: Int)
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
        case .invalidSetting(let name, let requirement, let got): return "\(name) must be \(requirement), got \(got)"
        case .outOfMemory(let what, let needed, let budget):
            return "not enough memory: \(what) needs \(MemoryBudget.format(bytes: needed)), the memory budget is \(MemoryBudget.format(bytes: budget)) (set GEOREPL_MEMORY_LIMIT to change it)"
        case .numerical(let m): return m
        case .format(let m): return m
        case .io(let m): return m
        case .interrupted: return "interrupted"
        }
    }
}
