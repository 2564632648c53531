/// y = a * b, the elementwise product of two computed values broadcast to one shape (NumPy
/// rules): ONNX's Mul of two values (x * sigmoid(x), attention scales, normalisations). Bilinear:
///     forward:  t_y = t_a b + a t_b,   w_y = w_a b + a w_b + u_a v_b + v_a u_b,
///     reverse:  c_a = c b,  c_b = c a (summed over broadcast repeats), and for the tangents of
///               the cotangents c'_a = c' b + c t_b,  c'_b = c' a + c t_a.
/// An operand that carries no derivative (a mask) is a constant of its point.
final class ProductOp: Op {
    let op: String
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    let maps: [[Int]?]

    init(_ op: String = "Mul", _ a: [Int], _ b: [Int]) throws {
        guard let out = try Broadcast.shape([a, b], copies: 2) else {
            throw GeoError.format("shapes \(shapeString(a)) and \(shapeString(b)) do not broadcast")
        }
        self.op = op; inputShapes = [a, b]; outputShapes = [out]
        maps = [Broadcast.map(from: a, to: out), Broadcast.map(from: b, to: out)]
    }

    /// Entry i of operand j's row starting at `base`.
    @inline(__always) private func at(_ p: UnsafePointer<Double>, _ base: Int, _ j: Int, _ i: Int) -> Double {
        if let m = maps[j] { return p[base + m[i]] }
        return p[base + i]
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let a = inputs[0], b = inputs[1], f = outputFeatures(0), fa = inputFeatures(0), fb = inputFeatures(1)
        let n = layout.points, k = layout.tangentsPerPoint, block = layout.blockRows, rows = layout.rows
        let da = a.rows == rows && layout.order != .value, db = b.rows == rows && layout.order != .value
        var y = Matrix(rows: rows, cols: f)
        try withBase(a.scalars.isEmpty ? [0] : a.scalars) { pa in
        try withBase(b.scalars.isEmpty ? [0] : b.scalars) { pb in
            y.scalars.withUnsafeMutableBufferPointer { py in
                Parallel.forRanges(n, costPerItem: f * (1 + 4 * max(1, k))) { range in
                    for p in range {
                        let av = p * fa, bv = p * fb
                        for i in 0..<f { py[p * f + i] = at(pa, av, 0, i) * at(pb, bv, 1, i) }
                        guard layout.order != .value else { continue }
                        for t in 0..<k {
                            // Block 0 (t or u), and for second order v and w.
                            for blk in 0..<layout.blocks {
                                let row = n + blk * block + p * k + t
                                let ar = row * fa, br = row * fb, yr = row * f
                                for i in 0..<f {
                                    var s = 0.0
                                    if da { s += at(pa, ar, 0, i) * at(pb, bv, 1, i) }
                                    if db { s += at(pa, av, 0, i) * at(pb, br, 1, i) }
                                    py[yr + i] = s
                                }
                            }
                            if layout.order == .second && da && db {
                                // w += u_a v_b + v_a u_b
                                let u = n + p * k + t, v = u + block, w = v + block
                                for i in 0..<f {
                                    py[w * f + i] += at(pa, u * fa, 0, i) * at(pb, v * fb, 1, i)
                                        + at(pa, v * fa, 0, i) * at(pb, u * fb, 1, i)
                                }
                            }
                        }
                    }
                }
            }
        } }
        return [y]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let a = inputs[0], b = inputs[1], c = cotangents[0], f = outputFeatures(0)
        let fa = inputFeatures(0), fb = inputFeatures(1)
        let n = layout.points, kc = layout.cotangentsPerPoint, k = layout.tangentsPerPoint, rows = layout.rows
        let savedRows = layout.saved.rows
        let ta = k > 0 && a.rows == savedRows, tb = k > 0 && b.rows == savedRows
        var ca = Matrix(rows: rows, cols: fa), cb = Matrix(rows: rows, cols: fb)
        try withBase(a.scalars.isEmpty ? [0] : a.scalars) { pa in
        try withBase(b.scalars.isEmpty ? [0] : b.scalars) { pb in
        try withBase(c.scalars.isEmpty ? [0] : c.scalars) { pc in
            ca.scalars.withUnsafeMutableBufferPointer { pca in
            cb.scalars.withUnsafeMutableBufferPointer { pcb in
                // Points own disjoint rows of both cotangents: parallel over points.
                Parallel.forRanges(n, costPerItem: f * 4 * (kc + 2 * k)) { range in
                    for p in range {
                        let av = p * fa, bv = p * fb
                        for j in 0..<kc {
                            let r = p * kc + j
                            for i in 0..<f {
                                let ci = pc[r * f + i]
                                let ia = maps[0]?[i] ?? i, ib = maps[1]?[i] ?? i
                                pca[r * fa + ia] += ci * pb[bv + ib]
                                pcb[r * fb + ib] += ci * pa[av + ia]
                            }
                        }
                        for t in 0..<k {
                            let r = n * kc + p * k + t, s = n + p * k + t
                            for i in 0..<f {
                                let ci = pc[r * f + i], c0 = pc[p * f + i]
                                let ia = maps[0]?[i] ?? i, ib = maps[1]?[i] ?? i
                                pca[r * fa + ia] += ci * pb[bv + ib] + (tb ? c0 * pb[s * fb + ib] : 0)
                                pcb[r * fb + ib] += ci * pa[av + ia] + (ta ? c0 * pa[s * fa + ia] : 0)
                            }
                        }
                    }
                }
            } }
        } } }
        return [ca, cb]
    }
}
