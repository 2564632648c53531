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
public final class NeuralNetwork: Graph {
    /// The layers, first to last.
    public let layers: [Layer]

    /// Builds the layers from `specs` for points of `inputShape`. `outputShape` relabels the
    /// last layer's output shape (same number of features), e.g. [1, 28, 28] after a linear
    /// layer with 784 outputs. `tensorNames[i]` optionally names layer i's tensors for messages.
    public init(inputShape: [Int], layers specs: [LayerSpec], outputShape: [Int]? = nil,
                tensorNames: [[String: String]] = []) throws {
        try Graph.checkShape(inputShape, "input shape")
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
        layers = built
        let c = Graph.chain(built, inputShape: inputShape)
        try super.init(inputShape: inputShape, valueShapes: c.shapes, nodes: c.nodes, input: 0, output: built.count,
                       outputShape: outputShape)
    }

    /// A network for flat inputs of size `latentDim`.
    public convenience init(latentDim: Int, layers specs: [LayerSpec], outputShape: [Int]? = nil) throws {
        try self.init(inputShape: [latentDim], layers: specs, outputShape: outputShape)
    }

    /// A network of already built layers; each layer's input shape must equal the previous
    /// layer's output shape (the first: `inputShape`).
    public init(inputShape: [Int], builtLayers: [Layer], outputShape: [Int]? = nil) throws {
        try Graph.checkShape(inputShape, "input shape")
        var shape = inputShape
        for (i, layer) in builtLayers.enumerated() {
            guard layer.inputShape == shape else {
                throw GeoError.format("layer \(i) (\(layer.op)): takes points of shape \(shapeString(layer.inputShape)), but receives \(shapeString(shape))")
            }
            shape = layer.outputShape
        }
        layers = builtLayers
        let c = Graph.chain(builtLayers, inputShape: inputShape)
        try super.init(inputShape: inputShape, valueShapes: c.shapes, nodes: c.nodes, input: 0, output: builtLayers.count,
                       outputShape: outputShape)
    }

    /// The layer descriptions, for writing the network back out.
    public var specs: [LayerSpec] { layers.map { $0.spec } }

    /// "layer 3 (conv2d)".
    public override func nodeLabel(_ i: Int) -> String { "layer \(i) (\(layers[i].op))" }

    /// Doubles a saved forward pass (reverse mode) holds per point: every layer's input and the
    /// output.
    var savedDoublesPerPoint: Int { allDoublesPerRow }
    /// Doubles one state row needs at the busiest moment of a pass.
    var doublesPerStateRow: Int { peakDoublesPerRow }
}

extension Graph {
    /// The values and nodes of a chain of layers: value i is layer i's input, value i+1 its output.
    static func chain(_ layers: [Layer], inputShape: [Int]) -> (shapes: [[Int]], nodes: [Node]) {
        ([inputShape] + layers.map { $0.outputShape },
         layers.enumerated().map { i, l in Node(name: "layer \(i)", op: l, inputs: [i], outputs: [i + 1]) })
    }
}
