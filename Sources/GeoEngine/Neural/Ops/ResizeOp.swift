/// y[o] = sum_{(i, w) in T(o)} w x[i]  (+ b[o] in value rows): a fixed sparse linear map, each
/// output entry a weighted sum of a few input entries (T(o) precomputed), with an optional
/// constant b (tf_crop_and_resize's extrapolation value where the sample falls outside). ONNX's
/// Resize and Upsample in modes nearest (one term of weight 1) and linear (the product of the
/// 1-D weights (1 - r, r) of each resized axis: up to 2^axes terms), built by
/// `ResizeOp.separable` from per-axis terms.
///
/// Linear (affine with b): every derivative row is mapped by the same weights, with no
/// second-order terms; reverse mode is the transpose, c_x[i] += w c[o] for (i, w) in T(o),
/// applied alike to cotangent rows and to the tangents of the cotangents.
final class ResizeOp: Op {
    let op: String
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// T(o) = (index[t], weight[t]) for t in offsets[o] ..< offsets[o + 1].
    let offsets: [Int]
    let index: [Int32]
    let weight: [Double]
    /// b, added to value rows; nil for none.
    let bias: [Double]?

    init(_ op: String, inputShape: [Int], outputShape: [Int], offsets: [Int], index: [Int32], weight: [Double], bias: [Double]?) throws {
        guard let fin = Tensor.elementCount(inputShape), let f = Tensor.elementCount(outputShape),
              fin <= maxFeaturesPerPoint, f <= maxFeaturesPerPoint,
              offsets.count == f + 1, offsets.first == 0, offsets.last == index.count, index.count == weight.count,
              bias.map({ $0.count == f }) ?? true,
              zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }), index.allSatisfy({ $0 >= 0 && Int($0) < fin }) else {
            throw GeoError.format("\(op): inconsistent interpolation weights for \(shapeString(inputShape)) -> \(shapeString(outputShape))")
        }
        self.op = op
        inputShapes = [inputShape]; outputShapes = [outputShape]
        self.offsets = offsets; self.index = index; self.weight = weight; self.bias = bias
    }

    /// One output coordinate along one axis: input coordinates with weights, or nil when the
    /// sample lies outside (the output entry is then the extrapolation value).
    typealias AxisTerms = [(Int, Double)]?

    /// The map whose weights are the products of per-axis terms: `axes[a][c]` for output
    /// coordinate c along axis a (the output shape is their counts). Terms of weight 0 are
    /// dropped. `extrapolation` is the value of entries with an outside sample.
    static func separable(_ op: String, inputShape: [Int], axes: [[AxisTerms]], extrapolation: Double) throws -> ResizeOp {
        let rank = inputShape.count
        guard axes.count == rank else { throw GeoError.format("\(op): \(axes.count) axes of weights for rank \(rank)") }
        let outShape = axes.map(\.count)
        guard let f = Tensor.elementCount(outShape), f <= maxFeaturesPerPoint else {
            throw GeoError.format("\(op): the output shape \(shapeString(outShape)) is too large")
        }
        let widest = axes.map { a in a.map { $0?.count ?? 0 }.max() ?? 0 }
        let perEntry = MemoryBudget.product(widest.map { max($0, 1) }) ?? Int.max
        // Index (4 bytes) and weight (8 bytes) per term, an offset per entry.
        try MemoryBudget.doubles(2, f, max(1, perEntry), for: "\(op) weights for \(shapeString(outShape))")
        var strides = [Int](repeating: 1, count: rank)
        for a in stride(from: rank - 2, through: 0, by: -1) { strides[a] = strides[a + 1] * inputShape[a + 1] }
        var offsets = [0], index: [Int32] = [], weight: [Double] = []
        offsets.reserveCapacity(f + 1)
        var bias: [Double]? = nil
        var coord = [Int](repeating: 0, count: rank)
        var terms: [(Int, Double)] = [], next: [(Int, Double)] = []
        for o in 0..<f {
            terms.removeAll(keepingCapacity: true)
            terms.append((0, 1))
            var outside = false
            for a in 0..<rank {
                guard let list = axes[a][coord[a]] else { outside = true; break }
                next.removeAll(keepingCapacity: true)
                for (i, w) in terms { for (j, v) in list where v != 0 { next.append((i + j * strides[a], w * v)) } }
                swap(&terms, &next)
            }
            if outside {
                if bias == nil { bias = [Double](repeating: 0, count: f) }
                bias?[o] = extrapolation
            } else {
                for (i, w) in terms where w != 0 { index.append(Int32(i)); weight.append(w) }
            }
            offsets.append(index.count)
            var a = rank - 1
            while a >= 0 {
                coord[a] += 1
                if coord[a] < outShape[a] { break }
                coord[a] = 0; a -= 1
            }
        }
        return try ResizeOp(op, inputShape: inputShape, outputShape: outShape, offsets: offsets, index: index, weight: weight, bias: bias)
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let x = inputs[0], f = outputFeatures(0), fin = inputFeatures(0), n = layout.points
        guard x.cols == fin, x.rows >= n else {
            throw GeoError.dimensionMismatch("\(op): a \(x.rows)x\(x.cols) state, expected \(fin) columns")
        }
        let rows = x.rows, terms = index.count, b = bias
        var y = Matrix(rows: rows, cols: f)
        x.scalars.withUnsafeBufferPointer { px in
            y.scalars.withUnsafeMutableBufferPointer { py in
                offsets.withUnsafeBufferPointer { po in
                    index.withUnsafeBufferPointer { pi in
                        weight.withUnsafeBufferPointer { pw in
                            Parallel.forRanges(rows, costPerItem: 2 * terms + f) { range in
                                for r in range {
                                    let xr = r * fin, yr = r * f
                                    for o in 0..<f {
                                        var s = 0.0
                                        for t in po[o]..<po[o + 1] { s += pw[t] * px[xr + Int(pi[t])] }
                                        py[yr + o] = s
                                    }
                                    if r < n, let b = b { for o in 0..<f { py[yr + o] += b[o] } }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [y]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let c = cotangents[0], f = outputFeatures(0), fin = inputFeatures(0), rows = layout.rows
        guard c.rows == rows, c.cols == f else {
            throw GeoError.dimensionMismatch("\(op): a \(c.rows)x\(c.cols) cotangent, expected \(rows)x\(f)")
        }
        let terms = index.count
        var cx = Matrix(rows: rows, cols: fin)
        c.scalars.withUnsafeBufferPointer { pc in
            cx.scalars.withUnsafeMutableBufferPointer { px in
                offsets.withUnsafeBufferPointer { po in
                    index.withUnsafeBufferPointer { pi in
                        weight.withUnsafeBufferPointer { pw in
                            Parallel.forRanges(rows, costPerItem: 2 * terms + f) { range in
                                for r in range {
                                    let xr = r * fin, cr = r * f
                                    for o in 0..<f {
                                        let v = pc[cr + o]
                                        if v == 0 { continue }
                                        for t in po[o]..<po[o + 1] { px[xr + Int(pi[t])] += pw[t] * v }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [cx]
    }
}
