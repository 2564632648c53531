/// A feed-forward network: a sequence of layers from points of `inputShape` to points of
/// `dataShape`, and a `Generator` (latentDim = product of inputShape) with exact forward-mode
/// (first and second order) and reverse-mode derivatives. Build it from layer descriptions,
///
///     let g = try NeuralNetwork(latentDim: 2, layers: [
///         .linear(weight: w1, bias: b1), .activation(.tanh), .linear(weight: w2, bias: b2)])
///
/// with shapes inferred layer by layer; a tensor that does not fit is a `GeoError.format` naming
/// the layer index and op. Forward mode pushes one stacked state [values; tangents] (or
/// [values; u; v; w]) through the layers, so every affine layer does one GEMM for all rows.
public final class NeuralNetwork: Generator {
    /// The layers, first to last.
    public let layers: [Layer]
    /// The shape of one input point ([d] for a decoder, the data shape for an encoder).
    public let inputShape: [Int]
    /// d = product of inputShape.
    public let latentDim: Int
    /// The shape of one output point.
    public let dataShape: [Int]

    /// Builds the layers from `specs` for points of `inputShape`. `outputShape` relabels the
    /// last layer's output shape (same number of features), e.g. [1, 28, 28] after a linear
    /// layer with 784 outputs. `tensorNames[i]` optionally names layer i's tensors for messages.
    public init(inputShape: [Int], layers specs: [LayerSpec], outputShape: [Int]? = nil,
                tensorNames: [[String: String]] = []) throws {
        try NeuralNetwork.checkShape(inputShape, "input shape")
        var shape = inputShape
        var built: [Layer] = []
        for (i, spec) in specs.enumerated() {
            do {
                let layer = try spec.build(inputShape: shape, names: i < tensorNames.count ? tensorNames[i] : [:])
                guard let features = Tensor.elementCount(layer.outputShape), features <= maxFeaturesPerPoint else {
                    throw GeoError.format("output shape \(shapeString(layer.outputShape)) has more than \(maxFeaturesPerPoint) features")
                }
                built.append(layer)
                shape = layer.outputShape
            } catch let e as GeoError {
                throw GeoError.format("layer \(i) (\(spec.op)): \(e.description)")
            }
        }
        self.layers = built
        self.inputShape = inputShape
        latentDim = inputShape.reduce(1, *)
        dataShape = try NeuralNetwork.relabel(shape, outputShape)
    }

    /// A network for flat inputs of size `latentDim`.
    public convenience init(latentDim: Int, layers specs: [LayerSpec], outputShape: [Int]? = nil) throws {
        try self.init(inputShape: [latentDim], layers: specs, outputShape: outputShape)
    }

    /// A network of already built layers; each layer's input shape must equal the previous
    /// layer's output shape (the first: `inputShape`).
    public init(inputShape: [Int], builtLayers: [Layer], outputShape: [Int]? = nil) throws {
        try NeuralNetwork.checkShape(inputShape, "input shape")
        var shape = inputShape
        for (i, layer) in builtLayers.enumerated() {
            guard layer.inputShape == shape else {
                throw GeoError.format("layer \(i) (\(layer.op)): takes points of shape \(shapeString(layer.inputShape)), but receives \(shapeString(shape))")
            }
            shape = layer.outputShape
        }
        self.layers = builtLayers
        self.inputShape = inputShape
        latentDim = inputShape.reduce(1, *)
        dataShape = try NeuralNetwork.relabel(shape, outputShape)
    }

    private static func checkShape(_ shape: [Int], _ what: String) throws {
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), let n = Tensor.elementCount(shape), n <= maxFeaturesPerPoint else {
            throw GeoError.format("\(what) \(shapeString(shape)) must be a non-empty list of positive sizes, at most \(maxFeaturesPerPoint) features")
        }
    }

    private static func relabel(_ last: [Int], _ requested: [Int]?) throws -> [Int] {
        guard let req = requested else { return last }
        try checkShape(req, "output shape")
        let have = last.reduce(1, *)
        guard Tensor.elementCount(req) == have else {
            throw GeoError.format("the last layer has \(have) outputs (shape \(shapeString(last))), output shape \(shapeString(req)) has \(req.reduce(1, *))")
        }
        return req
    }

    /// The layer descriptions, for writing the network back out.
    public var specs: [LayerSpec] { layers.map { $0.spec } }

    // MARK: Generator

    public func forward(_ z: Matrix) throws -> Matrix {
        _ = try checkBatch(z)
        return try run(z, ForwardModeLayout(points: z.rows, order: .value))
    }

    public func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        let k = try checkBatch(z, tangents: tangents)
        let out = try run(try stackRows([z, tangents], cols: latentDim),
                          ForwardModeLayout(points: z.rows, tangentsPerPoint: k, order: .first))
        let parts = splitRows(out, [z.rows, tangents.rows])
        return (parts[0], parts[1])
    }

    public func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        _ = try checkBatch(z, tangents: cotangents, tangentCols: dataDim)
        let pass = try forwardPass(z)
        let g = try backward(pass, cotangents: cotangents, parameterGradients: false)
        return (pass.output, g.input)
    }

    public func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        let k = try checkBatch(z, tangents: u)
        _ = try checkBatch(z, tangents: v)
        guard u.rows == v.rows else {
            throw GeoError.dimensionMismatch("u has \(u.rows) rows, v has \(v.rows)")
        }
        let w = Matrix(rows: u.rows, cols: latentDim)
        let out = try run(try stackRows([z, u, v, w], cols: latentDim),
                          ForwardModeLayout(points: z.rows, tangentsPerPoint: k, order: .second))
        let p = splitRows(out, [z.rows, u.rows, u.rows, u.rows])
        return SecondOrderResult(value: p[0], ju: p[1], jv: p[2], d2: p[3])
    }

    /// Pushes a forward-mode state through all layers.
    func run(_ state: Matrix, _ layout: ForwardModeLayout) throws -> Matrix {
        var s = state
        for layer in layers { s = try layer.forwardMode(s, layout: layout) }
        return s
    }
}
