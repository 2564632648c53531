/// The window sweep shared by conv2d and conv_transpose2d: an image of `channels` x imageH x
/// imageW, zero-padded by (ph, pw) on each side, and a kh x kw kernel moved with stride (sh, sw)
/// over gridH x gridW positions. Conv2d sweeps its input image (grid = output); conv_transpose2d
/// is the adjoint sweep over its output image (grid = its input).
///
/// The column matrix of a chunk of R images is [channels*kh*kw, R*gridH*gridW], row-major:
/// row (c*kh + i)*kw + j, column r*grid + oh*gridW + ow holds
/// image_r[c, oh*sh - ph + i, ow*sw - pw + j] (zero outside the image).
struct ConvGeometry {
    let channels: Int, imageH: Int, imageW: Int
    let kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int
    let gridH: Int, gridW: Int

    /// Entries of one image.
    var imageSize: Int { channels * imageH * imageW }
    /// Rows of the column matrix: channels * kh * kw.
    var patchSize: Int { channels * kh * kw }
    /// Window positions: gridH * gridW.
    var gridSize: Int { gridH * gridW }

    /// The grid positions o (0 <= o < grid) whose tap at kernel offset `tap` falls inside the
    /// image: 0 <= o*stride - pad + tap < size.
    static func validRange(tap: Int, stride: Int, pad: Int, size: Int, grid: Int) -> Range<Int> {
        let lo = max(0, ceilDiv(pad - tap, stride))
        let hi = min(grid, floorDiv(size - 1 + pad - tap, stride) + 1)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// Writes the column matrix of `rows` images at `src` (each `imageSize` entries) to `dst`.
    func im2col(_ src: UnsafePointer<Double>, rows: Int, into dst: UnsafeMutablePointer<Double>) {
        let ld = rows * gridSize, plane = imageH * imageW
        for i in 0..<kh {
            let hr = ConvGeometry.validRange(tap: i, stride: sh, pad: ph, size: imageH, grid: gridH)
            for j in 0..<kw {
                let wr = ConvGeometry.validRange(tap: j, stride: sw, pad: pw, size: imageW, grid: gridW)
                for c in 0..<channels {
                    let dstRow = dst + ((c * kh + i) * kw + j) * ld
                    for r in 0..<rows {
                        let img = src + r * imageSize + c * plane
                        let d = dstRow + r * gridSize
                        for oh in 0..<gridH {
                            let drow = d + oh * gridW
                            guard hr.contains(oh) else { drow.update(repeating: 0, count: gridW); continue }
                            let srow = img + (oh * sh - ph + i) * imageW - pw + j
                            if wr.lowerBound > 0 { drow.update(repeating: 0, count: wr.lowerBound) }
                            if sw == 1 {
                                (drow + wr.lowerBound).update(from: srow + wr.lowerBound, count: wr.count)
                            } else {
                                for ow in wr { drow[ow] = srow[ow * sw] }
                            }
                            if wr.upperBound < gridW {
                                (drow + wr.upperBound).update(repeating: 0, count: gridW - wr.upperBound)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds every column entry back onto its image pixel, accumulating
    /// into the `rows` images at `dst` (which the caller initialises).
    func col2im(_ src: UnsafePointer<Double>, rows: Int, into dst: UnsafeMutablePointer<Double>) {
        let ld = rows * gridSize, plane = imageH * imageW
        for i in 0..<kh {
            let hr = ConvGeometry.validRange(tap: i, stride: sh, pad: ph, size: imageH, grid: gridH)
            for j in 0..<kw {
                let wr = ConvGeometry.validRange(tap: j, stride: sw, pad: pw, size: imageW, grid: gridW)
                if wr.isEmpty { continue }
                for c in 0..<channels {
                    let srcRow = src + ((c * kh + i) * kw + j) * ld
                    for r in 0..<rows {
                        let img = dst + r * imageSize + c * plane
                        let s = srcRow + r * gridSize
                        for oh in hr {
                            let crow = s + oh * gridW
                            let irow = img + (oh * sh - ph + i) * imageW - pw + j
                            if sw == 1 {
                                for ow in wr { irow[ow] += crow[ow] }
                            } else {
                                for ow in wr { irow[ow * sw] += crow[ow] }
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
    for r in 0..<rows {
        for c in 0..<channels {
            (dst + c * ld + r * plane).update(from: src + (r * channels + c) * plane, count: plane)
        }
    }
}

/// The inverse of `gatherChannelMajor`: writes channel-major [channels][rows*plane] back to
/// [rows][channels][plane], adding bias[c] to the first `biasRows` of the rows when given.
func scatterChannelMajor(_ src: UnsafePointer<Double>, rows: Int, channels: Int, plane: Int,
                         into dst: UnsafeMutablePointer<Double>, bias: UnsafePointer<Double>?, biasRows: Int) {
    let ld = rows * plane
    for r in 0..<rows {
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

/// Adds bias[c] to every entry of channel c of the first `rows` points ([rows][channels][plane]).
func addChannelBias(_ dst: UnsafeMutablePointer<Double>, rows: Int, channels: Int, plane: Int,
                    bias: UnsafePointer<Double>) {
    for r in 0..<rows {
        for c in 0..<channels {
            let d = dst + (r * channels + c) * plane, bc = bias[c]
            for q in 0..<plane { d[q] += bc }
        }
    }
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
