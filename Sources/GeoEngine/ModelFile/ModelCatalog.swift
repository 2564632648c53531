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
        public var file: String { name + ".safetensors" }
    }

    /// The shipped models; the first is `geo.model()`'s default.
    public static let entries = [
        Entry(name: "fashion-vae", summary: "MLP VAE, latent 16, trained on Fashion-MNIST (the default)"),
        Entry(name: "fashion-vae-2d", summary: "MLP VAE, latent 2, trained on Fashion-MNIST (pictures of the whole latent space)"),
        Entry(name: "fashion-vae-conv", summary: "VAE with a convolutional decoder, latent 16, trained on Fashion-MNIST"),
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
                let m = try ModelFile.load(path: path)
                cache.setObject(m, forKey: name as NSString)
                return m
            }
        }
        throw GeoError.io("model '\(untrusted: name)' not found (looked for \(entry.file) in: \(searchPath.joined(separator: ", ")); set GEOREPL_MODELS to its folder)")
    }
}
