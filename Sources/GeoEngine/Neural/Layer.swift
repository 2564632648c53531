/// A layer of a `NeuralNetwork`: a map from one point's features (PyTorch's C,H,W layout
/// flattened row-major, or a flat vector) to the next layer's features, with exact first and
/// second derivatives and parameter gradients.
///
/// Batches are matrices with one point per row. Forward mode runs on a *state* matrix whose rows
/// are grouped into blocks as a `ForwardModeLayout` describes: the n value rows first, then for
/// each carried derivative a block of n*k rows (k per point, rows i*k ..< (i+1)*k of a block
/// belong to point i). Affine layers (y = A x + b) apply A to every row and add b to the value
/// rows only; elementwise layers y = sigma(x) map the value rows and scale each derivative row by
/// sigma'(x) of its point, with w' = sigma''(x) u v + sigma'(x) w for the mixed second derivative.
public protocol Layer: AnyObject {
    /// The op name of model files: "linear", "conv2d", "tanh", ...
    var op: String { get }
    /// The shape of one input point, e.g. [64, 8, 8] or [100].
    var inputShape: [Int] { get }
    /// The shape of one output point.
    var outputShape: [Int] { get }

    /// Forward mode on a state laid out as `layout` says (see the protocol's comment):
    /// [value; t] for first order, [value; u; v; w] for second order; the state is replaced by
    /// the layer's output state (in place where the layer can: elementwise layers, batchnorm,
    /// reshape). Throws `GeoError.dimensionMismatch` when the state does not fit.
    func forwardMode(inPlace state: inout Matrix, layout: ForwardModeLayout) throws

    /// Reverse mode: replaces every cotangent row c (k = rows / n per point) by J^T c, given the
    /// layer's saved `input` x ([n, in]) and `output` y = layer(x) ([n, out]).
    func backward(input: Matrix, output: Matrix, inPlace cotangents: inout Matrix) throws

    /// The trainable parameters in a fixed order (`parameterNames`), e.g. [weight, bias].
    var parameters: [Tensor] { get }
    /// Names of `parameters`: "weight", "bias".
    var parameterNames: [String] { get }
    /// Replaces the trainable parameters (same count and shapes as `parameters`).
    func setParameters(_ values: [Tensor]) throws
    /// dL/dp for every parameter p, aligned with `parameters`, for cotangents dL/dy with exactly
    /// one row per point ([n, out]), summed over the batch; x and y as in `backward`.
    func parameterGradients(input: Matrix, output: Matrix, cotangents: Matrix) throws -> [Tensor]

    /// The layer's description (op, hyper-parameters and all tensors, including buffers such as
    /// batchnorm's running statistics): `spec.build(inputShape:)` rebuilds an equal layer.
    var spec: LayerSpec { get }

    /// Doubles of working storage the layer may need per state row beyond its input and output
    /// rows (a convolution's column buffer), for the memory budget. Default 0.
    var scratchPerRow: Int { get }
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
}

/// A height/width pair: stride, padding or output padding of a 2-D convolution.
public struct Size2D: Equatable, CustomStringConvertible {
    public var h: Int
    public var w: Int
    public init(_ h: Int, _ w: Int) { self.h = h; self.w = w }
    /// The same value for height and width.
    public init(_ s: Int) { self.init(s, s) }
    public var description: String { "[\(h),\(w)]" }
}

extension Layer {
    /// The number of features of one input point: the product of `inputShape`.
    public var inputFeatures: Int { inputShape.reduce(1, *) }
    /// The number of features of one output point.
    public var outputFeatures: Int { outputShape.reduce(1, *) }

    public var parameters: [Tensor] { [] }
    public var parameterNames: [String] { [] }
    public var scratchPerRow: Int { 0 }
    public func setParameters(_ values: [Tensor]) throws {
        guard values.isEmpty else {
            throw GeoError.dimensionMismatch("\(op) has no parameters, got \(values.count) tensors")
        }
    }
    public func parameterGradients(input: Matrix, output: Matrix, cotangents: Matrix) throws -> [Tensor] { [] }

    /// Forward mode returning the new state (see `forwardMode(inPlace:layout:)`).
    public func forwardMode(_ state: Matrix, layout: ForwardModeLayout) throws -> Matrix {
        var s = state
        try forwardMode(inPlace: &s, layout: layout)
        return s
    }

