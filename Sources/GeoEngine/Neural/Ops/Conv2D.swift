/// `conv2d`: PyTorch's nn.Conv2d (cross-correlation) on a [C, H, W] input. Weight
/// [O, C/G, kh, kw], optional bias [O], stride (default [1,1]), zero padding (default [0,0],
/// top and left; the bottom and right the same unless `options.paddingEnd` says otherwise),
/// and from `options` G channel groups and dilation (defaults 1: the model-file layer).
/// Output [O, Ho, Wo] with Ho = (H + pt + pb - (kh - 1) dh - 1) / sh + 1 (floor), likewise Wo.
///
/// Through im2col and GEMM: for a chunk of R rows, cols = im2col(x) [C*kh*kw, R*Ho*Wo] and
/// Y = W [O, C/G*kh*kw] x cols, one GEMM per channel group g on its block of O/G weight rows,
/// C/G*kh*kw column rows and O/G output rows (one GEMM for G = 1), so value and tangent rows
/// share each dgemm. The adjoint is col2im(W^T G) and the weight gradient G cols^T, per group.
public final class Conv2D: AffineLayer, WeightedLayer {
    public var op: String { "conv2d" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// [O, C/G, kh, kw].
    public private(set) var weight: Tensor
    /// [O], or nil.
    public private(set) var bias: Tensor?
    public let stride: Size2D
    /// Padding at the top and left.
    public let padding: Size2D
    /// Groups, dilation and bottom/right padding (the defaults for model-file layers).
    public let options: ConvOptions
    let geometry: ConvGeometry
    /// Doubles of column buffer per chunk of points (tests lower it to exercise chunking).
    var chunkBudget = 1 << 19
    let outChannels: Int
    /// Channel groups, and per group: output channels and column rows (C/G * kh * kw).
    let groups: Int, groupOut: Int, groupPatch: Int

    /// A conv2d layer for inputs of shape [C, H, W]. `names` maps "weight"/"bias" to tensor
    /// names for error messages.
    public init(inputShape: [Int], weight: Tensor, bias: Tensor? = nil, stride: Size2D = Size2D(1),
                padding: Size2D = Size2D(0), options: ConvOptions = ConvOptions(), names: [String: String] = [:]) throws {
        let args = try ConvArguments(op: "conv2d", inputShape: inputShape, weight: weight, inputAxis: 1, bias: bias,
                                     stride: stride, padding: padding, options: options, negativePaddingAllowed: false,
                                     names: names)
        let (c, h, w, o, kh, kw) = (args.channels, args.height, args.width, args.otherChannels, args.kh, args.kw)
        let paddedH = h + args.padStart.h + args.padEnd.h, paddedW = w + args.padStart.w + args.padEnd.w
        let hp = paddedH - args.spanH, wp = paddedW - args.spanW
        guard hp >= 0, wp >= 0 else {
            let kernel = args.dilation == Size2D(1) ? "kernel \(kh)x\(kw)"
                : "kernel \(kh)x\(kw) with dilation \(args.dilation) (span \(args.spanH)x\(args.spanW))"
            throw GeoError.format("\(kernel) is larger than the padded input \(paddedH)x\(paddedW)")
        }
        let ho = hp / stride.h + 1, wo = wp / stride.w + 1
        guard let outCount = Tensor.elementCount([o, ho, wo]), outCount <= maxFeaturesPerPoint else {
            throw GeoError.format("output shape \(shapeString([o, ho, wo])) has more than \(maxFeaturesPerPoint) features")
        }
        self.inputShape = inputShape; outputShape = [o, ho, wo]
        self.weight = weight; self.bias = bias; self.stride = stride; self.padding = padding
        self.options = options
        outChannels = o
        groups = args.groups; groupOut = o / args.groups; groupPatch = c / args.groups * kh * kw
        geometry = ConvGeometry(channels: c, imageH: h, imageW: w, kh: kh, kw: kw, sh: stride.h, sw: stride.w,
                                ph: padding.h, pw: padding.w, dh: args.dilation.h, dw: args.dilation.w, gridH: ho, gridW: wo)
        try geometry.checkColumnSize()
    }

    func assign(weight: Tensor, bias: Tensor?) { self.weight = weight; self.bias = bias }

    public var spec: LayerSpec { .conv2d(weight: weight, bias: bias, stride: stride, padding: padding, options: options) }

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
                    // Y_q = W_q cols_q per group q: [O/G, C/G*kh*kw] x [C/G*kh*kw, n]
                    for q in 0..<groups {
                        try dgemm(m: groupOut, n: n, k: groupPatch, wb + q * groupOut * groupPatch, lda: groupPatch,
                                  cb + q * groupPatch * n, ldb: n, pb + q * groupOut * n, ldc: n)
                    }
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
                    // cols_q = W_q^T G_q per group q: [C/G*kh*kw, O/G] x [O/G, n]
                    for q in 0..<groups {
                        try dgemm(transA: true, m: groupPatch, n: n, k: groupOut, wb + q * groupOut * groupPatch, lda: groupPatch,
                                  gb + q * groupOut * n, ldb: n, cb + q * groupPatch * n, ldc: n)
                    }
                    g.col2im(cb, rows: rc, into: xb + r0 * g.imageSize, zeroFirst: true)
                    r0 += rc
                }
            } } } }
        }
    }

    /// dL/dW = sum over chunks of G cols^T, per group ([O, C/G*kh*kw]); dL/db = per-channel sums of C.
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
                        // dW_q += G_q cols_q^T per group q: [O/G, n] x [n, C/G*kh*kw]
                        for q in 0..<groups {
                            try dgemm(transB: true, m: groupOut, n: groupPatch, k: n, gb + q * groupOut * n, lda: n,
                                      cb + q * groupPatch * n, ldb: n, beta: 1, pd.baseAddress.map { $0 + q * groupOut * groupPatch },
                                      ldc: groupPatch)
                        }
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
