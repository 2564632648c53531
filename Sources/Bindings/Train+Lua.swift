import CLua
import Foundation
import GeoEngine

/// Training from Lua:
///
///     m, info = geo.train_vae{data = geo.dataset("fashion-mnist"), latent = 16, arch = "mlp",
///                             epochs = 20, out = "fashion-vae.safetensors"}
///
/// Options (defaults in brackets): data (a geo.Dataset, required), latent [16], arch
/// ["mlp"] | "conv", hidden [{512, 256} for mlp, channels {32, 64} for conv], activation
/// ["silu"] | "elu" | "gelu" | "tanh" | "softplus" | "relu" | "leaky_relu", epochs [10], batch
/// [128], lr [1e-3], seed [0], likelihood ["bernoulli"] | "gaussian", sigma [0.1, gaussian only],
/// subset [all images: train on the first N], free_bits [0: nats per latent dimension below which
/// a dimension's KL is not penalised, against unused dimensions], kl_warmup [0: epochs over which
/// the KL weight rises from 0 to 1], beta [1: the KL term's weight, below 1 codes spread and
/// classes separate], out [no file: a path to write the model to, F32],
/// name [the out file's base name, else "vae"], progress [a bar on stderr when it is a terminal],
/// verbose [false: print one line per epoch on stdout].
///
/// Returns the trained geo.Manifold (decoder with a final sigmoid, and the encoder) and a table
/// {loss = final loss, losses = {per epoch}, seconds = total time, rate = images/s of the last
/// epoch, images = per epoch, parameters = trainable scalars, description = the model's text}.
/// Ctrl-C stops training with the error "interrupted".
///
/// A new decoder for an existing model's encoder (a member of a decoder ensemble, geo.ensemble):
///
///     m2, info = geo.train_decoder{model = m, data = geo.dataset("fashion-mnist"), seed = 2,
///                                  epochs = 10, out = "member-2.safetensors"}
///
/// Options: model (a geo.Manifold with an encoder and a neural-network decoder ending in a
/// sigmoid, required), data (required), epochs [10], batch [128], lr [1e-3], seed [0], subset,
/// codes ["sample": z = mu + sigma eps from the encoder's posterior, the VAE's own training
/// distribution] | "mean", out, name [the out file's base name, else "decoder"], progress,
/// verbose, as for train_vae. The decoder has the model's decoder's architecture with fresh
/// weights from the seed; the encoder is the model's (not trained). Returns the new geo.Manifold
/// and the same info table (loss: mean binary cross-entropy per image; parameters: the decoder's).
enum TrainLua {
    static let options = ["data", "latent", "arch", "hidden", "activation", "epochs", "batch", "lr", "seed",
                          "likelihood", "sigma", "subset", "free_bits", "kl_warmup", "beta", "out", "name", "progress", "verbose"]

    /// The activations `activation=` accepts, with PyTorch's default parameters.
    static let activations: [(String, Activation)] = [
        ("silu", .silu), ("elu", .elu(alpha: 1)), ("gelu", .gelu), ("tanh", .tanh), ("softplus", .softplus(beta: 1)),
        ("relu", .relu), ("leaky_relu", .leakyReLU(slope: 0.01)),
    ]

    /// The default Gaussian sigma for images in [0, 1].
    static let defaultSigma = 0.1

    static let decoderOptions = ["model", "data", "epochs", "batch", "lr", "seed", "subset", "codes", "out", "name",
                                 "progress", "verbose"]

    /// The required option `key` of the options table at argument 1, a userdata of `type`.
    static func required<T: AnyObject>(_ call: LuaCall, _ o: Options, _ key: String, _ type: UserType<T>,
                                       _ expected: String) throws -> T {
        guard o.pushRaw(key) else { throw call.argumentError(1, Messages.optionRequired(key, expected)) }
        defer { geo_pop(call.L, 1) }
        guard let value = type.value(call.L, -1) else {
            throw call.argumentError(1, Messages.optionType(key, expected, got: call.typeName(-1)))
        }
        return value
    }

    /// Where and how a training run's result goes: out, name, progress and verbose.
    struct Output {
        let out: AtomicFile?
        let name: String
        let progress: Bool?
        let verbose: Bool
    }

