/// y = x for x > 0, s x otherwise, with a slope s per entry broadcast to x (ONNX's PRelu, whose
/// slope broadcasts unidirectionally to X: torch writes [C, 1, 1] or [1, C, 1, 1]). The slope is
/// a constant of the op, or a second input (a computed value, with or without derivatives).
/// With g = 1 for x > 0 and s otherwise (the one-sided derivative at the kink, as torch takes):
/// - constant slope (piecewise linear): t_y = g t,  w_y = g w (the second derivative is 0 away
///   from the kink), reverse c_x = g c and c'_x = g c';
/// - computed slope (bilinear where x <= 0): t_y = g t_x + [x <= 0] x t_s,
///   w_y = g w_x + [x <= 0] (x w_s + u_s v_x + v_s u_x); reverse c_x = g c, c_s = [x <= 0] x c
///   (summed over the entries broadcasting repeated), and for the tangents of the cotangents
///   c'_x = g c' + [x <= 0] t_s c,  c'_s = [x <= 0] (x c' + t_x c).
final class PReluOp: Op {
    var op: String { "PRelu" }
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// The constant slope expanded to x's shape (nil: the slope is input 2).
    let slope: [Double]?
    /// For a computed slope: for each entry of x, the entry of s (nil: the identity).
    let slopeMap: [Int]?

    /// PRelu with a constant slope that broadcasts to `inputShape`.
    init(inputShape: [Int], slope: Tensor) throws {
        guard try Broadcast.shape([inputShape, slope.shape]) == inputShape else {
            throw GeoError.format("PRelu: the slope of shape \(shapeString(slope.shape)) does not broadcast to the input's shape \(shapeString(inputShape))")
        }
        guard let f = Tensor.elementCount(inputShape) else { throw GeoError.format("PRelu: shape \(shapeString(inputShape)) has too many entries") }
        try MemoryBudget.doubles(f, for: "PRelu of shape \(shapeString(inputShape))")
        inputShapes = [inputShape]; outputShapes = [inputShape]
        self.slope = Broadcast.expand(slope.scalars, from: slope.shape, to: inputShape)
        slopeMap = nil
    }

