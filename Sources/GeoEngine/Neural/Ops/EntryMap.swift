/// Outputs whose entries are entries of the inputs or a constant: for every output o and entry e,
///     y_o[e] = x_j[i]   (the source (j, i) of (o, e), fixed at construction), or
///     y_o[e] = fill     (value rows; 0 in every derivative row).
/// ONNX's Transpose, Concat, Split, Slice, Gather (constant indices), Expand and Pad (constant,
/// reflect, edge and wrap modes) are such maps; the index maps are computed once when the op is
/// built.
///
/// Linear in every input (affine with the fill): each derivative row of an output is the same
/// selection of the inputs' derivative rows (zeros where an entry comes from an input that
/// carries no derivative, e.g. a constant operand of a Concat, or from the fill), and there are
/// no second-order terms: w_y = select(w_x). Reverse mode is the transpose of the selection,
/// applied alike to cotangent rows and to the tangents of the cotangents:
///     c_j[i] = sum of c_o[e] over the (o, e) whose source is (j, i)
/// (a sum where an entry is repeated, as in Expand; zero for entries no output reads).
final class EntryMap: Op {
    let op: String
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// The value of entries with no source.
    let fill: Double

    /// The entries of output `output` read from input `input`: outIndex[q] <- inIndex[q].
    struct Link {
        let input: Int, output: Int
        let outIndex: [Int32], inIndex: [Int32]
    }
    let links: [Link]
    /// For each output, the entries that hold `fill`.
    let fills: [[Int32]]

    /// `sources[o][e]` is the source of entry e of output o: an index into the inputs' entries
    /// laid end to end (input 0's entries, then input 1's, ...), or -1 for `fill`.
    init(_ op: String, inputShapes: [[Int]], outputShapes: [[Int]], sources: [[Int]], fill: Double = 0) throws {
        guard sources.count == outputShapes.count else {
            throw GeoError.format("\(op): \(sources.count) index maps for \(outputShapes.count) outputs")
        }
        var offsets = [0]
        for s in inputShapes {
            guard let c = Tensor.elementCount(s), c <= maxFeaturesPerPoint else {
                throw GeoError.format("\(op): input shape \(shapeString(s)) is too large")
            }
            offsets.append(offsets[offsets.count - 1] + c)
        }
        let total = offsets[offsets.count - 1]
        var links: [Link] = [], fills: [[Int32]] = []
        for (o, shape) in outputShapes.enumerated() {
            guard let c = Tensor.elementCount(shape), c <= maxFeaturesPerPoint, sources[o].count == c else {
                throw GeoError.format("\(op): output \(o + 1) of shape \(shapeString(shape)) has \(sources[o].count) index entries")
            }
            var outs = [[Int32]](repeating: [], count: inputShapes.count)
            var ins = [[Int32]](repeating: [], count: inputShapes.count)
            var f: [Int32] = []
            for (e, s) in sources[o].enumerated() {
                if s < 0 { f.append(Int32(e)); continue }
                guard s < total else { throw GeoError.format("\(op): index \(s) is outside the inputs' \(total) entries") }
                // The input holding global entry s (inputs are few: a linear scan).
                var j = 0
                while offsets[j + 1] <= s { j += 1 }
                outs[j].append(Int32(e)); ins[j].append(Int32(s - offsets[j]))
            }
            for j in inputShapes.indices where !outs[j].isEmpty {
                links.append(Link(input: j, output: o, outIndex: outs[j], inIndex: ins[j]))
            }
            fills.append(f)
        }
        self.op = op
        self.inputShapes = inputShapes; self.outputShapes = outputShapes
        self.fill = fill; self.links = links; self.fills = fills
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let n = layout.points
        let full = layout.order == .value ? n : layout.rows
        for (j, x) in inputs.enumerated() where (x.rows != n && x.rows != full) || x.cols != inputFeatures(j) {
            throw GeoError.dimensionMismatch("\(op): input \(j + 1) is a \(x.rows)x\(x.cols) state, expected \(full)x\(inputFeatures(j))")
        }
        // Derivative rows when any input carries them (the others contribute zeros).
        let outRows = inputs.contains { $0.rows == full } ? full : n
        var outputs = outputShapes.indices.map { Matrix(rows: outRows, cols: outputFeatures($0)) }
        for link in links {
            let x = inputs[link.input], fin = x.cols, f = outputs[link.output].cols
            let rows = min(x.rows, outRows), count = link.outIndex.count
            x.scalars.withUnsafeBufferPointer { px in
                outputs[link.output].scalars.withUnsafeMutableBufferPointer { py in
                    link.outIndex.withUnsafeBufferPointer { po in
                        link.inIndex.withUnsafeBufferPointer { pi in
                            Parallel.forRanges(rows, costPerItem: count) { range in
                                for r in range {
                                    let xr = r * fin, yr = r * f
                                    for q in 0..<count { py[yr + Int(po[q])] = px[xr + Int(pi[q])] }
                                }
                            }
                        }
                    }
                }
            }
        }
        if fill != 0 {
            for (o, entries) in fills.enumerated() where !entries.isEmpty {
                let f = outputs[o].cols
                for r in 0..<n { for e in entries { outputs[o].scalars[r * f + Int(e)] = fill } }
            }
        }
        return outputs
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let rows = layout.rows
        var result = inputShapes.indices.map { Matrix(rows: rows, cols: inputFeatures($0)) }
        for link in links {
            let c = cotangents[link.output]
            // An output that carries no derivative has no cotangent.
            guard c.rows > 0 else { continue }
            guard c.rows == rows, c.cols == outputFeatures(link.output) else {
                throw GeoError.dimensionMismatch("\(op): a \(c.rows)x\(c.cols) cotangent for output \(link.output + 1), expected \(rows)x\(outputFeatures(link.output))")
            }
            let fin = inputFeatures(link.input), f = c.cols, count = link.outIndex.count
            c.scalars.withUnsafeBufferPointer { pc in
                result[link.input].scalars.withUnsafeMutableBufferPointer { px in
                    link.outIndex.withUnsafeBufferPointer { po in
                        link.inIndex.withUnsafeBufferPointer { pi in
                            Parallel.forRanges(rows, costPerItem: count) { range in
                                for r in range {
                                    let xr = r * fin, cr = r * f
                                    for q in 0..<count { px[xr + Int(pi[q])] += pc[cr + Int(po[q])] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
