import GeoEngine

/// Throughput of NeuralNetwork generators with random weights: forward, JVP with all d tangent
/// columns per point, VJP with one cotangent per point, and second order with one (u, v) pair
/// per point, for a batch of 32 points. GFLOP/s counts the dense multiply-adds (2 flops each)
/// of linear and convolution layers over all rows each pass pushes: n for forward, n(1 + d)
/// for JVP, 2n for VJP (forward and reverse), 4n for second order.
struct NeuralSection: BenchmarkSection {
    var name: String { "neural" }
    let batch = 32

    func run(_ context: BenchmarkContext) throws {
        for (title, net) in [("MLP decoder 16 -> 512 -> 512 -> 784", try mlp()),
                             ("DCGAN decoder 100 -> 256x4x4 -> 128x8x8 -> 64x16x16 -> 3x32x32", try dcgan())] {
            try bench(title, net, context)
        }
    }

    /// Multiply-adds of one row through the network's dense layers.
    func denseMACs(_ net: NeuralNetwork) -> Double {
        net.layers.reduce(0.0) { total, layer in
            switch layer {
            case let l as Linear:
                return total + Double(l.inFeatures * l.outFeatures)
            case let c as Conv2D:
                let w = c.weight.shape, out = c.outputShape
                return total + Double(w[0] * w[1] * w[2] * w[3] * out[1] * out[2])
            case let c as ConvTranspose2D:
                let w = c.weight.shape, inp = c.inputShape
                return total + Double(w[0] * w[1] * w[2] * w[3] * inp[1] * inp[2])
            default:
                return total
            }
        }
    }

    func bench(_ title: String, _ net: NeuralNetwork, _ context: BenchmarkContext) throws {
        var rng = SeededRandom(seed: 2)
        let n = batch, d = net.latentDim, dd = net.dataDim
        let z = try Matrix(rows: n, cols: d, scalars: (0..<(n * d)).map { _ in rng.normal() })
        // All d unit tangents for every point.
        var tangents = Matrix(rows: n * d, cols: d)
        for p in 0..<n { for j in 0..<d { tangents[p * d + j, j] = 1 } }
        let c = try Matrix(rows: n, cols: dd, scalars: (0..<(n * dd)).map { _ in rng.normal() })
        let u = try Matrix(rows: n, cols: d, scalars: (0..<(n * d)).map { _ in rng.normal() })
        let v = try Matrix(rows: n, cols: d, scalars: (0..<(n * d)).map { _ in rng.normal() })
        let macs = denseMACs(net)

        var table = Table(["\(title), batch \(n)", "ms", "points/s", "GFLOP/s", "dgemm GFLOP/s", "% of dgemm"])
        func add(_ label: String, rows: Int, _ body: () throws -> Void) throws {
            let m = try context.measure(flops: 2 * macs * Double(rows), body)
            table.add([label, fmt(m.seconds * 1e3, 3), fmt(Double(n) / m.seconds, 0), fmt(m.gflops),
                       fmt(m.referenceGFLOPS), fmt(100 * m.fractionOfReference, 0)])
        }
        try add("forward", rows: n) { _ = try net.forward(z) }
        try add("jvp (all \(d) columns)", rows: n * (1 + d)) { _ = try net.jvp(z, tangents: tangents) }
        try add("vjp (1 cotangent)", rows: 2 * n) { _ = try net.vjp(z, cotangents: c) }
        try add("second order (1 pair)", rows: 4 * n) { _ = try net.secondOrder(z, u: u, v: v) }
        print(table.render())
        print("dense work: \(fmt(2 * macs / 1e6, 2)) MFLOP per row\n")
    }

    func mlp() throws -> NeuralNetwork {
        var rng = SeededRandom(seed: 3)
        func lin(_ o: Int, _ i: Int) throws -> LayerSpec {
            .linear(weight: try randomTensor([o, i], &rng, scale: 1 / Double(i).squareRoot()), bias: try randomTensor([o], &rng, scale: 0.1))
        }
        return try NeuralNetwork(latentDim: 16, layers: [
            try lin(512, 16), .activation(.relu), try lin(512, 512), .activation(.relu), try lin(784, 512), .activation(.sigmoid),
        ], outputShape: [1, 28, 28])
    }

    /// The DCGAN-style decoder, ReLU by default (`activation` replaces its hidden ReLUs).
    func dcgan(activation: Activation = .relu) throws -> NeuralNetwork {
        var rng = SeededRandom(seed: 4)
        func bn(_ c: Int) throws -> LayerSpec {
            .batchNorm(weight: try randomTensor([c], &rng, scale: 0.1).shifted(1), bias: try randomTensor([c], &rng, scale: 0.1),
                       mean: try randomTensor([c], &rng, scale: 0.1), variance: try randomTensor([c], &rng, scale: 0.1).shifted(1).absolute(),
                       eps: 1e-5)
        }
        func convT(_ i: Int, _ o: Int) throws -> LayerSpec {
            .convTranspose2d(weight: try randomTensor([i, o, 4, 4], &rng, scale: 0.05), bias: nil,
                             stride: Size2D(2), padding: Size2D(1), outputPadding: Size2D(0))
        }
        return try NeuralNetwork(latentDim: 100, layers: [
            .linear(weight: try randomTensor([256 * 16, 100], &rng, scale: 0.1), bias: nil),
            .reshape([256, 4, 4]), try bn(256), .activation(activation),
            try convT(256, 128), try bn(128), .activation(activation),
            try convT(128, 64), try bn(64), .activation(activation),
            try convT(64, 3), .activation(.tanh),
        ])
    }
}

/// A tensor of normal draws times `scale`.
func randomTensor(_ shape: [Int], _ rng: inout SeededRandom, scale: Double = 1) throws -> Tensor {
    try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in scale * rng.normal() })
}

extension Tensor {
    func shifted(_ s: Double) throws -> Tensor { try Tensor(shape: shape, scalars: scalars.map { $0 + s }) }
    func absolute() throws -> Tensor { try Tensor(shape: shape, scalars: scalars.map { abs($0) }) }
}