    /// PRelu with a computed slope of `slopeShape` (input 2) that broadcasts to `inputShape`.
    init(inputShape: [Int], slopeShape: [Int]) throws {
        guard try Broadcast.shape([inputShape, slopeShape]) == inputShape else {
            throw GeoError.format("PRelu: the slope of shape \(shapeString(slopeShape)) does not broadcast to the input's shape \(shapeString(inputShape))")
        }
        guard let f = Tensor.elementCount(inputShape) else { throw GeoError.format("PRelu: shape \(shapeString(inputShape)) has too many entries") }
        try MemoryBudget.doubles(f, for: "PRelu of shape \(shapeString(inputShape))")
        inputShapes = [inputShape, slopeShape]; outputShapes = [inputShape]
        slope = nil
        slopeMap = Broadcast.map(from: slopeShape, to: inputShape)
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let x = inputs[0], f = inputFeatures(0), n = layout.points, k = layout.tangentsPerPoint, blockRows = layout.blockRows
        let s = slope == nil ? inputs[1] : Matrix(rows: 0, cols: 0)
        let fs = slope == nil ? inputFeatures(1) : 0
        let dx = layout.order != .value && x.rows == layout.rows
        let ds = slope == nil && layout.order != .value && s.rows == layout.rows
        let rows = dx || ds ? layout.rows : n
        guard x.cols == f, x.rows >= n, slope != nil || (s.cols == fs && s.rows >= n) else {
            throw GeoError.dimensionMismatch("PRelu: a \(x.rows)x\(x.cols) state for \(n) points of \(f) features")
        }
        var y = Matrix(rows: rows, cols: f)
        if rows == 0 || f == 0 { return [y] }
        let constant = slope ?? [], map = slopeMap
        try withBase(x.scalars) { px in
        try withBase(s.scalars.isEmpty ? constant : s.scalars) { ps in
            y.scalars.withUnsafeMutableBufferPointer { pyb in
                guard let py = pyb.baseAddress else { return }
                /// The slope of entry e of point p.
                @inline(__always) func sl(_ p: Int, _ e: Int) -> Double {
                    if fs == 0 { return ps[e] }
                    return ps[p * fs + (map?[e] ?? e)]
                }
                Parallel.forRanges(n, costPerItem: 2 * f) { range in
                    for p in range {
                        let xv = px + p * f, yv = py + p * f
                        for e in 0..<f { yv[e] = xv[e] > 0 ? xv[e] : sl(p, e) * xv[e] }
                    }
                }
                guard dx || ds else { return }
                // Derivative rows (t, or u, v and w), each from its point's x and slope.
                Parallel.forRanges(layout.blocks * blockRows, costPerItem: 3 * f) { range in
                    for q in range {
                        let row = n + q, p = (q % blockRows) / k, xv = px + p * f, yr = py + row * f
                        for e in 0..<f {
                            if xv[e] > 0 {
                                yr[e] = dx ? px[row * f + e] : 0
                            } else {
                                var v = dx ? sl(p, e) * px[row * f + e] : 0
                                if ds { v += xv[e] * ps[row * fs + (map?[e] ?? e)] }
                                yr[e] = v
                            }
                        }
                    }
                }
                guard layout.order == .second && dx && ds else { return }
                // w += u_s v_x + v_s u_x where x <= 0.
                Parallel.forRanges(blockRows, costPerItem: 3 * f) { range in
                    for q in range {
                        let p = q / k, xv = px + p * f, u = n + q, v = u + blockRows, w = v + blockRows
                        for e in 0..<f where !(xv[e] > 0) {
                            let i = map?[e] ?? e
                            py[w * f + e] += ps[u * fs + i] * px[v * f + e] + ps[v * fs + i] * px[u * f + e]
                        }
                    }
                }
            }
        } }
        return [y]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let x = inputs[0], c = cotangents[0], f = inputFeatures(0), n = layout.points
        let kc = layout.cotangentsPerPoint, k = layout.tangentsPerPoint, rows = layout.rows, cotRows = layout.cotangentRows
        let s = slope == nil ? inputs[1] : Matrix(rows: 0, cols: 0)
        let fs = slope == nil ? inputFeatures(1) : 0
        guard c.rows == rows, c.cols == f, x.rows >= n, x.cols == f, slope != nil || (s.cols == fs && s.rows >= n) else {
            throw GeoError.dimensionMismatch("PRelu: cotangents \(c.rows)x\(c.cols) for \(rows) rows of \(f) features")
        }
        var cx = Matrix(rows: rows, cols: f), cs = Matrix(rows: slope == nil ? rows : 0, cols: fs)
        if rows == 0 || f == 0 || n == 0 { return slope == nil ? [cx, cs] : [cx] }
        let tx = k > 0 && x.rows == layout.saved.rows, ts = slope == nil && k > 0 && s.rows == layout.saved.rows
        let constant = slope ?? [], map = slopeMap
        try withBase(x.scalars) { px in
        try withBase(s.scalars.isEmpty ? constant : s.scalars) { ps in
        try withBase(c.scalars) { pc in
            cx.scalars.withUnsafeMutableBufferPointer { pxb in
            cs.scalars.withUnsafeMutableBufferPointer { psb in
                guard let out = pxb.baseAddress else { return }
                // (An empty array's buffer may still have a base address: none for a constant slope.)
                let outS = fs > 0 ? psb.baseAddress : nil
                Parallel.forRanges(rows, costPerItem: 4 * f) { range in
                    for row in range {
                        let tangentRow = row >= cotRows
                        let p = tangentRow ? (row - cotRows) / max(1, k) : row / max(1, kc)
                        let xv = px + p * f, cr = pc + row * f, o = out + row * f
                        for e in 0..<f {
                            if xv[e] > 0 { o[e] = cr[e]; continue }
                            let i = map?[e] ?? e
                            o[e] = (fs == 0 ? ps[e] : ps[p * fs + i]) * cr[e]
                            if let os = outS { os[row * fs + i] += xv[e] * cr[e] }
                        }
                        guard tangentRow, fs > 0 else { continue }
                        let c0 = pc + p * kc * f, t = n + row - cotRows
                        for e in 0..<f where !(xv[e] > 0) {
                            let i = map?[e] ?? e
                            if ts { o[e] += ps[t * fs + i] * c0[e] }
                            if tx, let os = outS { os[row * fs + i] += px[t * f + e] * c0[e] }
                        }
                    }
                }
            } }
        } } }
        return slope == nil ? [cx, cs] : [cx]
    }
}
