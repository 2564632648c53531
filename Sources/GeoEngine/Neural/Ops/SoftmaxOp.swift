import Foundation

/// Softmax and log-softmax along lanes of a point: the entries o * L * inner + l * inner + i for
/// l in 0..<L are one lane (ONNX's Softmax and LogSoftmax: from opset 13 the lane is one axis,
/// before 13 the input is coerced to 2-D at the axis, so a lane is the whole trailing block).
/// Per lane, with s = softmax(x) = e^(x - max) / sum e^(x - max) (the shift by the maximum is
/// for range only: both functions are invariant to it, so it carries no derivative), and sums
/// over the lane, <s, t> = sum s t:
/// - Softmax, y = s:  t_y = s (t - <s, t>);
///   w_y = s (w - <s, w>) + s ((u - <s, u>)(v - <s, v>) - <s, u v> + <s, u><s, v>);
///   reverse (J = diag(s) - s s^T, symmetric): c_x = s (c - <s, c>);
///   tangents of cotangents: c'_x = s (c' - <s, c'>) + s ((c - <s, c>)(t - <s, t>) - <c s, t - <s, t>>).
/// - LogSoftmax, y = x - log sum e^x:  t_y = t - <s, t>;  w_y = w - <s, w> - <s, u v> + <s, u><s, v>;
///   reverse: c_x = c - s sum(c);  tangents of cotangents: c'_x = c' - s sum(c') - sum(c) s (t - <s, t>).
final class SoftmaxOp: Op {
    let op: String
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// Lanes: `outer` * `inner` per point, each of `length` entries `inner` apart.
    let outer: Int, length: Int, inner: Int
    /// LogSoftmax rather than Softmax.
    let logarithmic: Bool

    init(_ op: String, shape: [Int], outer: Int, length: Int, inner: Int, logarithmic: Bool) throws {
        guard outer > 0, length > 0, inner > 0, MemoryBudget.product([outer, length, inner]) == Tensor.elementCount(shape) else {
            throw GeoError.format("\(op): lanes \(outer) x \(length) x \(inner) do not tile shape \(shapeString(shape))")
        }
        self.op = op
        inputShapes = [shape]; outputShapes = [shape]
        self.outer = outer; self.length = length; self.inner = inner
        self.logarithmic = logarithmic
    }

