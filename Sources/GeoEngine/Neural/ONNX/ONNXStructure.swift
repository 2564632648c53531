/// Builders of ONNX's ops that name, reshape or compute constants: Identity, Dropout (inference:
/// the identity), Constant, Shape, Cast, Reshape, Flatten, Squeeze, Unsqueeze. Reshapes of a
/// computed value are `Reshape` views (the identity on its data).
enum ONNXStructure {
    /// Output 0 is input 0.
    static func alias(_ n: ONNXNode) throws {
        if n.isConstant(0) { try n.setOutput(0, constant: try n.constant(0, "input")) }
        else { try n.setOutput(0, try n.value(0)) }
    }

    /// Output 0 is input 0 seen with `shape`.
    static func reshape(_ n: ONNXNode, to shape: [Int]) throws {
        let s = try n.shape(0)
        guard Tensor.elementCount(shape) == Tensor.elementCount(s) else {
            throw n.error("cannot reshape \(shapeString(s)) to \(shapeString(shape))")
        }
        // The same entries, but not always the same extent: [0] to [0, 2^62].
        try Tensor.checkedCount(shape, copies: 0, "the output")
        if n.isConstant(0) {
            let t = try n.constant(0, "data")
            try n.setOutput(0, constant: Tensor(shape: shape, unchecked: t.scalars))
            return
        }
        if shape == s { try n.setOutput(0, try n.value(0)); return }
        try n.setOutput(0, try n.emit1(try Reshape(inputShape: s, shape: shape.isEmpty ? [1] : shape, exact: shape), [try n.value(0)]))
    }

    /// Axes (negative from the end) normalised for `rank`, or an error.
    static func axes(_ n: ONNXNode, _ raw: [Int], rank: Int) throws -> [Int] {
        try raw.map { a in
            guard let r = Broadcast.axis(a, rank: rank) else { throw n.error("axis \(a) is out of range for rank \(rank)") }
            return r
        }
    }

    /// The axes of Squeeze/Unsqueeze: an attribute before opset 13, an input from 13.
    static func axesArgument(_ n: ONNXNode) throws -> [Int]? {
        if n.opset >= 13 { return n.has(1) ? try n.integers(1, "axes") : nil }
        return try n.ints("axes")
    }

