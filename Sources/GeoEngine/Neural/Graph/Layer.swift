/// A layer of a `NeuralNetwork` (the op kinds of SPEC's model files): an `Op` with one input
/// and one output, from one point's features (PyTorch's C,H,W layout flattened row-major, or a
/// flat vector) to the next layer's, with exact first and second derivatives, reverse mode with
/// the tangents of cotangents, and parameter gradients for training.
///
/// States follow `Op`'s layouts. Affine layers (y = A x + b) apply A to every row and add b to
/// the value rows only; elementwise layers y = sigma(x) map the value rows and scale each
/// derivative row by sigma'(x) of its point, with w' = sigma''(x) u v + sigma'(x) w for the mixed
/// second derivative and c' = sigma'(x) c' + sigma''(x) t c for the tangent of a cotangent.
public protocol Layer: Op {
    /// The shape of one input point, e.g. [64, 8, 8] or [100].
    var inputShape: [Int] { get }
    /// The shape of one output point.
    var outputShape: [Int] { get }

    /// Forward mode on a state laid out as `layout` says: [value; t] for first order,
    /// [value; u; v; w] for second order; the state is replaced by the layer's output state (in
    /// place where the layer can: elementwise layers, batchnorm, reshape). Throws
    /// `GeoError.dimensionMismatch` when the state does not fit.
    func forwardMode(inPlace state: inout Matrix, layout: ForwardModeLayout) throws

    /// Reverse mode: replaces the cotangent state (layout `layout`) by the input's, given the
    /// saved forward states `input` and `output` of the layer (layout `layout.saved`).
    func backward(input: Matrix, output: Matrix, inPlace cotangents: inout Matrix, layout: ReverseLayout) throws

    /// The trainable parameters in a fixed order (`parameterNames`), e.g. [weight, bias].
    var parameters: [Tensor] { get }
    /// Names of `parameters`: "weight", "bias".
    var parameterNames: [String] { get }
    /// Replaces the trainable parameters (same count and shapes as `parameters`).
    func setParameters(_ values: [Tensor]) throws
    /// dL/dp for every parameter p, aligned with `parameters`, for cotangents dL/dy with exactly
    /// one row per point ([n, out]), summed over the batch; x and y the saved values.
    func parameterGradients(input: Matrix, output: Matrix, cotangents: Matrix) throws -> [Tensor]

    /// The layer's description (op, hyper-parameters and all tensors, including buffers such as
    /// batchnorm's running statistics): `spec.build(inputShape:)` rebuilds an equal layer.
    var spec: LayerSpec { get }
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

    public var inputShapes: [[Int]] { [inputShape] }
    public var outputShapes: [[Int]] { [outputShape] }

    /// `Op`'s forward mode: the layer's in-place pass on the one input state.
    public func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        guard inputs.count == 1 else { throw GeoError.dimensionMismatch("\(op) takes one input, got \(inputs.count)") }
        var s = inputs.removeFirst()
        try forwardMode(inPlace: &s, layout: layout)
        return [s]
    }

    /// `Op`'s reverse mode: the layer's in-place pass on the one cotangent state.
    public func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        guard inputs.count == 1, outputs.count == 1, cotangents.count == 1 else {
            throw GeoError.dimensionMismatch("\(op) takes one input and one output")
        }
        var c = cotangents[0]
        try backward(input: inputs[0], output: outputs[0], inPlace: &c, layout: layout)
        return [c]
    }

    /// Reverse mode with k cotangent rows per point (a VJP): x and y are the saved values.
    public func backward(input: Matrix, output: Matrix, inPlace cotangents: inout Matrix) throws {
        let k = try tangentMultiplicity(points: input.rows, rows: cotangents.rows)
        try backward(input: input, output: output, inPlace: &cotangents,
                     layout: ReverseLayout(points: input.rows, cotangentsPerPoint: k))
    }

    public var parameters: [Tensor] { [] }
    public var parameterNames: [String] { [] }
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

    /// Checks the saved input/output states and the cotangent state of a reverse step.
    func checkBackward(input: Matrix, output: Matrix, cotangents: Matrix, layout: ReverseLayout) throws {
        let saved = layout.saved.rows
        guard input.cols == inputFeatures, output.cols == outputFeatures, input.rows == saved, output.rows == saved else {
            throw GeoError.dimensionMismatch("\(op): saved input \(input.rows)x\(input.cols) and output \(output.rows)x\(output.cols) do not fit \(inputFeatures) -> \(outputFeatures) features and \(saved) rows")
        }
        guard cotangents.cols == outputFeatures, cotangents.rows == layout.rows else {
            throw GeoError.dimensionMismatch("\(op): cotangents are \(cotangents.rows)x\(cotangents.cols), expected \(layout.rows)x\(outputFeatures)")
        }
        guard layout.tangentsPerPoint == 0 || layout.cotangentsPerPoint == 1 else {
            throw GeoError.dimensionMismatch("\(op): tangents of cotangents need one cotangent per point")
        }
    }

    /// Checks the saved input/output (values) and cotangents of a VJP step; returns k.
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
