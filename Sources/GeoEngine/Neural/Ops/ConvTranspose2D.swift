/// `conv_transpose2d`: PyTorch's nn.ConvTranspose2d on a [Cin, H, W] input, the adjoint of a
/// conv2d sweep. Weight [Cin, Cout/G, kh, kw] (PyTorch's layout), optional bias [Cout], stride
/// (default [1,1]), padding (default [0,0], top and left; the bottom and right the same unless
/// `options.paddingEnd` says otherwise) and output_padding (default [0,0], each smaller than its
/// stride or its dilation), and from `options` G channel groups and dilation (defaults 1: the
/// model-file layer). Output [Cout, Ho, Wo] with Ho = (H - 1) sh + (kh - 1) dh + 1 + oph - pt - pb,
/// likewise Wo.
///
/// Through GEMM and col2im: for a chunk of R rows, Xm = x channel-major [Cin, R*H*W],
/// cols = W^T Xm [Cout*kh*kw, R*H*W] (W read as [Cin, Cout/G*kh*kw]; per group g its Cin/G
/// weight rows and input channels give the g-th block of Cout/G*kh*kw column rows) and
/// y = col2im(cols). The adjoint is W im2col(g); the weight gradient Xm im2col(g)^T, per group.
public final class ConvTranspose2D: AffineLayer, WeightedLayer {
    public var op: String { "conv_transpose2d" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// [Cin, Cout/G, kh, kw].
    public private(set) var weight: Tensor
    /// [Cout], or nil.
    public private(set) var bias: Tensor?
    public let stride: Size2D
    /// Padding at the top and left.
    public let padding: Size2D
    public let outputPadding: Size2D
    /// Groups, dilation and bottom/right padding (the defaults for model-file layers).
    public let options: ConvOptions
    /// The sweep over the output image; its grid is the input's H x W.
    let geometry: ConvGeometry
    /// Doubles of column buffer per chunk of points (tests lower it to exercise chunking).
    var chunkBudget = 1 << 19
    let inChannels: Int
    /// Channel groups, and per group: input channels and column rows (Cout/G * kh * kw).
    let groups: Int, groupIn: Int, groupPatch: Int

    /// A conv_transpose2d layer for inputs of shape [Cin, H, W]. `names` maps "weight"/"bias"
    /// to tensor names for error messages. With an explicit `options.paddingEnd` both paddings
    /// may be negative (the output then reaches past the full transposed convolution).
    public init(inputShape: [Int], weight: Tensor, bias: Tensor? = nil, stride: Size2D = Size2D(1),
                padding: Size2D = Size2D(0), outputPadding: Size2D = Size2D(0), options: ConvOptions = ConvOptions(),
                names: [String: String] = [:]) throws {
        let args = try ConvArguments(op: "conv_transpose2d", inputShape: inputShape, weight: weight, inputAxis: 0,
                                     bias: bias, stride: stride, padding: padding, options: options,
                                     negativePaddingAllowed: options.paddingEnd != nil, names: names)
        let (cin, h, w, cout, kh, kw) = (args.channels, args.height, args.width, args.otherChannels, args.kh, args.kw)
        let d = args.dilation
        guard outputPadding.h >= 0, outputPadding.w >= 0,
              outputPadding.h < max(stride.h, d.h), outputPadding.w < max(stride.w, d.w) else {
            let bound = d == Size2D(1) ? "stride \(stride)" : "stride \(stride) or dilation \(d)"
            throw GeoError.format("output_padding \(outputPadding) must be non-negative and smaller than \(bound)")
        }
        let ho = (h - 1) * stride.h + args.spanH + outputPadding.h - args.padStart.h - args.padEnd.h
        let wo = (w - 1) * stride.w + args.spanW + outputPadding.w - args.padStart.w - args.padEnd.w
        guard ho > 0, wo > 0 else {
            let pads = args.padStart == args.padEnd ? "padding \(args.padStart)" : "padding \(args.padStart) and \(args.padEnd)"
            throw GeoError.format("output would be \(ho)x\(wo): \(pads) is too large for input \(h)x\(w) and kernel \(kh)x\(kw)")
        }
        guard let outCount = Tensor.elementCount([cout, ho, wo]), outCount <= maxFeaturesPerPoint else {
            throw GeoError.format("output shape \(shapeString([cout, ho, wo])) has more than \(maxFeaturesPerPoint) features")
        }
        self.inputShape = inputShape; outputShape = [cout, ho, wo]
        self.weight = weight; self.bias = bias
        self.stride = stride; self.padding = padding; self.outputPadding = outputPadding; self.options = options
        inChannels = cin
        groups = args.groups; groupIn = cin / args.groups; groupPatch = cout / args.groups * kh * kw
        geometry = ConvGeometry(channels: cout, imageH: ho, imageW: wo, kh: kh, kw: kw, sh: stride.h, sw: stride.w,
                                ph: padding.h, pw: padding.w, dh: d.h, dw: d.w, gridH: h, gridW: w)
        try geometry.checkColumnSize()
    }

    func assign(weight: Tensor, bias: Tensor?) { self.weight = weight; self.bias = bias }

    public var spec: LayerSpec {
        .convTranspose2d(weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
                         options: options)
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
                    // cols_q = W_q^T Xm_q per group q: [Cout/G*kh*kw, Cin/G] x [Cin/G, n]
                    for q in 0..<groups {
                        try dgemm(transA: true, m: groupPatch, n: n, k: groupIn, wb + q * groupIn * groupPatch, lda: groupPatch,
                                  xmb + q * groupIn * n, ldb: n, cb + q * groupPatch * n, ldc: n)
                    }
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
                    // Xm_q = W_q cols_q per group q: [Cin/G, Cout/G*kh*kw] x [Cout/G*kh*kw, n]
                    for q in 0..<groups {
                        try dgemm(m: groupIn, n: n, k: groupPatch, wb + q * groupIn * groupPatch, lda: groupPatch,
                                  cb + q * groupPatch * n, ldb: n, xmb + q * groupIn * n, ldc: n)
                    }
                    scatterChannelMajor(xmb, rows: rc, channels: inChannels, plane: g.gridSize,
                                        into: xb + r0 * inSize, bias: nil, biasRows: 0)
                    r0 += rc
                }
            } } } }
        }
    }

    /// dL/dW = sum over chunks of Xm im2col(G)^T, per group ([Cin, Cout/G*kh*kw]); dL/db = per-channel sums.
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
                        // dW_q += Xm_q cols_q^T per group q: [Cin/G, n] x [n, Cout/G*kh*kw]
                        for q in 0..<groups {
                            try dgemm(transB: true, m: groupIn, n: groupPatch, k: n, xmb + q * groupIn * n, lda: n,
                                      cb + q * groupPatch * n, ldb: n, beta: 1, pd.baseAddress.map { $0 + q * groupIn * groupPatch },
                                      ldc: groupPatch)
                        }
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
