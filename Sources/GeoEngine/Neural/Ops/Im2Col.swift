/// The settings of a 2-D convolution beyond what SPEC's model-file layers `conv2d` and
/// `conv_transpose2d` describe (stride, symmetric padding, output_padding): channel groups,
/// dilation and separate bottom/right padding, as ONNX's Conv and ConvTranspose (and PyTorch's
/// layers) have them. The defaults are the model-file layers; a layer with other settings
/// cannot be written to a model file.
public struct ConvOptions: Equatable {
    /// Channel groups G: the input and output channels are split into G equal consecutive
    /// parts, output part g seeing input part g only (G = input channels: depthwise). The
    /// weight's input-channel axis has C/G entries for conv2d ([out, C/G, kh, kw]); for
    /// conv_transpose2d the weight is [C, out/G, kh, kw].
    public var groups: Int
    /// Spacing of the kernel taps: tap (i, j) reads the image at offset (i dh, j dw), so the
    /// kernel spans (kh - 1) dh + 1 rows and (kw - 1) dw + 1 columns.
    public var dilation: Size2D
    /// Padding at the bottom and right; nil: the same as the top and left `padding`
    /// (symmetric, the model-file form). For conv_transpose2d explicit per-side padding may be
    /// negative (ONNX's output_shape beyond the full output): the output then extends past the
    /// positions any input reaches, which hold the bias alone.
    public var paddingEnd: Size2D?

    public init(groups: Int = 1, dilation: Size2D = Size2D(1), paddingEnd: Size2D? = nil) {
        self.groups = groups; self.dilation = dilation; self.paddingEnd = paddingEnd
    }

    /// Whether these are the defaults: what a model file's conv2d / conv_transpose2d can hold.
    public var isDefault: Bool { groups == 1 && dilation == Size2D(1) && paddingEnd == nil }

    /// "groups 4, dilation [2,2], padding_end [0,1]": the settings that differ from the defaults.
    var summary: String {
        var parts: [String] = []
        if groups != 1 { parts.append("groups \(groups)") }
        if dilation != Size2D(1) { parts.append("dilation \(dilation)") }
        if let e = paddingEnd { parts.append("padding_end \(e)") }
        return parts.joined(separator: ", ")
    }
}

/// The construction arguments both convolution kinds check alike: an input [C, H, W], a 4-d
/// weight whose `inputAxis` (0 for conv_transpose2d's [in,out/G,kh,kw], 1 for conv2d's
/// [out,in/G,kh,kw]) fits C input channels in G groups, stride and dilation in
/// 1 ... `maxConvolutionParameter`, padding in 0 ... `maxConvolutionParameter` (or, where
/// `negativePaddingAllowed`, in -max ... max), and a bias of `otherChannels` entries. Every
/// violation is a `GeoError.format` naming the op and the tensor.
struct ConvArguments {
    /// The input's channels, height and width.
    let channels: Int, height: Int, width: Int
    /// The output channels (all groups) and the kernel size.
    let otherChannels: Int, kh: Int, kw: Int
    let groups: Int, dilation: Size2D
    /// Padding at the top and left, and at the bottom and right.
    let padStart: Size2D, padEnd: Size2D
    /// The extent of the dilated kernel: (kh - 1) dh + 1 and (kw - 1) dw + 1.
    var spanH: Int { (kh - 1) * dilation.h + 1 }
    var spanW: Int { (kw - 1) * dilation.w + 1 }

