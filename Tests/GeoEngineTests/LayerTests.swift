import XCTest
@testable import GeoEngine

/// A tensor of normal draws times `scale`.
func randomTensor(_ shape: [Int], _ rng: inout SeededRandom, scale: Double = 1) -> Tensor {
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, unchecked: (0..<n).map { _ in scale * rng.normal() })
}

/// A random matrix of normal draws.
func randomMatrix(_ rows: Int, _ cols: Int, _ rng: inout SeededRandom) -> Matrix {
    Matrix(rows: rows, cols: cols, unchecked: (0..<(rows * cols)).map { _ in rng.normal() })
}

/// Naive conv2d on one [C,H,W] image: the definition, loop by loop.
func naiveConv2D(_ x: [Double], c: Int, h: Int, w: Int, weight: Tensor, bias: Tensor?,
                 stride: Size2D, padding: Size2D) -> [Double] {
    let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
    let ho = (h + 2 * padding.h - kh) / stride.h + 1, wo = (w + 2 * padding.w - kw) / stride.w + 1
    var y = [Double](repeating: 0, count: o * ho * wo)
    for oc in 0..<o { for oh in 0..<ho { for ow in 0..<wo {
        var s = bias?.scalars[oc] ?? 0
        for ic in 0..<c { for i in 0..<kh { for j in 0..<kw {
            let ih = oh * stride.h - padding.h + i, iw = ow * stride.w - padding.w + j
            if ih < 0 || ih >= h || iw < 0 || iw >= w { continue }
            s += weight.scalars[((oc * c + ic) * kh + i) * kw + j] * x[(ic * h + ih) * w + iw]
        } } }
        y[(oc * ho + oh) * wo + ow] = s
    } } }
    return y
}

