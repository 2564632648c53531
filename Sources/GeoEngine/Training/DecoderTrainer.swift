import Foundation

/// The settings of `DecoderTrainer`: defaults epochs 10, batch size 128, learning rate 1e-3
/// (Adam), seed 0, the whole training set, codes sampled from the posterior.
public struct DecoderConfig: Equatable {
    /// Which latent code a training image gets.
    public enum Codes: String, Equatable, CaseIterable {
        /// A fresh sample z = mu + sigma eps of the encoder's posterior N(mu, diag exp(logvar))
        /// every time the image is visited: the distribution the VAE's own decoder was trained on.
        case sample
        /// The posterior mean mu.
        case mean
    }

    public var epochs: Int = 10
    /// Images per minibatch (the last batch of an epoch may be smaller).
    public var batchSize: Int = 128
    /// Adam's learning rate.
    public var learningRate: Double = 1e-3
    /// Seeds the decoder's initialisation, the shuffling and the posterior samples.
    public var seed: UInt64 = 0
    /// Train on the first `subset` images only (nil: all).
    public var subset: Int? = nil
    public var codes: Codes = .sample

    public init(epochs: Int = 10, batchSize: Int = 128, learningRate: Double = 1e-3, seed: UInt64 = 0,
                subset: Int? = nil, codes: Codes = .sample) {
        self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate; self.seed = seed
        self.subset = subset; self.codes = codes
    }

    /// Checks every setting (the limits of `VAEConfig`); `GeoError.invalidArgument` names the first bad one.
    public func validate() throws {
        try Setting.integer("epochs", epochs, in: 1...VAEConfig.maxEpochs)
        try Setting.integer("batch", batchSize, in: 1...VAEConfig.maxBatchSize)
        try Setting.positive("lr", learningRate)
        if let s = subset { try Setting.integer("subset", s, in: 1...Int.max) }
    }
}

/// Trains a new decoder on the latent codes of an existing model's encoder: the members of a
/// decoder ensemble that share one latent space (Hauberg, "Only Bayes should learn a manifold";
/// Detlefsen et al.), for `Manifold.ensemble`. Independently trained VAEs have unrelated latent
/// spaces; decoders trained on the codes of one encoder do not.
///
///     let member = try DecoderTrainer.train(DecoderConfig(epochs: 4, seed: 21), model: vae2d,
///                                           on: try FashionMNIST.load(split: .train))
///     let ensemble = try Manifold.ensemble([vae2d, try member.manifold(name: "member-2")])
///
/// The new decoder has the model's decoder's architecture (its layers without the final
/// sigmoid, which must be there: the decoder gives Bernoulli means) with fresh weights drawn
/// from `seed` (PyTorch's default initialisation, `WeightInit.redrawn`). The encoder is not
/// trained: the training images are encoded once (`LatentCodes`), and every visit of an image
/// gives it a code z = mu + sigma eps (or mu, `DecoderConfig.Codes`). The loss is the Bernoulli
/// negative log-likelihood -log p(x | z) = sum_j softplus(l_j) - x_j l_j of the logits l (as
/// `VAE` computes it), its batch mean minimised by Adam on minibatches (`EpochLoop`) with exact
/// reverse-mode gradients (`evaluate`).
///
/// Determinism: the weights come from a SeededRandom seeded with `seed`, the shuffling and the
/// noise from the streams `VAETrainer` derives from it, and every reduction runs in a fixed
/// order, so a seed gives bit-identical decoders on one machine. Progress, `Cancellation` and
/// divergence as in `VAETrainer`.
public enum DecoderTrainer {
    /// The model's encoder and its decoder's layers without the final sigmoid (the logits).
    /// `GeoError.invalidArgument` when the model has no encoder, its decoder is not a
    /// NeuralNetwork or does not end in a sigmoid.
    static func parts(of model: Manifold) throws -> (encoder: Generator, logits: NeuralNetwork) {
        let name = model.name
        guard let encoder = model.encoder else {
            throw GeoError.invalidArgument("model '\(untrusted: name)' has no encoder: a decoder is trained on its encoder's latent codes")
        }
        guard let decoder = model.decoder as? NeuralNetwork else {
            throw GeoError.invalidArgument("the decoder of '\(untrusted: name)' is not a neural network of georepl's layers: a new decoder copies its architecture")
        }
        let specs = decoder.specs
        guard case .activation(.sigmoid) = specs.last else {
            throw GeoError.invalidArgument("the decoder of '\(untrusted: name)' does not end in a sigmoid: a new decoder is trained with the Bernoulli likelihood on its logits")
        }
        let logits = try NeuralNetwork(inputShape: decoder.inputShape, layers: Array(specs.dropLast()),
                                       outputShape: decoder.dataShape)
        return (encoder, logits)
    }

