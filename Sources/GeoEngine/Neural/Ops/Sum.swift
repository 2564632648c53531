/// y = sum_j s_j x_j over values broadcast to one shape (NumPy rules), s_j = +1 or -1: ONNX's
/// Add and Sub of two computed values, and Sum. Linear in every input: each derivative row is
/// the signed sum of the inputs' rows (an input that carries no derivative adds to the values
/// only); reverse mode gives each input s_j c, summed over the entries broadcasting repeated.
final class SumOp: Op {
    let op: String
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    let signs: [Double]
    /// For each input, for each output entry, the input's entry (nil: the identity).
    let maps: [[Int]?]

    init(_ op: String, inputShapes: [[Int]], signs: [Double]) throws {
        guard inputShapes.count == signs.count, !signs.isEmpty else { throw GeoError.format("\(op) needs at least one input") }
        // One index map per operand.
        guard let out = try Broadcast.shape(inputShapes, copies: inputShapes.count) else {
            throw GeoError.format("shapes \(shapesString(inputShapes)) do not broadcast")
        }
        self.op = op; self.inputShapes = inputShapes; outputShapes = [out]; self.signs = signs
        maps = inputShapes.map { Broadcast.map(from: $0, to: out) }
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let f = outputFeatures(0), rows = layout.rows, n = layout.points
        var y = Matrix(rows: rows, cols: f)
        for (j, x) in inputs.enumerated() {
            // A value without derivatives has its n value rows only.
            let xr = x.rows == rows ? rows : min(n, x.rows)
            let fin = inputFeatures(j), s = signs[j], m = maps[j]
            x.scalars.withUnsafeBufferPointer { px in
                y.scalars.withUnsafeMutableBufferPointer { py in
                    Parallel.forRanges(xr, costPerItem: f) { range in
                        for r in range {
                            let a = r * fin, b = r * f
                            if let m = m { for i in 0..<f { py[b + i] += s * px[a + m[i]] } }
                            else { for i in 0..<f { py[b + i] += s * px[a + i] } }
                        }
                    }
                }
            }
        }
        return [y]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let c = cotangents[0], f = outputFeatures(0), rows = c.rows
        return inputShapes.indices.map { j in
            let fin = inputFeatures(j), s = signs[j]
            var x = Matrix(rows: rows, cols: fin)
            c.scalars.withUnsafeBufferPointer { pc in
                x.scalars.withUnsafeMutableBufferPointer { px in
                    Parallel.forRanges(rows, costPerItem: f) { range in
                        for r in range {
                            let a = r * fin, b = r * f
                            if let m = maps[j] { for i in 0..<f { px[a + m[i]] += s * pc[b + i] } }
                            else { for i in 0..<f { px[a + i] = s * pc[b + i] } }
                        }
                    }
                }
            }
            return x
        }
    }
}
