/// A reduction of a value over some of its axes: ONNX's ReduceSum, ReduceMean, ReduceMax and
/// ReduceMin. Each output entry o reduces the group G(o) of input entries that differ from it
/// only along the reduced axes (all groups have the same size g):
///     sum:  y[o] = sum_{i in G(o)} x[i]           mean: y[o] = (1/g) sum_{i in G(o)} x[i]
///     max:  y[o] = x[a(o)], a(o) the first i in G(o) (row-major order) with the largest x[i]
///     min:  y[o] = x[a(o)], likewise with the smallest (a NaN, the first one, wins either way).
///
/// Derivatives. Sum and mean are linear: every derivative row is reduced the same way, reverse
/// mode spreads c[o] (times 1/g for the mean) over G(o), and there are no second-order terms.
/// Max and min are piecewise linear: given the selection a(o) of the point (from its values),
/// y is the linear selection x[a(o)], and its derivatives are those of that selection —
///     t_y[o] = t_x[a(o)],  w_y[o] = w_x[a(o)],  c_x[a(o)] = c[o]  (c' likewise),
/// exact wherever the maximum is attained by one entry (almost everywhere, like ReLU's
/// one-sided choice at 0). At a tie it is the derivative of the first maximal entry, one
/// element of the subdifferential. (Softmax's shift by its max, the usual reason a max is in a
/// decoder, is invariant to it: there the derivatives cancel exactly whichever entry is chosen.)
final class ReduceOp: Op {
    enum Kind: String { case sum, mean, max, min }
    let op: String
    let kind: Kind
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// g, entries per group.
    let groupSize: Int
    /// members[o * g + t]: the input entries of group o, in row-major order.
    let members: [Int32]

    /// Reduces `inputShape` over `axes` (normalised, 0 ..< rank); `keepDims` keeps them as size 1.
    init(_ op: String, _ kind: Kind, inputShape: [Int], axes: [Int], keepDims: Bool) throws {
        let rank = inputShape.count
        guard axes.allSatisfy({ (0..<rank).contains($0) }), Set(axes).count == axes.count else {
            throw GeoError.format("\(op): axes \(untrusted: axes) are not distinct axes of a rank-\(rank) value")
        }
        // Within the rule for shapes the group size and strides below cannot overflow; the
        // budget is for the table of members.
        let count = try Tensor.checkedCount(inputShape, "\(op): the input")
        let reduced = Set(axes)
        let g = axes.reduce(1) { $0 * inputShape[$1] }
        guard g > 0 || kind == .sum || kind == .mean else {
            throw GeoError.format("\(op): cannot take the \(kind.rawValue) over an empty axis")
        }
        let kept = (0..<rank).filter { !reduced.contains($0) }
        // Output index of an input entry: its coordinates along the kept axes (row-major);
        // position in the group: its coordinates along the reduced axes.
        var outStride = [Int](repeating: 0, count: rank), groupStride = [Int](repeating: 0, count: rank)
        var s = 1, t = 1
        for a in stride(from: rank - 1, through: 0, by: -1) {
            if reduced.contains(a) { groupStride[a] = t; t *= inputShape[a] } else { outStride[a] = s; s *= inputShape[a] }
        }
        var members = [Int32](repeating: 0, count: count)
        var coord = [Int](repeating: 0, count: rank)
        for i in 0..<count {
            var o = 0, p = 0
            for a in 0..<rank { o += coord[a] * outStride[a]; p += coord[a] * groupStride[a] }
            members[o * g + p] = Int32(i)
            var a = rank - 1
            while a >= 0 {
                coord[a] += 1
                if coord[a] < inputShape[a] { break }
                coord[a] = 0; a -= 1
            }
        }
        self.op = op; self.kind = kind
        inputShapes = [inputShape]
        outputShapes = [keepDims ? inputShape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
                                 : kept.map { inputShape[$0] }]
        groupSize = g; self.members = members
    }