    init(op: String, inputShape: [Int], weight: Tensor, inputAxis: Int, bias: Tensor?, stride: Size2D,
         padding: Size2D, options: ConvOptions, negativePaddingAllowed: Bool, names: [String: String]) throws {
        guard inputShape.count == 3 else {
            throw GeoError.format("input has shape \(shapeString(inputShape)); \(op) needs [C,H,W] (insert {\"op\":\"reshape\",\"shape\":[C,H,W]})")
        }
        let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
        guard c > 0, h > 0, w > 0, let n = Tensor.elementCount(inputShape), n <= maxFeaturesPerPoint else {
            throw GeoError.format("input shape \(shapeString(inputShape)) is empty or too large")
        }
        let g = options.groups
        guard g >= 1, g <= c, c % g == 0 else {
            throw GeoError.format("groups \(g) must divide the \(c) input channels")
        }
        let perGroup = c / g
        guard weight.shape.count == 4, weight.shape[inputAxis] == (inputAxis == 0 ? c : perGroup) else {
            let layout = inputAxis == 0 ? "[\(c),out,kh,kw]" : (g == 1 ? "[out,\(c),kh,kw]" : "[out,\(perGroup),kh,kw]")
            let groupsNote = g == 1 ? "" : " in \(g) groups"
            throw GeoError.format("\(tensorLabel("weight", names)) has shape \(shapeString(weight.shape)), expected \(layout) for \(c) input channels\(groupsNote)")
        }
        let (other, kh, kw) = (weight.shape[1 - inputAxis], weight.shape[2], weight.shape[3])
        guard other > 0, kh > 0, kw > 0 else {
            throw GeoError.format("\(tensorLabel("weight", names)) has an empty dimension: \(shapeString(weight.shape))")
        }
        // conv2d: [O, C/G, kh, kw] with G | O; conv_transpose2d: [C, O/G, kh, kw], O = G * shape[1].
        if inputAxis == 1 && other % g != 0 {
            throw GeoError.format("\(tensorLabel("weight", names)) has \(other) output channels, which \(g) groups do not divide")
        }
        let o = inputAxis == 1 ? other : other * g
        guard stride.h > 0, stride.w > 0, stride.h <= maxConvolutionParameter, stride.w <= maxConvolutionParameter else {
            throw GeoError.format("stride \(stride) must be between 1 and \(maxConvolutionParameter)")
        }
        let d = options.dilation
        guard d.h > 0, d.w > 0, d.h <= maxConvolutionParameter, d.w <= maxConvolutionParameter else {
            throw GeoError.format("dilation \(d) must be between 1 and \(maxConvolutionParameter)")
        }
        let lowest = negativePaddingAllowed ? -maxConvolutionParameter : 0
        for (name, p) in [("padding", padding), ("padding_end", options.paddingEnd ?? padding)] {
            guard p.h >= lowest, p.w >= lowest, p.h <= maxConvolutionParameter, p.w <= maxConvolutionParameter else {
                throw GeoError.format("\(name) \(p) must be between \(lowest) and \(maxConvolutionParameter)")
            }
        }
        if let b = bias { try expectShape(b, [o], "bias", names) }
        channels = c; height = h; width = w; otherChannels = o; self.kh = kh; self.kw = kw
        groups = g; dilation = d; padStart = padding; padEnd = options.paddingEnd ?? padding
    }
}

/// The window sweep shared by conv2d and conv_transpose2d: an image of `channels` x imageH x
/// imageW, zero-padded by (ph, pw) at the top and left, and a kh x kw kernel with dilation
/// (dh, dw) moved with stride (sh, sw) over gridH x gridW positions. Conv2d sweeps its input
/// image (grid = output); conv_transpose2d is the adjoint sweep over its output image (grid =
/// its input). The bottom and right padding enter through the sizes alone: a conv2d's grid
/// (gridH = (imageH + ph + pb - span) / sh + 1) or a conv_transpose2d's image
/// (imageH = (gridH - 1) sh + span + output_padding - ph - pb), where span = (kh - 1) dh + 1.
/// Paddings may be negative (a window that starts inside the image).
///
/// The column matrix of a chunk of R images is [channels*kh*kw, R*gridH*gridW], row-major:
/// row (c*kh + i)*kw + j, column r*grid + oh*gridW + ow holds
/// image_r[c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (zero outside the image). Its rows are
/// channel-major, so the rows of channel group g (channels g*C/G ..< (g+1)*C/G) are one
/// consecutive block: grouped convolutions run one GEMM per group on that block.
struct ConvGeometry {
    /// Throws when one point's column matrix (patch size x grid size) would exceed
    /// `maxFeaturesPerPoint` entries: a format error at construction, not an allocation failure.
    func checkColumnSize() throws {
        let (columnEntries, overflow) = patchSize.multipliedReportingOverflow(by: gridSize)
        guard !overflow, columnEntries <= maxFeaturesPerPoint else {
            throw GeoError.format("the column matrix of one point would have more than \(maxFeaturesPerPoint) entries (kernel \(kh)x\(kw), grid \(gridH)x\(gridW))")
        }
    }

