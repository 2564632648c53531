/// The encoder and decoder layer plans of `VAEConfig.Architecture` for a given data shape, and
/// their construction with PyTorch's default initialisation (`WeightInit`). The decoder plan
/// ends in logits (no final sigmoid; `VAE.manifold` appends it). The encoder maps data to
/// 2 * latent outputs: the posterior mean, then the log-variance.
enum VAEArchitecture {
    /// A layer before its tensors are drawn: enough to count parameters first.
    enum Plan {
        case linear(inFeatures: Int, outFeatures: Int)
        /// 4x4 kernel, stride 2, padding 1: H -> H/2.
        case down(inChannels: Int, outChannels: Int)
        /// 4x4 kernel, stride 2, padding 1: H -> 2H.
        case up(inChannels: Int, outChannels: Int)
        case activation(Activation)
        case reshape([Int])
        case flatten

        /// The number of trainable scalars (weights and biases).
        var parameterCount: Int {
            switch self {
            case .linear(let i, let o): return o * i + o
            case .down(let i, let o): return o * i * 16 + o
            case .up(let i, let o): return i * o * 16 + o
            default: return 0
            }
        }

        func build(_ rng: inout SeededRandom) -> LayerSpec {
            switch self {
            case .linear(let i, let o): return WeightInit.linear(i, o, &rng)
            case .down(let i, let o): return WeightInit.conv2d(i, o, kernel: 4, stride: 2, padding: 1, &rng)
            case .up(let i, let o): return WeightInit.convTranspose2d(i, o, kernel: 4, stride: 2, padding: 1, &rng)
            case .activation(let a): return .activation(a)
            case .reshape(let s): return .reshape(s)
            case .flatten: return .flatten
            }
        }
    }

    /// The most trainable scalars a VAE may have (encoder and decoder together; 400 MB of Doubles).
    static let maxParameters = 50_000_000

    /// Encoder input shape and the two plans for `config` and data of `dataShape`. Throws
    /// `GeoError.invalidArgument` when the architecture does not fit the data or is too large.
    static func plans(_ config: VAEConfig, dataShape: [Int]) throws
        -> (encoderInput: [Int], encoder: [Plan], decoder: [Plan]) {
        guard !dataShape.isEmpty, dataShape.allSatisfy({ $0 > 0 }),
              let dataDim = Tensor.elementCount(dataShape), dataDim <= 1 << 24 else {
            throw GeoError.invalidArgument("data shape \(shapeString(dataShape)) is not a shape of positive sizes (at most 2^24 values)")
        }
        let d = config.latent, h = config.hiddenSizes, act = config.activation
        var enc: [Plan] = [], dec: [Plan] = []
        let encoderInput: [Int]
        switch config.architecture {
        case .mlp:
            encoderInput = [dataDim]
            let widths = [dataDim] + h
            for i in 0..<h.count { enc += [.linear(inFeatures: widths[i], outFeatures: widths[i + 1]), .activation(act)] }
            enc.append(.linear(inFeatures: widths.last ?? dataDim, outFeatures: 2 * d))
            let back = [d] + h.reversed()
            for i in 0..<h.count { dec += [.linear(inFeatures: back[i], outFeatures: back[i + 1]), .activation(act)] }
            dec.append(.linear(inFeatures: back.last ?? d, outFeatures: dataDim))
        case .conv:
            guard dataShape.count == 3, dataShape[1] % 4 == 0, dataShape[2] % 4 == 0 else {
                throw GeoError.invalidArgument("the conv architecture needs images of shape [C,H,W] with H and W divisible by 4, got data shape \(shapeString(dataShape))")
            }
            encoderInput = dataShape
            let (c, c1, c2) = (dataShape[0], h[0], h[1])
            let small = [c2, dataShape[1] / 4, dataShape[2] / 4]
            let flat = small.reduce(1, *)
            enc = [.down(inChannels: c, outChannels: c1), .activation(act),
                   .down(inChannels: c1, outChannels: c2), .activation(act),
                   .flatten, .linear(inFeatures: flat, outFeatures: 2 * d)]
            dec = [.linear(inFeatures: d, outFeatures: flat), .activation(act), .reshape(small),
                   .up(inChannels: c2, outChannels: c1), .activation(act),
                   .up(inChannels: c1, outChannels: c)]
        }
        // Count in Doubles to avoid overflow with absurd widths.
        let total = (enc + dec).reduce(0.0) { $0 + Double($1.parameterCount) }
        guard total <= Double(maxParameters) else {
            throw GeoError.invalidArgument("the VAE would have \(formatNumber(total)) parameters, more than the limit of \(maxParameters); use smaller hidden sizes")
        }
        // Parameters, their gradients and Adam's two moments.
        try MemoryBudget.doubles(Int(total), 4, for: "training a VAE of \(Int(total)) parameters")
        return (encoderInput, enc, dec)
    }

    /// The initialised encoder and decoder (logits) networks; draws the encoder's tensors first.
    static func build(_ config: VAEConfig, dataShape: [Int], seed: UInt64) throws
        -> (encoder: NeuralNetwork, decoder: NeuralNetwork) {
        let p = try plans(config, dataShape: dataShape)
        var rng = SeededRandom(seed: seed)
        let encoder = try NeuralNetwork(inputShape: p.encoderInput, layers: p.encoder.map { $0.build(&rng) })
        let decoder = try NeuralNetwork(inputShape: [config.latent], layers: p.decoder.map { $0.build(&rng) },
                                        outputShape: dataShape)
        return (encoder, decoder)
    }
}
