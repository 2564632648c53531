import XCTest
import Foundation
import ONNXProto
@testable import GeoEngine

/// The settings of a general 2-D convolution as the naive references below take them.
struct NaiveConvSettings {
    var stride = Size2D(1), padStart = Size2D(0), padEnd = Size2D(0), dilation = Size2D(1), groups = 1
    var outputPadding = Size2D(0)
}

/// Naive grouped, dilated conv2d with per-side padding on one [C,H,W] image, loop by loop from
/// the definition: y[o, oh, ow] = b[o] + sum over the C/G channels c of o's group and taps (i, j)
/// of w[o, c, i, j] x[g*C/G + c, oh*sh - pt + i*dh, ow*sw - pl + j*dw] (zero outside the image).
func naiveGeneralConv2D(_ x: [Double], c: Int, h: Int, w: Int, weight: Tensor, bias: Tensor?,
                        _ s: NaiveConvSettings) -> (y: [Double], shape: [Int]) {
    let (o, cg, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    let og = o / s.groups
    let ho = (h + s.padStart.h + s.padEnd.h - (kh - 1) * s.dilation.h - 1) / s.stride.h + 1
    let wo = (w + s.padStart.w + s.padEnd.w - (kw - 1) * s.dilation.w - 1) / s.stride.w + 1
    var y = [Double](repeating: 0, count: o * ho * wo)
    for oc in 0..<o { for oh in 0..<ho { for ow in 0..<wo {
        var sum = bias?.scalars[oc] ?? 0
        let g = oc / og
        for icg in 0..<cg { for i in 0..<kh { for j in 0..<kw {
            let ic = g * cg + icg
            let ih = oh * s.stride.h - s.padStart.h + i * s.dilation.h, iw = ow * s.stride.w - s.padStart.w + j * s.dilation.w
            if ih < 0 || ih >= h || iw < 0 || iw >= w { continue }
            sum += weight.scalars[((oc * cg + icg) * kh + i) * kw + j] * x[(ic * h + ih) * w + iw]
        } } }
        y[(oc * ho + oh) * wo + ow] = sum
    } } }
    return (y, [o, ho, wo])
}

/// Naive grouped, dilated conv_transpose2d with per-side padding (possibly negative) and output
/// padding on one [Cin,H,W] image: each input pixel (ic, ih, iw) scatters w[ic, o, i, j] times
/// itself onto output (g*Cout/G + o, ih*sh - pt + i*dh, iw*sw - pl + j*dw), g = ic's group.
func naiveGeneralConvTranspose2D(_ x: [Double], c: Int, h: Int, w: Int, weight: Tensor, bias: Tensor?,
                                 _ s: NaiveConvSettings) -> (y: [Double], shape: [Int]) {
    let (og, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
    let o = og * s.groups, cg = c / s.groups
    let ho = (h - 1) * s.stride.h + (kh - 1) * s.dilation.h + 1 + s.outputPadding.h - s.padStart.h - s.padEnd.h
    let wo = (w - 1) * s.stride.w + (kw - 1) * s.dilation.w + 1 + s.outputPadding.w - s.padStart.w - s.padEnd.w
    var y = [Double](repeating: 0, count: o * ho * wo)
    for oc in 0..<o { for q in 0..<(ho * wo) { y[oc * ho * wo + q] = bias?.scalars[oc] ?? 0 } }
    for ic in 0..<c { for ih in 0..<h { for iw in 0..<w { for ocg in 0..<og { for i in 0..<kh { for j in 0..<kw {
        let oc = (ic / cg) * og + ocg
        let oh = ih * s.stride.h - s.padStart.h + i * s.dilation.h, ow = iw * s.stride.w - s.padStart.w + j * s.dilation.w
        if oh < 0 || oh >= ho || ow < 0 || ow >= wo { continue }
        y[(oc * ho + oh) * wo + ow] += weight.scalars[((ic * og + ocg) * kh + i) * kw + j] * x[(ic * h + ih) * w + iw]
    } } } } } }
    return (y, [o, ho, wo])
}

/// Grouped, depthwise, dilated, strided and asymmetrically padded convolutions (the settings ONNX
/// files from torch.onnx.export carry) against the definitions, in every mode, and through the
/// ONNX builders.
final class ConvolutionTests: XCTestCase {
    var rng = SeededRandom(seed: 23)

    struct ConvCase {
        let name: String
        let input: [Int]
        let weight: [Int]
        let settings: NaiveConvSettings
        let bias: Bool
    }

    func settings(stride: Size2D = Size2D(1), padStart: Size2D = Size2D(0), padEnd: Size2D = Size2D(0),
                  dilation: Size2D = Size2D(1), groups: Int = 1, outputPadding: Size2D = Size2D(0)) -> NaiveConvSettings {
        NaiveConvSettings(stride: stride, padStart: padStart, padEnd: padEnd, dilation: dilation, groups: groups,
                          outputPadding: outputPadding)
    }

    var convCases: [ConvCase] {
        [ConvCase(name: "groups 2, dilation [2,3], asymmetric pads, stride [2,1]", input: [4, 7, 6], weight: [6, 2, 3, 2],
                  settings: settings(stride: Size2D(2, 1), padStart: Size2D(1, 0), padEnd: Size2D(2, 1), dilation: Size2D(2, 3), groups: 2),
                  bias: true),
         ConvCase(name: "depthwise x2, pads 1", input: [3, 5, 5], weight: [6, 1, 3, 3],
                  settings: settings(padStart: Size2D(1), padEnd: Size2D(1), groups: 3), bias: true),
         ConvCase(name: "depthwise, dilation 2, stride 2, SAME-like pads", input: [2, 6, 5], weight: [2, 1, 3, 3],
                  settings: settings(stride: Size2D(2), padStart: Size2D(1, 2), padEnd: Size2D(2, 2), dilation: Size2D(2), groups: 2),
                  bias: false),
         ConvCase(name: "groups 1, dilation [2,2], pads [0,1,1,0], stride 2", input: [2, 6, 7], weight: [3, 2, 2, 3],
                  settings: settings(stride: Size2D(2), padStart: Size2D(0, 1), padEnd: Size2D(1, 0), dilation: Size2D(2)), bias: true),
         ConvCase(name: "plain (the fast path)", input: [2, 5, 4], weight: [3, 2, 3, 3],
                  settings: settings(stride: Size2D(1, 2), padStart: Size2D(1), padEnd: Size2D(1)), bias: true)]
    }

    var transposedCases: [ConvCase] {
        [ConvCase(name: "groups 2, dilation [2,1], asymmetric pads, output_padding [1,2]", input: [4, 3, 4], weight: [4, 3, 3, 2],
                  settings: settings(stride: Size2D(2, 3), padStart: Size2D(1, 0), padEnd: Size2D(0, 2), dilation: Size2D(2, 1),
                                     groups: 2, outputPadding: Size2D(1, 2)), bias: true),
         ConvCase(name: "depthwise, stride 2, pads 1, output_padding 1", input: [3, 4, 3], weight: [3, 1, 3, 3],
                  settings: settings(stride: Size2D(2), padStart: Size2D(1), padEnd: Size2D(1), groups: 3, outputPadding: Size2D(1)),
                  bias: true),
         ConvCase(name: "negative pads (output_shape beyond the full output)", input: [2, 3, 3], weight: [2, 2, 2, 3],
                  settings: settings(stride: Size2D(2, 1), padStart: Size2D(-1, 0), padEnd: Size2D(-2, 1)), bias: true),
         ConvCase(name: "output_padding below the dilation", input: [2, 3, 4], weight: [2, 1, 2, 2],
                  settings: settings(padStart: Size2D(0, 1), padEnd: Size2D(1, 0), dilation: Size2D(2), outputPadding: Size2D(1)),
                  bias: false),
         ConvCase(name: "plain (the fast path)", input: [3, 3, 2], weight: [3, 2, 4, 4],
                  settings: settings(stride: Size2D(2), padStart: Size2D(1), padEnd: Size2D(1)), bias: true)]
    }

    func options(_ s: NaiveConvSettings) -> ConvOptions {
        ConvOptions(groups: s.groups, dilation: s.dilation, paddingEnd: s.padEnd)
    }

    func makeConv(_ k: ConvCase) throws -> (Conv2D, Tensor, Tensor?) {
        let w = randomTensor(k.weight, &rng, scale: 0.5), b = k.bias ? randomTensor([k.weight[0]], &rng) : nil
        let layer = try Conv2D(inputShape: k.input, weight: w, bias: b, stride: k.settings.stride, padding: k.settings.padStart,
                               options: options(k.settings))
        return (layer, w, b)
    }

    func makeConvTranspose(_ k: ConvCase) throws -> (ConvTranspose2D, Tensor, Tensor?) {
        let w = randomTensor(k.weight, &rng, scale: 0.5), b = k.bias ? randomTensor([k.weight[1] * k.settings.groups], &rng) : nil
        let layer = try ConvTranspose2D(inputShape: k.input, weight: w, bias: b, stride: k.settings.stride, padding: k.settings.padStart,
                                        outputPadding: k.settings.outputPadding, options: options(k.settings))
        return (layer, w, b)
    }

    /// Each case's layer with its naive reference.
    typealias Reference = ([Double]) -> (y: [Double], shape: [Int])

    func testConvolutionsMatchNaiveDefinitions() throws {
        var layers: [(ConvCase, AffineLayer, Reference)] = []
        for k in convCases {
            let (layer, w, b) = try makeConv(k)
            let naive: Reference = { naiveGeneralConv2D($0, c: k.input[0], h: k.input[1], w: k.input[2], weight: w, bias: b, k.settings) }
            layers.append((k, layer, naive))
        }
        for k in transposedCases {
            let (layer, w, b) = try makeConvTranspose(k)
            let naive: Reference = { naiveGeneralConvTranspose2D($0, c: k.input[0], h: k.input[1], w: k.input[2], weight: w, bias: b, k.settings) }
            layers.append((k, layer, naive))
        }
        for (k, layer, naive) in layers {
            let x = randomMatrix(5, layer.inputFeatures, &rng)
            XCTAssertEqual(layer.outputShape, naive(x.row(0).scalars).shape, "\(layer.op) \(k.name): output shape")
            for budget in [1 << 19, 1, 300] {   // one chunk, one row per chunk, a few rows per chunk
                if let c = layer as? Conv2D { c.chunkBudget = budget }
                if let c = layer as? ConvTranspose2D { c.chunkBudget = budget }
                let y = try layer.forward(x)
                for r in 0..<x.rows {
                    XCTAssertLessThan(relativeError(y.row(r).scalars, naive(x.row(r).scalars).y), 1e-13,
                                      "\(layer.op) \(k.name): row \(r), budget \(budget)")
                }
                // Adjoint: <c, A t> = <A^T c, t> (no bias on tangent rows).
                let t = randomMatrix(4, layer.inputFeatures, &rng), c = randomMatrix(4, layer.outputFeatures, &rng)
                let at = try layer.applyLinear(t, biasRows: 0), atc = try layer.applyTransposed(c)
                let lhs = zip(c.scalars, at.scalars).reduce(0) { $0 + $1.0 * $1.1 }
                let rhs = zip(atc.scalars, t.scalars).reduce(0) { $0 + $1.0 * $1.1 }
                XCTAssertEqual(lhs, rhs, accuracy: 1e-12 * max(1, abs(lhs)), "\(layer.op) \(k.name): adjoint, budget \(budget)")
            }
        }
    }

    /// Known values: a depthwise 2x2 kernel of ones with dilation 2 sums four pixels two apart.
    func testDilatedDepthwiseKnownValues() throws {
        let x = Tensor(shape: [2, 3, 3], unchecked: (0..<18).map(Double.init))
        let layer = try Conv2D(inputShape: [2, 3, 3], weight: Tensor(shape: [2, 1, 2, 2], repeating: 1), bias: nil,
                               options: ConvOptions(groups: 2, dilation: Size2D(2)))
        XCTAssertEqual(layer.outputShape, [2, 1, 1])
        let expected: [Double] = [16, 52]   // 0 + 2 + 6 + 8 and 9 + 11 + 15 + 17
        XCTAssertEqual(try layer.forward(Matrix(row: Vector(x.scalars))).scalars, expected)
    }

    func testEveryModeAgainstFiniteDifferences() throws {
        var layers: [Layer] = []
        for k in convCases { let (l, _, _) = try makeConv(k); l.chunkBudget = 200; layers.append(l) }
        for k in transposedCases { let (l, _, _) = try makeConvTranspose(k); l.chunkBudget = 200; layers.append(l) }
        for layer in layers {
            try assertOpDerivatives(layer, inputs: [randomTensor(layer.inputShape, &rng)], seed: rng.next())
        }
    }

    /// Weight and bias gradients of grouped and dilated layers against finite differences of
    /// <c, layer(x)>, over several chunks.
    func testParameterGradientsOfGeneralConvolutions() throws {
        var layers: [AffineLayer & WeightedLayer] = []
        for k in convCases { let (l, _, _) = try makeConv(k); l.chunkBudget = 150; layers.append(l) }
        for k in transposedCases { let (l, _, _) = try makeConvTranspose(k); l.chunkBudget = 150; layers.append(l) }
        for (index, layer) in layers.enumerated() {
            let x = randomMatrix(3, layer.inputFeatures, &rng), c = randomMatrix(3, layer.outputFeatures, &rng)
            let y = try layer.forward(x)
            let grads = try layer.parameterGradients(input: x, output: y, cotangents: c)
            let base = layer.parameters
            XCTAssertEqual(grads.map { $0.shape }, base.map { $0.shape })
            func loss() throws -> Double { zip(try layer.forward(x).scalars, c.scalars).reduce(0) { $0 + $1.0 * $1.1 } }
            for (pi, p) in base.enumerated() {
                var fd = [Double](repeating: 0, count: p.count)
                for j in 0..<p.count {
                    var plus = base, minus = base
                    plus[pi].scalars[j] += 1e-4; minus[pi].scalars[j] -= 1e-4
                    try layer.setParameters(plus); let lp = try loss()
                    try layer.setParameters(minus); let lm = try loss()
                    fd[j] = (lp - lm) / 2e-4
                }
                try layer.setParameters(base)
                XCTAssertLessThan(relativeError(grads[pi].scalars, fd), 1e-9, "\(layer.op) (case \(index)): gradient of \(layer.parameterNames[pi])")
            }
        }
    }

    /// A network of general convolutions: derivatives of the whole chain, its spec rebuilds it,
    /// and a model file refuses what its format cannot hold.
    /// setComputeThreads(1) runs OpenBLAS and the elementwise passes on one thread, and nil
    /// restores the defaults; the results do not change (a decoder wide enough that both
    /// split their work across threads by default).
    func testOneComputeThreadGivesTheSameResults() throws {
        let net = try NeuralNetwork(latentDim: 8, layers: [
            .linear(weight: randomTensor([32 * 8 * 8, 8], &rng, scale: 0.3), bias: nil), .reshape([32, 8, 8]),
            .activation(.elu(alpha: 1)),
            .convTranspose2d(weight: randomTensor([32, 16, 4, 4], &rng, scale: 0.1), bias: randomTensor([16], &rng),
                             stride: Size2D(2), padding: Size2D(1), outputPadding: Size2D(0)),
            .activation(.tanh),
        ])
        let z = randomMatrix(8, 8, &rng), u = randomMatrix(8 * 8, 8, &rng)
        let before = try net.jvp(z, tangents: u)
        let processors = Parallel.workers, blasThreads = BLAS.threads
        setComputeThreads(1)
        XCTAssertEqual(Parallel.workers, 1)
        XCTAssertEqual(BLAS.threads, 1)
        let one = try net.jvp(z, tangents: u)
        setComputeThreads(nil)
        XCTAssertEqual(Parallel.workers, processors)
        XCTAssertEqual(BLAS.threads, blasThreads)
        for (a, b) in [(before.value, one.value), (before.tangents, one.tangents)] {
            XCTAssertEqual(a.rows, b.rows)
            let scale = a.scalars.reduce(0) { max($0, abs($1)) }
            XCTAssertGreaterThan(scale, 0)
            XCTAssertLessThanOrEqual(zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }, 1e-13 * scale)
        }
    }

    func testNetworksSpecsAndModelFiles() throws {
        let specs: [LayerSpec] = [
            .linear(weight: randomTensor([4 * 3 * 3, 3], &rng), bias: randomTensor([36], &rng)),
            .reshape([4, 3, 3]),
            .convTranspose2d(weight: randomTensor([4, 1, 3, 3], &rng, scale: 0.5), bias: randomTensor([4], &rng),
                             stride: Size2D(2), padding: Size2D(1), outputPadding: Size2D(1),
                             options: ConvOptions(groups: 4, dilation: Size2D(1, 2), paddingEnd: Size2D(0, 2))),
            .activation(.softplus(beta: 1)),
            .conv2d(weight: randomTensor([4, 2, 3, 2], &rng, scale: 0.5), bias: nil, stride: Size2D(2, 1), padding: Size2D(1, 0),
                    options: ConvOptions(groups: 2, dilation: Size2D(2), paddingEnd: Size2D(0, 1))),
            .activation(.tanh), .flatten,
        ]
        let net = try NeuralNetwork(latentDim: 3, layers: specs)
        XCTAssertEqual(net.dataShape, [4 * 2 * 6])
        try assertDerivativesMatchFiniteDifferences(net, at: rng.normalVector(3), seed: rng.next(), tolerance: 1e-6)
        let rebuilt = try NeuralNetwork(latentDim: 3, layers: net.specs)
        let z = randomMatrix(2, 3, &rng)
        XCTAssertEqual(try rebuilt.forward(z), try net.forward(z))
        let m = Manifold(name: "grouped", generator: net)
        XCTAssertThrowsError(try ModelFile.encode(m)) { e in
            XCTAssertEqual("\(e)", "layer decoder.2 (conv_transpose2d) has groups 4, dilation [1,2], padding_end [0,2], which model files cannot describe (their conv_transpose2d has stride and symmetric padding only)")
        }
        // Symmetric explicit padding is the model-file form.
        let plain = try NeuralNetwork(latentDim: 3, layers: [
            .linear(weight: randomTensor([2 * 3 * 3, 3], &rng), bias: nil), .reshape([2, 3, 3]),
            .conv2d(weight: randomTensor([1, 2, 2, 2], &rng), bias: nil, stride: Size2D(1), padding: Size2D(1),
                    options: ConvOptions(paddingEnd: Size2D(1)))])
        XCTAssertNoThrow(try ModelFile.encode(Manifold(name: "plain", generator: plain)))
    }

    func testConstructionErrors() {
        func message(_ body: () throws -> Layer) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        let w = randomTensor([6, 2, 3, 3], &rng)
        XCTAssertEqual(message { try Conv2D(inputShape: [4, 5, 5], weight: w, options: ConvOptions(groups: 3)) },
                       "groups 3 must divide the 4 input channels")
        XCTAssertEqual(message { try Conv2D(inputShape: [4, 5, 5], weight: w, options: ConvOptions(groups: 4)) },
                       "weight has shape [6,2,3,3], expected [out,1,kh,kw] for 4 input channels in 4 groups")
        XCTAssertEqual(message { try Conv2D(inputShape: [8, 5, 5], weight: w, options: ConvOptions(groups: 4)) },
                       "weight has 6 output channels, which 4 groups do not divide")
        XCTAssertEqual(message { try Conv2D(inputShape: [2, 5, 5], weight: w, options: ConvOptions(dilation: Size2D(0, 1))) },
                       "dilation [0,1] must be between 1 and 65536")
        XCTAssertEqual(message { try Conv2D(inputShape: [2, 5, 5], weight: w, options: ConvOptions(dilation: Size2D(3))) },
                       "kernel 3x3 with dilation [3,3] (span 7x7) is larger than the padded input 5x5")
        XCTAssertEqual(message { try Conv2D(inputShape: [2, 5, 5], weight: w, options: ConvOptions(paddingEnd: Size2D(-1, 0))) },
                       "padding_end [-1,0] must be between 0 and 65536")
        let wt = randomTensor([2, 3, 2, 2], &rng)
        XCTAssertEqual(message { try ConvTranspose2D(inputShape: [2, 3, 3], weight: wt, stride: Size2D(1), outputPadding: Size2D(1),
                                                     options: ConvOptions(dilation: Size2D(2, 1))) },
                       "output_padding [1,1] must be non-negative and smaller than stride [1,1] or dilation [2,1]")
        XCTAssertEqual(message { try ConvTranspose2D(inputShape: [2, 3, 3], weight: wt, padding: Size2D(-1)) },
                       "padding [-1,-1] must be between 0 and 65536")
        XCTAssertEqual(message { try ConvTranspose2D(inputShape: [2, 3, 3], weight: wt, padding: Size2D(2), options: ConvOptions(paddingEnd: Size2D(3))) },
                       "output would be -1x-1: padding [2,2] and [3,3] is too large for input 3x3 and kernel 2x2")
        XCTAssertEqual(message { try ConvTranspose2D(inputShape: [2, 3, 3], weight: wt, options: ConvOptions(groups: 2)) }, "no error")
        XCTAssertEqual((try? ConvTranspose2D(inputShape: [2, 3, 3], weight: wt, options: ConvOptions(groups: 2)))?.outputShape, [6, 4, 4])
    }

    // MARK: ONNX

    /// A one-node ONNX model: input X (double) of `xShape`, weight and bias initializers, output Y.
    func onnxModel(_ op: String, x xShape: [Int], weight: Tensor, bias: Tensor?, group: Int? = nil,
                   ints: [String: [Int]] = [:], autoPad: String? = nil) throws -> ONNXFile {
        func tensor(_ name: String, _ t: Tensor) -> Onnx_TensorProto {
            Onnx_TensorProto.with {
                $0.name = name; $0.dims = t.shape.map(Int64.init); $0.dataType = 11; $0.doubleData = t.scalars
            }
        }
        var attributes = ints.sorted { $0.key < $1.key }.map { key, v in
            Onnx_AttributeProto.with { $0.name = key; $0.type = .ints; $0.ints = v.map(Int64.init) }
        }
        if let g = group { attributes.append(Onnx_AttributeProto.with { $0.name = "group"; $0.type = .int; $0.i = Int64(g) }) }
        if let a = autoPad { attributes.append(Onnx_AttributeProto.with { $0.name = "auto_pad"; $0.type = .string; $0.s = Data(a.utf8) }) }
        let model = Onnx_ModelProto.with { m in
            m.irVersion = 8
            m.opsetImport = [Onnx_OperatorSetIdProto.with { $0.domain = ""; $0.version = 17 }]
            m.graph = Onnx_GraphProto.with { g in
                g.name = "conv"
                g.initializer = [tensor("W", weight)] + (bias.map { [tensor("B", $0)] } ?? [])
                g.input = [Onnx_ValueInfoProto.with { v in
                    v.name = "X"
                    v.type = Onnx_TypeProto.with { t in
                        t.tensorType = Onnx_TypeProto.Tensor.with { tt in
                            tt.elemType = 11
                            tt.shape = Onnx_TensorShapeProto.with { s in
                                s.dim = xShape.map { d in Onnx_TensorShapeProto.Dimension.with { $0.dimValue = Int64(d) } }
                            }
                        }
                    }
                }]
                g.output = [Onnx_ValueInfoProto.with { $0.name = "Y" }]
                g.node = [Onnx_NodeProto.with { n in
                    n.name = "the_conv"; n.opType = op
                    n.input = ["X", "W"] + (bias == nil ? [] : ["B"]); n.output = ["Y"]
                    n.attribute = attributes
                }]
            }
        }
        return try ONNXFile.parse(try model.serializedData())
    }

    /// The graph of a one-node model and its output shape and values for a random X.
    func run(_ file: ONNXFile, x xShape: [Int]) throws -> (y: [Double], shape: [Int], x: [Double], graph: Graph) {
        let g = try ONNXImporter(file).build(inputNames: ["X"])
        let x = (0..<xShape.reduce(1, *)).map { _ in rng.normal() }
        let y = try g.forward(Matrix(row: Vector(x)))
        return (y.scalars, g.valueShapes[g.output], x, g)
    }

    /// A model's Conv against the naive definition; also every derivative of the graph's op.
    func checkONNX(_ op: String, x: [Int], weight: [Int], group: Int? = nil, ints: [String: [Int]] = [:], autoPad: String? = nil,
                   expected s: NaiveConvSettings, shape: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        let transposed = op == "ConvTranspose"
        let w = randomTensor(weight, &rng, scale: 0.5)
        let b = randomTensor([transposed ? weight[1] * (group ?? 1) : weight[0]], &rng)
        let r = try run(try onnxModel(op, x: x, weight: w, bias: b, group: group, ints: ints, autoPad: autoPad), x: x)
        XCTAssertEqual(r.shape, shape, "\(op) \(ints) \(autoPad ?? ""): output shape", file: file, line: line)
        // The naive references take 2-D images: a 1-D [1, C, L] is [C, 1, L] with a 1 x k kernel.
        let w2 = x.count == 3 ? Tensor(shape: [weight[0], weight[1], 1, weight[2]], unchecked: w.scalars) : w
        let (c, h, wd) = x.count == 3 ? (x[1], 1, x[2]) : (x[1], x[2], x[3])
        let ref = transposed ? naiveGeneralConvTranspose2D(r.x, c: c, h: h, w: wd, weight: w2, bias: b, s)
            : naiveGeneralConv2D(r.x, c: c, h: h, w: wd, weight: w2, bias: b, s)
        XCTAssertEqual(ref.shape.reduce(1, *), shape.reduce(1, *), "\(op) \(ints): reference size", file: file, line: line)
        XCTAssertLessThan(relativeError(r.y, ref.y), 1e-13, "\(op) \(ints) \(autoPad ?? ""): values", file: file, line: line)
        let node = try XCTUnwrap(r.graph.nodes.first { $0.op.op == (transposed ? "conv_transpose2d" : "conv2d") }, file: file, line: line)
        try assertOpDerivatives(node.op, inputs: [Tensor(shape: x, unchecked: r.x)], seed: rng.next(), file: file, line: line)
    }

    func testONNXConvAttributes() throws {
        // group 2, dilations, pads [top, left, bottom, right], strides.
        try checkONNX("Conv", x: [1, 4, 7, 6], weight: [6, 2, 3, 2], group: 2,
                      ints: ["dilations": [2, 3], "pads": [1, 0, 2, 1], "strides": [2, 1], "kernel_shape": [3, 2]],
                      expected: settings(stride: Size2D(2, 1), padStart: Size2D(1, 0), padEnd: Size2D(2, 1), dilation: Size2D(2, 3), groups: 2),
                      shape: [1, 6, 3, 4])
        // Depthwise (torch's groups = channels), multiplier 2.
        try checkONNX("Conv", x: [1, 3, 5, 4], weight: [6, 1, 3, 3], group: 3, ints: ["pads": [1, 1, 1, 1]],
                      expected: settings(padStart: Size2D(1), padEnd: Size2D(1), groups: 3), shape: [1, 6, 5, 4])
        // auto_pad SAME_UPPER / SAME_LOWER with stride 2 and dilation 2 on 7 x 6: output ceil(size / 2) = 4 x 3;
        // total padding (4 - 1) 2 + 5 - 7 = 4 rows, (3 - 1) 2 + 3 - 6 = 1 column (the odd one at the end for UPPER).
        try checkONNX("Conv", x: [1, 2, 7, 6], weight: [3, 2, 3, 2], ints: ["dilations": [2, 2], "strides": [2, 2]], autoPad: "SAME_UPPER",
                      expected: settings(stride: Size2D(2), padStart: Size2D(2, 0), padEnd: Size2D(2, 1), dilation: Size2D(2)),
                      shape: [1, 3, 4, 3])
        try checkONNX("Conv", x: [1, 2, 7, 6], weight: [3, 2, 3, 2], ints: ["dilations": [2, 2], "strides": [2, 2]], autoPad: "SAME_LOWER",
                      expected: settings(stride: Size2D(2), padStart: Size2D(2, 1), padEnd: Size2D(2, 0), dilation: Size2D(2)),
                      shape: [1, 3, 4, 3])
        try checkONNX("Conv", x: [1, 2, 7, 6], weight: [3, 2, 3, 2], ints: ["pads": [3, 3, 3, 3]], autoPad: "VALID",
                      expected: settings(), shape: [1, 3, 5, 5])
        // 1-D: [1, C, L] with a [O, C/G, k] weight; pads [begin, end].
        try checkONNX("Conv", x: [1, 4, 9], weight: [2, 2, 3], group: 2, ints: ["dilations": [2], "pads": [1, 2], "strides": [2]],
                      expected: settings(stride: Size2D(1, 2), padStart: Size2D(0, 1), padEnd: Size2D(0, 2), dilation: Size2D(1, 2), groups: 2),
                      shape: [1, 2, 4])
    }

    func testONNXConvTransposeAttributes() throws {
        try checkONNX("ConvTranspose", x: [1, 4, 3, 4], weight: [4, 3, 3, 2], group: 2,
                      ints: ["dilations": [2, 1], "pads": [1, 0, 0, 2], "strides": [2, 3], "output_padding": [1, 2]],
                      expected: settings(stride: Size2D(2, 3), padStart: Size2D(1, 0), padEnd: Size2D(0, 2), dilation: Size2D(2, 1),
                                         groups: 2, outputPadding: Size2D(1, 2)),
                      shape: [1, 6, 9, 11])
        // output_shape: total padding 2 (3 - 1) + 3 - 6 = 1 row and 2 (4 - 1) + 2 + 1 - 7 = 2 columns, the odd unit at the start
        // (NOTSET and SAME_LOWER) or the end (SAME_UPPER); pads are then ignored.
        try checkONNX("ConvTranspose", x: [1, 2, 3, 4], weight: [2, 2, 3, 2], ints: ["output_shape": [6, 7], "strides": [2, 2],
                                                                                    "output_padding": [0, 1], "pads": [5, 5, 5, 5]],
                      expected: settings(stride: Size2D(2), padStart: Size2D(1, 1), padEnd: Size2D(0, 1), outputPadding: Size2D(0, 1)),
                      shape: [1, 2, 6, 7])
        try checkONNX("ConvTranspose", x: [1, 2, 3, 4], weight: [2, 2, 3, 2], ints: ["output_shape": [6, 7], "strides": [2, 2],
                                                                                    "output_padding": [0, 1]], autoPad: "SAME_UPPER",
                      expected: settings(stride: Size2D(2), padStart: Size2D(0, 1), padEnd: Size2D(1, 1), outputPadding: Size2D(0, 1)),
                      shape: [1, 2, 6, 7])
        // output_shape beyond the full output (7 x 8): negative padding, rows and columns of bias alone.
        try checkONNX("ConvTranspose", x: [1, 2, 3, 4], weight: [2, 2, 3, 2], ints: ["output_shape": [10, 9], "strides": [2, 2]],
                      expected: settings(stride: Size2D(2), padStart: Size2D(-1, 0), padEnd: Size2D(-2, -1)),
                      shape: [1, 2, 10, 9])
        // auto_pad SAME: output size * stride.
        try checkONNX("ConvTranspose", x: [1, 2, 3, 4], weight: [2, 1, 3, 3], ints: ["strides": [2, 2]], autoPad: "SAME_LOWER",
                      expected: settings(stride: Size2D(2), padStart: Size2D(1), padEnd: Size2D(0)), shape: [1, 1, 6, 8])
        try checkONNX("ConvTranspose", x: [1, 2, 3, 4], weight: [2, 1, 3, 3], ints: ["strides": [2, 2]], autoPad: "SAME_UPPER",
                      expected: settings(stride: Size2D(2), padStart: Size2D(0), padEnd: Size2D(1)), shape: [1, 1, 6, 8])
        // 1-D, depthwise.
        try checkONNX("ConvTranspose", x: [1, 3, 5], weight: [3, 1, 4], group: 3, ints: ["pads": [1, 2], "strides": [3], "dilations": [2]],
                      expected: settings(stride: Size2D(1, 3), padStart: Size2D(0, 1), padEnd: Size2D(0, 2), dilation: Size2D(1, 2), groups: 3),
                      shape: [1, 3, 16])
    }

    func testONNXConvolutionErrors() throws {
        func message(_ op: String, x: [Int], weight: [Int], group: Int? = nil, ints: [String: [Int]] = [:]) -> String {
            do {
                let w = Tensor(shape: weight, repeating: 0.5)
                _ = try run(try onnxModel(op, x: x, weight: w, bias: nil, group: group, ints: ints), x: x)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(message("Conv", x: [1, 1, 3, 4, 5], weight: [2, 1, 3, 3, 3]),
                       "node 'the_conv' (Conv): 3-D convolutions (input [1,1,3,4,5]) are not supported; georepl has 1-D and 2-D ones")
        XCTAssertEqual(message("ConvTranspose", x: [1, 1, 3, 4, 5], weight: [1, 2, 3, 3, 3]),
                       "node 'the_conv' (ConvTranspose): 3-D transposed convolutions (input [1,1,3,4,5]) are not supported; georepl has 1-D and 2-D ones")
        XCTAssertEqual(message("Conv", x: [2, 1, 3, 3], weight: [1, 1, 2, 2]),
                       "node 'the_conv' (Conv): only convolutions of one sample ([1, C, ...] values) are supported, got [2,1,3,3]")
        XCTAssertEqual(message("Conv", x: [1, 1, 3, 3], weight: [1, 1, 2, 2], ints: ["kernel_shape": [3, 3]]),
                       "node 'the_conv' (Conv): attribute kernel_shape = [3, 3] does not match the weight's kernel [2, 2]")
        XCTAssertEqual(message("Conv", x: [1, 1, 3, 3], weight: [1, 1, 2, 2], ints: ["strides": [1, 1, 1]]),
                       "node 'the_conv' (Conv): attribute strides = [1, 1, 1] has 3 entries; a 2-D convolution needs 2")
        XCTAssertEqual(message("Conv", x: [1, 1, 3, 3], weight: [1, 1, 2, 2], ints: ["pads": [0, -1, 0, 0]]),
                       "node 'the_conv' (Conv): attribute pads = [0, -1, 0, 0] must have entries between 0 and 65536")
        XCTAssertEqual(message("Conv", x: [1, 6, 3, 3], weight: [4, 2, 2, 2], group: 4),
                       "node 'the_conv' (Conv): groups 4 must divide the 6 input channels")
        XCTAssertEqual(message("Conv", x: [1, 6, 3, 3], weight: [4, 3, 2, 2], group: 3),
                       "node 'the_conv' (Conv): weight 'W' has shape [4,3,2,2], expected [out,2,kh,kw] for 6 input channels in 3 groups")
        XCTAssertEqual(message("ConvTranspose", x: [1, 2, 3, 3], weight: [2, 1, 2, 2], ints: ["output_padding": [2, 0], "strides": [2, 2]]),
                       "node 'the_conv' (ConvTranspose): output_padding [2,0] must be non-negative and smaller than stride [2,2]")
    }
}
