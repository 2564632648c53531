/// An operation of a network graph: a map from the values of its variable inputs (each a tensor
/// of a fixed per-point shape) to the values of its outputs, with exact derivatives in every
/// mode the `Graph` evaluator needs: forward mode of first and second order, and reverse mode,
/// plain (VJP) or with the tangents of the cotangents (forward-over-reverse, for Hessian-vector
/// products). Constant operands (weights, biases, broadcast constants) are part of the op.
///
/// States. A value travels as a *state* matrix, one row per value of a point or per derivative,
/// each row holding the value's tensor flattened row-major:
/// - forward mode (`ForwardModeLayout`): n value rows, then for first order one block of n*k
///   tangent rows (k per point, rows i*k ..< (i+1)*k belong to point i), for second order three
///   blocks u, v, w (w carries the mixed second derivative D2[u, v] + J w);
/// - reverse mode (`ReverseLayout`): n*kc cotangent rows (kc per point) and, for a
///   Hessian-vector product (kc = 1, k tangents per point), n*k rows of the tangents of the
///   cotangents. The op also gets its inputs' and outputs' forward states of the same pass
///   (values, and for a Hessian-vector product their k tangents).
/// A value that carries no derivative (a comparison's boolean result, `differentiable` false)
/// travels as its n value rows alone, in every mode, and receives no cotangent.
///
/// Rules for an op y = f(x_1, ..., x_m):
/// - forward, first order: t_y = sum_i df/dx_i t_i;
/// - forward, second order: w_y = sum_i df/dx_i w_i + sum_ij d2f/dx_i dx_j [u_i, v_j];
/// - reverse: c_i = (df/dx_i)^T c_y, and for the tangent rows
///   c'_i = (df/dx_i)^T c'_y + sum_j (d2f/dx_i dx_j [., t_j])^T c_y.
/// A linear op has no second-order terms: it applies its linear part to every derivative row.
public protocol Op: AnyObject {
    /// The operator's name, as messages show it ("Conv", "linear", "Softmax").
    var op: String { get }
    /// The per-point shapes of the variable inputs, in the order the op takes them.
    var inputShapes: [[Int]] { get }
    /// The per-point shapes of the outputs.
    var outputShapes: [[Int]] { get }
    /// Whether each output carries derivatives (false for comparisons). Default: all do.
    var differentiableOutputs: [Bool] { get }
    /// Doubles of working storage per state row beyond the inputs and outputs (a convolution's
    /// column buffer), for the memory budget. Default 0.
    var scratchPerRow: Int { get }

    /// Forward mode. `inputs` holds the input states (taken out of the caller's hands: an op
    /// may reuse their storage, e.g. with `removeFirst`); returns the output states.
    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix]

    /// Reverse mode: the cotangent states of the inputs (one per input; a non-differentiable
    /// input's entry is ignored and may be an empty matrix) from those of the outputs, given
    /// the saved forward states `inputs` and `outputs` (layout `layout.saved`).
    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix]
}

extension Op {
    public var differentiableOutputs: [Bool] { outputShapes.map { _ in true } }
    public var scratchPerRow: Int { 0 }
    /// Features per point of input i and output i.
    func inputFeatures(_ i: Int) -> Int { inputShapes[i].reduce(1, *) }
    func outputFeatures(_ i: Int) -> Int { outputShapes[i].reduce(1, *) }
}

/// How the rows of a forward-mode state matrix are grouped: `points` value rows, followed by
/// no block (order .value), one block of points*k tangent rows (order .first), or three blocks
/// u, v, w (order .second; w carries the mixed second derivative D2[u, v]).
public struct ForwardModeLayout: Equatable {
    public enum Order: Int { case value = 0, first = 1, second = 2 }
    /// n, the number of points.
    public let points: Int
    /// k, the tangent rows per point in each derivative block.
    public let tangentsPerPoint: Int
    public let order: Order

    public init(points: Int, tangentsPerPoint: Int = 0, order: Order) {
        self.points = max(0, points); self.tangentsPerPoint = max(0, tangentsPerPoint); self.order = order
    }
    /// The number of derivative blocks: 0, 1 or 3.
    public var blocks: Int { order == .value ? 0 : (order == .first ? 1 : 3) }
    /// Rows in one derivative block: points * k.
    public var blockRows: Int { points * tangentsPerPoint }
    /// All rows of the state.
    public var rows: Int { points + blocks * blockRows }
    /// The layout of a value that carries no derivatives: its value rows alone.
    public var valuesOnly: ForwardModeLayout { ForwardModeLayout(points: points, order: .value) }
}

/// How the rows of a reverse-mode (cotangent) state are grouped: n*kc cotangent rows, then for a
/// Hessian-vector product (`tangentsPerPoint` k > 0, which needs kc = 1) n*k rows of the
/// tangents of the cotangents. The forward states saved for the reverse pass have the layout
/// `saved`: values only, or values and k tangents per point.
public struct ReverseLayout: Equatable {
    /// n, the number of points.
    public let points: Int
    /// kc, cotangent rows per point.
    public let cotangentsPerPoint: Int
    /// k, tangents per point (0 for a plain VJP).
    public let tangentsPerPoint: Int

    public init(points: Int, cotangentsPerPoint: Int, tangentsPerPoint: Int = 0) {
        self.points = max(0, points); self.cotangentsPerPoint = max(0, cotangentsPerPoint)
        self.tangentsPerPoint = max(0, tangentsPerPoint)
    }
    /// Rows of cotangents: n * kc.
    public var cotangentRows: Int { points * cotangentsPerPoint }
    /// Rows of tangents of cotangents: n * k.
    public var tangentRows: Int { points * tangentsPerPoint }
    /// All rows of a cotangent state.
    public var rows: Int { cotangentRows + tangentRows }
    /// The layout of the saved forward states.
    public var saved: ForwardModeLayout {
        tangentsPerPoint == 0 ? ForwardModeLayout(points: points, order: .value)
            : ForwardModeLayout(points: points, tangentsPerPoint: tangentsPerPoint, order: .first)
    }
}

/// k = rows / points, checking divisibility.
func tangentMultiplicity(points: Int, rows: Int) throws -> Int {
    guard points > 0 ? rows % points == 0 : rows == 0 else {
        throw GeoError.dimensionMismatch("\(rows) tangent rows do not divide among \(points) points")
    }
    return points > 0 ? rows / points : 0
}

/// The rows of the given matrices (each with `cols` columns) one after another.
func stackRows(_ parts: [Matrix], cols: Int) throws -> Matrix {
    var total = 0
    for p in parts {
        guard p.cols == cols || p.rows == 0 else {
            throw GeoError.dimensionMismatch("expected \(cols) columns, got \(p.cols)")
        }
        total += p.rows
    }
    if parts.count == 1, let only = parts.first { return only }
    var out = [Double](); out.reserveCapacity(total * cols)
    for p in parts where p.rows > 0 { out.append(contentsOf: p.scalars) }
    return Matrix(rows: total, cols: cols, unchecked: out)
}

/// Splits a matrix into consecutive row blocks of the given counts (which sum to m.rows).
func splitRows(_ m: Matrix, _ counts: [Int]) -> [Matrix] {
    if counts.count == 1 { return [m] }
    var start = 0
    return counts.map { c in
        let s = start * m.cols, e = (start + c) * m.cols
        start += c
        return Matrix(rows: c, cols: m.cols, unchecked: Array(m.scalars[s..<e]))
    }
}
