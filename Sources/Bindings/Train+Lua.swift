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
/// the KL weight rises from 0 to 1], out [no file: a path to write the model to, F32],
/// name [the out file's base name, else "vae"], progress [a bar on stderr when it is a terminal],
/// verbose [false: print one line per epoch on stdout].
///
/// Returns the trained geo.Manifold (decoder with a final sigmoid, and the encoder) and a table
/// {loss = final loss, losses = {per epoch}, seconds = total time, rate = images/s of the last
/// epoch, images = per epoch, parameters = trainable scalars, description = the model's text}.
/// Ctrl-C stops training with the error "interrupted".
enum TrainLua {
    static let options = ["data", "latent", "arch", "hidden", "activation", "epochs", "batch", "lr", "seed",
                          "likelihood", "sigma", "subset", "free_bits", "kl_warmup", "out", "name", "progress", "verbose"]

    /// The activations `activation=` accepts, with PyTorch's default parameters.
    static let activations: [(String, Activation)] = [
        ("silu", .silu), ("elu", .elu(alpha: 1)), ("gelu", .gelu), ("tanh", .tanh), ("softplus", .softplus(beta: 1)),
        ("relu", .relu), ("leaky_relu", .leakyReLU(slope: 0.01)),
    ]

    /// The default Gaussian sigma for images in [0, 1].
    static let defaultSigma = 0.1

    /// Reads the options table at argument 1 into a config, the data set and the output settings.
    static func readOptions(_ call: LuaCall) throws -> (VAEConfig, FashionMNIST, out: AtomicFile?, name: String,
                                                       progress: Bool?, verbose: Bool) {
        try call.table(1)
        let o = try Options(call, 1, allowed: options)
        let L = call.L
        guard o.pushRaw("data") else { throw call.argumentError(1, Messages.optionRequired("data", "a geo.Dataset")) }
        guard let data = DataLua.datasetType.value(L, -1) else {
            let got = call.typeName(-1)
            geo_pop(L, 1)
            throw call.argumentError(1, Messages.optionType("data", "a geo.Dataset", got: got))
        }
        geo_pop(L, 1)

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
        try c.validate()
        let outPath = try o.path("out")
        let name = try o.string("name")
            ?? outPath.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } ?? "vae"
        let progress = try o.boolean("progress"), verbose = try o.boolean("verbose") ?? false
        // Last, after every other check: the output file is opened (its temporary file created)
        // before training, so that a target that cannot be written fails now, not after it.
        let out: AtomicFile?
        do { out = try outPath.map { try AtomicFile(path: $0) } } catch let e as GeoError {
            throw call.argumentError(1, Messages.outFile(e.description))
        }
        return (c, data, out, name, progress, verbose)
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
            let (config, data, out, name, progress, verbose) = try readOptions(call)
            let bar = ProgressBar("train_vae", requested: progress)
            defer { bar.finish() }
            let result = try VAETrainer.train(config, on: data, progress: bar.handler, onEpoch: { r in
                guard verbose else { return }
                bar.finish()
                let line = String(format: "epoch %d/%d  loss %.2f  (reconstruction %.2f, kl %.2f)  %.0f images/s  %.1f s\n",
                                  r.epoch, config.epochs, r.loss, r.reconstruction, r.kl, r.imagesPerSecond, r.seconds)
                fputs(line, stdout)
                fflush(stdout)
            })
            bar.finish()
            let manifold = try result.manifold(name: name)
            // A trained model is never lost: if the file cannot be written now (the disk filled
            // up during training), the model is still returned, with info.saved = false.
            var saveError: String?
            if let file = out {
                do {
                    try file.write(try ModelFile.encode(manifold, dtype: .f32))
                    try file.commit()
                } catch let e as GeoError {
                    file.discard()
                    saveError = e.description
                    fputs("train_vae: \(Messages.notSaved(e.description))\n", stderr)
                }
            }
            call.push(manifold, as: ManifoldLua.type)
            lua_createtable(call.L, 0, 10)
            if let file = out {
                call.setField("saved") { call.push(saveError == nil) }
                call.setField("out") { call.push(file.path) }
                if let e = saveError { call.setField("save_error") { call.push(e) } }
            }
            call.setField("loss") { call.push(result.finalLoss) }
            call.setField("losses") { call.push(numbers: result.history.map(\.loss)) }
            call.setField("seconds") { call.push(result.seconds) }
            call.setField("rate") { call.push(result.history.last?.imagesPerSecond ?? 0) }
            call.setField("images") { call.push(result.images) }
            call.setField("parameters") { call.push(result.vae.parameterCount) }
            call.setField("description") { call.push(result.description) }
            return 2
        },
    ]
}
