import Foundation

/// georepl model files (SPEC "Model files"): one safetensors file whose `__metadata__` holds
///     georepl.format      "1"
///     georepl.latent_dim  "16"
///     georepl.data_shape  "[1,28,28]"   (C,H,W or [D])
///     georepl.decoder     JSON array of layers (required)
///     georepl.encoder     JSON array of layers (optional; input data_shape, the first
///                         latent_dim outputs are the mean)
///     georepl.name, georepl.description (optional)
///     georepl.variance    the decoder's fitted sigma(z) (optional; `VarianceJSON`)
/// Layers are described in `LayerJSON`; tensors use PyTorch's layouts and any float dtype
/// (converted to Double).
///
///     let m = try ModelFile.load(path: "vae.safetensors")      // a Manifold
///     try ModelFile.write(m, to: "copy.safetensors", dtype: .f64)
public enum ModelFile {
    /// The format version this code reads and writes.
    public static let formatVersion = "1"

    /// Loads a model file as a Manifold (decoder and optional encoder are `NeuralNetwork`s).
    /// The name is georepl.name, else the file name without extension. `GeoError.io` when the
    /// file cannot be read, `GeoError.format` naming the problem when it is malformed.
    public static func load(path: String) throws -> Manifold {
        let data = try readFile(path)
        let base = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try load(data: data, defaultName: base)
    }

    /// Loads a model from the bytes of a model file; `defaultName` is used without georepl.name.
    public static func load(data: Data, defaultName: String = "model") throws -> Manifold {
        let file = try SafeTensors.read(data: data)
        return try manifold(from: file, defaultName: defaultName)
    }

    /// Builds the Manifold a parsed safetensors file describes.
    public static func manifold(from file: SafeTensorsFile, defaultName: String = "model") throws -> Manifold {
        let meta = file.metadata
        guard let format = meta["georepl.format"] else {
            throw GeoError.format("not a georepl model: the safetensors metadata has no 'georepl.format'")
        }
        guard format == formatVersion else {
            throw GeoError.format("unsupported georepl.format '\(untrusted: format)' (this version reads format \(formatVersion))")
        }
        guard let latentText = meta["georepl.latent_dim"] else { throw GeoError.format("georepl.latent_dim is missing") }
        guard let latent = Int(latentText.trimmingCharacters(in: .whitespaces)), latent > 0 else {
            throw GeoError.format("georepl.latent_dim '\(untrusted: latentText)' is not a positive integer")
        }
        guard let shapeText = meta["georepl.data_shape"] else { throw GeoError.format("georepl.data_shape is missing") }
        let dataShape = try parseShape(shapeText)
        guard let decoderText = meta["georepl.decoder"] else { throw GeoError.format("georepl.decoder is missing") }
        let decoder = try network("decoder", decoderText, inputShape: [latent], tensors: file.tensors)
        guard decoder.dataDim == dataShape.reduce(1, *) else {
            throw GeoError.format("decoder output has \(decoder.dataDim) features (shape \(shapeString(decoder.dataShape))), but data_shape \(shapeString(dataShape)) has \(dataShape.reduce(1, *))")
        }
        let generator = try NeuralNetwork(inputShape: [latent], builtLayers: decoder.layers, outputShape: dataShape)
        var encoder: NeuralNetwork?
        if let encoderText = meta["georepl.encoder"] {
            let enc = try network("encoder", encoderText, inputShape: dataShape, tensors: file.tensors)
            guard enc.dataDim >= latent else {
                throw GeoError.format("encoder has \(enc.dataDim) outputs, fewer than latent_dim \(latent)")
            }
            encoder = enc
        }
        let variance = try meta["georepl.variance"].map {
            try VarianceJSON.parse($0, tensors: file.tensors, latentDim: latent, dataShape: dataShape)
        }
        return Manifold(name: meta["georepl.name"] ?? defaultName, description: meta["georepl.description"] ?? "",
                        generator: generator, encoder: encoder, variance: variance)
    }

    /// data_shape: a JSON array of positive integers.
    static func parseShape(_ text: String) throws -> [Int] {
        let bad = GeoError.format("georepl.data_shape '\(untrusted: text)' is not a JSON array of positive integers")
        guard let a = (try? JSONValue.parse(text))?.arrayValue, !a.isEmpty else { throw bad }
        var shape: [Int] = []
        for v in a {
            guard let i = v.intValue, i > 0 else { throw bad }
            shape.append(i)
        }
        guard Tensor.elementCount(shape) != nil else { throw bad }
        return shape
    }