/// Naive conv_transpose2d on one [Cin,H,W] image: each input pixel scatters its kernel.
func naiveConvTranspose2D(_ x: [Double], c: Int, h: Int, w: Int, weight: Tensor, bias: Tensor?,
                          stride: Size2D, padding: Size2D, outputPadding: Size2D) -> [Double] {
    let (o, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
    let ho = (h - 1) * stride.h - 2 * padding.h + kh + outputPadding.h
    let wo = (w - 1) * stride.w - 2 * padding.w + kw + outputPadding.w
    var y = [Double](repeating: 0, count: o * ho * wo)
    for oc in 0..<o { for q in 0..<(ho * wo) { y[oc * ho * wo + q] = bias?.scalars[oc] ?? 0 } }
    for ic in 0..<c { for ih in 0..<h { for iw in 0..<w { for oc in 0..<o { for i in 0..<kh { for j in 0..<kw {
        let oh = ih * stride.h - padding.h + i, ow = iw * stride.w - padding.w + j
        if oh < 0 || oh >= ho || ow < 0 || ow >= wo { continue }
        y[(oc * ho + oh) * wo + ow] += weight.scalars[((ic * o + oc) * kh + i) * kw + j] * x[(ic * h + ih) * w + iw]
    } } } } } }
    return y
}

final class LayerTests: XCTestCase {
    var rng = SeededRandom(seed: 11)

    /// linear(d -> h), the given layers, at a random point; FD check of all derivatives.
    private func check(_ specs: [LayerSpec], latentDim: Int = 3, tolerance: Double = 1e-6,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let net = try NeuralNetwork(latentDim: latentDim, layers: specs)
        let z = rng.normalVector(latentDim)
        try assertDerivativesMatchFiniteDifferences(net, at: z, seed: rng.next(), tolerance: tolerance, file: file, line: line)
    }

    private func mlp(_ act: Activation, hidden: Int = 6, scale: Double = 1) -> [LayerSpec] {
        [.linear(weight: randomTensor([hidden, 3], &rng, scale: scale), bias: randomTensor([hidden], &rng)),
         .activation(act),
         .linear(weight: randomTensor([4, hidden], &rng), bias: randomTensor([4], &rng)),
         .activation(.tanh)]
    }

    func testLinear() throws {
        try check([.linear(weight: randomTensor([5, 3], &rng), bias: randomTensor([5], &rng)),
                   .activation(.tanh),
                   .linear(weight: randomTensor([4, 5], &rng), bias: nil)])
    }

    func testEveryActivation() throws {
        let acts: [Activation] = [.relu, .leakyReLU(slope: 0.2), .elu(alpha: 1.3), .tanh, .sigmoid,
                                  .softplus(beta: 1), .softplus(beta: 7), .silu, .gelu]
        for a in acts {
            try check(mlp(a, scale: 2))
        }
    }

    func testActivationValuesMatchDefinitions() throws {
        let xs: [Double] = [-30, -3, -0.5, 0, 0.25, 2, 5, 40]
        func values(_ a: Activation) throws -> [Double] {
            try ActivationLayer(a, inputShape: [xs.count]).forward(Matrix(rows: 1, cols: xs.count, scalars: xs)).scalars
        }
        func close(_ a: [Double], _ b: [Double], _ msg: String) {
            for (p, q) in zip(a, b) { XCTAssertEqual(p, q, accuracy: 1e-15 * max(1, abs(q)), msg) }
        }
        close(try values(.relu), xs.map { max(0, $0) }, "relu")
        close(try values(.leakyReLU(slope: 0.1)), xs.map { $0 > 0 ? $0 : 0.1 * $0 }, "leaky_relu")
        close(try values(.elu(alpha: 2)), xs.map { $0 > 0 ? $0 : 2 * (exp($0) - 1) }, "elu")
        close(try values(.tanh), xs.map { tanh($0) }, "tanh")
        close(try values(.sigmoid), xs.map { 1 / (1 + exp(-$0)) }, "sigmoid")
        close(try values(.softplus(beta: 2)), xs.map { 2 * $0 > 20 ? $0 : log(1 + exp(2 * $0)) / 2 }, "softplus")
        close(try values(.silu), xs.map { $0 / (1 + exp(-$0)) }, "silu")
        close(try values(.gelu), xs.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }, "gelu")
        // Known values: gelu(1) = 0.8413447460685429 (torch), softplus(0) = log 2.
        XCTAssertEqual(try values(.gelu)[4], 0.25 * 0.5 * (1 + erf(0.25 / 2.0.squareRoot())), accuracy: 1e-16)
        XCTAssertEqual(try values(.softplus(beta: 1))[3], log(2.0), accuracy: 1e-16)
    }

    func testSoftplusLinearRegion() throws {
        // beta = 10 and large weights: many pre-activations beyond the threshold beta x > 20.
        try check(mlp(.softplus(beta: 10), scale: 4))
    }

    func testConv2D() throws {
        try check([.linear(weight: randomTensor([2 * 5 * 5, 3], &rng), bias: randomTensor([50], &rng)),
                   .reshape([2, 5, 5]),
                   .conv2d(weight: randomTensor([3, 2, 3, 3], &rng, scale: 0.5), bias: randomTensor([3], &rng),
                           stride: Size2D(2), padding: Size2D(1)),
                   .activation(.softplus(beta: 1)),
                   .conv2d(weight: randomTensor([2, 3, 2, 1], &rng, scale: 0.5), bias: nil,
                           stride: Size2D(1, 2), padding: Size2D(0, 1)),
                   .activation(.tanh), .flatten])
    }

    func testConvTranspose2D() throws {
        try check([.linear(weight: randomTensor([3 * 3 * 3, 2], &rng), bias: randomTensor([27], &rng)),
                   .activation(.silu),
                   .reshape([3, 3, -1]),
                   .convTranspose2d(weight: randomTensor([3, 2, 4, 4], &rng, scale: 0.5), bias: randomTensor([2], &rng),
                                    stride: Size2D(2), padding: Size2D(1), outputPadding: Size2D(1)),
                   .activation(.gelu),
                   .convTranspose2d(weight: randomTensor([2, 1, 3, 2], &rng, scale: 0.5), bias: nil,
                                    stride: Size2D(1, 3), padding: Size2D(0), outputPadding: Size2D(0, 2)),
                   .activation(.sigmoid)], latentDim: 2)
    }

    func testBatchNorm() throws {
        let variance = Tensor(shape: [4], unchecked: [0.5, 2, 1.5, 0.1])
        // Flat input: per feature.
        try check([.linear(weight: randomTensor([4, 3], &rng), bias: nil),
                   .batchNorm(weight: randomTensor([4], &rng), bias: randomTensor([4], &rng),
                              mean: randomTensor([4], &rng), variance: variance, eps: 1e-5),
                   .activation(.elu(alpha: 1)),
                   .linear(weight: randomTensor([2, 4], &rng), bias: nil), .activation(.tanh)])
        // [C,H,W] input: per channel.
        try check([.linear(weight: randomTensor([4 * 2 * 3, 3], &rng), bias: nil),
                   .reshape([4, 2, 3]),
                   .batchNorm(weight: randomTensor([4], &rng), bias: randomTensor([4], &rng),
                              mean: randomTensor([4], &rng), variance: variance, eps: 1e-3),
                   .activation(.sigmoid)])
    }

    func testBatchNormValues() throws {
        let bn = try BatchNorm(inputShape: [2, 1, 2], weight: Tensor(shape: [2], scalars: [2, 3]),
                               bias: Tensor(shape: [2], scalars: [1, -1]), mean: Tensor(shape: [2], scalars: [0.5, -1]),
                               variance: Tensor(shape: [2], scalars: [4 - 1e-5, 0.25 - 1e-5]))
        let y = try bn.forward(Matrix(rows: 1, cols: 4, scalars: [1.5, 2.5, 0, 1]))
        let expected: [Double] = [2.0, 3.0, 5.0, 11.0]   // 2 (x - 0.5) / 2 + 1 and 3 (x + 1) / 0.5 - 1
        for (a, b) in zip(y.scalars, expected) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }

    func testConvolutionsMatchNaiveDefinitionsAcrossChunks() throws {
        let x = randomMatrix(7, 2 * 6 * 5, &rng)
        let w = randomTensor([3, 2, 3, 2], &rng), b = randomTensor([3], &rng)
        let conv = try Conv2D(inputShape: [2, 6, 5], weight: w, bias: b, stride: Size2D(2, 1), padding: Size2D(1, 2))
        let wt = randomTensor([2, 3, 3, 4], &rng), bt = randomTensor([3], &rng)
        let convT = try ConvTranspose2D(inputShape: [2, 6, 5], weight: wt, bias: bt, stride: Size2D(2, 3),
                                        padding: Size2D(1, 2), outputPadding: Size2D(1, 2))
        XCTAssertEqual(conv.outputShape, [3, 3, 8])
        XCTAssertEqual(convT.outputShape, [3, 12, 14])
        for budget in [1 << 19, 1, 300] {   // one chunk, one row per chunk, a few rows per chunk
            conv.chunkBudget = budget; convT.chunkBudget = budget
            let y = try conv.forward(x), yt = try convT.forward(x)
            for r in 0..<x.rows {
                let ref = naiveConv2D(x.row(r).scalars, c: 2, h: 6, w: 5, weight: w, bias: b, stride: Size2D(2, 1), padding: Size2D(1, 2))
                XCTAssertLessThan(relativeError(y.row(r).scalars, ref), 1e-13, "conv2d row \(r) budget \(budget)")
                let reft = naiveConvTranspose2D(x.row(r).scalars, c: 2, h: 6, w: 5, weight: wt, bias: bt, stride: Size2D(2, 3),
                                                padding: Size2D(1, 2), outputPadding: Size2D(1, 2))
                XCTAssertLessThan(relativeError(yt.row(r).scalars, reft), 1e-13, "conv_transpose2d row \(r) budget \(budget)")
            }
            // Adjoints: <c, A t> = <A^T c, t> on tangent rows (no bias).
            for layer in [conv, convT] as [AffineLayer] {
                let t = randomMatrix(5, layer.inputFeatures, &rng), c = randomMatrix(5, layer.outputFeatures, &rng)
                let at = try layer.applyLinear(t, biasRows: 0), atc = try layer.applyTransposed(c)
                let lhs = zip(c.scalars, at.scalars).reduce(0) { $0 + $1.0 * $1.1 }
                let rhs = zip(atc.scalars, t.scalars).reduce(0) { $0 + $1.0 * $1.1 }
                XCTAssertEqual(lhs, rhs, accuracy: 1e-12 * max(1, abs(lhs)), "\(layer.op) adjoint, budget \(budget)")
            }
        }
    }

    func testLargeBatchesTakeTheParallelPathsAndAgreeWithSinglePoints() throws {
        // Batches big enough for the threaded passes (im2col, col2im, batchnorm, activations)
        // against single points, which run on one thread.
        let net = try NeuralNetwork(latentDim: 3, layers: [
            .linear(weight: randomTensor([8 * 8 * 8, 3], &rng), bias: randomTensor([512], &rng)),
            .reshape([8, 8, 8]),
            .batchNorm(weight: randomTensor([8], &rng), bias: randomTensor([8], &rng), mean: randomTensor([8], &rng),
                       variance: Tensor(shape: [8], repeating: 1.5), eps: 1e-5),
            .activation(.softplus(beta: 1)),
            .convTranspose2d(weight: randomTensor([8, 6, 4, 4], &rng, scale: 0.3), bias: randomTensor([6], &rng),
                             stride: Size2D(2), padding: Size2D(1), outputPadding: Size2D(0)),
            .activation(.gelu),
            .conv2d(weight: randomTensor([4, 6, 3, 3], &rng, scale: 0.3), bias: randomTensor([4], &rng),
                    stride: Size2D(1), padding: Size2D(1)),
            .activation(.tanh),
        ])
        let n = 24, k = 3
        let z = randomMatrix(n, 3, &rng), u = randomMatrix(n * k, 3, &rng), v = randomMatrix(n * k, 3, &rng)
        let c = randomMatrix(n * k, net.dataDim, &rng)
        let so = try net.secondOrder(z, u: u, v: v)
        let back = try net.vjp(z, cotangents: c)
        XCTAssertEqual(so.value, try net.forward(z))
        for p in [0, 7, n - 1] {
            let rows = (p * k)..<((p + 1) * k)
            let one = try net.secondOrder(Matrix(row: z.row(p)), u: try Matrix(rowVectors: rows.map { u.row($0) }),
                                          v: try Matrix(rowVectors: rows.map { v.row($0) }))
            let oneBack = try net.vjp(Matrix(row: z.row(p)), cotangents: try Matrix(rowVectors: rows.map { c.row($0) }))
            XCTAssertLessThan(relativeError(so.value.row(p).scalars, one.value.scalars), 1e-14)
            for (j, r) in rows.enumerated() {
                XCTAssertLessThan(relativeError(so.ju.row(r).scalars, one.ju.row(j).scalars), 1e-13)
                XCTAssertLessThan(relativeError(so.d2.row(r).scalars, one.d2.row(j).scalars, floor: 1e-6), 1e-12)
                XCTAssertLessThan(relativeError(back.cotangents.row(r).scalars, oneBack.cotangents.row(j).scalars), 1e-13)
            }
        }
        let pass = try net.forwardPass(z)
        let grads = try net.backward(pass, cotangents: randomMatrix(n, net.dataDim, &rng))
        XCTAssertEqual(grads.parameters.count, net.parameters.count)
        XCTAssertTrue(grads.parameters.allSatisfy { $0.scalars.allSatisfy { $0.isFinite } })
    }

    func testLayerLevelJVPAndSecondOrderMatchNetwork() throws {
        let layer = ActivationLayer(.gelu, inputShape: [3])
        let x = randomMatrix(2, 3, &rng), u = randomMatrix(4, 3, &rng), v = randomMatrix(4, 3, &rng), w = randomMatrix(4, 3, &rng)
        let (y, ju) = try layer.jvp(x, tangents: u)
        let so = try layer.secondOrder(x, u: u, v: v, w: w)
        XCTAssertEqual(y, so.value)
        XCTAssertEqual(ju, so.u)
        // Row 3 belongs to point 1 (k = 2). GELU(x) = x Phi(x), so (independently of the code's
        // own derivative routine) GELU'(x) = Phi(x) + x phi(x) and GELU''(x) = phi(x) (2 - x^2),
        // with Phi(x) = (1 + erf(x / sqrt 2)) / 2 and phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
        let x1 = x.row(1).scalars
        let d1 = x1.map { 0.5 * (1 + erf($0 / 2.0.squareRoot())) + $0 * exp(-$0 * $0 / 2) / (2 * Double.pi).squareRoot() }
        let d2 = x1.map { exp(-$0 * $0 / 2) / (2 * Double.pi).squareRoot() * (2 - $0 * $0) }
        for q in 0..<3 {
            // Achieved: exact to rounding (1e-16 relative); 1e-15 allowed.
            XCTAssertEqual(so.v[3, q], d1[q] * v[3, q], accuracy: 1e-15 * max(1, abs(d1[q] * v[3, q])))
            XCTAssertEqual(so.w[3, q], d2[q] * u[3, q] * v[3, q] + d1[q] * w[3, q],
                           accuracy: 1e-15 * max(1, abs(d2[q] * u[3, q] * v[3, q]) + abs(d1[q] * w[3, q])))
        }
        // The same closed forms against the activation's own derivative routine, at points that
        // cover both tails and the inflection points x = +-sqrt 2 (GELU'' = 0 there).
        let xs: [Double] = [-8, -3, -2.0.squareRoot(), -0.7, 0, 0.3, 1, 2.0.squareRoot(), 4, 9]
        var first = [Double](repeating: 0, count: xs.count), second = first
        xs.withUnsafeBufferPointer { px in
            first.withUnsafeMutableBufferPointer { p1 in
                second.withUnsafeMutableBufferPointer { p2 in
                    Activation.gelu.derivatives(px.baseAddress!, count: xs.count, first: p1.baseAddress!, second: p2.baseAddress!)
                }
            }
        }
        for (k, t) in xs.enumerated() {
            let phi = exp(-t * t / 2) / (2 * Double.pi).squareRoot()
            XCTAssertEqual(first[k], 0.5 * (1 + erf(t / 2.0.squareRoot())) + t * phi, accuracy: 2e-16 * max(1, abs(t)), "GELU' at \(t)")
            XCTAssertEqual(second[k], phi * (2 - t * t), accuracy: 2e-16 * max(1, t * t), "GELU'' at \(t)")
        }
    }

    func testParameterGradientsMatchFiniteDifferences() throws {
        let specs: [LayerSpec] = [
            .linear(weight: randomTensor([2 * 3 * 3, 3], &rng), bias: randomTensor([18], &rng)),
            .reshape([2, 3, 3]),
            .convTranspose2d(weight: randomTensor([2, 3, 4, 4], &rng, scale: 0.5), bias: randomTensor([3], &rng),
                             stride: Size2D(2), padding: Size2D(1), outputPadding: Size2D(0)),
            .batchNorm(weight: randomTensor([3], &rng), bias: randomTensor([3], &rng), mean: randomTensor([3], &rng),
                       variance: Tensor(shape: [3], unchecked: [0.7, 1.2, 2.0]), eps: 1e-5),
            .activation(.tanh),
            .conv2d(weight: randomTensor([2, 3, 3, 3], &rng, scale: 0.5), bias: randomTensor([2], &rng),
                    stride: Size2D(2), padding: Size2D(1)),
            .activation(.softplus(beta: 1)),
            .flatten,
            .linear(weight: randomTensor([4, 18], &rng), bias: randomTensor([4], &rng)),
        ]
        let net = try NeuralNetwork(latentDim: 3, layers: specs)
        XCTAssertEqual(net.dataShape, [4])
        XCTAssertEqual(net.parameterNames, ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias",
                                            "5.weight", "5.bias", "8.weight", "8.bias"])
        let x = randomMatrix(3, 3, &rng), c = randomMatrix(3, 4, &rng)
        func loss() throws -> Double {
            zip(try net.forward(x).scalars, c.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let pass = try net.forwardPass(x)
        let grads = try net.backward(pass, cotangents: c)
        XCTAssertEqual(grads.parameters.map { $0.shape }, net.parameters.map { $0.shape })
        // Input gradient against the network's vjp.
        XCTAssertLessThan(relativeError(grads.input.scalars, try net.vjp(x, cotangents: c).cotangents.scalars), 1e-14)
        let base = net.parameters
        let h = 1e-6
        for (pi, p) in base.enumerated() {
            var fd = [Double](repeating: 0, count: p.count)
            for j in 0..<p.count {
                var plus = base, minus = base
                plus[pi].scalars[j] += h; minus[pi].scalars[j] -= h
                try net.setParameters(plus); let lp = try loss()
                try net.setParameters(minus); let lm = try loss()
                fd[j] = (lp - lm) / (2 * h)
            }
            try net.setParameters(base)
            XCTAssertLessThan(relativeError(grads.parameters[pi].scalars, fd), 1e-6, "gradient of \(net.parameterNames[pi])")
        }
    }

    func testConstructionErrorsNameLayerAndOp() {
        func message(_ specs: [LayerSpec], latentDim: Int = 3) -> String {
            do { _ = try NeuralNetwork(latentDim: latentDim, layers: specs); return "no error" } catch { return "\(error)" }
        }
        let w = randomTensor([4, 5], &rng)
        XCTAssertEqual(message([.linear(weight: w, bias: nil)]),
                       "layer 0 (linear): weight has shape [4,5], expected [out,3] for 3 input features")
        XCTAssertEqual(message([.linear(weight: randomTensor([4, 3], &rng), bias: randomTensor([3], &rng))]),
                       "layer 0 (linear): bias has shape [3], expected [4]")
        XCTAssertEqual(message([.activation(.relu), .conv2d(weight: randomTensor([1, 1, 1, 1], &rng), bias: nil, stride: Size2D(1), padding: Size2D(0))]),
                       "layer 1 (conv2d): input has shape [3]; conv2d needs [C,H,W] (insert {\"op\":\"reshape\",\"shape\":[C,H,W]})")
        XCTAssertEqual(message([.reshape([3, 1, 1]), .convTranspose2d(weight: randomTensor([2, 1, 2, 2], &rng), bias: nil, stride: Size2D(1), padding: Size2D(0), outputPadding: Size2D(0))]),
                       "layer 1 (conv_transpose2d): weight has shape [2,1,2,2], expected [3,out,kh,kw] for 3 input channels")
        XCTAssertEqual(message([.reshape([3, 1, 1]), .convTranspose2d(weight: randomTensor([3, 1, 2, 2], &rng), bias: nil, stride: Size2D(2), padding: Size2D(0), outputPadding: Size2D(2))]),
                       "layer 1 (conv_transpose2d): output_padding [2,2] must be non-negative and smaller than stride [2,2]")
        XCTAssertEqual(message([.reshape([4, 1])]), "layer 0 (reshape): cannot reshape 3 features (shape [3]) to [4,1]")
        XCTAssertEqual(message([.reshape([1, 3]), .linear(weight: randomTensor([2, 3], &rng), bias: nil)]),
                       "layer 1 (linear): input has shape [1,3]; linear needs a flat input (insert {\"op\":\"flatten\"})")
        XCTAssertEqual(message([.batchNorm(weight: nil, bias: nil, mean: randomTensor([3], &rng),
                                           variance: Tensor(shape: [3], unchecked: [1, -1, 1]), eps: 1e-5)]),
                       "layer 0 (batchnorm): var + eps is -0.99999 for channel 1; it must be positive")
        XCTAssertEqual(message([.reshape([1, 1, 3]), .conv2d(weight: randomTensor([1, 1, 2, 2], &rng), bias: nil, stride: Size2D(1), padding: Size2D(0))]),
                       "layer 1 (conv2d): kernel 2x2 is larger than the padded input 1x3")
    }

    func testRuntimeShapeErrorsThrow() throws {
        let net = try NeuralNetwork(latentDim: 3, layers: mlp(.relu))
        XCTAssertThrowsError(try net.forward(Matrix(rows: 2, cols: 4)))
        XCTAssertThrowsError(try net.jvp(Matrix(rows: 2, cols: 3), tangents: Matrix(rows: 3, cols: 3)))
        XCTAssertThrowsError(try net.vjp(Matrix(rows: 2, cols: 3), cotangents: Matrix(rows: 2, cols: 3)))
        XCTAssertThrowsError(try net.secondOrder(Matrix(rows: 1, cols: 3), u: Matrix(rows: 2, cols: 3), v: Matrix(rows: 1, cols: 3)))
        let pass = try net.forwardPass(Matrix(rows: 2, cols: 3))
        XCTAssertThrowsError(try net.backward(pass, cotangents: Matrix(rows: 4, cols: 4))) // k = 2 with parameter gradients
        XCTAssertNoThrow(try net.backward(pass, cotangents: Matrix(rows: 4, cols: 4), parameterGradients: false))
        XCTAssertThrowsError(try net.setParameters([]))
        // Empty batches are fine.
        XCTAssertEqual(try net.forward(Matrix(rows: 0, cols: 3)).rows, 0)
        XCTAssertEqual(try net.jvp(Matrix(rows: 0, cols: 3), tangents: Matrix(rows: 0, cols: 3)).tangents.rows, 0)
    }
}
