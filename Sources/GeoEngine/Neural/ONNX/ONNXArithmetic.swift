import Foundation

/// Builders of ONNX's arithmetic on two operands with broadcasting: Add, Sub, Mul, Div, Pow and
/// Sum. With a constant operand the op is affine in the other (`BroadcastAffine`); with two
/// computed values, Add and Sub are a `SumOp`, Mul a `ProductOp`, and Div a / b the product of
/// a and 1/b. Pow needs a constant scalar exponent.
enum ONNXArithmetic {
    static func binary(_ n: ONNXNode, _ op: String) throws {
        let c0 = n.isConstant(0), c1 = n.isConstant(1)
        let s0 = try n.shape(0), s1 = try n.shape(1)
        if c0 && c1 {
            // Both constant: computed now, with integer division for integer tensors.
            let a = try n.constant(0, "A"), b = try n.constant(1, "B")
            // Four arrays of the result's size: both operands expanded, an index map, the result.
            guard let out = try Broadcast.shape([a.shape, b.shape], copies: 4) else {
                throw n.error("shapes \(shapeString(a.shape)) and \(shapeString(b.shape)) do not broadcast")
            }
            let x = Broadcast.expand(a.scalars, from: a.shape, to: out), y = Broadcast.expand(b.scalars, from: b.shape, to: out)
            let integral = n.isIntegerConstant(0) && n.isIntegerConstant(1)
            let v: [Double] = zip(x, y).map { p, q in
                switch op {
                case "Add": return p + q
                case "Sub": return p - q
                case "Mul": return p * q
                default: return integral ? (q == 0 ? 0 : (p / q).rounded(.towardZero)) : p / q
                }
            }
            try n.setOutput(0, constant: Tensor(shape: out, unchecked: v), type: integral ? .int64 : .float)
            return
        }
        if c1 || c0 {
            let k = c1 ? 1 : 0, x = 1 - k
            let c = try n.constant(k, "operand"), xs = try n.shape(x), xv = try n.value(x)
            let affine: BroadcastAffine
            switch (op, k) {
            case ("Add", _): affine = try BroadcastAffine(op, inputShape: xs, scale: nil, shift: c)
            case ("Sub", 1): affine = try BroadcastAffine(op, inputShape: xs, scale: nil, shift: negate(c))
            case ("Sub", _): affine = try BroadcastAffine(op, inputShape: xs, scale: Tensor(shape: [], unchecked: [-1]), shift: c)
            case ("Mul", _): affine = try BroadcastAffine(op, inputShape: xs, scale: c, shift: nil)
            case ("Div", 1): affine = try BroadcastAffine(op, inputShape: xs, scale: Tensor(shape: c.shape, unchecked: c.scalars.map { 1 / $0 }), shift: nil)
            default:
                // c / x = c * (1/x)
                let r = try n.emit1(ActivationLayer(.reciprocal, inputShape: xs), [xv])
                try n.setOutput(0, try n.emit1(try BroadcastAffine(op, inputShape: xs, scale: c, shift: nil), [r]))
                return
            }
            try n.setOutput(0, try n.emit1(affine, [xv]))
            return
        }
        try n.setOutput(0, try combine(n, op, try n.value(0), try n.value(1), s0, s1))
    }

    /// a op b for two graph values.
    static func combine(_ n: ONNXNode, _ op: String, _ a: Int, _ b: Int, _ sa: [Int], _ sb: [Int]) throws -> Int {
        switch op {
        case "Add": return try n.emit1(try SumOp(op, inputShapes: [sa, sb], signs: [1, 1]), [a, b])
        case "Sub": return try n.emit1(try SumOp(op, inputShapes: [sa, sb], signs: [1, -1]), [a, b])
        case "Mul": return try n.emit1(try ProductOp(op, sa, sb), [a, b])
        default:
            let r = try n.emit1(ActivationLayer(.reciprocal, inputShape: sb), [b])
            return try n.emit1(try ProductOp(op, sa, sb), [a, r])
        }
    }

    static func negate(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, unchecked: t.scalars.map { -$0 }) }

    static let builders: [String: ONNXOps.Builder] = [
        "Add": { try binary($0, "Add") },
        "Sub": { try binary($0, "Sub") },
        "Mul": { try binary($0, "Mul") },
        "Div": { try binary($0, "Div") },
        "Sum": { n in
            let count = n.inputCount
            guard count >= 1 else { throw n.error("needs at least one input") }
            let shapes = try (0..<count).map { try n.shape($0) }
            let values = try (0..<count).map { try n.value($0) }
            try n.setOutput(0, try n.emit1(try SumOp("Sum", inputShapes: shapes, signs: [Double](repeating: 1, count: count)), values))
        },
        "Pow": { n in
            guard n.isConstant(1) else { throw n.error("the exponent (input 2) must be a constant: a computed exponent is not supported") }
            let e = try n.constant(1, "exponent")
            if n.isConstant(0) {
                // Folded elementwise on constants, with broadcasting.
                let base = try n.constant(0, "base")
                guard let out = try Broadcast.shape([base.shape, e.shape], copies: 4) else {
                    throw n.error("shapes \(shapeString(base.shape)) and \(shapeString(e.shape)) do not broadcast")
                }
                let b = Broadcast.expand(base.scalars, from: base.shape, to: out), p = Broadcast.expand(e.scalars, from: e.shape, to: out)
                try n.setOutput(0, constant: Tensor(shape: out, unchecked: zip(b, p).map { Activation.power($0, $1) }))
                return
            }
            guard e.count == 1 else {
                throw n.error("the exponent must be a scalar constant, got shape \(shapeString(e.shape))")
            }
            try ONNXElementwise.unary(n, .pow(e.scalars[0]))
        },
    ]
}
