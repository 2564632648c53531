/// Standardisation over contiguous blocks of S entries of a point, then a constant affine map
/// per entry: ONNX's LayerNormalization (the trailing axes from `axis`), InstanceNormalization
/// (each channel of [N, C, D...]) and GroupNormalization (each group of channels). Per block,
///     mu = mean(x),  var = mean((x - mu)^2),  r = (var + eps)^(-1/2),  h = (x - mu) r,
///     y = h a + b   (a, b: scale and bias broadcast to x, constants),
/// and optionally the statistics mu and r per block as outputs 2 and 3 (LayerNormalization's Mean
/// and InvStdDev).
///
/// Derivatives per block (means over the block, S entries; t_d = t - mean(t), the centred
/// tangent; the affine part multiplies every derivative row of y by a):
/// - first order:  t_h = r (t_d - h beta),  beta = mean(h t_d);   t_mu = mean(t),  t_r = -r^2 beta;
/// - second order: w_h = r (w_d - h omega) + r^2 (h (3 alpha beta - gamma) - beta u_d - alpha v_d),
///   alpha = mean(h u_d), beta = mean(h v_d), gamma = mean(u_d v_d), omega = mean(h w_d);
///   w_mu = mean(w),  w_r = -r^2 omega + r^3 (3 alpha beta - gamma);
/// - reverse, with g = a c_y and P q = q - mean(q) (J_h = r (I - h h^T / S) P):
///   c_x = P[r (g - h mean(g h)) - c_r r^2 h / S] + c_mu / S;
/// - tangents of the cotangents (one cotangent c per point, tangents t of x): the same map of c'
///   plus P[r^2 (C1 (3 beta_t h - t_d) - beta_t g - C2 h) + c_r r^3 (3 beta_t h - t_d) / S], with
///   beta_t = mean(h t_d), C1 = mean(g h), C2 = mean(g t_d) (g, c_r from c).
final class NormalizationOp: Op {
    let op: String
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// S, the entries of one block (the blocks tile a point's features in order).
    let blockSize: Int
    let epsilon: Double
    /// a and b expanded to the input's shape (nil: 1 and 0).
    let scale: [Double]?, shift: [Double]?

    /// Blocks per point.
    var blocks: Int { inputFeatures(0) / blockSize }
    /// Whether outputs 2 and 3 (mu and r per block) are produced.
    var statistics: Bool { outputShapes.count == 3 }

    /// Normalises x of `inputShape` over consecutive blocks of `blockSize` entries; `scale` and
    /// `shift` must broadcast to `inputShape` (unidirectionally). With `statisticsShape` (G
    /// entries) the op also outputs mu and r.
    init(_ op: String, inputShape: [Int], blockSize: Int, epsilon: Double, scale: Tensor? = nil, shift: Tensor? = nil,
         statisticsShape: [Int]? = nil) throws {
        guard let f = Tensor.elementCount(inputShape), blockSize > 0, f % blockSize == 0 else {
            throw GeoError.format("\(op): cannot cut \(shapeString(inputShape)) into blocks of \(blockSize) entries")
        }
        guard epsilon.isFinite else { throw GeoError.format("\(op): epsilon must be finite, got \(formatNumber(epsilon))") }
        for (t, what) in [(scale, "scale"), (shift, "bias")] {
            guard let t = t else { continue }
            guard try Broadcast.shape([inputShape, t.shape]) == inputShape else {
                throw GeoError.format("\(op): \(what) of shape \(shapeString(t.shape)) does not broadcast to the input's shape \(shapeString(inputShape))")
            }
        }
        if let s = statisticsShape, Tensor.elementCount(s) != f / blockSize {
            throw GeoError.format("\(op): statistics of shape \(shapeString(s)) for \(f / blockSize) blocks")
        }
        try MemoryBudget.doubles(2, f, for: "\(op) of shape \(shapeString(inputShape))")
        self.op = op
        inputShapes = [inputShape]
        outputShapes = [inputShape] + (statisticsShape.map { [$0, $0] } ?? [])
        self.blockSize = blockSize
        self.epsilon = epsilon
        self.scale = scale.map { Broadcast.expand($0.scalars, from: $0.shape, to: inputShape) }
        self.shift = shift.map { Broadcast.expand($0.scalars, from: $0.shape, to: inputShape) }
    }