    /// For max and min: a(o) for every value row (point) of `x`, as indices into the row.
    func selection(_ x: Matrix, points n: Int) -> [Int32] {
        let f = outputFeatures(0), fin = inputFeatures(0), g = groupSize
        var sel = [Int32](repeating: 0, count: n * f)
        let larger = kind == .max
        x.scalars.withUnsafeBufferPointer { px in
            members.withUnsafeBufferPointer { pm in
                sel.withUnsafeMutableBufferPointer { ps in
                    Parallel.forRanges(n, costPerItem: fin) { range in
                        for p in range {
                            let xr = p * fin
                            for o in 0..<f {
                                var best = pm[o * g], bv = px[xr + Int(best)]
                                for t in 1..<max(g, 1) {
                                    let i = pm[o * g + t], v = px[xr + Int(i)]
                                    if (larger ? v > bv : v < bv) || (v.isNaN && !bv.isNaN) { best = i; bv = v }
                                }
                                ps[p * f + o] = best
                            }
                        }
                    }
                }
            }
        }
        return sel
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let x = inputs[0], f = outputFeatures(0), fin = inputFeatures(0), g = groupSize, n = layout.points
        guard x.cols == fin, x.rows >= n else {
            throw GeoError.dimensionMismatch("\(op): a \(x.rows)x\(x.cols) state, expected \(fin) columns")
        }
        let rows = x.rows
        var y = Matrix(rows: rows, cols: f)
        switch kind {
        case .sum, .mean:
            let scale = kind == .mean ? 1 / Double(g) : 1
            x.scalars.withUnsafeBufferPointer { px in
                members.withUnsafeBufferPointer { pm in
                    y.scalars.withUnsafeMutableBufferPointer { py in
                        Parallel.forRanges(rows, costPerItem: fin) { range in
                            for r in range {
                                let xr = r * fin
                                for o in 0..<f {
                                    var s = 0.0
                                    for t in 0..<g { s += px[xr + Int(pm[o * g + t])] }
                                    py[r * f + o] = kind == .mean ? s * scale : s
                                }
                            }
                        }
                    }
                }
            }
        case .max, .min:
            let sel = selection(x, points: n)
            let k = layout.tangentsPerPoint, block = layout.blockRows
            x.scalars.withUnsafeBufferPointer { px in
                sel.withUnsafeBufferPointer { ps in
                    y.scalars.withUnsafeMutableBufferPointer { py in
                        Parallel.forRanges(rows, costPerItem: f) { range in
                            for r in range {
                                // The point of row r: value rows first, then blocks of n*k.
                                let p = r < n ? r : ((r - n) % max(block, 1)) / max(k, 1)
                                for o in 0..<f { py[r * f + o] = px[r * fin + Int(ps[p * f + o])] }
                            }
                        }
                    }
                }
            }
        }
        return [y]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let c = cotangents[0], f = outputFeatures(0), fin = inputFeatures(0), g = groupSize, rows = layout.rows
        guard c.rows == rows, c.cols == f else {
            throw GeoError.dimensionMismatch("\(op): a \(c.rows)x\(c.cols) cotangent, expected \(rows)x\(f)")
        }
        var cx = Matrix(rows: rows, cols: fin)
        switch kind {
        case .sum, .mean:
            let scale = kind == .mean ? 1 / Double(g) : 1
            c.scalars.withUnsafeBufferPointer { pc in
                members.withUnsafeBufferPointer { pm in
                    cx.scalars.withUnsafeMutableBufferPointer { px in
                        Parallel.forRanges(rows, costPerItem: fin) { range in
                            for r in range {
                                for o in 0..<f {
                                    let v = pc[r * f + o] * scale
                                    for t in 0..<g { px[r * fin + Int(pm[o * g + t])] = v }
                                }
                            }
                        }
                    }
                }
            }
        case .max, .min:
            let n = layout.points, kc = layout.cotangentsPerPoint, k = layout.tangentsPerPoint
            guard inputs[0].rows >= n, inputs[0].cols == fin else {
                throw GeoError.dimensionMismatch("\(op): the saved input has \(inputs[0].rows) rows for \(n) points")
            }
            let sel = selection(inputs[0], points: n)
            c.scalars.withUnsafeBufferPointer { pc in
                sel.withUnsafeBufferPointer { ps in
                    cx.scalars.withUnsafeMutableBufferPointer { px in
                        Parallel.forRanges(rows, costPerItem: f) { range in
                            for r in range {
                                // Cotangent rows (kc per point), then tangent rows (k per point).
                                let p = r < n * kc ? r / max(kc, 1) : (r - n * kc) / max(k, 1)
                                for o in 0..<f { px[r * fin + Int(ps[p * f + o])] = pc[r * f + o] }
                            }
                        }
                    }
                }
            }
        }
        return [cx]
    }
}
