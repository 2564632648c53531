/// `batchnorm` in inference form (PyTorch's BatchNorm1d/2d in eval mode): per channel c,
/// y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c = a_c x + b_c. Channels are the
/// first dimension of the input shape: per channel over H*W for [C, H, W], per feature for a
/// flat [D]. weight defaults to ones and bias to zeros (PyTorch's affine=False); eps defaults
/// to 1e-5. The trainable parameters are weight and bias; mean and var are fixed buffers.
public final class BatchNorm: AffineLayer {
    public var op: String { "batchnorm" }
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    /// gamma, beta, running mean and running variance, each [C].
    public private(set) var weight: Tensor, bias: Tensor
    public let runningMean: Tensor, runningVar: Tensor
    public let eps: Double
    let channels: Int, plane: Int
    /// a_c = weight_c / sqrt(var_c + eps), b_c = bias_c - mean_c a_c.
    private(set) var scale: [Double], shift: [Double]

    /// A batchnorm layer for points of `inputShape` (C = inputShape[0]). `names` maps
    /// "weight"/"bias"/"mean"/"var" to tensor names for error messages.
    public init(inputShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil, mean: Tensor, variance: Tensor,
                eps: Double = 1e-5, names: [String: String] = [:]) throws {
        guard let c = inputShape.first, c > 0 else {
            throw GeoError.format("batchnorm needs an input with channels, got shape \(shapeString(inputShape))")
        }
        guard eps.isFinite, eps >= 0 else { throw GeoError.format("eps \(eps) must be finite and non-negative") }
        let w = weight ?? Tensor(shape: [c], repeating: 1), b = bias ?? Tensor(shape: [c], repeating: 0)
        try expectShape(w, [c], "weight", names)
        try expectShape(b, [c], "bias", names)
        try expectShape(mean, [c], "mean", names)
        try expectShape(variance, [c], "var", names)
        for (i, v) in variance.scalars.enumerated() where !(v + eps > 0) {
            throw GeoError.format("\(tensorLabel("var", names)) + eps is \(v + eps) for channel \(i); it must be positive")
        }
        let (a, sh) = BatchNorm.affine(weight: w, bias: b, mean: mean, variance: variance, eps: eps)
        self.inputShape = inputShape
        self.weight = w
        self.bias = b
        runningMean = mean
        runningVar = variance
        self.eps = eps
        channels = c
        plane = inputShape.dropFirst().reduce(1, *)
        scale = a
        shift = sh
    }

    /// a_c = weight_c / sqrt(var_c + eps) and b_c = bias_c - mean_c a_c.
    private static func affine(weight: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, eps: Double)
        -> (scale: [Double], shift: [Double]) {
        let a = zip(weight.scalars, variance.scalars).map { $0 / ($1 + eps).squareRoot() }
        let b = zip(zip(bias.scalars, mean.scalars), a).map { $0.0 - $0.1 * $1 }
        return (a, b)
    }

    public var parameterNames: [String] { ["weight", "bias"] }
    public var parameters: [Tensor] { [weight, bias] }

    public func setParameters(_ values: [Tensor]) throws {
        guard values.count == 2 else {
            throw GeoError.dimensionMismatch("batchnorm has 2 parameters, got \(values.count)")
        }
        try expectShape(values[0], [channels], "weight", [:])
        try expectShape(values[1], [channels], "bias", [:])
        weight = values[0]; bias = values[1]
        (scale, shift) = BatchNorm.affine(weight: weight, bias: bias, mean: runningMean, variance: runningVar, eps: eps)
    }

    public var spec: LayerSpec { .batchNorm(weight: weight, bias: bias, mean: runningMean, variance: runningVar, eps: eps) }

    /// y = a_c x (+ b_c on the first biasRows rows).
    public func applyLinear(_ x: Matrix, biasRows: Int) throws -> Matrix {
        var y = x
        try scaleInPlace(&y, biasRows: biasRows)
        return y
    }

    /// Forward mode in place: a_c x on every row, + b_c on the value rows.
    public func forwardMode(inPlace state: inout Matrix, layout: ForwardModeLayout) throws {
        try checkState(state, layout)
        try scaleInPlace(&state, biasRows: layout.points)
    }

    /// Reverse mode in place: the linear part is diagonal, A^T c = a_c c.
    public func backward(input: Matrix, output: Matrix, inPlace cotangents: inout Matrix, layout: ReverseLayout) throws {
        try checkBackward(input: input, output: output, cotangents: cotangents, layout: layout)
        try scaleInPlace(&cotangents, biasRows: 0)
    }

    private func scaleInPlace(_ y: inout Matrix, biasRows: Int) throws {
        guard y.cols == channels * plane else {
            throw GeoError.dimensionMismatch("batchnorm takes \(channels * plane) features per row, got \(y.cols)")
        }
        let rows = y.rows, channels = channels, plane = plane
        y.scalars.withUnsafeMutableBufferPointer { py in
            scale.withUnsafeBufferPointer { pa in
                shift.withUnsafeBufferPointer { pb in
                    guard let yb = py.baseAddress, let ab = pa.baseAddress, let bb = pb.baseAddress else { return }
                    Parallel.forRanges(rows, costPerItem: channels * plane) { rowRange in
                        for r in rowRange {
                            let withBias = r < biasRows
                            for c in 0..<channels {
                                let row = yb + (r * channels + c) * plane, a = ab[c], b = withBias ? bb[c] : 0
                                for q in 0..<plane { row[q] = a * row[q] + b }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The linear part is diagonal: A^T c = a_c c.
    public func applyTransposed(_ c: Matrix) throws -> Matrix {
        guard c.cols == channels * plane else {
            throw GeoError.dimensionMismatch("batchnorm: cotangents have \(c.cols) columns, expected \(channels * plane)")
        }
        return try applyLinear(c, biasRows: 0)
    }

    /// dL/dweight_c = sum c * (x - mean_c) / sqrt(var_c + eps); dL/dbias_c = sum c.
    public func parameterGradients(input: Matrix, output: Matrix, cotangents: Matrix) throws -> [Tensor] {
        try checkParameterGradients(input: input, output: output, cotangents: cotangents)
        var dw = [Double](repeating: 0, count: channels), db = [Double](repeating: 0, count: channels)
        input.scalars.withUnsafeBufferPointer { px in
            cotangents.scalars.withUnsafeBufferPointer { pc in
                for r in 0..<input.rows {
                    for c in 0..<channels {
                        let base = (r * channels + c) * plane, m = runningMean.scalars[c]
                        let inv = 1 / (runningVar.scalars[c] + eps).squareRoot()
                        var sw = 0.0, sb = 0.0
                        for q in 0..<plane {
                            sw += pc[base + q] * (px[base + q] - m) * inv
                            sb += pc[base + q]
                        }
                        dw[c] += sw; db[c] += sb
                    }
                }
            }
        }
        return [Tensor(shape: [channels], unchecked: dw), Tensor(shape: [channels], unchecked: db)]
    }
}
