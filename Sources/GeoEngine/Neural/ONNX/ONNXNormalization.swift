/// Builders of ONNX's normalisations, softmax, attention products and PRelu: Softmax,
/// LayerNormalization, InstanceNormalization, GroupNormalization, MatMul of two computed values,
/// PRelu.
///
/// - Softmax and LogSoftmax (`SoftmaxOp`): from opset 13 along one axis (default -1), before 13
///   over the input coerced to 2-D at the axis (default 1).
/// - LayerNormalization (axis, epsilon, stash_type float or double: georepl computes in double),
///   InstanceNormalization (per channel of [N, C, D...]) and GroupNormalization (num_groups;
///   scale and bias per group at opsets 18 to 20, per channel from 21) are one
///   `NormalizationOp` each, over contiguous blocks of a point, with constant scale and bias
///   folded in; a computed scale or bias follows as a `ProductOp` or `SumOp`.
///   LayerNormalization's optional outputs Mean and InvStdDev are the op's statistics outputs.
/// - "MatMul(values)" (`MatMulOp`): what `ONNXLinear`'s MatMul delegates to when the second
///   operand is computed.
/// - PRelu (`PReluOp`): a constant slope folded in, or a computed one as a second input.
enum ONNXNormalization {
    /// A scale or bias operand, already seen with the shape it broadcasts with against X.
    enum Operand {
        case constant(Tensor)
        case value(Int, [Int])
    }

    /// Input i (nil when absent) seen with the shape `view` gives for its shape; a computed
    /// operand is reshaped by a `Reshape` view when that shape differs.
    static func operand(_ n: ONNXNode, _ i: Int, _ what: String, view: ([Int]) throws -> [Int]) throws -> Operand? {
        guard n.has(i) else { return nil }
        let s = try n.shape(i), v = try view(s)
        if n.isConstant(i) {
            let t = try n.constant(i, what)
            return .constant(Tensor(shape: v, unchecked: t.scalars))
        }
        var id = try n.value(i)
        if v != s { id = try n.emit1(try Reshape(inputShape: s, shape: v, exact: v), [id]) }
        return .value(id, v)
    }

    /// The product of some of a shape's sizes, or an error when it overflows.
    static func count<C: Collection>(_ n: ONNXNode, _ dims: C) throws -> Int where C.Element == Int {
        guard let c = Tensor.elementCount(Array(dims)) else { throw n.error("shape \(shapeString(Array(dims))) has too many entries") }
        return c
    }

    /// Whether output j of the node is requested (named).
    static func wants(_ n: ONNXNode, _ j: Int) -> Bool { j < n.proto.output.count && !n.proto.output[j].isEmpty }

    /// Output 0 = X standardised over consecutive blocks of `blockSize` entries, times `scale`,
    /// plus `bias` (each must broadcast to X's shape); with `statisticsShape`, outputs 1 and 2
    /// are the blocks' means and inverse standard deviations.
    static func normalization(_ n: ONNXNode, blockSize: Int, epsilon: Double, scale: Operand?, bias: Operand?,
                              statisticsShape: [Int]? = nil) throws {
        let xs = try n.shape(0)
        for (o, what) in [(scale, "scale"), (bias, "bias")] {
            let shape: [Int]
            switch o {
            case .constant(let t)?: shape = t.shape
            case .value(_, let s)?: shape = s
            case nil: continue
            }
            guard try Broadcast.shape([xs, shape]) == xs else {
                throw n.error("the \(what) of shape \(shapeString(shape)) does not broadcast to the input's shape \(shapeString(xs))")
            }
        }
        // A constant scale, and then a constant bias, fold into the op (y = h a + b).
        var foldedScale: Tensor?, foldedBias: Tensor?
        if case .constant(let t)? = scale { foldedScale = t }
        if case .constant(let t)? = bias, scale == nil || foldedScale != nil { foldedBias = t }
        let op = try NormalizationOp(n.opType, inputShape: xs, blockSize: blockSize, epsilon: epsilon,
                                     scale: foldedScale, shift: foldedBias, statisticsShape: statisticsShape)
        let outs = try n.emit(op, [try n.value(0)])
        guard var y = outs.first else { throw n.error("internal: the normalisation has no output") }
        if case .value(let a, let sa)? = scale {
            y = try n.emit1(try ProductOp(n.opType, xs, sa), [y, a])
        }
        if let b = bias, foldedBias == nil {
            switch b {
            case .constant(let t): y = try n.emit1(try BroadcastAffine(n.opType, inputShape: xs, scale: nil, shift: t), [y])
            case .value(let v, let sb): y = try n.emit1(try SumOp(n.opType, inputShapes: [xs, sb], signs: [1, 1]), [y, v])
            }
        }
        try n.setOutput(0, y)
        if statisticsShape != nil, outs.count == 3 {
            if wants(n, 1) { try n.setOutput(1, outs[1]) }
            if wants(n, 2) { try n.setOutput(2, outs[2]) }
        }
    }

