import Foundation

/// The default models shipped with georepl (Sources/GeoEngine/Resources/Models, copied by
/// SwiftPM into the `georepl_GeoEngine.resources` folder beside the executable).
///
/// The folder is found, in order: $GEOREPL_MODELS; `georepl_GeoEngine.resources/Models` beside
/// the running executable; the source tree this binary was built from. (SwiftPM's generated
/// `Bundle.module` is not used: it traps when the bundle is missing.) Loaded models are cached
/// per process.
public enum ModelCatalog {
    public struct Entry {
        public let name: String
        public let summary: String
        /// The entry whose encoder this model uses, or nil: its file holds a decoder alone,
        /// trained on that model's latent codes (`DecoderTrainer`), and loading it attaches
        /// that model's encoder, the same object.
        public let encoderOf: String?
        public var file: String { name + ".safetensors" }

        init(name: String, summary: String, encoderOf: String? = nil) {
            self.name = name; self.summary = summary; self.encoderOf = encoderOf
        }
    }

    /// The shipped models; the first is `geo.model()`'s default. The members of the 2-d
    /// model's decoder ensemble share its encoder, so that
    /// geo.ensemble{geo.model("fashion-vae-2d"), geo.model("fashion-vae-2d-member-2"), ...}
    /// joins decoders of one latent space.
    public static let entries = [
        Entry(name: "fashion-vae", summary: "MLP VAE, latent 16, trained on Fashion-MNIST (the default)"),
        Entry(name: "fashion-vae-2d", summary: "MLP VAE, latent 2, trained on Fashion-MNIST (pictures of the whole latent space)"),
        Entry(name: "fashion-vae-conv", summary: "VAE with a convolutional decoder, latent 16, trained on Fashion-MNIST"),
        Entry(name: "fashion-vae-2d-member-2",
              summary: "MLP decoder, latent 2, trained on Fashion-MNIST from fashion-vae-2d's encoder (a geo.ensemble member)",
              encoderOf: "fashion-vae-2d"),
        Entry(name: "fashion-vae-2d-member-3",
              summary: "MLP decoder, latent 2, trained on Fashion-MNIST from fashion-vae-2d's encoder (a geo.ensemble member)",
              encoderOf: "fashion-vae-2d"),
    ]
    public static var defaultName: String { entries[0].name }

    /// The folders searched for model files, in order.
    public static var searchPath: [String] {
        var dirs: [String] = []
        if let env = ProcessInfo.processInfo.environment["GEOREPL_MODELS"], !env.isEmpty { dirs.append(env) }
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        dirs.append(exe.appendingPathComponent("georepl_GeoEngine.resources/Models").path)
        dirs.append(Bundle.main.bundleURL.appendingPathComponent("georepl_GeoEngine.resources/Models").path)
        dirs.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Resources/Models").path)
        var seen = Set<String>()
        return dirs.filter { seen.insert($0).inserted }
    }

    private static let cache = NSCache<NSString, Manifold>()

    /// The shipped model `name` (default: the first entry).
    public static func load(_ name: String? = nil) throws -> Manifold {
        let name = name ?? defaultName
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw GeoError.invalidArgument("unknown model '\(untrusted: name)' (known: \(entries.map(\.name).joined(separator: ", ")))")
        }
        if let m = cache.object(forKey: name as NSString) { return m }
        for dir in searchPath {
            let path = dir + "/" + entry.file
            if FileManager.default.fileExists(atPath: path) {
                let m = try assemble(try ModelFile.load(path: path), as: entry)
                cache.setObject(m, forKey: name as NSString)
                return m
            }
        }
        throw GeoError.io("model '\(untrusted: name)' not found (looked for \(entry.file) in: \(searchPath.joined(separator: ", ")); set GEOREPL_MODELS to its folder)")
    }

    /// The model of `entry` from its file's manifold `m`: `m` itself, or for an entry that
    /// shares another's encoder, `m` with that encoder (`GeoError.format` when they do not fit).
    public static func assemble(_ m: Manifold, as entry: Entry) throws -> Manifold {
        guard let base = entry.encoderOf else { return m }
        guard let encoder = try load(base).encoder else {
            throw GeoError.format("model '\(untrusted: entry.name)' uses the encoder of '\(untrusted: base)', which has none")
        }
        guard encoder.latentDim == m.dataDim, encoder.dataDim >= m.latentDim else {
            throw GeoError.format("model '\(untrusted: entry.name)' (latent_dim \(m.latentDim), data_dim \(m.dataDim)) does not fit the encoder of '\(untrusted: base)' (\(encoder.latentDim) -> \(encoder.dataDim))")
        }
        return Manifold(name: m.name, description: m.description, generator: m.generator, encoder: encoder,
                        decoder: m.decoder, variance: m.variance)
    }
}
