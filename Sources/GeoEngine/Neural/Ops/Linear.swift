/// `linear`: y = W x + b for a flat input, PyTorch's nn.Linear. Weight [out, in], optional bias
/// [out]. A batch X [rows, in] maps to X W^T (+ b on value rows) with one dgemm over all rows.
public final class Linear: AffineLayer, WeightedLayer {
    public var op: String { "linear" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// in and out features.
    public let inFeatures: Int, outFeatures: Int
    /// [out, in].
    public private(set) var weight: Tensor
    /// [out], or nil for a layer without bias.
    public private(set) var bias: Tensor?

    /// A linear layer whose input size is the weight's second dimension.
    public convenience init(weight: Tensor, bias: Tensor? = nil) throws {
        guard weight.shape.count == 2 else {
            throw GeoError.format("weight has shape \(shapeString(weight.shape)), expected [out,in]")
        }
        try self.init(inputShape: [weight.shape[1]], weight: weight, bias: bias)
    }

    /// A linear layer for points of `inputShape` (which must be flat, [in]). `names` maps the
    /// roles "weight"/"bias" to tensor names used in error messages.
    init(inputShape: [Int], weight: Tensor, bias: Tensor?, names: [String: String] = [:]) throws {
        guard inputShape.count == 1, let inF = inputShape.first else {
            throw GeoError.format("input has shape \(shapeString(inputShape)); linear needs a flat input (insert {\"op\":\"flatten\"})")
        }
        guard weight.shape.count == 2, weight.shape[1] == inF else {
            throw GeoError.format("\(tensorLabel("weight", names)) has shape \(shapeString(weight.shape)), expected [out,\(inF)] for \(inF) input features")
        }
        let outF = weight.shape[0]
        guard outF > 0 else { throw GeoError.format("\(tensorLabel("weight", names)) has no output features") }
        if let b = bias { try expectShape(b, [outF], "bias", names) }
        self.inputShape = inputShape; outputShape = [outF]
        inFeatures = inF; outFeatures = outF
        self.weight = weight; self.bias = bias
    }

    func assign(weight: Tensor, bias: Tensor?) { self.weight = weight; self.bias = bias }

    public var spec: LayerSpec { .linear(weight: weight, bias: bias) }

    public func applyLinear(_ x: Matrix, biasRows: Int) throws -> Matrix {
        guard x.cols == inFeatures else {
            throw GeoError.dimensionMismatch("linear takes \(inFeatures) features per row, got \(x.cols)")
        }
        var y = Matrix(rows: x.rows, cols: outFeatures)
        let (m, n, k) = (x.rows, outFeatures, inFeatures)
        try x.scalars.withUnsafeBufferPointer { px in
            try weight.scalars.withUnsafeBufferPointer { pw in
                try y.scalars.withUnsafeMutableBufferPointer { py in
                    // Y = X W^T
                    try dgemm(transB: true, m: m, n: n, k: k, px.baseAddress, lda: k, pw.baseAddress, ldb: k,
                              py.baseAddress, ldc: n)
                    if let b = bias, biasRows > 0 {
                        b.scalars.withUnsafeBufferPointer { pb in
                            for r in 0..<min(biasRows, m) {
                                for j in 0..<n { py[r * n + j] += pb[j] }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    public func applyTransposed(_ c: Matrix) throws -> Matrix {
        guard c.cols == outFeatures else {
            throw GeoError.dimensionMismatch("linear: cotangents have \(c.cols) columns, expected \(outFeatures)")
        }
        var x = Matrix(rows: c.rows, cols: inFeatures)
        try c.scalars.withUnsafeBufferPointer { pc in
            try weight.scalars.withUnsafeBufferPointer { pw in
                try x.scalars.withUnsafeMutableBufferPointer { px in
                    // X = C W
                    try dgemm(m: c.rows, n: inFeatures, k: outFeatures, pc.baseAddress, lda: outFeatures,
                              pw.baseAddress, ldb: inFeatures, px.baseAddress, ldc: inFeatures)
                }
            }
        }
        return x
    }

    /// dL/dW = C^T X ([out, in]) and dL/db = the column sums of C.
    public func parameterGradients(input: Matrix, output: Matrix, cotangents: Matrix) throws -> [Tensor] {
        try checkParameterGradients(input: input, output: output, cotangents: cotangents)
        var dw = [Double](repeating: 0, count: outFeatures * inFeatures)
        try cotangents.scalars.withUnsafeBufferPointer { pc in
            try input.scalars.withUnsafeBufferPointer { px in
                try dw.withUnsafeMutableBufferPointer { pd in
                    try dgemm(transA: true, m: outFeatures, n: inFeatures, k: input.rows, pc.baseAddress, lda: outFeatures,
                              px.baseAddress, ldb: inFeatures, pd.baseAddress, ldc: inFeatures)
                }
            }
        }
        var grads = [Tensor(shape: weight.shape, unchecked: dw)]
        if bias != nil { grads.append(Tensor(shape: [outFeatures], unchecked: columnSums(cotangents))) }
        return grads
    }
}

/// The sums of the columns of m.
func columnSums(_ m: Matrix) -> [Double] {
    var s = [Double](repeating: 0, count: m.cols)
    m.scalars.withUnsafeBufferPointer { p in
        s.withUnsafeMutableBufferPointer { ps in
            for r in 0..<m.rows { for j in 0..<m.cols { ps[j] += p[r * m.cols + j] } }
        }
    }
    return s
}