    /// s = softmax of the n value rows of x (n x f), and y (softmax or log-softmax) when given.
    private func probabilities(_ x: UnsafePointer<Double>, points n: Int, s: UnsafeMutablePointer<Double>,
                               y: UnsafeMutablePointer<Double>?) {
        let f = inputFeatures(0), len = length, inn = inner, out = outer, log = logarithmic
        Parallel.forRanges(n, costPerItem: 12 * f) { range in
            for p in range {
                for o in 0..<out {
                    for i in 0..<inn {
                        let base = p * f + o * len * inn + i
                        var m = -Double.infinity
                        for l in 0..<len { m = Swift.max(m, x[base + l * inn]) }
                        // All entries -infinity (or +infinity present): no finite shift.
                        if !m.isFinite { m = 0 }
                        var z = 0.0
                        for l in 0..<len { let e = Foundation.exp(x[base + l * inn] - m); s[base + l * inn] = e; z += e }
                        let iz = 1 / z, lz = log ? Foundation.log(z) : 0
                        for l in 0..<len {
                            let q = base + l * inn
                            if let y = y { y[q] = log ? (x[q] - m) - lz : s[q] * iz }
                            s[q] *= iz
                        }
                    }
                }
            }
        }
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let x = inputs[0], f = inputFeatures(0), n = layout.points, k = layout.tangentsPerPoint
        let blockRows = layout.blockRows
        let derivatives = layout.order != .value && x.rows == layout.rows
        let rows = derivatives ? layout.rows : n
        guard x.cols == f, x.rows >= rows else {
            throw GeoError.dimensionMismatch("\(op): a \(x.rows)x\(x.cols) state for \(rows) rows of \(f) features")
        }
        var y = Matrix(rows: rows, cols: f)
        if rows == 0 || f == 0 { return [y] }
        var probs = [Double](repeating: 0, count: n * f)
        let len = length, inn = inner, out = outer, log = logarithmic
        try withBase(x.scalars) { px in
            y.scalars.withUnsafeMutableBufferPointer { pyb in
            probs.withUnsafeMutableBufferPointer { psb in
                guard let py = pyb.baseAddress, let ps = psb.baseAddress else { return }
                probabilities(px, points: n, s: ps, y: py)
                guard derivatives else { return }
                let linearBlocks = layout.order == .first ? 1 : 2
                Parallel.forRanges(linearBlocks * blockRows, costPerItem: 4 * f) { range in
                    for q in range {
                        let row = n + q, p = (q % blockRows) / k
                        for o in 0..<out {
                            for i in 0..<inn {
                                let lane = o * len * inn + i
                                let t = px + row * f + lane, sp = ps + p * f + lane, yp = py + row * f + lane
                                var st = 0.0
                                for l in 0..<len { st += sp[l * inn] * t[l * inn] }
                                if log {
                                    for l in 0..<len { yp[l * inn] = t[l * inn] - st }
                                } else {
                                    for l in 0..<len { yp[l * inn] = sp[l * inn] * (t[l * inn] - st) }
                                }
                            }
                        }
                    }
                }
                guard layout.order == .second else { return }
                Parallel.forRanges(blockRows, costPerItem: 10 * f) { range in
                    for q in range {
                        let p = q / k, ur = n + q, vr = ur + blockRows, wr = vr + blockRows
                        for o in 0..<out {
                            for i in 0..<inn {
                                let lane = o * len * inn + i
                                let u = px + ur * f + lane, v = px + vr * f + lane, w = px + wr * f + lane
                                let sp = ps + p * f + lane, yp = py + wr * f + lane
                                var su = 0.0, sv = 0.0, sw = 0.0, suv = 0.0
                                for l in 0..<len {
                                    let j = l * inn, sj = sp[j]
                                    su += sj * u[j]; sv += sj * v[j]; sw += sj * w[j]; suv += sj * u[j] * v[j]
                                }
                                let cov = suv - su * sv
                                if log {
                                    for l in 0..<len { let j = l * inn; yp[j] = w[j] - sw - cov }
                                } else {
                                    for l in 0..<len {
                                        let j = l * inn
                                        yp[j] = sp[j] * ((w[j] - sw) + (u[j] - su) * (v[j] - sv) - cov)
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        return [y]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let x = inputs[0], f = inputFeatures(0), n = layout.points
        let kc = layout.cotangentsPerPoint, k = layout.tangentsPerPoint, rows = layout.rows, cotRows = layout.cotangentRows
        let c = cotangents[0]
        guard c.rows == rows, c.cols == f, x.rows >= n, x.cols == f else {
            throw GeoError.dimensionMismatch("\(op): cotangents \(c.rows)x\(c.cols) for \(rows) rows of \(f) features")
        }
        var cx = Matrix(rows: rows, cols: f)
        if rows == 0 || f == 0 || n == 0 { return [cx] }
        let tangents = k > 0 && x.rows == layout.saved.rows
        var probs = [Double](repeating: 0, count: n * f)
        let len = length, inn = inner, out = outer, log = logarithmic
        try withBase(x.scalars) { px in
        try withBase(c.scalars) { pc in
            cx.scalars.withUnsafeMutableBufferPointer { pxb in
            probs.withUnsafeMutableBufferPointer { psb in
                guard let res = pxb.baseAddress, let ps = psb.baseAddress else { return }
                probabilities(px, points: n, s: ps, y: nil)
                Parallel.forRanges(rows, costPerItem: 8 * f) { range in
                    for row in range {
                        let tangentRow = row >= cotRows
                        let p = tangentRow ? (row - cotRows) / max(1, k) : row / max(1, kc)
                        for o in 0..<out {
                            for i in 0..<inn {
                                let lane = o * len * inn + i
                                let sp = ps + p * f + lane, cr = pc + row * f + lane, r = res + row * f + lane
                                if log {
                                    var sc = 0.0
                                    for l in 0..<len { sc += cr[l * inn] }
                                    for l in 0..<len { let j = l * inn; r[j] = cr[j] - sp[j] * sc }
                                } else {
                                    var sc = 0.0
                                    for l in 0..<len { sc += sp[l * inn] * cr[l * inn] }
                                    for l in 0..<len { let j = l * inn; r[j] = sp[j] * (cr[j] - sc) }
                                }
                                guard tangentRow && tangents else { continue }
                                let t = px + (n + row - cotRows) * f + lane, c0 = pc + p * kc * f + lane
                                var st = 0.0
                                for l in 0..<len { st += sp[l * inn] * t[l * inn] }
                                if log {
                                    var sc0 = 0.0
                                    for l in 0..<len { sc0 += c0[l * inn] }
                                    for l in 0..<len { let j = l * inn; r[j] -= sc0 * sp[j] * (t[j] - st) }
                                } else {
                                    var cs = 0.0, ct = 0.0
                                    for l in 0..<len { let j = l * inn; cs += c0[j] * sp[j]; ct += c0[j] * sp[j] * (t[j] - st) }
                                    for l in 0..<len { let j = l * inn; r[j] += sp[j] * ((c0[j] - cs) * (t[j] - st) - ct) }
                                }
                            }
                        }
                    }
                }
            } }
        } }
        return [cx]
    }
}