    /// stash_type: the precision of the statistics. georepl computes in double, which is float's
    /// and double's precision or better; 16-bit statistics would need rounding it does not do.
    static func checkStashType(_ n: ONNXNode) throws {
        let stash = try n.int("stash_type", default: 1)
        guard stash == 1 || stash == 11 else {
            throw n.error("attribute stash_type = \(stash) is not supported (supported: 1 (float) and 11 (double); georepl computes the statistics in double)")
        }
    }

    /// Softmax or LogSoftmax.
    static func softmax(_ n: ONNXNode, logarithmic: Bool) throws {
        let s = try n.shape(0)
        guard !s.isEmpty else { throw n.error("the input is a scalar; \(n.opType) needs rank 1 or more") }
        let raw = try n.int("axis", default: n.opset >= 13 ? -1 : 1)
        guard let axis = Broadcast.axis(raw, rank: s.count) else {
            throw n.error("axis \(raw) is out of range for rank \(s.count)")
        }
        let outer = try count(n, s[..<axis])
        // Before opset 13 the input is coerced to 2-D [outer, rest] and each row is one lane.
        let (length, inner) = n.opset >= 13 ? (s[axis], try count(n, s[(axis + 1)...])) : (try count(n, s[axis...]), 1)
        let op = try SoftmaxOp(n.opType, shape: s, outer: outer, length: length, inner: inner, logarithmic: logarithmic)
        try n.setOutput(0, try n.emit1(op, [try n.value(0)]))
    }