    static let builders: [String: ONNXOps.Builder] = [
        "Identity": { try alias($0) },
        "Dropout": { n in
            if n.opset >= 12, n.has(2), n.isConstant(2), try n.constant(2, "training_mode").scalars.first ?? 0 != 0 {
                throw n.error("training mode is not supported")
            }
            if n.proto.output.count > 1 && !n.proto.output[1].isEmpty {
                throw n.error("the mask output is not supported")
            }
            try alias(n)
        },
        "Constant": { n in
            if let t = try n.tensor("value") { try n.setOutput(0, constant: t); return }
            if n.hasAttribute("value_float") { try n.setOutput(0, constant: Tensor(shape: [], unchecked: [try n.float("value_float", default: 0)])); return }
            if let v = try n.floats("value_floats") { try n.setOutput(0, constant: Tensor(shape: [v.count], unchecked: v)); return }
            if n.hasAttribute("value_int") { try n.setOutput(0, constant: Tensor(shape: [], unchecked: [Double(try n.int("value_int", default: 0))]), type: .int64); return }
            if let v = try n.ints("value_ints") { try n.setOutput(0, constant: Tensor(shape: [v.count], unchecked: v.map(Double.init)), type: .int64); return }
            throw n.error("only tensor, float and int values are supported")
        },
        "Shape": { n in
            let s = try n.shape(0)
            var lo = try n.int("start", default: 0), hi = try n.int("end", default: s.count)
            if lo < 0 { lo += s.count }; if hi < 0 { hi += s.count }
            lo = min(max(lo, 0), s.count); hi = min(max(hi, lo), s.count)
            try n.setOutput(0, constant: Tensor(shape: [hi - lo], unchecked: s[lo..<hi].map(Double.init)), type: .int64)
        },
        "Cast": { n in
            let to = try n.int("to", default: 1)
            guard let type = ONNXFile.ElementType(rawValue: Int32(to)), type != .string else { throw n.error("cast to type \(to) is not supported") }
            if n.isConstant(0) {
                let t = try n.constant(0, "input")
                let v: [Double]
                switch type {
                case .bool: v = t.scalars.map { $0 != 0 ? 1 : 0 }
                // As for computed values, float is evaluated in Double: a cast to it does not
                // round (torch's legacy SDPA scale, Cast(1 / sqrt(d)) to float, stays exact).
                case .float, .double: v = t.scalars
                case .float16: v = t.scalars.map { HalfPrecision.halfToDouble(HalfPrecision.doubleToHalf($0)) }
                case .bfloat16: v = t.scalars.map { HalfPrecision.bfloat16ToDouble(HalfPrecision.doubleToBFloat16($0)) }
                default: v = t.scalars.map { $0.isFinite ? $0.rounded(.towardZero) : 0 }
                }
                try n.setOutput(0, constant: Tensor(shape: t.shape, unchecked: v), type: type)
                return
            }
            guard type == .float || type == .double else {
                throw n.error(type.isFloatingPoint ? "casting a computed value to a 16-bit float is not supported (georepl evaluates in Double and does not round to half precision)"
                                                   : "casting a computed value to an integer type is not differentiable and not supported")
            }
            // Everything is evaluated in Double: a cast to float or double is the identity.
            try alias(n)
        },
        "Reshape": { n in
            let s = try n.shape(0)
            let requested = n.opset >= 5 ? try ONNXShapes.integers(n, 1, "shape") : (try n.ints("shape") ?? [])
            let allowZero = try n.int("allowzero", default: 0) != 0
            var shape = requested
            for (i, d) in requested.enumerated() where d == 0 && !allowZero {
                guard i < s.count else { throw n.error("shape entry \(i) is 0 (copy) but the input has rank \(s.count)") }
                shape[i] = s[i]
            }
            let unknown = shape.indices.filter { shape[$0] == -1 }
            guard unknown.count <= 1, shape.allSatisfy({ $0 >= -1 }) else { throw n.error("shape \(untrusted: requested) is not valid") }
            if let u = unknown.first {
                // The product of the other sizes may overflow: then it cannot divide the count.
                let count = Tensor.elementCount(s) ?? 0
                guard let known = Tensor.elementCount(shape.filter { $0 != -1 }), known > 0, count % known == 0 else {
                    throw n.error("cannot reshape \(shapeString(s)) to \(untrusted: requested)")
                }
                shape[u] = count / known
            }
            try reshape(n, to: shape)
        },
        "Flatten": { n in
            let s = try n.shape(0)
            let a = try n.int("axis", default: 1)
            let axis = a < 0 ? a + s.count : a
            guard (0...s.count).contains(axis) else { throw n.error("axis \(a) is out of range for rank \(s.count)") }
            try reshape(n, to: [s[..<axis].reduce(1, *), s[axis...].reduce(1, *)])
        },
        "Squeeze": { n in
            let s = try n.shape(0)
            var keep = s
            if let raw = try axesArgument(n) {
                let ax = try axes(n, raw, rank: s.count)
                for a in ax where s[a] != 1 { throw n.error("cannot squeeze axis \(a) of size \(s[a])") }
                keep = s.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
            } else {
                keep = s.filter { $0 != 1 }
            }
            try reshape(n, to: keep)
        },
        "Unsqueeze": { n in
            let s = try n.shape(0)
            guard let raw = try axesArgument(n) else { throw n.error("axes are required") }
            let rank = s.count + raw.count
            let ax = Set(try axes(n, raw, rank: rank))
            guard ax.count == raw.count else { throw n.error("axes \(untrusted: raw) repeat an axis") }
            var out: [Int] = [], it = s.makeIterator()
            for k in 0..<rank { out.append(ax.contains(k) ? 1 : (it.next() ?? 1)) }
            try reshape(n, to: out)
        },
    ]
}
