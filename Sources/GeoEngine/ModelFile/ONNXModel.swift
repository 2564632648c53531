import Foundation

/// Decoders (and encoders) brought as ONNX files, such as `torch.onnx.export(decoder, z,
/// "decoder.onnx")` writes them: the graph becomes a `Graph` generator with exact derivatives
/// in every mode (see `ONNXImporter` for what is read and how).
///
///     let m = try ONNXModel.load(decoder: "decoder.onnx")                       // a Manifold
///     let m = try ONNXModel.load(decoder: "dec.onnx", encoder: "enc.onnx", name: "vae")
public enum ONNXModel {
    /// The generator of an ONNX file: its input (nil: the one graph input that is not an
    /// initializer) to its output (nil: the only output).
    public static func generator(path: String, input: String? = nil, output: String? = nil) throws -> Graph {
        let file = try ONNXFile.read(path: path)
        return try ONNXImporter(file).build(inputName: input, outputName: output)
    }

    /// A manifold whose decoder is the ONNX graph at `decoder` and whose encoder, if given, is
    /// the one at `encoder` (its input the decoder's output, flattened; its first latent_dim
    /// outputs the mean). `dataShape` relabels the decoder's output (same size, e.g. [1,28,28]
    /// for a [784] output); `name` defaults to the decoder file's name.
    public static func load(decoder: String, encoder: String? = nil, name: String? = nil, dataShape: [Int]? = nil) throws -> Manifold {
        var g = try generator(path: decoder)
        if let shape = dataShape {
            guard Tensor.elementCount(shape) == g.dataDim, !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else {
                throw GeoError.invalidSetting(name: "data_shape", requirement: "a shape of \(g.dataDim) entries (the decoder's output)",
                                              got: shapeString(shape))
            }
            g = try Graph(inputShape: g.inputShape, valueShapes: g.valueShapes, nodes: g.nodes, input: g.input, output: g.output,
                          outputShape: shape)
        }
        var enc: Graph?
        if let path = encoder {
            let e = try generator(path: path)
            guard e.latentDim == g.dataDim else {
                throw GeoError.format("the encoder takes \(e.latentDim) values, the decoder gives \(g.dataDim)")
            }
            guard e.dataDim >= g.latentDim else {
                throw GeoError.format("the encoder has \(e.dataDim) outputs, fewer than latent_dim \(g.latentDim)")
            }
            enc = e
        }
        let base = URL(fileURLWithPath: decoder).deletingPathExtension().lastPathComponent
        return Manifold(name: name ?? base, description: "ONNX graph \(base) (\(g.nodes.count) ops)", generator: g, encoder: enc)
    }
}