    /// Checks that a decoder can be trained for `model` with `codes` (the rules of `parts(of:)`;
    /// for samples the encoder gives 2 * latent_dim outputs, [mu, logvar], as `VAE`'s do).
    /// `GeoError.invalidArgument` naming what is missing.
    public static func check(_ model: Manifold, codes: DecoderConfig.Codes) throws {
        let encoder = try parts(of: model).encoder
        let outputs = encoder.dataDim, d = model.latentDim
        if codes == .sample, outputs != 2 * d {
            throw GeoError.invalidArgument("the encoder of '\(untrusted: model.name)' has \(outputs) outputs; sampling its posterior needs 2 * latent_dim = \(2 * d) (mean and log-variance): train on the posterior means instead")
        }
        guard outputs >= d else {
            throw GeoError.invalidArgument("the encoder of '\(untrusted: model.name)' has \(outputs) outputs, fewer than latent_dim \(d)")
        }
    }

    /// A freshly initialised decoder (logits, no sigmoid) of the architecture of `model`'s
    /// decoder, weights drawn from `seed`: what `train` starts from.
    public static func initialDecoder(like model: Manifold, seed: UInt64) throws -> NeuralNetwork {
        let logits = try parts(of: model).logits
        var rng = SeededRandom(seed: seed)
        let specs = try logits.specs.map { try WeightInit.redrawn($0, &rng) }
        return try NeuralNetwork(inputShape: logits.inputShape, layers: specs, outputShape: logits.dataShape)
    }

    /// The mean over the batch of -log p(x | z) (Bernoulli, from the logits of `decoder` at the
    /// rows of z) and, when `gradients` is set, its exact gradient with respect to the decoder's
    /// parameters (aligned with `decoder.parameters`).
    public static func evaluate(_ decoder: NeuralNetwork, codes z: Matrix, data x: Matrix,
                                gradients: Bool = true) throws -> (loss: Double, gradients: [Tensor]) {
        guard x.rows > 0 else { throw GeoError.invalidArgument("the batch is empty") }
        guard x.cols == decoder.dataDim else {
            throw GeoError.dimensionMismatch("data_dim is \(decoder.dataDim), the batch has \(x.cols) values per image")
        }
        guard z.rows == x.rows, z.cols == decoder.latentDim else {
            throw GeoError.dimensionMismatch("the codes are \(z.rows)x\(z.cols), expected \(x.rows)x\(decoder.latentDim)")
        }
        let pass = try decoder.forwardPass(z)
        let (total, cot) = VAE.reconstruction(.bernoulli, logits: pass.output, data: x, cotangents: gradients)
        let loss = total / Double(x.rows)
        guard gradients else { return (loss, []) }
        return (loss, try VAE.backward(decoder, pass, cotangents: cot, inputGradient: false).parameters)
    }

