/// Builders of ONNX's elementwise functions of one value: each is an `ActivationLayer` of an
/// `Activation` (exact first and second derivatives), the parameters read from attributes (or,
/// for Clip from opset 11, constant inputs).
enum ONNXElementwise {
    static func unary(_ node: ONNXNode, _ f: Activation) throws {
        let shape = try node.shape(0)
        try node.setOutput(0, try node.emit1(ActivationLayer(f, inputShape: shape), [try node.value(0)]))
    }

    static let builders: [String: ONNXOps.Builder] = [
        "Relu": { try unary($0, .relu) },
        "LeakyRelu": { try unary($0, .leakyReLU(slope: try $0.float("alpha", default: 0.01))) },
        "Elu": { try unary($0, .elu(alpha: try $0.float("alpha", default: 1))) },
        "Celu": { n in
            let alpha = try n.float("alpha", default: 1)
            guard alpha != 0 else { throw n.error("attribute alpha must not be 0") }
            try unary(n, .celu(alpha: alpha))
        },
        "Selu": { try unary($0, .selu(alpha: try $0.float("alpha", default: 1.67326319217681884765625),
                                      gamma: try $0.float("gamma", default: 1.05070102214813232421875))) },
        "Sigmoid": { try unary($0, .sigmoid) },
        "HardSigmoid": { try unary($0, .hardSigmoid(alpha: try $0.float("alpha", default: 0.2), beta: try $0.float("beta", default: 0.5))) },
        "HardSwish": { try unary($0, .hardSwish) },
        "Tanh": { try unary($0, .tanh) },
        "Softplus": { try unary($0, .softplusExact) },
        "Softsign": { try unary($0, .softsign) },
        "Erf": { try unary($0, .erf) },
        "Mish": { try unary($0, .mish) },
        "Exp": { try unary($0, .exp) },
        "Log": { try unary($0, .log) },
        "Sqrt": { try unary($0, .sqrt) },
        "Reciprocal": { try unary($0, .reciprocal) },
        "Neg": { try unary($0, .neg) },
        "Abs": { try unary($0, .abs) },
        "Gelu": { n in
            let approximate = try n.choice("approximate", default: "none", ["none", "tanh"])
            try unary(n, approximate == "tanh" ? .geluTanh : .gelu)
        },
        "Clip": { n in
            var lo = -Double.infinity, hi = Double.infinity
            if n.opset < 11 {
                lo = try n.float("min", default: -Double(Float.greatestFiniteMagnitude))
                hi = try n.float("max", default: Double(Float.greatestFiniteMagnitude))
            } else {
                if n.has(1) { lo = try scalar(n, 1, "min") }
                if n.has(2) { hi = try scalar(n, 2, "max") }
            }
            try unary(n, .clip(lo: lo, hi: hi))
        },
    ]

    /// A constant scalar input (a one-element tensor).
    static func scalar(_ n: ONNXNode, _ i: Int, _ what: String) throws -> Double {
        let t = try n.constant(i, what)
        guard t.count == 1 else { throw n.error("\(what) (input \(i + 1)) must be a scalar, got shape \(shapeString(t.shape))") }
        return t.scalars[0]
    }
}
