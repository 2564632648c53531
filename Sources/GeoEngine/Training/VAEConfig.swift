/// The settings of a VAE and its training run (see `VAE`, `VAETrainer`).
///
/// Defaults: latent 16, architecture .mlp with hidden [512, 256] (.conv: channels [32, 64]),
/// activation silu, epochs 10, batch size 128, learning rate 1e-3 (Adam), seed 0, likelihood
/// .bernoulli, the whole training set (subset nil).
///
/// The default activation is smooth (SiLU, x * sigmoid(x)) on purpose: with ReLU the decoder is
/// piecewise linear, its second derivatives vanish almost everywhere and every curvature georepl
/// measures would be trivially zero.
public struct VAEConfig: Equatable {
    /// The shape of the encoder and decoder networks.
    public enum Architecture: String, Equatable, CaseIterable {
        /// Fully connected: encoder D -> h1 -> ... -> hk -> 2*latent, decoder
        /// latent -> hk -> ... -> h1 -> D, the activation after every hidden layer.
        case mlp
        /// DCGAN-like, for images [C, H, W] with H and W divisible by 4, hidden = channels [c1, c2]:
        /// encoder conv2d(C->c1, 4x4, stride 2, pad 1) -> act -> conv2d(c1->c2, 4x4, stride 2, pad 1)
        /// -> act -> flatten -> linear(c2*H/4*W/4 -> 2*latent); decoder linear(latent -> c2*H/4*W/4)
        /// -> act -> reshape [c2, H/4, W/4] -> conv_transpose2d(c2->c1, 4x4, stride 2, pad 1) -> act
        /// -> conv_transpose2d(c1->C, 4x4, stride 2, pad 1) (-> sigmoid in the exported model).
        case conv
    }

    /// The decoder's observation model p(x | z), with decoder output l (pre-sigmoid logits) and
    /// y = sigmoid(l) in [0, 1]:
    public enum Likelihood: Equatable {
        /// -log p(x | z) = sum_j softplus(l_j) - x_j l_j, the binary cross-entropy of x in [0, 1]
        /// against y, computed stably from the logits.
        case bernoulli
        /// -log p(x | z) = sum_j (x_j - y_j)^2 / (2 sigma^2) + D (log sigma + log(2 pi) / 2).
        case gaussian(sigma: Double)
    }

    /// d, the latent dimension.
    public var latent: Int = 16
    public var architecture: Architecture = .mlp
    /// Hidden layer widths (.mlp, outermost first) or the two channel counts (.conv); nil: the
    /// architecture's default (`defaultHidden`).
    public var hidden: [Int]? = nil
    /// The nonlinearity after every hidden layer of both networks.
    public var activation: Activation = .silu
    /// Passes over the training data.
    public var epochs: Int = 10
    /// Images per minibatch (the last batch of an epoch may be smaller).
    public var batchSize: Int = 128
    /// Adam's learning rate.
    public var learningRate: Double = 1e-3
    /// Seeds the weight initialisation, the shuffling and the reparameterisation noise.
    public var seed: UInt64 = 0
    public var likelihood: Likelihood = .bernoulli
    /// Train on the first `subset` images only (nil: all).
    public var subset: Int? = nil
    /// Free bits (Kingma et al. 2016, "Improved variational inference with inverse
    /// autoregressive flow", eq. 15), in nats per latent dimension: dimension j's KL term is
    /// trained as max(lambda, the batch mean of KL_j), so that no dimension gains by carrying
    /// less than lambda nats (against posterior collapse: unused latent directions). 0 (the
    /// default) is the plain ELBO. The reported loss is always the true negative ELBO.
    public var freeBits: Double = 0
    /// KL warm-up (Bowman et al. 2016; Sonderby et al. 2016): the KL term's weight rises linearly
    /// from 0 to 1 over the first `klWarmup` epochs (per batch), then stays 1. 0 (default): off.
    public var klWarmup: Int = 0
    /// The KL term's final weight beta (Higgins et al. 2017, "beta-VAE"): the trained objective is
    /// reconstruction + beta * KL (times the warm-up's ramp). Below 1 the encoder spends more nats
    /// per image, so codes spread and classes separate (a 2-d model's codes leave empty regions
    /// between them); 1 (the default) is the ELBO. In (0, 100].
    public var beta: Double = 1

    public init(latent: Int = 16, architecture: Architecture = .mlp, hidden: [Int]? = nil,
                activation: Activation = .silu, epochs: Int = 10, batchSize: Int = 128,
                learningRate: Double = 1e-3, seed: UInt64 = 0, likelihood: Likelihood = .bernoulli,
                subset: Int? = nil) {
        self.latent = latent; self.architecture = architecture; self.hidden = hidden
        self.activation = activation; self.epochs = epochs; self.batchSize = batchSize
        self.learningRate = learningRate; self.seed = seed; self.likelihood = likelihood
        self.subset = subset
    }

    /// The default hidden sizes: [512, 256] for .mlp, channels [32, 64] for .conv.
    public static func defaultHidden(_ architecture: Architecture) -> [Int] {
        architecture == .mlp ? [512, 256] : [32, 64]
    }

    /// `hidden`, or the architecture's default.
    public var hiddenSizes: [Int] { hidden ?? VAEConfig.defaultHidden(architecture) }

    /// Limits that keep a mistyped setting from asking for absurd amounts of memory or time.
    public static let maxLatent = 4096
    public static let maxWidth = 1 << 16
    public static let maxHiddenLayers = 16
    public static let maxEpochs = 1_000_000
    public static let maxBatchSize = 1 << 16

    /// Checks every setting; `GeoError.invalidArgument` names the first bad one.
    public func validate() throws {
        try Setting.integer("latent", latent, in: 1...VAEConfig.maxLatent)
        let h = hiddenSizes
        switch architecture {
        case .mlp:
            try Setting.require("hidden", h.count <= VAEConfig.maxHiddenLayers, "at most \(VAEConfig.maxHiddenLayers) layer sizes",
                                got: "\(h.count) entries")
        case .conv:
            try Setting.require("hidden", h.count == 2, "two channel counts {c1, c2} for arch \"conv\"", got: "\(h.count) entries")
        }
        for (k, size) in h.enumerated() {
            try Setting.integer("hidden", size, in: 1...VAEConfig.maxWidth, entry: k + 1)
        }
        try Setting.integer("epochs", epochs, in: 1...VAEConfig.maxEpochs)
        try Setting.integer("batch", batchSize, in: 1...VAEConfig.maxBatchSize)
        try Setting.positive("lr", learningRate)
        if case .gaussian(let sigma) = likelihood { try Setting.positive("sigma", sigma) }
        if let s = subset { try Setting.integer("subset", s, in: 1...Int.max) }
        try Setting.require("free_bits", freeBits >= 0 && freeBits.isFinite && freeBits <= 100, "a number from 0 to 100",
                            got: formatNumber(freeBits))
        try Setting.integer("kl_warmup", klWarmup, in: 0...VAEConfig.maxEpochs)
        try Setting.require("beta", beta > 0 && beta <= 100, "a number in (0, 100]", got: formatNumber(beta))
    }
}
