/// y = x * a + b with constant a and b, broadcast (NumPy rules) against x and each other: ONNX's
/// Add, Sub, Mul and Div when one operand is a constant, and Neg. Linear in x: derivative rows
/// are scaled by a (b only enters the values); reverse mode sums a * c over the entries of x that
/// broadcasting repeated.
final class BroadcastAffine: Op {
    let op: String
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// a and b expanded to the output shape.
    let scale: [Double], shift: [Double]
    /// For each output entry, the entry of x (nil: the identity).
    let xMap: [Int]?

    /// y = x * a + b for x of `inputShape`; a and b (nil: 1 and 0) must broadcast with it.
    init(_ op: String, inputShape: [Int], scale a: Tensor?, shift b: Tensor?) throws {
        let shapes = [inputShape] + [a?.shape, b?.shape].compactMap { $0 }
        // a, b and the index map of x.
        guard let out = try Broadcast.shape(shapes, copies: 3) else {
            throw GeoError.format("shapes \(shapesString(shapes)) do not broadcast")
        }
        let count = Tensor.elementCount(out) ?? 0
        self.op = op
        inputShapes = [inputShape]; outputShapes = [out]
        scale = a.map { Broadcast.expand($0.scalars, from: $0.shape, to: out) } ?? [Double](repeating: 1, count: count)
        shift = b.map { Broadcast.expand($0.scalars, from: $0.shape, to: out) } ?? [Double](repeating: 0, count: count)
        xMap = Broadcast.map(from: inputShape, to: out)
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let x = inputs[0], f = outputFeatures(0), fin = inputFeatures(0), rows = x.rows, n = layout.points
        var y = Matrix(rows: rows, cols: f)
        x.scalars.withUnsafeBufferPointer { px in
            y.scalars.withUnsafeMutableBufferPointer { py in
                scale.withUnsafeBufferPointer { pa in
                    shift.withUnsafeBufferPointer { pb in
                        Parallel.forRanges(rows, costPerItem: 2 * f) { range in
                            for r in range {
                                let xr = r * fin, yr = r * f, withShift = r < n
                                if let m = xMap {
                                    for i in 0..<f { py[yr + i] = px[xr + m[i]] * pa[i] + (withShift ? pb[i] : 0) }
                                } else {
                                    for i in 0..<f { py[yr + i] = px[xr + i] * pa[i] + (withShift ? pb[i] : 0) }
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
        let c = cotangents[0], f = outputFeatures(0), fin = inputFeatures(0), rows = c.rows
        var x = Matrix(rows: rows, cols: fin)
        c.scalars.withUnsafeBufferPointer { pc in
            x.scalars.withUnsafeMutableBufferPointer { px in
                scale.withUnsafeBufferPointer { pa in
                    Parallel.forRanges(rows, costPerItem: 2 * f) { range in
                        for r in range {
                            let cr = r * f, xr = r * fin
                            if let m = xMap {
                                for i in 0..<f { px[xr + m[i]] += pa[i] * pc[cr + i] }
                            } else {
                                for i in 0..<f { px[xr + i] = pa[i] * pc[cr + i] }
                            }
                        }
                    }
                }
            }
        }
        return [x]
    }
}
