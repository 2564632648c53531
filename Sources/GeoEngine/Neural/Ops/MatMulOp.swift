/// Y = A B, the matrix product of two computed values with NumPy's batch broadcasting: ONNX's
/// MatMul when its second operand is computed (attention's Q K^T and P V). A is [..., M, K] or
/// [K] (a row, whose M axis the result drops), B is [..., K, N] or [K] (a column, whose N axis
/// the result drops); the batch axes broadcast, and each output batch matrix is one dgemm.
/// Bilinear:
///     forward:  t_Y = t_A B + A t_B,   w_Y = w_A B + A w_B + u_A v_B + v_A u_B,
///     reverse:  c_A = c B^T,  c_B = A^T c (summed over the batches broadcasting repeated), and
///               for the tangents of the cotangents c'_A = c' B^T + c t_B^T,  c'_B = A^T c' + t_A^T c.
/// An operand that carries no derivative (a constant) is a constant of its point.
final class MatMulOp: Op {
    var op: String { "MatMul" }
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// Each batch matrix: A is rowsM x inner, B inner x colsN, Y rowsM x colsN.
    let rowsM: Int, inner: Int, colsN: Int
    /// Batch matrices of A, of B and of Y per point.
    let aBatches: Int, bBatches: Int, batches: Int
    /// For each batch of Y, the batch of A and of B that make it.
    let aIndex: [Int], bIndex: [Int]

    init(_ a: [Int], _ b: [Int]) throws {
        guard !a.isEmpty, !b.isEmpty else {
            throw GeoError.format("MatMul needs operands of rank 1 or more, got \(shapeString(a)) and \(shapeString(b))")
        }
        let (ba, m, ka) = a.count == 1 ? ([Int](), 1, a[0]) : (Array(a.dropLast(2)), a[a.count - 2], a[a.count - 1])
        let (bb, kb, n) = b.count == 1 ? ([Int](), b[0], 1) : (Array(b.dropLast(2)), b[b.count - 2], b[b.count - 1])
        guard ka == kb else {
            throw GeoError.format("MatMul cannot multiply \(shapeString(a)) by \(shapeString(b)): \(ka) columns against \(kb) rows")
        }
        // The batch index maps of A and B.
        guard let batch = try Broadcast.shape([ba, bb], copies: 2) else {
            throw GeoError.format("MatMul: the batch axes of \(shapeString(a)) and \(shapeString(b)) do not broadcast")
        }
        var out = batch
        if a.count > 1 { out.append(m) }
        if b.count > 1 { out.append(n) }
        try Tensor.checkedCount(out, "the product of \(shapeString(a)) by \(shapeString(b))")
        guard let count = Tensor.elementCount(batch), let na = Tensor.elementCount(ba), let nb = Tensor.elementCount(bb),
              Tensor.elementCount(a) != nil, Tensor.elementCount(b) != nil else {
            throw GeoError.format("MatMul: the result of \(shapeString(a)) by \(shapeString(b)) is too large")
        }
        inputShapes = [a, b]
        outputShapes = [out.isEmpty ? [1] : out]
        rowsM = m; inner = ka; colsN = n
        aBatches = na; bBatches = nb; batches = count
        aIndex = Broadcast.map(from: ba, to: batch) ?? Array(0..<count)
        bIndex = Broadcast.map(from: bb, to: batch) ?? Array(0..<count)
    }

    private var sizeA: Int { rowsM * inner }
    private var sizeB: Int { inner * colsN }
    private var sizeY: Int { rowsM * colsN }

    /// y += a b for one row of A-layout `a`, one of B-layout `b`, one of Y-layout `y`.
    private func multiply(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>) throws {
        for bt in 0..<batches {
            try dgemm(m: rowsM, n: colsN, k: inner, a + aIndex[bt] * sizeA, lda: inner, b + bIndex[bt] * sizeB, ldb: colsN,
                      beta: 1, y + bt * sizeY, ldc: colsN)
        }
    }

    /// y_r += x_r b for `count` consecutive rows x_r (A layout) and y_r (Y layout), one b: a
    /// single dgemm when B has one batch matrix and A is not broadcast.
    private func multiplyRows(_ x: UnsafePointer<Double>, count: Int, by b: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>) throws {
        if bBatches == 1 && aBatches == batches {
            try dgemm(m: count * batches * rowsM, n: colsN, k: inner, x, lda: inner, b, ldb: colsN, beta: 1, y, ldc: colsN)
            return
        }
        let fa = inputFeatures(0), fy = outputFeatures(0)
        for r in 0..<count { try multiply(x + r * fa, b, y + r * fy) }
    }

    /// ca += c b^T (A layout) for one cotangent row c (Y layout) and one b.
    private func cotangentA(_ c: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ ca: UnsafeMutablePointer<Double>) throws {
        for bt in 0..<batches {
            try dgemm(transB: true, m: rowsM, n: inner, k: colsN, c + bt * sizeY, lda: colsN, b + bIndex[bt] * sizeB, ldb: colsN,
                      beta: 1, ca + aIndex[bt] * sizeA, ldc: inner)
        }
    }

