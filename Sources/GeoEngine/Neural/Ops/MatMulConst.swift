/// y = x W (+ b), the matrix product of a computed value x of shape [..., M, K] (or [K]) with a
/// constant matrix W [K, N], plus an optional bias [N] on every row: ONNX's MatMul and Gemm with
/// a constant second operand. The leading axes of x are a batch of rows, so a state of R rows
/// is one dgemm of (R * rows per point) x K by K x N, in place in memory. Linear: derivative
/// rows go through W alone; reverse mode is c W^T.
final class MatMulConst: Op {
    let op: String
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    /// W, K x N row-major.
    let weight: [Double]
    let bias: [Double]?
    let k: Int, n: Int
    /// Rows of x per point (the product of its leading axes).
    let rowsPerPoint: Int

    init(_ op: String, inputShape: [Int], weight: Tensor, bias: Tensor? = nil) throws {
        guard weight.shape.count == 2 else { throw GeoError.format("the constant operand must be a matrix, got shape \(shapeString(weight.shape))") }
        let (kk, nn) = (weight.shape[0], weight.shape[1])
        guard let last = inputShape.last, last == kk else {
            throw GeoError.format("cannot multiply \(shapeString(inputShape)) by \(shapeString(weight.shape))")
        }
        if let b = bias { guard b.count == nn else { throw GeoError.format("bias has \(b.count) entries, expected \(nn)") } }
        self.op = op
        inputShapes = [inputShape]
        outputShapes = [inputShape.count == 1 ? [nn] : Array(inputShape.dropLast()) + [nn]]
        self.weight = weight.scalars; self.bias = bias?.scalars
        k = kk; n = nn
        rowsPerPoint = inputShape.dropLast().reduce(1, *)
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let x = inputs[0], rows = x.rows * rowsPerPoint
        var y = Matrix(rows: x.rows, cols: rowsPerPoint * n)
        try x.scalars.withUnsafeBufferPointer { px in
            try weight.withUnsafeBufferPointer { pw in
                try y.scalars.withUnsafeMutableBufferPointer { py in
                    try dgemm(m: rows, n: n, k: k, px.baseAddress, lda: k, pw.baseAddress, ldb: n, py.baseAddress, ldc: n)
                    if let b = bias {
                        for r in 0..<(layout.points * rowsPerPoint) { for j in 0..<n { py[r * n + j] += b[j] } }
                    }
                }
            }
        }
        return [y]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let c = cotangents[0], rows = c.rows * rowsPerPoint
        var x = Matrix(rows: c.rows, cols: rowsPerPoint * k)
        try c.scalars.withUnsafeBufferPointer { pc in
            try weight.withUnsafeBufferPointer { pw in
                try x.scalars.withUnsafeMutableBufferPointer { px in
                    try dgemm(transB: true, m: rows, n: k, k: n, pc.baseAddress, lda: n, pw.baseAddress, ldb: n, px.baseAddress, ldc: k)
                }
            }
        }
        return [x]
    }
}