    /// h (n x f) and r (n x G) of the n value rows of x, and mu (n x G) when `mean` is given.
    private func standardize(_ x: UnsafePointer<Double>, points n: Int, h: UnsafeMutablePointer<Double>,
                             r: UnsafeMutablePointer<Double>, mean: UnsafeMutablePointer<Double>?) {
        let f = inputFeatures(0), s = blockSize, g = f / s, eps = epsilon, inv = 1 / Double(s)
        Parallel.forRanges(n, costPerItem: 4 * f) { range in
            for p in range {
                for b in 0..<g {
                    let o = p * f + b * s
                    var sum = 0.0
                    for i in 0..<s { sum += x[o + i] }
                    let mu = sum * inv
                    var v = 0.0
                    for i in 0..<s { let d = x[o + i] - mu; v += d * d }
                    let rb = 1 / (v * inv + eps).squareRoot()
                    for i in 0..<s { h[o + i] = (x[o + i] - mu) * rb }
                    r[p * g + b] = rb
                    mean?[p * g + b] = mu
                }
            }
        }
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let x = inputs[0], f = inputFeatures(0), s = blockSize, g = f / s, n = layout.points
        let k = layout.tangentsPerPoint, blockRows = layout.blockRows
        // A value without derivatives (values only) gives values only.
        let derivatives = layout.order != .value && x.rows == layout.rows
        let rows = derivatives ? layout.rows : n
        guard x.cols == f, x.rows >= rows else {
            throw GeoError.dimensionMismatch("\(op): a \(x.rows)x\(x.cols) state for \(rows) rows of \(f) features")
        }
        if rows == 0 || f == 0 { return outputShapes.map { Matrix(rows: rows, cols: $0.reduce(1, *)) } }
        let stats = statistics, inv = 1 / Double(s)
        var y = Matrix(rows: rows, cols: f)
        var means = [Double](repeating: 0, count: stats ? rows * g : 1)
        var invStd = [Double](repeating: 0, count: stats ? rows * g : 1)
        var hs = [Double](repeating: 0, count: n * f), rs = [Double](repeating: 0, count: n * g)
        let ones = [Double](repeating: 1, count: scale == nil ? f : 0)
        let a = scale ?? ones
        try withBase(x.scalars) { px in
        try withBase(a) { pa in
            y.scalars.withUnsafeMutableBufferPointer { pyb in
            means.withUnsafeMutableBufferPointer { pmb in
            invStd.withUnsafeMutableBufferPointer { prb in
            hs.withUnsafeMutableBufferPointer { phb in
            rs.withUnsafeMutableBufferPointer { prsb in
                guard let py = pyb.baseAddress, let pm = pmb.baseAddress, let pr = prb.baseAddress,
                      let ph = phb.baseAddress, let prs = prsb.baseAddress else { return }
                standardize(px, points: n, h: ph, r: prs, mean: stats ? pm : nil)
                // Values: y = h a + b, and the statistics.
                for p in 0..<n {
                    for e in 0..<f { py[p * f + e] = ph[p * f + e] * pa[e] + (shift?[e] ?? 0) }
                    if stats { for b in 0..<g { pr[p * g + b] = prs[p * g + b] } }
                }
                guard derivatives else { return }
                // First-order rows: the tangent block, or u and v of second order.
                let linearBlocks = layout.order == .first ? 1 : 2
                Parallel.forRanges(linearBlocks * blockRows, costPerItem: 5 * f) { range in
                    for q in range {
                        let row = n + q, p = (q % blockRows) / k
                        for b in 0..<g {
                            let o = b * s, t = px + row * f + o, hb = ph + p * f + o, rb = prs[p * g + b]
                            var m = 0.0
                            for i in 0..<s { m += t[i] }
                            m *= inv
                            var beta = 0.0
                            for i in 0..<s { beta += hb[i] * (t[i] - m) }
                            beta *= inv
                            let yb = py + row * f + o
                            for i in 0..<s { yb[i] = pa[o + i] * rb * ((t[i] - m) - hb[i] * beta) }
                            if stats { pm[row * g + b] = m; pr[row * g + b] = -rb * rb * beta }
                        }
                    }
                }
                guard layout.order == .second else { return }
                // w = J w + D2[u, v].
                Parallel.forRanges(blockRows, costPerItem: 12 * f) { range in
                    for q in range {
                        let p = q / k, ur = n + q, vr = ur + blockRows, wr = vr + blockRows
                        for b in 0..<g {
                            let o = b * s, hb = ph + p * f + o, rb = prs[p * g + b]
                            let u = px + ur * f + o, v = px + vr * f + o, w = px + wr * f + o
                            var mu = 0.0, mv = 0.0, mw = 0.0
                            for i in 0..<s { mu += u[i]; mv += v[i]; mw += w[i] }
                            mu *= inv; mv *= inv; mw *= inv
                            var alpha = 0.0, beta = 0.0, gamma = 0.0, omega = 0.0
                            for i in 0..<s {
                                let ud = u[i] - mu, vd = v[i] - mv
                                alpha += hb[i] * ud; beta += hb[i] * vd; gamma += ud * vd; omega += hb[i] * (w[i] - mw)
                            }
                            alpha *= inv; beta *= inv; gamma *= inv; omega *= inv
                            let r2 = rb * rb, curvature = 3 * alpha * beta - gamma
                            let yb = py + wr * f + o
                            for i in 0..<s {
                                let wh = rb * ((w[i] - mw) - hb[i] * omega)
                                    + r2 * (hb[i] * curvature - beta * (u[i] - mu) - alpha * (v[i] - mv))
                                yb[i] = pa[o + i] * wh
                            }
                            if stats { pm[wr * g + b] = mw; pr[wr * g + b] = -r2 * omega + r2 * rb * curvature }
                        }
                    }
                }
            } } } } }
        } }
        guard stats else { return [y] }
        return [y, Matrix(rows: rows, cols: g, unchecked: means), Matrix(rows: rows, cols: g, unchecked: invStd)]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let x = inputs[0], f = inputFeatures(0), s = blockSize, g = f / s, n = layout.points
        let kc = layout.cotangentsPerPoint, k = layout.tangentsPerPoint, rows = layout.rows, cotRows = layout.cotangentRows
        let cy = cotangents[0]
        guard cy.rows == rows, cy.cols == f, x.rows >= n, x.cols == f else {
            throw GeoError.dimensionMismatch("\(op): cotangents \(cy.rows)x\(cy.cols) for \(rows) rows of \(f) features")
        }
        var cx = Matrix(rows: rows, cols: f)
        if rows == 0 || f == 0 || n == 0 { return [cx] }
        // Cotangents of the statistics (absent or empty: zero).
        let zeros = [Double](repeating: 0, count: rows * g)
        let cm = statistics && cotangents.count == 3 && cotangents[1].rows == rows ? cotangents[1].scalars : zeros
        let cr = statistics && cotangents.count == 3 && cotangents[2].rows == rows ? cotangents[2].scalars : zeros
        let tangents = k > 0 && x.rows == layout.saved.rows
        let inv = 1 / Double(s)
        var hs = [Double](repeating: 0, count: n * f), rs = [Double](repeating: 0, count: n * g)
        let ones = [Double](repeating: 1, count: scale == nil ? f : 0)
        let a = scale ?? ones
        try withBase(x.scalars) { px in
        try withBase(a) { pa in
        try withBase(cy.scalars) { pc in
        try withBase(cm) { pcm in
        try withBase(cr) { pcr in
            cx.scalars.withUnsafeMutableBufferPointer { pxb in
            hs.withUnsafeMutableBufferPointer { phb in
            rs.withUnsafeMutableBufferPointer { prsb in
                guard let out = pxb.baseAddress, let ph = phb.baseAddress, let prs = prsb.baseAddress else { return }
                standardize(px, points: n, h: ph, r: prs, mean: nil)
                Parallel.forRanges(rows, costPerItem: 10 * f) { range in
                    for row in range {
                        let tangentRow = row >= cotRows
                        let p = tangentRow ? (row - cotRows) / max(1, k) : row / max(1, kc)
                        for b in 0..<g {
                            let o = b * s, hb = ph + p * f + o, rb = prs[p * g + b]
                            let c = pc + row * f + o, ob = out + row * f + o
                            // J^T of this row's cotangents.
                            var c1 = 0.0
                            for i in 0..<s { c1 += pa[o + i] * c[i] * hb[i] }
                            c1 *= inv
                            let crb = pcr[row * g + b] * rb * rb * inv
                            var mq = 0.0
                            for i in 0..<s {
                                let q = rb * (pa[o + i] * c[i] - hb[i] * c1) - crb * hb[i]
                                ob[i] = q; mq += q
                            }
                            let shiftBy = pcm[row * g + b] * inv - mq * inv
                            for i in 0..<s { ob[i] += shiftBy }
                            guard tangentRow && tangents else { continue }
                            // The second-order term from the point's cotangent c0 and the tangent t.
                            let t = px + (n + row - cotRows) * f + o, c0 = pc + p * kc * f + o
                            var mt = 0.0
                            for i in 0..<s { mt += t[i] }
                            mt *= inv
                            var betaT = 0.0, g1 = 0.0, g2 = 0.0
                            for i in 0..<s {
                                let td = t[i] - mt, gi = pa[o + i] * c0[i]
                                betaT += hb[i] * td; g1 += gi * hb[i]; g2 += gi * td
                            }
                            betaT *= inv; g1 *= inv; g2 *= inv
                            let r2 = rb * rb, cr0 = pcr[p * kc * g + b] * r2 * rb * inv
                            var m2 = 0.0
                            for i in 0..<s {
                                let td = t[i] - mt, gi = pa[o + i] * c0[i], bend = 3 * betaT * hb[i] - td
                                let q = r2 * (g1 * bend - betaT * gi - g2 * hb[i]) + cr0 * bend
                                ob[i] += q; m2 += q
                            }
                            m2 *= inv
                            for i in 0..<s { ob[i] -= m2 }
                        }
                    }
                }
            } } }
        } } } } }
        return [cx]
    }
}