    /// Reads out, name, progress and verbose. Call it last, after every other check: the output
    /// file is opened (its temporary file created) before training, so that a target that
    /// cannot be written fails now, not after it.
    static func output(_ call: LuaCall, _ o: Options, defaultName: String) throws -> Output {
        let outPath = try o.path("out")
        let name = try o.string("name")
            ?? outPath.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } ?? defaultName
        let progress = try o.boolean("progress"), verbose = try o.boolean("verbose") ?? false
        let out: AtomicFile?
        do { out = try outPath.map { try AtomicFile(path: $0) } } catch let e as GeoError {
            throw call.argumentError(1, Messages.outFile(e.description))
        }
        return Output(out: out, name: name, progress: progress, verbose: verbose)
    }

    /// Reads the options table at argument 1 into a config, the data set and the output settings.
    static func readOptions(_ call: LuaCall) throws -> (VAEConfig, FashionMNIST, Output) {
        try call.table(1)
        let o = try Options(call, 1, allowed: options)
        let L = call.L
        let data = try required(call, o, "data", DataLua.datasetType, "a geo.Dataset")

        var c = VAEConfig()
        c.latent = try o.integer("latent") ?? c.latent
        c.architecture = VAEConfig.Architecture(rawValue: try o.choice("arch", ["mlp", "conv"]) ?? "mlp") ?? .mlp
        if o.pushRaw("hidden") {
            defer { geo_pop(L, 1) }
            c.hidden = try hiddenSizes(call, architecture: c.architecture)
        }
        if let a = try o.choice("activation", activations.map { $0.0 }) {
            c.activation = activations.first { $0.0 == a }?.1 ?? .silu
        }
        c.epochs = try o.integer("epochs") ?? c.epochs
        c.batchSize = try o.integer("batch") ?? c.batchSize
        c.learningRate = try o.number("lr") ?? c.learningRate
        c.seed = UInt64(bitPattern: Int64(try o.integer("seed") ?? 0))
        let likelihood = try o.choice("likelihood", ["bernoulli", "gaussian"]) ?? "bernoulli"
        let sigma = try o.number("sigma")
        if likelihood == "gaussian" {
            c.likelihood = .gaussian(sigma: sigma ?? defaultSigma)
        } else if sigma != nil {
            throw call.argumentError(1, Messages.sigmaNeedsGaussian)
        }
        c.subset = try o.integer("subset")
        c.freeBits = try o.number("free_bits") ?? c.freeBits
        c.klWarmup = try o.integer("kl_warmup") ?? c.klWarmup
        c.beta = try o.number("beta") ?? c.beta
        try c.validate()
        return (c, data, try output(call, o, defaultName: "vae"))
    }

    /// The options of train_decoder: the model, the data set, the config and the output settings.
    static func readDecoderOptions(_ call: LuaCall) throws -> (Manifold, FashionMNIST, DecoderConfig, Output) {
        try call.table(1)
        let o = try Options(call, 1, allowed: decoderOptions)
        let model = try required(call, o, "model", ManifoldLua.type, "a geo.Manifold")
        let data = try required(call, o, "data", DataLua.datasetType, "a geo.Dataset")
        var c = DecoderConfig()
        c.epochs = try o.integer("epochs") ?? c.epochs
        c.batchSize = try o.integer("batch") ?? c.batchSize
        c.learningRate = try o.number("lr") ?? c.learningRate
        c.seed = UInt64(bitPattern: Int64(try o.integer("seed") ?? 0))
        c.subset = try o.integer("subset")
        c.codes = DecoderConfig.Codes(rawValue: try o.choice("codes", DecoderConfig.Codes.allCases.map(\.rawValue)) ?? "sample") ?? .sample
        try c.validate()
        do { try DecoderTrainer.check(model, codes: c.codes) } catch let e as GeoError {
            throw call.argumentError(1, Messages.optionInvalid("model", e.description))
        }
        guard data.imageSize == model.dataDim else {
            throw call.argumentError(1, Messages.optionInvalid("data", "the data set's images have \(data.imageSize) pixels, the model's data_dim is \(model.dataDim)"))
        }
        return (model, data, c, try output(call, o, defaultName: "decoder"))
    }

    /// Trains with a progress bar (and with `verbose` a line per epoch on stdout, `line`), then
    /// writes the model to the out file if there is one. A trained model is never lost: if the
    /// file cannot be written now (the disk filled up during training), the model is still
    /// returned, with info.saved = false. Pushes the manifold and the info table. Returns 2.
    static func run<R: TrainingRun>(_ call: LuaCall, _ function: String, _ output: Output,
                                    train: (ProgressHandler?, _ printEpoch: @escaping (String) -> Void) throws -> R) throws -> Int32 {
        let bar = ProgressBar(function, requested: output.progress)
        defer { bar.finish() }
        let verbose = output.verbose
        let result = try train(bar.handler, { line in
            guard verbose else { return }
            bar.finish()
            fputs(line, stdout)
            fflush(stdout)
        })
        bar.finish()
        let m = try result.manifold(name: output.name)
        var saveError: String?
        if let file = output.out {
            do {
                try file.write(try ModelFile.encode(m, dtype: .f32))
                try file.commit()
            } catch let e as GeoError {
                file.discard()
                saveError = e.description
                fputs("\(function): \(Messages.notSaved(e.description))\n", stderr)
            }
        }
        call.push(m, as: ManifoldLua.type)
        lua_createtable(call.L, 0, 10)
        if let file = output.out {
            call.setField("saved") { call.push(saveError == nil) }
            call.setField("out") { call.push(file.path) }
            if let e = saveError { call.setField("save_error") { call.push(e) } }
        }
        call.setField("loss") { call.push(result.finalLoss) }
        call.setField("losses") { call.push(numbers: result.losses) }
        call.setField("seconds") { call.push(result.seconds) }
        call.setField("rate") { call.push(result.rate) }
        call.setField("images") { call.push(result.images) }
        call.setField("parameters") { call.push(result.parameters) }
        call.setField("description") { call.push(result.description) }
        return 2
    }

    /// The `hidden` option at the top of the stack: a sequence of integers (the sizes and their
    /// count are the engine's rules, `VAEConfig.validate`).
    static func hiddenSizes(_ call: LuaCall, architecture: VAEConfig.Architecture) throws -> [Int] {
        guard lua_type(call.L, -1) == LUA_TTABLE else {
            throw call.argumentError(1, Messages.optionType("hidden", "a table of integers", got: call.typeName(-1)))
        }
        return try call.sequence(-1) { k -> Int in
            var isNum: Int32 = 0
            let x = lua_tonumberx(call.L, -1, &isNum)
            guard isNum != 0, lua_type(call.L, -1) == LUA_TNUMBER, let n = Int(exactly: x) else {
                let got = lua_type(call.L, -1) == LUA_TNUMBER ? formatNumber(x) : "a \(call.typeName(-1))"
                throw call.argumentError(1, Messages.optionType("hidden", "a table of integers (entry \(k))", got: got))
            }
            return n
        }
    }

    static let constructors: [Binding] = [
        Binding("train_vae") { call in
            let (config, data, output) = try readOptions(call)
            return try run(call, "train_vae", output, train: { progress, printEpoch in
                try VAETrainer.train(config, on: data, progress: progress, onEpoch: { r in
                    printEpoch(String(format: "epoch %d/%d  loss %.2f  (reconstruction %.2f, kl %.2f)  %.0f images/s  %.1f s\n",
                                      r.epoch, config.epochs, r.loss, r.reconstruction, r.kl, r.imagesPerSecond, r.seconds))
                })
            })
        },
        Binding("train_decoder") { call in
            let (model, data, config, output) = try readDecoderOptions(call)
            return try run(call, "train_decoder", output, train: { progress, printEpoch in
                try DecoderTrainer.train(config, model: model, on: data, progress: progress, onEpoch: { r in
                    printEpoch(String(format: "epoch %d/%d  loss %.2f  %.0f images/s  %.1f s\n",
                                      r.epoch, config.epochs, r.loss, r.imagesPerSecond, r.seconds))
                })
            })
        },
    ]
}

/// What the info table of a training run reports.
protocol TrainingRun {
    var finalLoss: Double { get }
    /// The loss of every epoch.
    var losses: [Double] { get }
    var seconds: Double { get }
    /// Images per second of the last epoch.
    var rate: Double { get }
    var images: Int { get }
    /// The trained scalars.
    var parameters: Int { get }
    var description: String { get }
    func manifold(name: String) throws -> Manifold
}

extension VAETrainingResult: TrainingRun {
    var losses: [Double] { history.map(\.loss) }
    var rate: Double { history.last?.imagesPerSecond ?? 0 }
    var parameters: Int { vae.parameterCount }
}

extension DecoderTrainingResult: TrainingRun {
    var losses: [Double] { history.map(\.loss) }
    var rate: Double { history.last?.imagesPerSecond ?? 0 }
    var parameters: Int { decoder.parameterCount }
}
