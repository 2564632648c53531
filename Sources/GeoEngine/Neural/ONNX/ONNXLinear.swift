/// Builders of ONNX's linear layers with constant weights: Gemm and MatMul (`MatMulConst`, or
/// `MatMulOp` for two computed operands), Conv and ConvTranspose (`Conv2D`, `ConvTranspose2D`
/// on ONNX's [1, C, H, W] values, or [1, C, L] ones as [C, 1, L]; groups, dilations, per-side
/// pads, auto_pad, output_padding, output_shape), BatchNormalization (`BatchNorm`, inference form).
enum ONNXLinear {
    /// A convolution's settings from a Conv or ConvTranspose node, as a 2-D convolution's: a
    /// 1-D one (input [1, C, L], weight [_, _, k]) is the 2-D one over [C, 1, L] with a 1 x k
    /// kernel. Every attribute ONNX defines is read: kernel_shape (checked against the weight),
    /// strides, dilations, group, pads ([top, left, bottom, right]; for 1-D [begin, end]),
    /// auto_pad, and for ConvTranspose output_padding and output_shape.
    struct ConvSettings {
        var stride = Size2D(1), dilation = Size2D(1), groups = 1
        /// Padding at the top/left and at the bottom/right (ConvTranspose: may be negative when
        /// output_shape exceeds the full output).
        var padStart = Size2D(0), padEnd = Size2D(0)
        var outputPadding = Size2D(0)
        /// Whether the node's values have one spatial axis (treated as H = 1).
        var oneDimensional = false

        var options: ConvOptions {
            ConvOptions(groups: groups, dilation: dilation,
                        paddingEnd: padEnd == padStart && padStart.h >= 0 && padStart.w >= 0 ? nil : padEnd)
        }
    }

    /// Reads the settings of a Conv (transposed false) or ConvTranspose node whose input has
    /// shape `input` ([1, C, spatial...]) and whose weight has shape `weight`.
    static func convSettings(_ n: ONNXNode, input: [Int], weight: [Int], transposed: Bool) throws -> ConvSettings {
        let kind = transposed ? "transposed convolutions" : "convolutions"
        let spatial = input.count - 2
        guard spatial >= 1 else {
            throw n.error("input has shape \(shapeString(input)); a convolution needs [N, C, spatial...]")
        }
        guard spatial <= 2 else {
            throw n.error("\(spatial)-D \(kind) (input \(shapeString(input))) are not supported; georepl has 1-D and 2-D ones")
        }
        guard input[0] == 1 else {
            throw n.error("only \(kind) of one sample ([1, C, ...] values) are supported, got \(shapeString(input))")
        }
        guard weight.count == input.count else {
            throw n.error("weight has shape \(shapeString(weight)); a \(spatial)-D convolution of \(shapeString(input)) needs \(input.count) dimensions")
        }
        let kernel = Array(weight.dropFirst(2))
        /// A per-axis attribute with `count` entries (default `def` on every entry).
        func axes(_ key: String, _ count: Int, _ def: Int) throws -> [Int] {
            guard let v = try n.ints(key) else { return [Int](repeating: def, count: count) }
            guard v.count == count else {
                throw n.error("attribute \(key) = \(untrusted: v) has \(v.count) entries; a \(spatial)-D convolution needs \(count)")
            }
            return v
        }
        if let ks = try n.ints("kernel_shape"), ks != kernel {
            throw n.error("attribute kernel_shape = \(untrusted: ks) does not match the weight's kernel \(untrusted: kernel)")
        }
        let strides = try axes("strides", spatial, 1), dilations = try axes("dilations", spatial, 1)
        for (key, v) in [("strides", strides), ("dilations", dilations)] where v.contains(where: { $0 < 1 || $0 > maxConvolutionParameter }) {
            throw n.error("attribute \(key) = \(untrusted: v) must have entries between 1 and \(maxConvolutionParameter)")
        }
        let groups = try n.int("group", default: 1)
        guard groups >= 1 else { throw n.error("attribute group = \(groups) must be positive") }
        let autoPad = try n.choice("auto_pad", default: "NOTSET", ["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"])
        var pads = try axes("pads", 2 * spatial, 0)
        if n.hasAttribute("pads") && autoPad == "NOTSET" {
            guard pads.allSatisfy({ $0 >= 0 && $0 <= maxConvolutionParameter }) else {
                throw n.error("attribute pads = \(untrusted: pads) must have entries between 0 and \(maxConvolutionParameter)")
            }
        }
        let span = (0..<spatial).map { (kernel[$0] - 1) * dilations[$0] + 1 }
        let sizes = Array(input.dropFirst(2))
        var outputPadding = [Int](repeating: 0, count: spatial)
        if !transposed {
            if autoPad == "VALID" { pads = [Int](repeating: 0, count: 2 * spatial) }
            if autoPad.hasPrefix("SAME") {
                // Output ceil(size / stride); the odd unit of padding at the end for SAME_UPPER.
                for a in 0..<spatial {
                    let out = (sizes[a] + strides[a] - 1) / strides[a]
                    let total = max(0, (out - 1) * strides[a] + span[a] - sizes[a])
                    let small = total / 2, big = total - small
                    pads[a] = autoPad == "SAME_UPPER" ? small : big
                    pads[a + spatial] = autoPad == "SAME_UPPER" ? big : small
                }
            }
        } else {
            outputPadding = try axes("output_padding", spatial, 0)
            guard outputPadding.allSatisfy({ $0 >= 0 && $0 <= maxConvolutionParameter }) else {
                throw n.error("attribute output_padding = \(untrusted: outputPadding) must have non-negative entries")
            }
            var outputShape = try n.ints("output_shape")
            if let o = outputShape, o.count == input.count {
                // Some writers include N and C; the spatial entries are the last ones.
                outputShape = Array(o.dropFirst(2))
            }
            if let o = outputShape {
                guard o.count == spatial, o.allSatisfy({ $0 > 0 && $0 <= maxFeaturesPerPoint }) else {
                    throw n.error("attribute output_shape = \(untrusted: o) must have \(spatial) positive entries")
                }
            }
            if autoPad.hasPrefix("SAME") && outputShape == nil {
                outputShape = (0..<spatial).map { sizes[$0] * strides[$0] }
            }
            if autoPad == "VALID" && outputShape == nil { pads = [Int](repeating: 0, count: 2 * spatial) }
            if let o = outputShape {
                // ONNX's rule: total = stride (size - 1) + output_padding + span - output_shape,
                // split in halves with the odd unit at the end for SAME_UPPER and at the start
                // otherwise (floor halves: a negative total extends the output).
                for a in 0..<spatial {
                    let total = strides[a] * (sizes[a] - 1) + outputPadding[a] + span[a] - o[a]
                    let half = floorDiv(total, 2)
                    pads[a] = autoPad == "SAME_UPPER" ? half : total - half
                    pads[a + spatial] = autoPad == "SAME_UPPER" ? total - half : half
                    guard abs(pads[a]) <= maxConvolutionParameter, abs(pads[a + spatial]) <= maxConvolutionParameter else {
                        throw n.error("attribute output_shape = \(untrusted: o) needs padding \(pads[a]), \(pads[a + spatial]) on axis \(a), beyond \(maxConvolutionParameter)")
                    }
                }
            }
        }
        var s = ConvSettings()
        s.groups = groups
        if spatial == 1 {
            s.oneDimensional = true
            s.stride = Size2D(1, strides[0]); s.dilation = Size2D(1, dilations[0])
            s.padStart = Size2D(0, pads[0]); s.padEnd = Size2D(0, pads[1])
            s.outputPadding = Size2D(0, outputPadding[0])
        } else {
            s.stride = Size2D(strides[0], strides[1]); s.dilation = Size2D(dilations[0], dilations[1])
            s.padStart = Size2D(pads[0], pads[1]); s.padEnd = Size2D(pads[2], pads[3])
            s.outputPadding = Size2D(outputPadding[0], outputPadding[1])
        }
        return s
    }