    /// Trains a new decoder for `model`'s encoder on `data`; see the type's documentation.
    /// Errors: `GeoError.invalidArgument` for a bad config, a model without an encoder or a
    /// sigmoid-ended NeuralNetwork decoder, an empty data set or a subset larger than it;
    /// `.dimensionMismatch` when the data do not fit the model; `.numerical` when training
    /// diverges; `.interrupted`; data set errors as the data set throws them.
    public static func train(_ config: DecoderConfig, model: Manifold, on data: TrainingSet,
                             progress: ProgressHandler? = nil,
                             onEpoch: ((DecoderEpochReport) -> Void)? = nil) throws -> DecoderTrainingResult {
        try config.validate()
        try check(model, codes: config.codes)
        let encoder = try parts(of: model).encoder
        guard data.count > 0 else { throw GeoError.invalidArgument("the training set is empty") }
        if let s = config.subset { try Setting.integer("subset", s, in: 1...max(1, data.count)) }
        let dataDim = data.dataShape.reduce(1, *)
        guard dataDim == model.dataDim else {
            throw GeoError.dimensionMismatch("the training data have \(dataDim) values per point (shape \(shapeString(data.dataShape))), the model's data_dim is \(model.dataDim)")
        }
        guard encoder.latentDim == dataDim else {
            throw GeoError.dimensionMismatch("the encoder of '\(untrusted: model.name)' takes \(encoder.latentDim) values, the data have \(dataDim)")
        }
        let count = config.subset ?? data.count
        let decoder = try initialDecoder(like: model, seed: config.seed)
        try MemoryBudget.doubles(decoder.parameterCount, 4, for: "training a decoder of \(decoder.parameterCount) parameters")
        let codes = try LatentCodes(encoder: encoder, latentDim: model.latentDim, data: data, count: count,
                                    sampled: config.codes == .sample, modelName: model.name)
        var adam = try Adam(learningRate: config.learningRate)
        var shuffling = SeededRandom(seed: config.seed ^ VAETrainer.shuffleStream)
        var noise = SeededRandom(seed: config.seed ^ VAETrainer.noiseStream)
        var params = decoder.parameters
        let loop = EpochLoop(count: count, epochs: config.epochs, batchSize: config.batchSize)
        var history: [DecoderEpochReport] = []
        let clock = ContinuousClock(), start = clock.now

        try loop.run(shuffling: &shuffling, progress: progress, step: { batch in
            let x = try data.batch(batch.indices)
            let z = codes.codes(batch.indices, noise: &noise)
            let ev = try evaluate(decoder, codes: z, data: x)
            guard ev.loss.isFinite else { throw EpochLoop.divergence("decoder", batch, loss: ev.loss) }
            try adam.step(&params, gradients: ev.gradients)
            try decoder.setParameters(params)
            return [ev.loss]
        }, epochDone: { epoch, means, seconds in
            let r = DecoderEpochReport(epoch: epoch, loss: means[0], seconds: seconds,
                                       imagesPerSecond: seconds > 0 ? Double(count) / seconds : 0)
            history.append(r)
            onEpoch?(r)
        })
        return DecoderTrainingResult(decoder: decoder, encoder: encoder, modelName: model.name,
                                     config: config, history: history, seconds: EpochLoop.elapsed(clock.now - start),
                                     images: count, trainingSetDescription: data.trainingSetDescription)
    }
}

/// The encoder's posterior of every training image, computed once: the means mu [count, d] and
/// the standard deviations sigma = exp(logvar / 2) [count, d] (empty when only means are used).
struct LatentCodes {
    let latentDim: Int
    let mu: Matrix
    let sigma: Matrix

    /// Images encoded per forward pass.
    static let chunk = 256