    /// cb += a^T c (B layout) for one row a (A layout) and one cotangent row c (Y layout).
    private func cotangentB(_ a: UnsafePointer<Double>, _ c: UnsafePointer<Double>, _ cb: UnsafeMutablePointer<Double>) throws {
        for bt in 0..<batches {
            try dgemm(transA: true, m: inner, n: colsN, k: rowsM, a + aIndex[bt] * sizeA, lda: inner, c + bt * sizeY, ldb: colsN,
                      beta: 1, cb + bIndex[bt] * sizeB, ldc: colsN)
        }
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let a = inputs[0], b = inputs[1], np = layout.points, kt = layout.tangentsPerPoint, blockRows = layout.blockRows
        let fa = inputFeatures(0), fb = inputFeatures(1), fy = outputFeatures(0)
        let da = layout.order != .value && a.rows == layout.rows, db = layout.order != .value && b.rows == layout.rows
        let rows = da || db ? layout.rows : np
        guard a.cols == fa, b.cols == fb, a.rows >= np, b.rows >= np else {
            throw GeoError.dimensionMismatch("MatMul: states \(a.rows)x\(a.cols) and \(b.rows)x\(b.cols) for \(np) points of \(fa) and \(fb) features")
        }
        var y = Matrix(rows: rows, cols: fy)
        if rows == 0 || fy == 0 { return [y] }
        try withBase(a.scalars) { pa in
        try withBase(b.scalars) { pb in
            try y.scalars.withUnsafeMutableBufferPointer { pyb in
                guard let py = pyb.baseAddress else { return }
                for p in 0..<np { try multiply(pa + p * fa, pb + p * fb, py + p * fy) }
                guard da || db else { return }
                for blk in 0..<layout.blocks {
                    for p in 0..<np {
                        let r0 = np + blk * blockRows + p * kt
                        if da { try multiplyRows(pa + r0 * fa, count: kt, by: pb + p * fb, py + r0 * fy) }
                        if db { for r in r0..<(r0 + kt) { try multiply(pa + p * fa, pb + r * fb, py + r * fy) } }
                    }
                }
                guard layout.order == .second && da && db else { return }
                for q in 0..<blockRows {
                    let u = np + q, v = u + blockRows, w = v + blockRows
                    try multiply(pa + u * fa, pb + v * fb, py + w * fy)
                    try multiply(pa + v * fa, pb + u * fb, py + w * fy)
                }
            }
        } }
        return [y]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let a = inputs[0], b = inputs[1], c = cotangents[0], np = layout.points
        let kc = layout.cotangentsPerPoint, kt = layout.tangentsPerPoint, rows = layout.rows, cotRows = layout.cotangentRows
        let fa = inputFeatures(0), fb = inputFeatures(1), fy = outputFeatures(0)
        guard c.rows == rows, c.cols == fy, a.rows >= np, b.rows >= np, a.cols == fa, b.cols == fb else {
            throw GeoError.dimensionMismatch("MatMul: cotangents \(c.rows)x\(c.cols) for \(rows) rows of \(fy) features")
        }
        var ca = Matrix(rows: rows, cols: fa), cb = Matrix(rows: rows, cols: fb)
        if rows == 0 || fy == 0 || np == 0 { return [ca, cb] }
        let ta = kt > 0 && a.rows == layout.saved.rows, tb = kt > 0 && b.rows == layout.saved.rows
        try withBase(a.scalars) { pa in
        try withBase(b.scalars) { pb in
        try withBase(c.scalars) { pc in
            try ca.scalars.withUnsafeMutableBufferPointer { pcab in
            try cb.scalars.withUnsafeMutableBufferPointer { pcbb in
                guard let pca = pcab.baseAddress, let pcb = pcbb.baseAddress else { return }
                for p in 0..<np {
                    let ap = pa + p * fa, bp = pb + p * fb
                    for (r0, count) in [(p * kc, kc), (cotRows + p * kt, kt)] where count > 0 {
                        // c_A = c B^T, c_B = A^T c for this point's rows.
                        if bBatches == 1 && aBatches == batches {
                            try dgemm(transB: true, m: count * batches * rowsM, n: inner, k: colsN, pc + r0 * fy, lda: colsN,
                                      bp, ldb: colsN, beta: 1, pca + r0 * fa, ldc: inner)
                        } else {
                            for r in r0..<(r0 + count) { try cotangentA(pc + r * fy, bp, pca + r * fa) }
                        }
                        for r in r0..<(r0 + count) { try cotangentB(ap, pc + r * fy, pcb + r * fb) }
                    }
                    // Tangents of the cotangents: c t_B^T and t_A^T c with the point's cotangent c.
                    guard kt > 0 else { continue }
                    let c0 = pc + p * kc * fy
                    for j in 0..<kt {
                        let r = cotRows + p * kt + j, t = np + p * kt + j
                        if tb { try cotangentA(c0, pb + t * fb, pca + r * fa) }
                        if ta { try cotangentB(pa + t * fa, c0, pcb + r * fb) }
                    }
                }
            } }
        } } }
        return [ca, cb]
    }
}