    /// The Conv or ConvTranspose node as a `Conv2D` or `ConvTranspose2D` layer on its values
    /// (1-D ones as [C, 1, L]), viewed with ONNX's shapes.
    static func buildConvolution(_ n: ONNXNode, transposed: Bool) throws {
        let x = try n.shape(0)
        var w = try n.constant(1, "weight")
        let s = try convSettings(n, input: x, weight: w.shape, transposed: transposed)
        var inputShape = Array(x.dropFirst())
        if s.oneDimensional {
            // [C, L] -> [C, 1, L]; weight [_, _, k] -> [_, _, 1, k] (the same entries).
            inputShape = [x[1], 1, x[2]]
            w = Tensor(shape: [w.shape[0], w.shape[1], 1, w.shape[2]], unchecked: w.scalars)
        }
        let bias = n.has(2) ? try n.constant(2, "bias") : nil
        var names = ["weight": n.proto.input[1]]
        if n.has(2) { names["bias"] = n.proto.input[2] }
        let layer: Layer
        if transposed {
            layer = try ConvTranspose2D(inputShape: inputShape, weight: w, bias: bias, stride: s.stride, padding: s.padStart,
                                        outputPadding: s.outputPadding, options: s.options, names: names)
        } else {
            layer = try Conv2D(inputShape: inputShape, weight: w, bias: bias, stride: s.stride, padding: s.padStart,
                               options: s.options, names: names)
        }
        let out = layer.outputShape
        let outShape = s.oneDimensional ? [1, out[0], out[2]] : [1] + out
        let op = try ShapedOp(layer, inputShapes: [x], outputShapes: [outShape])
        try n.setOutput(0, try n.emit1(op, [try n.value(0)]))
    }