    let channels: Int, imageH: Int, imageW: Int
    let kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int, dh: Int, dw: Int
    let gridH: Int, gridW: Int

    init(channels: Int, imageH: Int, imageW: Int, kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int,
         dh: Int = 1, dw: Int = 1, gridH: Int, gridW: Int) {
        self.channels = channels; self.imageH = imageH; self.imageW = imageW
        self.kh = kh; self.kw = kw; self.sh = sh; self.sw = sw; self.ph = ph; self.pw = pw
        self.dh = dh; self.dw = dw; self.gridH = gridH; self.gridW = gridW
    }

    /// Entries of one image.
    var imageSize: Int { channels * imageH * imageW }
    /// Rows of the column matrix: channels * kh * kw.
    var patchSize: Int { channels * kh * kw }
    /// Window positions: gridH * gridW.
    var gridSize: Int { gridH * gridW }

    /// The grid positions o (0 <= o < grid) whose tap at image offset `tap` (kernel index times
    /// dilation) falls inside the image: 0 <= o*stride - pad + tap < size.
    static func validRange(tap: Int, stride: Int, pad: Int, size: Int, grid: Int) -> Range<Int> {
        let lo = max(0, ceilDiv(pad - tap, stride))
        let hi = min(grid, floorDiv(size - 1 + pad - tap, stride) + 1)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// The valid grid ranges for every kernel row i and column j.
    private func validRanges() -> (h: [Range<Int>], w: [Range<Int>]) {
        ((0..<kh).map { ConvGeometry.validRange(tap: $0 * dh, stride: sh, pad: ph, size: imageH, grid: gridH) },
         (0..<kw).map { ConvGeometry.validRange(tap: $0 * dw, stride: sw, pad: pw, size: imageW, grid: gridW) })
    }

    /// Writes the column matrix of `rows` images at `src` (each `imageSize` entries) to `dst`.
    /// Loops run channel by channel (channels split among threads): the chunk's planes of one
    /// channel stay in cache while its kh*kw column rows are written sequentially.
    func im2col(_ src: UnsafePointer<Double>, rows: Int, into dst: UnsafeMutablePointer<Double>) {
        let ld = rows * gridSize, plane = imageH * imageW
        let (hr, wr) = validRanges()
        Parallel.forRanges(channels, costPerItem: kh * kw * ld) { channelRange in
            for c in channelRange {
                for i in 0..<kh {
                    for j in 0..<kw {
                        let h = hr[i], w = wr[j]
                        for r in 0..<rows {
                            let img = src + r * imageSize + c * plane
                            let d = dst + ((c * kh + i) * kw + j) * ld + r * gridSize
                            if h.isEmpty || w.isEmpty { d.update(repeating: 0, count: gridSize); continue }
                            if h.lowerBound > 0 { d.update(repeating: 0, count: h.lowerBound * gridW) }
                            for oh in h {
                                let drow = d + oh * gridW
                                let srow = img + (oh * sh - ph + i * dh) * imageW - pw + j * dw
                                if w.lowerBound > 0 { drow.update(repeating: 0, count: w.lowerBound) }
                                if sw == 1 {
                                    (drow + w.lowerBound).update(from: srow + w.lowerBound, count: w.count)
                                } else {
                                    for ow in w { drow[ow] = srow[ow * sw] }
                                }
                                if w.upperBound < gridW {
                                    (drow + w.upperBound).update(repeating: 0, count: gridW - w.upperBound)
                                }
                            }
                            if h.upperBound < gridH {
                                (d + h.upperBound * gridW).update(repeating: 0, count: (gridH - h.upperBound) * gridW)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds every column entry back onto its image pixel in the `rows`
    /// images at `dst`, channel by channel (channels split among threads). With `zeroFirst`
    /// each plane is zeroed first (so `dst` may be uninitialised); otherwise it accumulates.
    func col2im(_ src: UnsafePointer<Double>, rows: Int, into dst: UnsafeMutablePointer<Double>, zeroFirst: Bool) {
        let ld = rows * gridSize, plane = imageH * imageW
        let (hr, wr) = validRanges()
        Parallel.forRanges(channels, costPerItem: kh * kw * ld) { channelRange in
            for c in channelRange {
                if zeroFirst {
                    for r in 0..<rows { (dst + r * imageSize + c * plane).update(repeating: 0, count: plane) }
                }
                for i in 0..<kh {
                    for j in 0..<kw {
                        let h = hr[i], w = wr[j]
                        if h.isEmpty || w.isEmpty { continue }
                        let lo = w.lowerBound, count = w.count
                        for r in 0..<rows {
                            let img = dst + r * imageSize + c * plane
                            let s = src + ((c * kh + i) * kw + j) * ld + r * gridSize
                            for oh in h {
                                let crow = s + oh * gridW + lo
                                let irow = img + (oh * sh - ph + i * dh) * imageW - pw + j * dw + lo * sw
                                if sw == 1 {
                                    for q in 0..<count { irow[q] += crow[q] }
                                } else {
                                    for q in 0..<count { irow[q * sw] += crow[q] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Copies `rows` points laid out [rows][channels][plane] into channel-major
/// [channels][rows*plane] (the operand layout of the convolution GEMMs).
func gatherChannelMajor(_ src: UnsafePointer<Double>, rows: Int, channels: Int, plane: Int,
                        into dst: UnsafeMutablePointer<Double>) {
    let ld = rows * plane
    Parallel.forRanges(rows, costPerItem: channels * plane) { rowRange in
        for r in rowRange {
            for c in 0..<channels {
                (dst + c * ld + r * plane).update(from: src + (r * channels + c) * plane, count: plane)
            }
        }
    }
}

/// The inverse of `gatherChannelMajor`: writes channel-major [channels][rows*plane] back to
/// [rows][channels][plane] (every entry of the destination rows), adding bias[c] to the first
/// `biasRows` of the rows when given.
func scatterChannelMajor(_ src: UnsafePointer<Double>, rows: Int, channels: Int, plane: Int,
                         into dst: UnsafeMutablePointer<Double>, bias: UnsafePointer<Double>?, biasRows: Int) {
    let ld = rows * plane
    Parallel.forRanges(rows, costPerItem: channels * plane) { rowRange in
        for r in rowRange {
            for c in 0..<channels {
                let d = dst + (r * channels + c) * plane, s = src + c * ld + r * plane
                if let b = bias, r < biasRows {
                    let bc = b[c]
                    for q in 0..<plane { d[q] = s[q] + bc }
                } else {
                    d.update(from: s, count: plane)
                }
            }
        }
    }
}

/// Adds bias[c] to every entry of channel c of the first `rows` points ([rows][channels][plane]).
func addChannelBias(_ dst: UnsafeMutablePointer<Double>, rows: Int, channels: Int, plane: Int,
                    bias: UnsafePointer<Double>) {
    Parallel.forRanges(rows, costPerItem: channels * plane) { rowRange in
        for r in rowRange {
            for c in 0..<channels {
                let d = dst + (r * channels + c) * plane, bc = bias[c]
                for q in 0..<plane { d[q] += bc }
            }
        }
    }
}

/// A rows x cols matrix whose storage `fill` must initialise completely (no zero-filling
/// first: fresh pages are first touched by the filling threads).
func uninitializedMatrix(rows: Int, cols: Int, _ fill: (UnsafeMutablePointer<Double>) throws -> Void) rethrows -> Matrix {
    let count = rows * cols
    let scalars = try [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0, let base = buffer.baseAddress {
            try fill(base)
        }
        initialized = count
    }
    return Matrix(rows: rows, cols: cols, unchecked: scalars)
}

/// Per-channel sums over all rows and positions of [rows][channels][plane] (a bias gradient).
func channelSums(_ m: Matrix, channels: Int, plane: Int) -> [Double] {
    var s = [Double](repeating: 0, count: channels)
    m.scalars.withUnsafeBufferPointer { p in
        for r in 0..<m.rows {
            for c in 0..<channels {
                var acc = 0.0
                let base = (r * channels + c) * plane
                for q in 0..<plane { acc += p[base + q] }
                s[c] += acc
            }
        }
    }
    return s
}

@inline(__always) func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
