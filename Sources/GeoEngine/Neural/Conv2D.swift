/// `conv2d`: PyTorch's nn.Conv2d (cross-correlation, dilation 1, groups 1) on a [C, H, W] input.
/// Weight [O, C, kh, kw], optional bias [O], stride (default [1,1]) and zero padding (default
/// [0,0]); output [O, Ho, Wo] with Ho = (H + 2 ph - kh) / sh + 1 (floor), likewise Wo.
///
/// Through im2col and GEMM: for a chunk of R rows, cols = im2col(x) [C*kh*kw, R*Ho*Wo] and
/// Y = W [O, C*kh*kw] x cols, so value and tangent rows share one dgemm. The adjoint is
/// col2im(W^T G) and the weight gradient G cols^T.
public final class Conv2D: AffineLayer, WeightedLayer {
    public var op: String { "conv2d" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// [O, C, kh, kw].
    public private(set) var weight: Tensor
    /// [O], or nil.
    public private(set) var bias: Tensor?
    public let stride: Size2D
    public let padding: Size2D
    let geometry: ConvGeometry
    /// Doubles of column buffer per chunk of points (tests lower it to exercise chunking).
    var chunkBudget = 1 << 19
    let outChannels: Int

    /// A conv2d layer for inputs of shape [C, H, W]. `names` maps "weight"/"bias" to tensor
    /// names for error messages.
    public init(inputShape: [Int], weight: Tensor, bias: Tensor? = nil, stride: Size2D = Size2D(1),
                padding: Size2D = Size2D(0), names: [String: String] = [:]) throws {
        let args = try ConvArguments(op: "conv2d", inputShape: inputShape, weight: weight, inputAxis: 1, bias: bias,
                                     stride: stride, padding: padding, names: names)
        let (c, h, w, o, kh, kw) = (args.channels, args.height, args.width, args.otherChannels, args.kh, args.kw)
        let hp = h + 2 * padding.h - kh, wp = w + 2 * padding.w - kw
        guard hp >= 0, wp >= 0 else {
            throw GeoError.format("kernel \(kh)x\(kw) is larger than the padded input \(h + 2 * padding.h)x\(w + 2 * padding.w)")
        }
        let ho = hp / stride.h + 1, wo = wp / stride.w + 1
        guard let outCount = Tensor.elementCount([o, ho, wo]), outCount <= maxFeaturesPerPoint else {
            throw GeoError.format("output shape \(shapeString([o, ho, wo])) has more than \(maxFeaturesPerPoint) features")
        }
        self.inputShape = inputShape; outputShape = [o, ho, wo]
        self.weight = weight; self.bias = bias; self.stride = stride; self.padding = padding
        outChannels = o
        geometry = ConvGeometry(channels: c, imageH: h, imageW: w, kh: kh, kw: kw, sh: stride.h, sw: stride.w,
                                ph: padding.h, pw: padding.w, gridH: ho, gridW: wo)
        try geometry.checkColumnSize()
    }

    func assign(weight: Tensor, bias: Tensor?) { self.weight = weight; self.bias = bias }

    public var spec: LayerSpec { .conv2d(weight: weight, bias: bias, stride: stride, padding: padding) }

    /// The column buffer and the channel-major buffer of one row.
    public var scratchPerRow: Int { (geometry.patchSize + outChannels) * geometry.gridSize }

    /// Points per chunk: the column buffer holds patch * grid entries per point.
    private func chunkRows(_ rows: Int) -> Int {
        let g = geometry
        return convolutionChunk(rows: rows, perRow: max(g.patchSize, outChannels) * g.gridSize, budget: chunkBudget)
    }

    public func applyLinear(_ x: Matrix, biasRows: Int) throws -> Matrix {
        let g = geometry
        guard x.cols == g.imageSize else {
            throw GeoError.dimensionMismatch("conv2d takes \(g.imageSize) features per row, got \(x.cols)")
        }
        let rows = x.rows, outSize = outChannels * g.gridSize, chunk = chunkRows(rows)
        return try uninitializedMatrix(rows: rows, cols: outSize) { yb in
            try withBase(x.scalars) { xb in
            try withBase(weight.scalars) { wb in
            try withScratch(g.patchSize * chunk * g.gridSize) { cb in
            try withScratch(outChannels * chunk * g.gridSize) { pb in
                var r0 = 0
                while r0 < rows {
                    let rc = min(chunk, rows - r0), n = rc * g.gridSize
                    g.im2col(xb + r0 * g.imageSize, rows: rc, into: cb)
                    // Y = W cols: [O, C*kh*kw] x [C*kh*kw, n]
                    try dgemm(m: outChannels, n: n, k: g.patchSize, wb, lda: g.patchSize, cb, ldb: n, pb, ldc: n)
                    withOptionalPointer(bias?.scalars) { bp in
                        scatterChannelMajor(pb, rows: rc, channels: outChannels, plane: g.gridSize,
                                            into: yb + r0 * outSize, bias: bp, biasRows: biasRows - r0)
                    }
                    r0 += rc
                }
            } } } }
        }
    }

    public func applyTransposed(_ c: Matrix) throws -> Matrix {
        let g = geometry, outSize = outChannels * g.gridSize
        guard c.cols == outSize else {
            throw GeoError.dimensionMismatch("conv2d: cotangents have \(c.cols) columns, expected \(outSize)")
        }
        let rows = c.rows, chunk = chunkRows(rows)
        return try uninitializedMatrix(rows: rows, cols: g.imageSize) { xb in
            try withBase(c.scalars) { cotb in
            try withBase(weight.scalars) { wb in
            try withScratch(outChannels * chunk * g.gridSize) { gb in
            try withScratch(g.patchSize * chunk * g.gridSize) { cb in
                var r0 = 0
                while r0 < rows {
                    let rc = min(chunk, rows - r0), n = rc * g.gridSize
                    gatherChannelMajor(cotb + r0 * outSize, rows: rc, channels: outChannels, plane: g.gridSize, into: gb)
                    // cols = W^T G: [C*kh*kw, O] x [O, n]
                    try dgemm(transA: true, m: g.patchSize, n: n, k: outChannels, wb, lda: g.patchSize, gb, ldb: n, cb, ldc: n)
                    g.col2im(cb, rows: rc, into: xb + r0 * g.imageSize, zeroFirst: true)
                    r0 += rc
                }
            } } } }
        }
    }

    /// dL/dW = sum over chunks of G cols^T ([O, C*kh*kw]); dL/db = per-channel sums of C.
    public func parameterGradients(input: Matrix, output: Matrix, cotangents: Matrix) throws -> [Tensor] {
        try checkParameterGradients(input: input, output: output, cotangents: cotangents)
        let g = geometry, outSize = outChannels * g.gridSize, rows = input.rows, chunk = chunkRows(rows)
        var dw = [Double](repeating: 0, count: weight.count)
        if rows > 0 {
            try dw.withUnsafeMutableBufferPointer { pd in
                try withBase(cotangents.scalars) { cotb in
                try withBase(input.scalars) { xb in
                try withScratch(outChannels * chunk * g.gridSize) { gb in
                try withScratch(g.patchSize * chunk * g.gridSize) { cb in
                    var r0 = 0
                    while r0 < rows {
                        let rc = min(chunk, rows - r0), n = rc * g.gridSize
                        g.im2col(xb + r0 * g.imageSize, rows: rc, into: cb)
                        gatherChannelMajor(cotb + r0 * outSize, rows: rc, channels: outChannels, plane: g.gridSize, into: gb)
                        // dW += G cols^T: [O, n] x [n, C*kh*kw]
                        try dgemm(transB: true, m: outChannels, n: g.patchSize, k: n, gb, lda: n, cb, ldb: n,
                                  beta: 1, pd.baseAddress, ldc: g.patchSize)
                        r0 += rc
                    }
                } } } }
            }
        }
        var grads = [Tensor(shape: weight.shape, unchecked: dw)]
        if bias != nil {
            grads.append(Tensor(shape: [outChannels], unchecked: channelSums(cotangents, channels: outChannels, plane: g.gridSize)))
        }
        return grads
    }
}

/// Runs `body` with a pointer to the array's storage, or nil for a nil or empty array.
func withOptionalPointer<R>(_ a: [Double]?, _ body: (UnsafePointer<Double>?) throws -> R) rethrows -> R {
    guard let a = a, !a.isEmpty else { return try body(nil) }
    return try a.withUnsafeBufferPointer { try body($0.baseAddress) }
}