    /// Encodes the first `count` points of `data` (the encoder as `DecoderTrainer.check` requires).
    init(encoder: Generator, latentDim d: Int, data: TrainingSet, count: Int, sampled: Bool, modelName: String) throws {
        let outputs = encoder.dataDim
        try MemoryBudget.doubles(count, 2 * d, for: "the latent codes of \(count) images")
        var mu = Matrix(rows: count, cols: d)
        var sigma = Matrix(rows: sampled ? count : 0, cols: d)
        var start = 0
        while start < count {
            try Cancellation.check()
            let end = min(count, start + LatentCodes.chunk)
            let h = try encoder.forward(try data.batch(Array(start..<end)))
            for r in 0..<(end - start) {
                for j in 0..<d {
                    mu.scalars[(start + r) * d + j] = h.scalars[r * outputs + j]
                    if sampled { sigma.scalars[(start + r) * d + j] = Foundation.exp(h.scalars[r * outputs + d + j] / 2) }
                }
            }
            start = end
        }
        guard mu.scalars.allSatisfy({ $0.isFinite }), sigma.scalars.allSatisfy({ $0.isFinite }) else {
            throw GeoError.numerical("the encoder of '\(untrusted: modelName)' gives a NaN or infinite code for a training image")
        }
        latentDim = d; self.mu = mu; self.sigma = sigma
    }

    /// The codes of the points at `indices`: mu + sigma eps with eps ~ N(0, I) drawn from
    /// `noise` (row by row), or mu when the codes are means.
    func codes(_ indices: [Int], noise: inout SeededRandom) -> Matrix {
        let d = latentDim
        var z = Matrix(rows: indices.count, cols: d)
        for (r, i) in indices.enumerated() {
            for j in 0..<d {
                let m = mu.scalars[i * d + j]
                z.scalars[r * d + j] = sigma.rows > 0 ? m + sigma.scalars[i * d + j] * noise.normal() : m
            }
        }
        return z
    }
}

/// One epoch of a decoder's training run.
public struct DecoderEpochReport: Equatable {
    /// 1-based.
    public var epoch: Int
    /// The mean -log p(x | z) per image over the epoch (binary cross-entropy, nats).
    public var loss: Double
    /// Wall-clock time of the epoch.
    public var seconds: Double
    /// Training images per second.
    public var imagesPerSecond: Double
}

/// What `DecoderTrainer.train` returns: the trained decoder and how the run went.
public struct DecoderTrainingResult {
    /// The trained decoder: logits, no final sigmoid.
    public let decoder: NeuralNetwork
    /// The model's encoder, shared (not copied, not trained).
    public let encoder: Generator
    /// The name of the model whose encoder gave the codes.
    public let modelName: String
    public let config: DecoderConfig
    /// One report per epoch.
    public let history: [DecoderEpochReport]
    /// Wall-clock time of the whole run.
    public let seconds: Double
    /// The number of training images per epoch.
    public let images: Int
    /// The data set, e.g. "fashion-mnist train".
    public let trainingSetDescription: String

    /// The last epoch's loss (mean binary cross-entropy per image).
    public var finalLoss: Double { history.last?.loss ?? .nan }

    /// A description for georepl.description: what the decoder is, its training and result.
    public var description: String {
        let c = config
        let layers = decoder.specs.map(\.op).joined(separator: ", ")
        return "decoder (\(layers), sigmoid; \(decoder.parameterCount) parameters) trained on the latent codes of the encoder of '\(modelName)' "
            + "(posterior \(c.codes == .sample ? "samples" : "means")), Bernoulli likelihood; "
            + "\(trainingSetDescription) (\(images) images), \(c.epochs) epochs, batch \(c.batchSize), "
            + "Adam lr \(formatNumber(c.learningRate)), seed \(c.seed); "
            + "final loss (binary cross-entropy per image) " + String(format: "%.2f", finalLoss)
    }

    /// The trained model as a Manifold: the new decoder with a final sigmoid (a copy: further
    /// training does not change it) and the model's encoder (the same object).
    public func manifold(name: String) throws -> Manifold {
        Manifold(name: name, description: description, generator: try VAE.withSigmoid(decoder), encoder: encoder)
    }
}
