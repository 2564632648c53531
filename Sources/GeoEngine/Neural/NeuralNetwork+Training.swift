/// The training-oriented API: a forward pass that saves every layer's activations, a backward
/// pass giving input and parameter gradients, and flat access to the trainable parameters.
///
///     let pass = try net.forwardPass(x)                     // x: [n, inputFeatures]
///     let dLdy = ...                                        // [n, outputFeatures]
///     let g = try net.backward(pass, cotangents: dLdy)      // g.input [n, in], g.parameters
///     var p = net.parameters                                // aligned with g.parameters
///     for i in p.indices { for j in p[i].scalars.indices { p[i].scalars[j] -= lr * g.parameters[i].scalars[j] } }
///     try net.setParameters(p)
extension NeuralNetwork {
    /// The activations of one forward pass: `activations[i]` is the input of layer i ([n, in_i])
    /// and `activations[layers.count]` the output.
    public struct ForwardPass {
        public let activations: [Matrix]
        /// The network's output [n, D].
        public let output: Matrix
    }

    /// Gradients from `backward`.
    public struct Gradients {
        /// dL/dx for each cotangent row ([rows, inputFeatures]).
        public var input: Matrix
        /// dL/dp aligned with `NeuralNetwork.parameters` (empty when not requested).
        public var parameters: [Tensor]
    }

    /// Runs the network on a batch x [n, inputFeatures], saving every layer's input.
    public func forwardPass(_ x: Matrix) throws -> ForwardPass {
        _ = try checkBatch(x)
        try MemoryBudget.doubles(x.rows, savedDoublesPerPoint + doublesPerStateRow,
                                 for: "the activations of \(x.rows) points")
        var acts = [x]
        acts.reserveCapacity(layers.count + 1)
        var s = x
        let layout = ForwardModeLayout(points: x.rows, order: .value)
        for layer in layers {
            try layer.forwardMode(inPlace: &s, layout: layout)
            acts.append(s)
        }
        return ForwardPass(activations: acts, output: s)
    }

    /// Reverse mode through the saved pass: J^T c for each cotangent row (k rows per point,
    /// [n*k, D]) and, when `parameterGradients` is set (which needs k = 1), the gradients of
    /// L = sum_i <c_i, y_i> with respect to every parameter, summed over the batch.
    public func backward(_ pass: ForwardPass, cotangents: Matrix, parameterGradients: Bool = true) throws -> Gradients {
        guard pass.activations.count == layers.count + 1 else {
            throw GeoError.dimensionMismatch("the forward pass has \(pass.activations.count) activations, the network \(layers.count) layers")
        }
        let n = pass.output.rows
        guard cotangents.cols == dataDim else {
            throw GeoError.dimensionMismatch("expected \(dataDim) entries per cotangent row, got \(cotangents.cols)")
        }
        let k = try tangentMultiplicity(points: n, rows: cotangents.rows)
        if parameterGradients && n > 0 && k != 1 {
            throw GeoError.dimensionMismatch("parameter gradients need one cotangent row per point, got \(k)")
        }
        var c = cotangents
        var grads: [[Tensor]] = Array(repeating: [], count: layers.count)
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[i], x = pass.activations[i], y = pass.activations[i + 1]
            if parameterGradients && !layer.parameterNames.isEmpty {
                grads[i] = try layer.parameterGradients(input: x, output: y, cotangents: c)
            }
            try layer.backward(input: x, output: y, inPlace: &c)
        }
        return Gradients(input: c, parameters: parameterGradients ? grads.flatMap { $0 } : [])
    }

    /// All trainable parameters, layer by layer in each layer's `parameterNames` order.
    public var parameters: [Tensor] { layers.flatMap { $0.parameters } }

    /// Names of `parameters`: "<layer index>.<name>", e.g. "0.weight", "3.bias".
    public var parameterNames: [String] {
        layers.enumerated().flatMap { (i, l) in l.parameterNames.map { "\(i).\($0)" } }
    }

    /// The number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Replaces all trainable parameters (same order, count and shapes as `parameters`).
    public func setParameters(_ values: [Tensor]) throws {
        let total = layers.reduce(0) { $0 + $1.parameterNames.count }
        guard values.count == total else {
            throw GeoError.dimensionMismatch("the network has \(total) parameter tensors, got \(values.count)")
        }
        var start = 0
        for (i, layer) in layers.enumerated() {
            let c = layer.parameterNames.count
            if c == 0 { continue }
            do {
                try layer.setParameters(Array(values[start..<(start + c)]))
            } catch let e as GeoError {
                throw GeoError.dimensionMismatch("layer \(i) (\(layer.op)): \(e.description)")
            }
            start += c
        }
    }
}
