/// Builders of ONNX's linear layers with constant weights: Gemm and MatMul (`MatMulConst`, or
/// `MatMulOp` for two computed operands), Conv and ConvTranspose (`Conv2D`, `ConvTranspose2D`
/// on ONNX's [1, C, H, W] values), BatchNormalization (`BatchNorm`, inference form).
enum ONNXLinear {
    /// A 2-D convolution's settings from the attributes, for an input [1, C, H, W] and a kernel
    /// kh x kw: strides, symmetric pads (auto_pad resolved).
    static func convSettings(_ n: ONNXNode, input: [Int], kernel: (Int, Int), transposed: Bool) throws
        -> (stride: Size2D, padding: Size2D) {
        let strides = try n.ints("strides") ?? [1, 1]
        guard strides.count == 2 else { throw n.error("only 2-D convolutions are supported (strides \(strides))") }
        if let d = try n.ints("dilations"), d.contains(where: { $0 != 1 }) {
            throw n.error("attribute dilations = \(d) is not supported (dilations must be 1)")
        }
        try n.require("group", equals: 1, "grouped convolution")
        let autoPad = try n.choice("auto_pad", default: "NOTSET", ["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"])
        var pads = try n.ints("pads") ?? [0, 0, 0, 0]
        guard pads.count == 4 else { throw n.error("only 2-D convolutions are supported (pads \(pads))") }
        if autoPad == "VALID" { pads = [0, 0, 0, 0] }
        if autoPad.hasPrefix("SAME") && !transposed {
            var p = [0, 0, 0, 0]
            for (axis, (size, k, s)) in [(input[2], kernel.0, strides[0]), (input[3], kernel.1, strides[1])].enumerated() {
                let out = (size + s - 1) / s, total = max(0, (out - 1) * s + k - size)
                let small = total / 2, big = total - small
                p[axis] = autoPad == "SAME_UPPER" ? small : big
                p[axis + 2] = autoPad == "SAME_UPPER" ? big : small
            }
            pads = p
        }
        guard pads[0] == pads[2], pads[1] == pads[3] else {
            throw n.error("asymmetric pads \(pads) are not supported")
        }
        return (Size2D(strides[0], strides[1]), Size2D(pads[0], pads[1]))
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
        "Conv": { n in
            let x = try n.shape(0)
            guard x.count == 4, x[0] == 1 else { throw n.error("only 2-D convolutions of [1, C, H, W] values are supported, got \(shapeString(x))") }
            let w = try n.constant(1, "weight")
            guard w.shape.count == 4 else { throw n.error("only 2-D convolutions are supported (weight \(shapeString(w.shape)))") }
            let (stride, padding) = try convSettings(n, input: x, kernel: (w.shape[2], w.shape[3]), transposed: false)
            let bias = n.has(2) ? try n.constant(2, "bias") : nil
            let layer = try Conv2D(inputShape: Array(x.dropFirst()), weight: w, bias: bias, stride: stride, padding: padding)
            let op = try ShapedOp(layer, inputShapes: [x], outputShapes: [[1] + layer.outputShape])
            try n.setOutput(0, try n.emit1(op, [try n.value(0)]))
        },
        "ConvTranspose": { n in
            let x = try n.shape(0)
            guard x.count == 4, x[0] == 1 else { throw n.error("only 2-D transposed convolutions of [1, C, H, W] values are supported, got \(shapeString(x))") }
            let w = try n.constant(1, "weight")
            guard w.shape.count == 4 else { throw n.error("only 2-D transposed convolutions are supported (weight \(shapeString(w.shape)))") }
            if try n.ints("output_shape") != nil { throw n.error("attribute output_shape is not supported") }
            let autoPad = try n.string("auto_pad", default: "NOTSET")
            guard autoPad == "NOTSET" || autoPad == "VALID" else { throw n.error("auto_pad = \(untrusted: autoPad) is not supported for ConvTranspose") }
            let (stride, padding) = try convSettings(n, input: x, kernel: (w.shape[2], w.shape[3]), transposed: true)
            let op = try n.ints("output_padding") ?? [0, 0]
            guard op.count == 2 else { throw n.error("output_padding \(op) must have 2 entries") }
            let bias = n.has(2) ? try n.constant(2, "bias") : nil
            let layer = try ConvTranspose2D(inputShape: Array(x.dropFirst()), weight: w, bias: bias, stride: stride, padding: padding,
                                            outputPadding: Size2D(op[0], op[1]))
            let shaped = try ShapedOp(layer, inputShapes: [x], outputShapes: [[1] + layer.outputShape])
            try n.setOutput(0, try n.emit1(shaped, [try n.value(0)]))
        },
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
