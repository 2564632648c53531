import Foundation
import GeoEngine
import ONNXProto

/// The graph costs nothing: the DCGAN decoder of `NeuralSection` as an ONNX graph (written here
/// with the same weights: Gemm, Reshape, BatchNormalization, Relu, ConvTranspose, Tanh, as
/// torch.onnx.export's legacy exporter writes them) and as the SPEC layer list, timed
/// alternately in one run; the ratio ONNX / layers per mode. `--write DIR` also writes both
/// models (dcgan.onnx, dcgan.safetensors) and the timings (georepl.json) for
/// scripts/bench_torch_jvp.py, which times torch's forward-mode Jacobian on the same weights.
struct ONNXSection: BenchmarkSection {
    var name: String { "onnx" }
    let batch = 32

    func run(_ context: BenchmarkContext) throws {
        let layers = try NeuralSection().dcgan()
        let data = try ONNXSection.export(layers)
        let dir = NSTemporaryDirectory() + "/georepl-bench-onnx-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try data.write(to: URL(fileURLWithPath: dir + "/dcgan.onnx"))
        let graph = try ONNXModel.generator(path: dir + "/dcgan.onnx")

        var rng = SeededRandom(seed: 2)
        let n = batch, d = layers.latentDim
        let z = try Matrix(rows: n, cols: d, scalars: (0..<(n * d)).map { _ in rng.normal() })
        var tangents = Matrix(rows: n * d, cols: d)
        for p in 0..<n { for j in 0..<d { tangents[p * d + j, j] = 1 } }
        let u = try Matrix(rows: n, cols: d, scalars: (0..<(n * d)).map { _ in rng.normal() })
        let v = try Matrix(rows: n, cols: d, scalars: (0..<(n * d)).map { _ in rng.normal() })
        // The same function: the graph equals the layers to rounding.
        let y1 = try layers.forward(z), y2 = try graph.forward(z)
        let diff = zip(y1.scalars, y2.scalars).reduce(0.0) { max($0, abs($1.0 - $1.1)) }

        var table = Table(["DCGAN decoder, batch \(n)", "layers ms", "ONNX ms", "ONNX / layers"])
        var timings: [String: Double] = [:]
        func add(_ label: String, _ key: String, _ body: (Generator) throws -> Void) throws {
            // Alternate the two in each repeat so that both see the same load, and swap which
            // goes first every other repeat (the first of a pair finds the allocator's state
            // the previous call left).
            var a: [Double] = [], b: [Double] = []
            for r in 0..<context.repeats {
                if r % 2 == 1 { b.append(try context.measure(flops: 1) { try body(graph) }.seconds) }
                a.append(try context.measure(flops: 1) { try body(layers) }.seconds)
                if r % 2 == 0 { b.append(try context.measure(flops: 1) { try body(graph) }.seconds) }
            }
            let ta = median(a), tb = median(b)
            timings[key + "_layers"] = ta; timings[key + "_onnx"] = tb
            table.add([label, fmt(ta * 1e3, 3), fmt(tb * 1e3, 3), fmt(tb / ta, 3)])
        }
        try add("forward", "forward") { _ = try $0.forward(z) }
        try add("jvp (all \(d) columns)", "jvp") { _ = try $0.jvp(z, tangents: tangents) }
        try add("second order (1 pair)", "second") { _ = try $0.secondOrder(z, u: u, v: v) }
        // torch's single-threaded Jacobian is compared with georepl's on one thread too.
        setComputeThreads(1)
        defer { setComputeThreads(nil) }
        try add("jvp (all \(d) columns), 1 thread", "jvp_1thread") { _ = try $0.jvp(z, tangents: tangents) }
        setComputeThreads(nil)
        print(table.render())
        print("ONNX graph: \(graph.nodes.count) ops; max |difference| of the outputs \(String(format: "%.1e", diff))\n")

        if let i = CommandLine.arguments.firstIndex(of: "--write"), i + 1 < CommandLine.arguments.count {
            let out = CommandLine.arguments[i + 1]
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: out + "/dcgan.onnx"))
            try ModelFile.write(Manifold(name: "bench-dcgan", generator: layers), to: out + "/dcgan.safetensors", dtype: .f64)
            // The first point and its Jacobian (from the ONNX graph), for the script to check
            // torch's values against: J^T, latent_dim rows of data_dim, row-major float64.
            let z0 = try Matrix(rows: 1, cols: d, scalars: Array(z.scalars[0..<d])), e = Matrix.identity(d)
            let jt = try graph.jvp(z0, tangents: e).tangents
            try Data(jt.scalars.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
                .write(to: URL(fileURLWithPath: out + "/jacobian0.f64"))
            var info: [String: Any] = timings
            info["batch"] = n; info["latent_dim"] = d; info["data_dim"] = graph.dataDim; info["z0"] = z0.scalars
            let json = try JSONSerialization.data(withJSONObject: info, options: [.sortedKeys, .prettyPrinted])
            try json.write(to: URL(fileURLWithPath: out + "/georepl.json"))
            print("wrote \(out)/dcgan.onnx, dcgan.safetensors, georepl.json, jacobian0.f64 (scripts/bench_torch_jvp.py \(out))\n")
        }
    }

    /// The layer list as an ONNX model (float64 initializers, opset 17).
    static func export(_ net: NeuralNetwork) throws -> Data {
        var graph = Onnx_GraphProto()
        graph.name = "dcgan"
        var counter = 0
        func tensor(_ name: String, _ t: Tensor) -> Onnx_TensorProto {
            var p = Onnx_TensorProto()
            p.name = name; p.dims = t.shape.map { Int64($0) }; p.dataType = 11
            p.doubleData = t.scalars
            return p
        }
        func node(_ op: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = []) -> String {
            counter += 1
            var n = Onnx_NodeProto()
            n.opType = op; n.name = "\(op)_\(counter)"; n.input = inputs; n.output = ["v\(counter)"]; n.attribute = attributes
            graph.node.append(n)
            return "v\(counter)"
        }
        func ints(_ name: String, _ v: [Int]) -> Onnx_AttributeProto {
            var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = v.map { Int64($0) }; return a
        }
        func int(_ name: String, _ v: Int) -> Onnx_AttributeProto {
            var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = Int64(v); return a
        }
        func float(_ name: String, _ v: Double) -> Onnx_AttributeProto {
            var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = Float(v); return a
        }
        var x = "z"
        for (i, layer) in net.layers.enumerated() {
            switch layer.spec {
            case .linear(let w, let b):
                graph.initializer.append(tensor("w\(i)", w))
                var inputs = [x, "w\(i)"]
                if let b = b { graph.initializer.append(tensor("b\(i)", b)); inputs.append("b\(i)") }
                x = node("Gemm", inputs, [int("transB", 1)])
            case .reshape(let shape):
                var s = Onnx_TensorProto()
                s.name = "s\(i)"; s.dims = [Int64(shape.count + 1)]; s.dataType = 7
                s.int64Data = ([1] + shape).map { Int64($0) }
                graph.initializer.append(s)
                x = node("Reshape", [x, "s\(i)"])
            case .batchNorm(let w, let b, let m, let v, let eps):
                for (k, t) in [w, b, m, v].enumerated() { graph.initializer.append(tensor("bn\(i)_\(k)", t ?? m)) }
                x = node("BatchNormalization", [x] + (0..<4).map { "bn\(i)_\($0)" }, [float("epsilon", eps)])
            case .convTranspose2d(let w, let b, let s, let p, let op, _):
                graph.initializer.append(tensor("w\(i)", w))
                var inputs = [x, "w\(i)"]
                if let b = b { graph.initializer.append(tensor("b\(i)", b)); inputs.append("b\(i)") }
                x = node("ConvTranspose", inputs, [ints("strides", [s.h, s.w]), ints("pads", [p.h, p.w, p.h, p.w]),
                                                   ints("output_padding", [op.h, op.w]), ints("kernel_shape", Array(w.shape[2...]))])
            case .activation(let a):
                x = node(a == .relu ? "Relu" : "Tanh", [x])
            default:
                throw GeoError.invalidArgument("the benchmark's ONNX export has no op for \(layer.op)")
            }
        }
        func info(_ name: String, _ shape: [Int]) -> Onnx_ValueInfoProto {
            var i = Onnx_ValueInfoProto(); i.name = name
            var t = Onnx_TypeProto.Tensor(); t.elemType = 11
            t.shape.dim = shape.map { var d = Onnx_TensorShapeProto.Dimension(); d.dimValue = Int64($0); return d }
            i.type.tensorType = t
            return i
        }
        graph.input = [info("z", [1, net.latentDim])]
        graph.output = [info(x, [1] + net.dataShape)]
        var model = Onnx_ModelProto()
        model.irVersion = 8
        var opset = Onnx_OperatorSetIdProto(); opset.version = 17
        model.opsetImport = [opset]
        model.graph = graph
        return try model.serializedData()
    }
}