    static let builders: [String: ONNXOps.Builder] = [
        "MatMul(values)": { n in
            let op = try MatMulOp(try n.shape(0), try n.shape(1))
            try n.setOutput(0, try n.emit1(op, [try n.value(0), try n.value(1)]))
        },
        "Softmax": { try softmax($0, logarithmic: false) },
        "LogSoftmax": { try softmax($0, logarithmic: true) },
        "LayerNormalization": { n in
            let s = try n.shape(0)
            let raw = try n.int("axis", default: -1)
            guard !s.isEmpty, let axis = Broadcast.axis(raw, rank: s.count) else {
                throw n.error("axis \(raw) is out of range for rank \(s.count)")
            }
            let epsilon = try n.float("epsilon", default: 1e-5)
            try checkStashType(n)
            let same: ([Int]) throws -> [Int] = { $0 }
            let stats = wants(n, 1) || wants(n, 2)
            try normalization(n, blockSize: try count(n, s[axis...]), epsilon: epsilon,
                              scale: try operand(n, 1, "scale", view: same), bias: try operand(n, 2, "B", view: same),
                              statisticsShape: stats ? Array(s[..<axis]) + [Int](repeating: 1, count: s.count - axis) : nil)
        },
        "InstanceNormalization": { n in
            let s = try n.shape(0)
            guard s.count >= 2 else { throw n.error("the input must be [N, C, ...], got \(shapeString(s))") }
            let epsilon = try n.float("epsilon", default: 1e-5), c = s[1]
            let perChannel: ([Int]) throws -> [Int] = { t in
                guard Tensor.elementCount(t) == c else { throw n.error("scale and B must have \(c) entries (one per channel), got shape \(shapeString(t))") }
                return [c] + [Int](repeating: 1, count: s.count - 2)
            }
            guard n.has(1), n.has(2) else { throw n.error("scale and B (inputs 2 and 3) are required") }
            try normalization(n, blockSize: try count(n, s[2...]), epsilon: epsilon,
                              scale: try operand(n, 1, "scale", view: perChannel), bias: try operand(n, 2, "B", view: perChannel))
        },
        "GroupNormalization": { n in
            let s = try n.shape(0)
            guard s.count >= 2 else { throw n.error("the input must be [N, C, ...], got \(shapeString(s))") }
            guard n.hasAttribute("num_groups") else { throw n.error("attribute num_groups is required") }
            let groups = try n.int("num_groups", default: 1), c = s[1]
            guard groups > 0, c % groups == 0 else {
                throw n.error("num_groups = \(groups) does not divide the \(c) channels")
            }
            let epsilon = try n.float("epsilon", default: 1e-5)
            if n.opset >= 21 { try checkStashType(n) }
            guard n.has(1), n.has(2) else { throw n.error("scale and bias (inputs 2 and 3) are required") }
            let perGroup = n.opset < 21, width = c / groups
            let spread = [Int](repeating: 1, count: s.count - 2)
            var operands: [Operand] = []
            for (i, what) in [(1, "scale"), (2, "bias")] {
                let shape = try n.shape(i), count = perGroup ? groups : c
                guard Tensor.elementCount(shape) == count else {
                    throw n.error("\(what) must have \(count) entries (one per \(perGroup ? "group at opset \(n.opset) < 21" : "channel")), got shape \(shapeString(shape))")
                }
                if perGroup && n.isConstant(i) {
                    // Each group's entry repeated over its channels.
                    let t = try n.constant(i, what)
                    let channels = (0..<c).map { t.scalars[$0 / width] }
                    operands.append(.constant(Tensor(shape: [c] + spread, unchecked: channels)))
                } else if perGroup && width > 1 {
                    // A computed per-group operand spread over the channels by a constant 0/1 matrix.
                    try Tensor.checkedCount([groups, c], "the matrix that spreads the \(what) of \(groups) groups over \(c) channels")
                    var spreadMatrix = [Double](repeating: 0, count: groups * c)
                    for ch in 0..<c { spreadMatrix[(ch / width) * c + ch] = 1 }
                    var v = try n.value(i)
                    if shape != [groups] { v = try n.emit1(try Reshape(inputShape: shape, shape: [groups], exact: [groups]), [v]) }
                    v = try n.emit1(try MatMulConst(n.opType, inputShape: [groups], weight: Tensor(shape: [groups, c], unchecked: spreadMatrix)), [v])
                    v = try n.emit1(try Reshape(inputShape: [c], shape: [c] + spread, exact: [c] + spread), [v])
                    operands.append(.value(v, [c] + spread))
                } else {
                    guard let o = try operand(n, i, what, view: { _ in [c] + spread }) else { throw n.error("\(what) is missing") }
                    operands.append(o)
                }
            }
            try normalization(n, blockSize: try count(n, [width] + s[2...]), epsilon: epsilon, scale: operands[0], bias: operands[1])
        },
        "PRelu": { n in
            let xs = try n.shape(0)
            let op: PReluOp
            if n.isConstant(1) {
                op = try PReluOp(inputShape: xs, slope: try n.constant(1, "slope"))
                try n.setOutput(0, try n.emit1(op, [try n.value(0)]))
            } else {
                op = try PReluOp(inputShape: xs, slopeShape: try n.shape(1))
                try n.setOutput(0, try n.emit1(op, [try n.value(0), try n.value(1)]))
            }
        },
    ]
}
