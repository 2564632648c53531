import Foundation

/// Trains a `VAE` on a `TrainingSet` with Adam on minibatches, as `VAEConfig` says:
///
///     var config = VAEConfig(latent: 16, epochs: 20, seed: 1)
///     let result = try VAETrainer.train(config, on: try FashionMNIST.load(split: .train))
///     try result.write(to: "fashion-vae.safetensors", name: "fashion-vae")
///
/// Each epoch visits the training images (the first `subset` of them, or all) in a fresh
/// random order, in batches of `batchSize` (the last one may be smaller; `EpochLoop`); each
/// batch takes one Adam step on the batch mean of the negative ELBO (`VAE.evaluate`), with one
/// reparameterisation sample per image. The epoch's loss is the mean over its images of the
/// loss each had when its batch was evaluated (before the step), as PyTorch's VAE example
/// reports it.
///
/// Determinism: the weights are drawn from a SeededRandom seeded with `seed`, the shuffling and
/// the noise from two more streams derived from it, and every reduction runs in a fixed order,
/// so a seed gives bit-identical models on one machine.
///
/// Progress is reported after every batch (completed = batches so far, total = epochs *
/// batches per epoch, detail "epoch e/E  loss L"), `Cancellation` is checked before every batch
/// (`GeoError.interrupted`), and `onEpoch` gets each epoch's report. A non-finite loss stops the
/// run with `GeoError.numerical`.
public enum VAETrainer {
    /// Trains a fresh VAE; see the type's documentation. Errors: `GeoError.invalidArgument` for a
    /// bad config, an empty data set or a subset larger than it; `.numerical` when training
    /// diverges; `.interrupted`; data set errors as the data set throws them.
    public static func train(_ config: VAEConfig, on data: TrainingSet, progress: ProgressHandler? = nil,
                             onEpoch: ((VAEEpochReport) -> Void)? = nil) throws -> VAETrainingResult {
        try config.validate()
        guard data.count > 0 else { throw GeoError.invalidArgument("the training set is empty") }
        if let s = config.subset { try Setting.integer("subset", s, in: 1...max(1, data.count)) }
        let count = config.subset ?? data.count
        let vae = try VAE(config: config, dataShape: data.dataShape)
        var adam = try Adam(learningRate: config.learningRate)
        var shuffling = SeededRandom(seed: config.seed ^ shuffleStream)
        var noise = SeededRandom(seed: config.seed ^ noiseStream)
        var params = vae.parameters
        let d = vae.latentDim
        let loop = EpochLoop(count: count, epochs: config.epochs, batchSize: config.batchSize)
        var history: [VAEEpochReport] = []
        let clock = ContinuousClock(), start = clock.now

        try loop.run(shuffling: &shuffling, progress: progress, step: { batch in
            let x = try data.batch(batch.indices)
            var eps = Matrix(rows: batch.indices.count, cols: d)
            for k in eps.scalars.indices { eps.scalars[k] = noise.normal() }
            let ramp = config.klWarmup > 0 ? min(1, Double(batch.step) / Double(config.klWarmup * loop.batches)) : 1
            let klWeight = config.beta * ramp
            let ev = try vae.evaluate(x, noise: eps, klWeight: klWeight, freeBits: config.freeBits)
            guard ev.loss.isFinite else { throw EpochLoop.divergence("VAE", batch, loss: ev.loss) }
            try adam.step(&params, gradients: ev.gradients)
            try vae.setParameters(params)
            return [ev.loss, ev.reconstruction, ev.kl]
        }, epochDone: { epoch, means, seconds in
            let r = VAEEpochReport(epoch: epoch, loss: means[0], reconstruction: means[1], kl: means[2], seconds: seconds,
                                   imagesPerSecond: seconds > 0 ? Double(count) / seconds : 0)
            history.append(r)
            onEpoch?(r)
        })
        return VAETrainingResult(vae: vae, config: config, history: history, seconds: EpochLoop.elapsed(clock.now - start),
                                 images: count, trainingSetDescription: data.trainingSetDescription)
    }

    /// Seeds of the shuffling and noise streams: the seed XOR these ("SHUFFLE", "NOISE").
    static let shuffleStream: UInt64 = 0x5348_5546_464C_4500
    static let noiseStream: UInt64 = 0x004E_4F49_5345_0000
}

/// One epoch of a training run.
public struct VAEEpochReport: Equatable {
    /// 1-based.
    public var epoch: Int
    /// The mean negative ELBO per image over the epoch.
    public var loss: Double
    /// Its reconstruction part, mean -log p(x | z).
    public var reconstruction: Double
    /// Its KL part.
    public var kl: Double
    /// Wall-clock time of the epoch.
    public var seconds: Double
    /// Training images per second.
    public var imagesPerSecond: Double
}

/// What `VAETrainer.train` returns: the trained VAE and how the run went.
public struct VAETrainingResult {
    public let vae: VAE
    public let config: VAEConfig
    /// One report per epoch.
    public let history: [VAEEpochReport]
    /// Wall-clock time of the whole run.
    public let seconds: Double
    /// The number of training images per epoch.
    public let images: Int
    /// The data set, e.g. "fashion-mnist train".
    public let trainingSetDescription: String

    /// The last epoch's loss (mean negative ELBO per image).
    public var finalLoss: Double { history.last?.loss ?? .nan }

    /// A description for georepl.description: architecture, sizes, training settings and result.
    public var description: String {
        let c = config
        let arch: String
        switch c.architecture {
        case .mlp: arch = "MLP hidden \(shapeString(c.hiddenSizes))"
        case .conv: arch = "conv channels \(shapeString(c.hiddenSizes)) (4x4 kernels, stride 2)"
        }
        let lik: String
        switch c.likelihood {
        case .bernoulli: lik = "Bernoulli likelihood"
        case .gaussian(let s): lik = "Gaussian likelihood (sigma \(formatNumber(s)))"
        }
        return "VAE, \(arch), \(c.activation.op) activations, latent \(vae.latentDim), \(lik); "
            + "trained on \(trainingSetDescription) (\(images) images) for \(c.epochs) epochs, batch \(c.batchSize), "
            + "Adam lr \(formatNumber(c.learningRate)), seed \(c.seed)"
            + (c.freeBits > 0 ? ", free bits \(formatNumber(c.freeBits)) nats per dimension" : "")
            + (c.klWarmup > 0 ? ", KL warm-up over \(c.klWarmup) epoch\(c.klWarmup == 1 ? "" : "s")" : "")
            + (c.beta != 1 ? ", KL weight beta \(formatNumber(c.beta))" : "")
            + "; final loss (negative ELBO per image) "
            + String(format: "%.2f", finalLoss)
    }

    /// The trained model as a Manifold (decoder with a final sigmoid, and the encoder).
    public func manifold(name: String) throws -> Manifold {
        try vae.manifold(name: name, description: description)
    }

    /// Writes the model file (F32 tensors) for `manifold(name:)` and returns the manifold.
    @discardableResult
    public func write(to path: String, name: String) throws -> Manifold {
        let m = try manifold(name: name)
        try ModelFile.write(m, to: path, dtype: .f32)
        return m
    }
}