    static let builders: [String: ONNXOps.Builder] = [
        "MatMul": { n in
            let s0 = try n.shape(0)
            if n.isConstant(1) && !n.isConstant(0) {
                var w = try n.constant(1, "second operand")
                if w.shape.count == 1 { w = Tensor(shape: [w.count, 1], unchecked: w.scalars) }
                let op = try MatMulConst("MatMul", inputShape: s0, weight: w)
                let out = try n.emit1(op, [try n.value(0)])
                if try n.shape(1).count == 1 {
                    // [..., K] x [K] -> [...]: drop the unit axis.
                    let shape = Array(op.outputShapes[0].dropLast())
                    try n.setOutput(0, try n.emit1(try Reshape(inputShape: op.outputShapes[0], shape: shape.isEmpty ? [1] : shape), [out]))
                } else {
                    try n.setOutput(0, out)
                }
                return
            }
            guard let builder = ONNXOps.builders["MatMul(values)"] else {
                throw n.error("a MatMul whose second operand is computed is not supported")
            }
            try builder(n)
        },
        "Gemm": { n in
            guard !n.isConstant(0), n.isConstant(1) else { throw n.error("Gemm needs a computed first operand and a constant second operand") }
            let alpha = try n.float("alpha", default: 1), beta = try n.float("beta", default: 1)
            let transA = try n.int("transA", default: 0), transB = try n.int("transB", default: 0)
            let a = try n.shape(0)
            guard a.count == 2 else { throw n.error("input A must be a matrix, got shape \(shapeString(a))") }
            guard transA == 0 || a[0] == 1 || a[1] == 1 else { throw n.error("transA = 1 is supported for a single row or column only") }
            let aShape = transA == 1 ? [a[1], a[0]] : a
            var b = try n.constant(1, "B")
            guard b.shape.count == 2 else { throw n.error("B must be a matrix, got shape \(shapeString(b.shape))") }
            if transB == 1 { b = transpose2(b) }
            b = Tensor(shape: b.shape, unchecked: b.scalars.map { $0 * alpha })
            var bias: Tensor?
            var fullC: Tensor?
            if n.has(2) {
                let c = try n.constant(2, "C")
                let nn = b.shape[1]
                if c.count == nn || c.count == 1 {
                    bias = Tensor(shape: [nn], unchecked: c.count == 1 ? [Double](repeating: c.scalars[0] * beta, count: nn) : c.scalars.map { $0 * beta })
                } else {
                    fullC = Tensor(shape: c.shape, unchecked: c.scalars.map { $0 * beta })
                }
            }
            var x = try n.value(0)
            if aShape != a { x = try n.emit1(try Reshape(inputShape: a, shape: aShape), [x]) }
            var y = try n.emit1(try MatMulConst("Gemm", inputShape: aShape, weight: b, bias: bias), [x])
            if let c = fullC {
                y = try n.emit1(try BroadcastAffine("Gemm", inputShape: [aShape[0], b.shape[1]], scale: nil, shift: c), [y])
            }
            try n.setOutput(0, y)
        },
        "Conv": { n in try buildConvolution(n, transposed: false) },
        "ConvTranspose": { n in try buildConvolution(n, transposed: true) },
        "BatchNormalization": { n in
            let x = try n.shape(0)
            guard x.count >= 2 else { throw n.error("input must be [N, C, ...], got \(shapeString(x))") }
            try n.require("training_mode", equals: 0, "training")
            if n.opset < 9 { try n.require("spatial", equals: 1, "non-spatial batch normalisation") }
            let eps = try n.float("epsilon", default: 1e-5)
            let scale = try n.constant(1, "scale"), bias = try n.constant(2, "B"), mean = try n.constant(3, "mean"), variance = try n.constant(4, "var")
            if x[0] == 1 {
                // One sample: the BatchNorm layer's in-place kernel on [C, ...].
                let layer = try BatchNorm(inputShape: Array(x.dropFirst()), weight: scale, bias: bias, mean: mean, variance: variance, eps: eps)
                try n.setOutput(0, try n.emit1(try ShapedOp(layer, inputShapes: [x], outputShapes: [x]), [try n.value(0)]))
                return
            }
            // A batch of N samples: x a_c + b_c broadcast over [N, C, ...].
            let c = x[1]
            for (t, what) in [(scale, "scale"), (bias, "B"), (mean, "mean"), (variance, "var")] where t.count != c {
                throw n.error("\(what) has \(t.count) entries, expected \(c) channels")
            }
            let a = (0..<c).map { scale.scalars[$0] / (variance.scalars[$0] + eps).squareRoot() }
            let b = (0..<c).map { bias.scalars[$0] - mean.scalars[$0] * a[$0] }
            let shape = [c] + [Int](repeating: 1, count: x.count - 2)
            let op = try BroadcastAffine("BatchNormalization", inputShape: x, scale: Tensor(shape: shape, unchecked: a), shift: Tensor(shape: shape, unchecked: b))
            try n.setOutput(0, try n.emit1(op, [try n.value(0)]))
        },
    ]

    /// The transpose of a matrix tensor.
    static func transpose2(_ t: Tensor) -> Tensor {
        let r = t.shape[0], c = t.shape[1]
        var out = [Double](repeating: 0, count: r * c)
        for i in 0..<r { for j in 0..<c { out[j * r + i] = t.scalars[i * c + j] } }
        return Tensor(shape: [c, r], unchecked: out)
    }
}
