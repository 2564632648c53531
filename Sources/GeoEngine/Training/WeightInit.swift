/// PyTorch's default initialisation of nn.Linear, nn.Conv2d and nn.ConvTranspose2d, drawn from
/// a `SeededRandom`: weight = kaiming_uniform(a = sqrt 5), which is U(-b, b) with
/// b = sqrt(6 / ((1 + a^2) fan_in)) = 1 / sqrt(fan_in), and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
/// fan_in is the weight's dimension 1 times the kernel size, as torch's
/// _calculate_fan_in_and_fan_out computes it:
///     linear [out, in]                    fan_in = in
///     conv2d [out, in, kh, kw]            fan_in = in * kh * kw
///     conv_transpose2d [in, out, kh, kw]  fan_in = out * kh * kw
/// Weights are drawn first (row-major), then the bias.
enum WeightInit {
    /// U(-bound, bound) entries of the given shape.
    static func uniform(_ shape: [Int], bound: Double, _ rng: inout SeededRandom) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, unchecked: (0..<n).map { _ in (2 * rng.uniform() - 1) * bound })
    }

    /// fan_in of a weight in PyTorch's layout: shape[1] times the product of shape[2...].
    static func fanIn(_ weightShape: [Int]) -> Int {
        weightShape.count < 2 ? max(1, weightShape.first ?? 1) : weightShape[1...].reduce(1, *)
    }

    /// Weight and bias for a layer whose weight has `weightShape`; the bias has `biasCount` entries.
    static func layer(weightShape: [Int], biasCount: Int, _ rng: inout SeededRandom) -> (weight: Tensor, bias: Tensor) {
        let bound = 1 / Double(fanIn(weightShape)).squareRoot()
        let w = uniform(weightShape, bound: bound, &rng)
        let b = uniform([biasCount], bound: bound, &rng)
        return (w, b)
    }

    /// `.linear` with in -> out features.
    static func linear(_ inFeatures: Int, _ outFeatures: Int, _ rng: inout SeededRandom) -> LayerSpec {
        let (w, b) = layer(weightShape: [outFeatures, inFeatures], biasCount: outFeatures, &rng)
        return .linear(weight: w, bias: b)
    }

    /// `.conv2d` with a k x k kernel.
    static func conv2d(_ inChannels: Int, _ outChannels: Int, kernel k: Int, stride: Int, padding: Int,
                       _ rng: inout SeededRandom) -> LayerSpec {
        let (w, b) = layer(weightShape: [outChannels, inChannels, k, k], biasCount: outChannels, &rng)
        return .conv2d(weight: w, bias: b, stride: Size2D(stride), padding: Size2D(padding))
    }

    /// `.convTranspose2d` with a k x k kernel (weight [in, out, k, k]).
    static func convTranspose2d(_ inChannels: Int, _ outChannels: Int, kernel k: Int, stride: Int, padding: Int,
                                _ rng: inout SeededRandom) -> LayerSpec {
        let (w, b) = layer(weightShape: [inChannels, outChannels, k, k], biasCount: outChannels, &rng)
        return .convTranspose2d(weight: w, bias: b, stride: Size2D(stride), padding: Size2D(padding),
                                outputPadding: Size2D(0))
    }

    /// `spec` with fresh weights of the same shapes, drawn as above (weight, then the bias if
    /// the layer has one), and everything else (stride, padding, groups, ...) kept: a new
    /// initialisation of an existing architecture. Layers without parameters come back as they
    /// are; batchnorm, whose statistics come from data, throws `GeoError.invalidArgument`.
    static func redrawn(_ spec: LayerSpec, _ rng: inout SeededRandom) throws -> LayerSpec {
        func draw(_ w: Tensor, _ b: Tensor?) -> (Tensor, Tensor?) {
            let bound = 1 / Double(fanIn(w.shape)).squareRoot()
            let weight = uniform(w.shape, bound: bound, &rng)
            return (weight, b.map { uniform($0.shape, bound: bound, &rng) })
        }
        switch spec {
        case .linear(let w, let b):
            let (w2, b2) = draw(w, b)
            return .linear(weight: w2, bias: b2)
        case .conv2d(let w, let b, let stride, let padding, let options):
            let (w2, b2) = draw(w, b)
            return .conv2d(weight: w2, bias: b2, stride: stride, padding: padding, options: options)
        case .convTranspose2d(let w, let b, let stride, let padding, let outputPadding, let options):
            let (w2, b2) = draw(w, b)
            return .convTranspose2d(weight: w2, bias: b2, stride: stride, padding: padding, outputPadding: outputPadding,
                                    options: options)
        case .batchNorm:
            throw GeoError.invalidArgument("a batchnorm layer cannot be initialised afresh (its statistics come from data)")
        case .reshape, .flatten, .activation:
            return spec
        }
    }
}
