/// y = cond ? x : y' entry by entry, with cond, x and y' broadcast to one shape (NumPy rules):
/// ONNX's Where. torch writes Softplus's threshold as Where(Greater(beta x, 20), x,
/// Softplus(beta x) / beta), a mask as Where(mask, x, fill).
///
/// Derivatives. The condition is piecewise constant (a comparison's result: it carries no
/// derivative and is read from its value rows, per point). Given it, y is linear in x and y':
///     t_y[e] = cond[e] ? t_x[e] : t_y'[e],   w_y likewise (no second-order terms),
///     c_x[e] += cond[e] ? c[e] : 0,   c_y'[e] += cond[e] ? 0 : c[e]   (c' likewise),
/// summed over the entries broadcasting repeated; the derivatives are those of the selected
/// branch. An operand without derivatives (a constant) contributes zeros to derivative rows; the
/// condition's cotangent is zero.
final class WhereOp: Op {
    var op: String { "Where" }
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// For cond, x and y', for each output entry, the operand's entry (nil: the identity).
    let maps: [[Int]?]

    init(condition: [Int], x: [Int], y: [Int]) throws {
        // One index map per operand.
        guard let out = try Broadcast.shape([condition, x, y], copies: 3) else {
            throw GeoError.format("shapes \(shapeString(condition)), \(shapeString(x)) and \(shapeString(y)) do not broadcast")
        }
        inputShapes = [condition, x, y]; outputShapes = [out]
        maps = inputShapes.map { Broadcast.map(from: $0, to: out) }
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let n = layout.points, f = outputFeatures(0)
        let full = layout.order == .value ? n : layout.rows
        for (j, s) in inputs.enumerated() where (s.rows != n && s.rows != full) || s.cols != inputFeatures(j) {
            throw GeoError.dimensionMismatch("Where: input \(j + 1) is a \(s.rows)x\(s.cols) state, expected \(full)x\(inputFeatures(j))")
        }
        let rows = inputs.contains { $0.rows == full } ? full : n
        let c = inputs[0], x = inputs[1], y = inputs[2]
        let fc = inputFeatures(0), fx = inputFeatures(1), fy = inputFeatures(2)
        let k = layout.tangentsPerPoint, block = max(layout.blockRows, 1)
        let (mc, mx, my) = (maps[0], maps[1], maps[2])
        var out = Matrix(rows: rows, cols: f)
        c.scalars.withUnsafeBufferPointer { pc in
            x.scalars.withUnsafeBufferPointer { px in
                y.scalars.withUnsafeBufferPointer { py in
                    out.scalars.withUnsafeMutableBufferPointer { po in
                        Parallel.forRanges(rows, costPerItem: f) { range in
                            for r in range {
                                let p = r < n ? r : ((r - n) % block) / max(k, 1)
                                // Operands without derivative rows give 0 there.
                                let hasX = r < x.rows, hasY = r < y.rows
                                for e in 0..<f {
                                    let cond = pc[p * fc + (mc?[e] ?? e)] != 0
                                    if cond {
                                        po[r * f + e] = hasX ? px[r * fx + (mx?[e] ?? e)] : 0
                                    } else {
                                        po[r * f + e] = hasY ? py[r * fy + (my?[e] ?? e)] : 0
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [out]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let c = cotangents[0], f = outputFeatures(0), rows = layout.rows
        guard c.rows == rows, c.cols == f else {
            throw GeoError.dimensionMismatch("Where: a \(c.rows)x\(c.cols) cotangent, expected \(rows)x\(f)")
        }
        let n = layout.points, kc = layout.cotangentsPerPoint, k = layout.tangentsPerPoint
        let cond = inputs[0], fc = inputFeatures(0), fx = inputFeatures(1), fy = inputFeatures(2)
        guard cond.rows >= n, cond.cols == fc else {
            throw GeoError.dimensionMismatch("Where: the saved condition has \(cond.rows) rows for \(n) points")
        }
        let (mc, mx, my) = (maps[0], maps[1], maps[2])
        var cx = Matrix(rows: rows, cols: fx), cy = Matrix(rows: rows, cols: fy)
        cond.scalars.withUnsafeBufferPointer { pk in
            c.scalars.withUnsafeBufferPointer { pc in
                cx.scalars.withUnsafeMutableBufferPointer { px in
                    cy.scalars.withUnsafeMutableBufferPointer { py in
                        Parallel.forRanges(rows, costPerItem: f) { range in
                            for r in range {
                                // Cotangent rows (kc per point), then tangent rows (k per point).
                                let p = r < n * kc ? r / max(kc, 1) : (r - n * kc) / max(k, 1)
                                for e in 0..<f {
                                    let v = pc[r * f + e]
                                    if pk[p * fc + (mc?[e] ?? e)] != 0 {
                                        px[r * fx + (mx?[e] ?? e)] += v
                                    } else {
                                        py[r * fy + (my?[e] ?? e)] += v
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [Matrix(rows: rows, cols: fc), cx, cy]
    }
}
