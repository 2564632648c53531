/// `conv_transpose2d`: PyTorch's nn.ConvTranspose2d (dilation 1, groups 1) on a [Cin, H, W]
/// input, the adjoint of a conv2d sweep. Weight [Cin, Cout, kh, kw] (PyTorch's layout), optional
/// bias [Cout], stride (default [1,1]), padding (default [0,0]) and output_padding (default
/// [0,0], each smaller than its stride); output [Cout, Ho, Wo] with
/// Ho = (H - 1) sh - 2 ph + kh + oph, likewise Wo.
///
/// Through GEMM and col2im: for a chunk of R rows, Xm = x channel-major [Cin, R*H*W],
/// cols = W^T Xm [Cout*kh*kw, R*H*W] (W read as [Cin, Cout*kh*kw]) and y = col2im(cols). The
/// adjoint is W im2col(g); the weight gradient Xm im2col(g)^T.
public final class ConvTranspose2D: AffineLayer, WeightedLayer {
    public var op: String { "conv_transpose2d" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// [Cin, Cout, kh, kw].
    public private(set) var weight: Tensor
    /// [Cout], or nil.
    public private(set) var bias: Tensor?
    public let stride: Size2D
    public let padding: Size2D
    public let outputPadding: Size2D
    /// The sweep over the output image; its grid is the input's H x W.
    let geometry: ConvGeometry
    /// Doubles of column buffer per chunk of points (tests lower it to exercise chunking).
    var chunkBudget = 1 << 19
    let inChannels: Int

    /// A conv_transpose2d layer for inputs of shape [Cin, H, W]. `names` maps "weight"/"bias"
    /// to tensor names for error messages.
    public init(inputShape: [Int], weight: Tensor, bias: Tensor? = nil, stride: Size2D = Size2D(1),
                padding: Size2D = Size2D(0), outputPadding: Size2D = Size2D(0),
                names: [String: String] = [:]) throws {
        let args = try ConvArguments(op: "conv_transpose2d", inputShape: inputShape, weight: weight, inputAxis: 0,
                                     bias: bias, stride: stride, padding: padding, names: names)
        let (cin, h, w, cout, kh, kw) = (args.channels, args.height, args.width, args.otherChannels, args.kh, args.kw)
        guard outputPadding.h >= 0, outputPadding.w >= 0, outputPadding.h < stride.h, outputPadding.w < stride.w else {
            throw GeoError.format("output_padding \(outputPadding) must be non-negative and smaller than stride \(stride)")
        }
        let ho = (h - 1) * stride.h - 2 * padding.h + kh + outputPadding.h
        let wo = (w - 1) * stride.w - 2 * padding.w + kw + outputPadding.w
        guard ho > 0, wo > 0 else {
            throw GeoError.format("output would be \(ho)x\(wo): padding \(padding) is too large for input \(h)x\(w) and kernel \(kh)x\(kw)")
        }
        guard let outCount = Tensor.elementCount([cout, ho, wo]), outCount <= maxFeaturesPerPoint else {
            throw GeoError.format("output shape \(shapeString([cout, ho, wo])) has more than \(maxFeaturesPerPoint) features")
        }
        self.inputShape = inputShape; outputShape = [cout, ho, wo]
        self.weight = weight; self.bias = bias
        self.stride = stride; self.padding = padding; self.outputPadding = outputPadding
        inChannels = cin
        geometry = ConvGeometry(channels: cout, imageH: ho, imageW: wo, kh: kh, kw: kw, sh: stride.h, sw: stride.w,
                                ph: padding.h, pw: padding.w, gridH: h, gridW: w)
        try geometry.checkColumnSize()
    }

    func assign(weight: Tensor, bias: Tensor?) { self.weight = weight; self.bias = bias }

    public var spec: LayerSpec {
        .convTranspose2d(weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding)
    }

    /// The column buffer and the channel-major buffer of one row.
    public var scratchPerRow: Int { (geometry.patchSize + inChannels) * geometry.gridSize }

    /// Points per chunk: the column buffer holds patch * grid entries per point.
    private func chunkRows(_ rows: Int) -> Int {
        let g = geometry
        return convolutionChunk(rows: rows, perRow: max(g.patchSize, inChannels) * g.gridSize, budget: chunkBudget)
    }

    public func applyLinear(_ x: Matrix, biasRows: Int) throws -> Matrix {
        let g = geometry, inSize = inChannels * g.gridSize
        guard x.cols == inSize else {
            throw GeoError.dimensionMismatch("conv_transpose2d takes \(inSize) features per row, got \(x.cols)")
        }
        let rows = x.rows, chunk = chunkRows(rows)
        return try uninitializedMatrix(rows: rows, cols: g.imageSize) { yb in
            try withBase(x.scalars) { xb in
            try withBase(weight.scalars) { wb in
            try withScratch(inChannels * chunk * g.gridSize) { xmb in
            try withScratch(g.patchSize * chunk * g.gridSize) { cb in
                var r0 = 0
                while r0 < rows {
                    let rc = min(chunk, rows - r0), n = rc * g.gridSize
                    gatherChannelMajor(xb + r0 * inSize, rows: rc, channels: inChannels, plane: g.gridSize, into: xmb)
                    // cols = W^T Xm: [Cout*kh*kw, Cin] x [Cin, n]
                    try dgemm(transA: true, m: g.patchSize, n: n, k: inChannels, wb, lda: g.patchSize, xmb, ldb: n, cb, ldc: n)
                    g.col2im(cb, rows: rc, into: yb + r0 * g.imageSize, zeroFirst: true)
                    r0 += rc
                }
                if biasRows > 0 {
                    withOptionalPointer(bias?.scalars) { bp in
                        guard let bb = bp else { return }
                        addChannelBias(yb, rows: min(biasRows, rows), channels: g.channels, plane: g.imageH * g.imageW, bias: bb)
                    }
                }
            } } } }
        }
    }

    public func applyTransposed(_ c: Matrix) throws -> Matrix {
        let g = geometry, inSize = inChannels * g.gridSize
        guard c.cols == g.imageSize else {
            throw GeoError.dimensionMismatch("conv_transpose2d: cotangents have \(c.cols) columns, expected \(g.imageSize)")
        }
        let rows = c.rows, chunk = chunkRows(rows)
        return try uninitializedMatrix(rows: rows, cols: inSize) { xb in
            try withBase(c.scalars) { cotb in
            try withBase(weight.scalars) { wb in
            try withScratch(g.patchSize * chunk * g.gridSize) { cb in
            try withScratch(inChannels * chunk * g.gridSize) { xmb in
                var r0 = 0
                while r0 < rows {
                    let rc = min(chunk, rows - r0), n = rc * g.gridSize
                    g.im2col(cotb + r0 * g.imageSize, rows: rc, into: cb)
                    // Xm = W cols: [Cin, Cout*kh*kw] x [Cout*kh*kw, n]
                    try dgemm(m: inChannels, n: n, k: g.patchSize, wb, lda: g.patchSize, cb, ldb: n, xmb, ldc: n)
                    scatterChannelMajor(xmb, rows: rc, channels: inChannels, plane: g.gridSize,
                                        into: xb + r0 * inSize, bias: nil, biasRows: 0)
                    r0 += rc
                }
            } } } }
        }
    }

    /// dL/dW = sum over chunks of Xm im2col(G)^T ([Cin, Cout*kh*kw]); dL/db = per-channel sums.
    public func parameterGradients(input: Matrix, output: Matrix, cotangents: Matrix) throws -> [Tensor] {
        try checkParameterGradients(input: input, output: output, cotangents: cotangents)
        let g = geometry, inSize = inChannels * g.gridSize, rows = input.rows, chunk = chunkRows(rows)
        var dw = [Double](repeating: 0, count: weight.count)
        if rows > 0 {
            try dw.withUnsafeMutableBufferPointer { pd in
                try withBase(cotangents.scalars) { cotb in
                try withBase(input.scalars) { xb in
                try withScratch(g.patchSize * chunk * g.gridSize) { cb in
                try withScratch(inChannels * chunk * g.gridSize) { xmb in
                    var r0 = 0
                    while r0 < rows {
                        let rc = min(chunk, rows - r0), n = rc * g.gridSize
                        g.im2col(cotb + r0 * g.imageSize, rows: rc, into: cb)
                        gatherChannelMajor(xb + r0 * inSize, rows: rc, channels: inChannels, plane: g.gridSize, into: xmb)
                        // dW += Xm cols^T: [Cin, n] x [n, Cout*kh*kw]
                        try dgemm(transB: true, m: inChannels, n: g.patchSize, k: n, xmb, lda: n, cb, ldb: n,
                                  beta: 1, pd.baseAddress, ldc: g.patchSize)
                        r0 += rc
                    }
                } } } }
            }
        }
        var grads = [Tensor(shape: weight.shape, unchecked: dw)]
        if bias != nil {
            grads.append(Tensor(shape: [g.channels], unchecked: channelSums(cotangents, channels: g.channels, plane: g.imageH * g.imageW)))
        }
        return grads
    }
}