    /// Parses a layer array and builds the network; messages start with "decoder layer i (op)".
    static func network(_ role: String, _ text: String, inputShape: [Int], tensors: [String: Tensor]) throws -> NeuralNetwork {
        let json: JSONValue
        do {
            json = try JSONValue.parse(text)
        } catch let e as GeoError {
            throw GeoError.format("georepl.\(role) is not valid JSON: \(e.description)")
        }
        guard let items = json.arrayValue else {
            throw GeoError.format("georepl.\(role) is \(json.kindName), expected a JSON array of layers")
        }
        var specs: [LayerSpec] = [], names: [[String: String]] = []
        for (i, item) in items.enumerated() {
            do {
                let (spec, n) = try LayerJSON.parse(item, tensors: tensors)
                specs.append(spec); names.append(n)
            } catch let e as GeoError {
                let op = item["op"]?.stringValue.map { " (\(untrusted: $0))" } ?? ""
                throw GeoError.format("\(role) layer \(i)\(op): \(e.description)")
            }
        }
        do {
            return try NeuralNetwork(inputShape: inputShape, layers: specs, tensorNames: names)
        } catch GeoError.outOfMemory(let what, let needed, let budget) {
            throw GeoError.outOfMemory(what: "\(role) \(what)", needed: needed, budget: budget)
        } catch let e as GeoError {
            throw GeoError.format("\(role) \(e.description)")
        }
    }

    // MARK: Writing

    /// The bytes of a model file for a manifold whose generator (and encoder, if any) are
    /// `NeuralNetwork`s, tensors stored as `dtype` (F32 or F64; F16/BF16 also work). Tensors are
    /// named "decoder.<i>.<role>" / "encoder.<i>.<role>". An encoder whose input is not
    /// data_shape gets a leading flatten or reshape layer. Throws `GeoError.invalidArgument` for
    /// other generators. With `encoder` false the file holds no encoder (for a decoder that
    /// shares another model's, like the ensemble members of `ModelCatalog`).
    public static func encode(_ manifold: Manifold, dtype: SafeTensorsDType = .f32, encoder: Bool = true) throws -> Data {
        // The geometry is the decoder's own, or the uncertainty immersion of the decoder and the
        // variance network written below.
        let uncertain = (manifold.generator as? StackedImmersion).map { $0.parts.count == 2 && $0.parts[0] === manifold.decoder
            && $0.parts[1] === manifold.variance } ?? false
        guard let decoder = (uncertain ? manifold.decoder : manifold.generator) as? NeuralNetwork else {
            throw GeoError.invalidArgument("manifold '\(untrusted: manifold.name)' is not a neural network; only NeuralNetwork generators can be written to a model file")
        }
        guard decoder.inputShape.count == 1 else {
            throw GeoError.invalidArgument("the decoder's input shape \(shapeString(decoder.inputShape)) must be flat [latent_dim]")
        }
        var tensors: [(name: String, tensor: Tensor)] = []
        let dataShape = decoder.dataShape
        var meta: [String: String] = [
            "georepl.format": formatVersion,
            "georepl.latent_dim": String(decoder.latentDim),
            "georepl.data_shape": shapeString(dataShape),
            "georepl.name": uncertain ? (manifold.base ?? manifold).name : manifold.name,
        ]
        let description = uncertain ? (manifold.base ?? manifold).description : manifold.description
        if !description.isEmpty { meta["georepl.description"] = description }
        let decLayers = try decoder.specs.enumerated().map { try LayerJSON.object($0.element, prefix: "decoder.\($0.offset)", tensors: &tensors) }
        meta["georepl.decoder"] = try JSONValue.array(decLayers).serialized()
        if encoder, let e = manifold.encoder {
            guard let enc = e as? NeuralNetwork else {
                throw GeoError.invalidArgument("the encoder of '\(untrusted: manifold.name)' is not a NeuralNetwork and cannot be written")
            }
            guard enc.latentDim == decoder.dataDim, enc.dataDim >= decoder.latentDim else {
                throw GeoError.invalidArgument("the encoder maps \(enc.latentDim) -> \(enc.dataDim) features; it must take data_dim \(decoder.dataDim) and give at least latent_dim \(decoder.latentDim)")
            }
            var specs = enc.specs
            if enc.inputShape != dataShape {
                specs.insert(enc.inputShape.count == 1 ? .flatten : .reshape(enc.inputShape), at: 0)
            }
            let encLayers = try specs.enumerated().map { try LayerJSON.object($0.element, prefix: "encoder.\($0.offset)", tensors: &tensors) }
            meta["georepl.encoder"] = try JSONValue.array(encLayers).serialized()
        }
        if let sigma = manifold.variance {
            guard sigma.latentDim == decoder.latentDim, sigma.dataDim == decoder.dataDim else {
                throw GeoError.invalidArgument("the variance network maps \(sigma.latentDim) -> \(sigma.dataDim), the decoder \(decoder.latentDim) -> \(decoder.dataDim)")
            }
            meta["georepl.variance"] = try VarianceJSON.object(sigma, tensors: &tensors)
        }
        return try SafeTensors.encode(tensors, metadata: meta, dtype: dtype)
    }

    /// Writes `encode(manifold, dtype:, encoder:)` to `path` through `AtomicFile`; `GeoError.io` on failure.
    public static func write(_ manifold: Manifold, to path: String, dtype: SafeTensorsDType = .f32, encoder: Bool = true) throws {
        try AtomicFile.write(try encode(manifold, dtype: dtype, encoder: encoder), to: path)
    }
}