    /// Reverse mode returning J^T c for every cotangent row (see `backward(input:output:inPlace:)`).
    public func backward(input: Matrix, output: Matrix, cotangents: Matrix) throws -> Matrix {
        var c = cotangents
        try backward(input: input, output: output, inPlace: &c)
        return c
    }

    /// y = layer(x) for a batch x of shape [n, inputFeatures].
    public func forward(_ x: Matrix) throws -> Matrix {
        try forwardMode(x, layout: ForwardModeLayout(points: x.rows, order: .value))
    }

    /// Forward mode: the values and J t for k = tangents.rows / n tangent rows per point.
    public func jvp(_ x: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        let k = try tangentMultiplicity(points: x.rows, rows: tangents.rows)
        let layout = ForwardModeLayout(points: x.rows, tangentsPerPoint: k, order: .first)
        let out = try forwardMode(try stackRows([x, tangents], cols: inputFeatures), layout: layout)
        let parts = splitRows(out, [x.rows, tangents.rows])
        return (parts[0], parts[1])
    }

    /// Second-order forward mode: values, J u, J v and D2[u, v] + J w for the incoming mixed
    /// derivative w (pass zeros for w at the input of a network).
    public func secondOrder(_ x: Matrix, u: Matrix, v: Matrix, w: Matrix) throws
        -> (value: Matrix, u: Matrix, v: Matrix, w: Matrix) {
        guard u.rows == v.rows, u.rows == w.rows else {
            throw GeoError.dimensionMismatch("u, v and w have \(u.rows), \(v.rows) and \(w.rows) rows")
        }
        let k = try tangentMultiplicity(points: x.rows, rows: u.rows)
        let layout = ForwardModeLayout(points: x.rows, tangentsPerPoint: k, order: .second)
        let out = try forwardMode(try stackRows([x, u, v, w], cols: inputFeatures), layout: layout)
        let p = splitRows(out, [x.rows, u.rows, u.rows, u.rows])
        return (p[0], p[1], p[2], p[3])
    }

    /// Checks a forward-mode state against the layout and the layer's input size.
    func checkState(_ state: Matrix, _ layout: ForwardModeLayout) throws {
        guard state.cols == inputFeatures else {
            throw GeoError.dimensionMismatch("\(op) takes \(inputFeatures) features per row, got \(state.cols)")
        }
        guard state.rows == layout.rows else {
            throw GeoError.dimensionMismatch("\(op): state has \(state.rows) rows, layout needs \(layout.rows)")
        }
    }

    /// Checks the saved input/output and cotangents of a reverse step; returns k.
    func checkBackward(input: Matrix, output: Matrix, cotangents: Matrix) throws -> Int {
        guard input.cols == inputFeatures, output.cols == outputFeatures, input.rows == output.rows else {
            throw GeoError.dimensionMismatch("\(op): saved input \(input.rows)x\(input.cols) and output \(output.rows)x\(output.cols) do not fit \(inputFeatures) -> \(outputFeatures) features")
        }
        guard cotangents.cols == outputFeatures else {
            throw GeoError.dimensionMismatch("\(op): cotangents have \(cotangents.cols) columns, expected \(outputFeatures)")
        }
        return try tangentMultiplicity(points: input.rows, rows: cotangents.rows)
    }

    /// Checks the arguments of `parameterGradients`: one cotangent row per point.
    func checkParameterGradients(input: Matrix, output: Matrix, cotangents: Matrix) throws {
        let k = try checkBackward(input: input, output: output, cotangents: cotangents)
        guard k == 1 || input.rows == 0 else {
            throw GeoError.dimensionMismatch("\(op): parameter gradients need one cotangent row per point, got \(k)")
        }
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

/// "weight 'decoder.0.weight'" when the tensor has a file name, else "weight": how construction
/// errors name a layer's tensors.
func tensorLabel(_ role: String, _ names: [String: String]) -> String {
    if let n = names[role] { return "\(role) '\(untrusted: n)'" }
    return role
}

/// Checks that a tensor has exactly the expected shape.
func expectShape(_ t: Tensor, _ expected: [Int], _ role: String, _ names: [String: String]) throws {
    guard t.shape == expected else {
        throw GeoError.format("\(tensorLabel(role, names)) has shape \(shapeString(t.shape)), expected \(shapeString(expected))")
    }
}
