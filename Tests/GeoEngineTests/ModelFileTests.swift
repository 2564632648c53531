import XCTest
import Foundation
@testable import GeoEngine

final class ModelFileTests: XCTestCase {
    /// An MLP VAE: decoder 2 -> 8 -> 12 ([3,2,2]), encoder [3,2,2] -> flatten -> 6 -> 4 (mean, log-variance).
    func mlpManifold() throws -> Manifold {
        var rng = SeededRandom(seed: 31)
        let encoder = try NeuralNetwork(inputShape: [3, 2, 2], layers: [
            .flatten,
            .linear(weight: randomTensor([6, 12], &rng), bias: randomTensor([6], &rng)),
            .activation(.leakyReLU(slope: 0.2)),
            .linear(weight: randomTensor([4, 6], &rng), bias: nil),
        ])
        return Manifold(name: "mlp", description: "a small \"MLP\" VAE", generator: try smallMLP(), encoder: encoder)
    }

    private func roundTrip(_ m: Manifold, _ dtype: SafeTensorsDType) throws -> Manifold {
        try ModelFile.load(data: try ModelFile.encode(m, dtype: dtype))
    }

    private func assertSameOutputs(_ a: Manifold, _ b: Manifold, tolerance: Double, file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = SeededRandom(seed: 77)
        let z = randomMatrix(5, a.latentDim, &rng)
        let ya = try a.generator.forward(z), yb = try b.generator.forward(z)
        if tolerance == 0 { XCTAssertEqual(ya, yb, file: file, line: line) } else {
            XCTAssertLessThan(relativeError(yb.scalars, ya.scalars), tolerance, file: file, line: line)
        }
        if let ea = a.encoder, let eb = b.encoder {
            let x = randomMatrix(3, a.dataDim, &rng)
            let ma = try ea.forward(x), mb = try eb.forward(x)
            if tolerance == 0 { XCTAssertEqual(ma, mb, file: file, line: line) } else {
                XCTAssertLessThan(relativeError(mb.scalars, ma.scalars), tolerance, file: file, line: line)
            }
        }
    }

    func testMLPRoundTrip() throws {
        let m = try mlpManifold()
        let back = try roundTrip(m, .f64)
        XCTAssertEqual(back.name, "mlp")
        XCTAssertEqual(back.description, "a small \"MLP\" VAE")
        XCTAssertEqual(back.latentDim, 2)
        XCTAssertEqual(back.dataShape, [3, 2, 2])
        XCTAssertNotNil(back.encoder)
        try assertSameOutputs(m, back, tolerance: 0)
        try assertSameOutputs(m, try roundTrip(m, .f32), tolerance: 1e-6)
        // encode() uses the first latent_dim outputs of the encoder.
        XCTAssertEqual(try back.encode(Vector(zeros: 12)).count, 2)
    }

    func testFlatEncoderGetsALeadingFlatten() throws {
        var rng = SeededRandom(seed: 32)
        let encoder = try NeuralNetwork(latentDim: 12, layers: [.linear(weight: randomTensor([2, 12], &rng), bias: nil)])
        let m = Manifold(name: "flat", generator: try smallMLP(), encoder: encoder)
        let back = try roundTrip(m, .f64)
        XCTAssertEqual((back.encoder as? NeuralNetwork)?.layers.map { $0.op }, ["flatten", "linear"])
        XCTAssertEqual((back.encoder as? NeuralNetwork)?.inputShape, [3, 2, 2])
        try assertSameOutputs(m, back, tolerance: 0)
    }

    func testDCGANRoundTrip() throws {
        let m = Manifold(name: "dcgan", generator: try smallDCGAN())
        let back = try roundTrip(m, .f64)
        XCTAssertEqual(back.dataShape, [1, 8, 8])
        XCTAssertNil(back.encoder)
        XCTAssertEqual((back.generator as? NeuralNetwork)?.layers.map { $0.op },
                       ["linear", "reshape", "conv_transpose2d", "batchnorm", "relu", "conv_transpose2d", "tanh"])
        try assertSameOutputs(m, back, tolerance: 0)
        try assertSameOutputs(m, try roundTrip(m, .f32), tolerance: 1e-5)
        // Every hyper-parameter survives: a second round trip writes the same bytes.
        XCTAssertEqual(try ModelFile.encode(back, dtype: .f64), try ModelFile.encode(m, dtype: .f64))
    }

    /// A network with every op; its weights pass through `round` (the identity for the F64 copy).
    private func everyOp(_ round: (Double) -> Double = { $0 }) throws -> NeuralNetwork {
        var rng = SeededRandom(seed: 40)
        func t(_ shape: [Int]) -> Tensor {
            let x = randomTensor(shape, &rng)
            return Tensor(shape: shape, unchecked: x.scalars.map(round))
        }
        return try NeuralNetwork(latentDim: 2, layers: [
            .linear(weight: t([18, 2]), bias: nil),
            .reshape([2, 3, 3]),
            .conv2d(weight: t([2, 2, 2, 2]), bias: t([2]), stride: Size2D(1, 2), padding: Size2D(1, 0)),
            .activation(.elu(alpha: 0.7)),
            .convTranspose2d(weight: t([2, 1, 3, 3]), bias: nil, stride: Size2D(2), padding: Size2D(1), outputPadding: Size2D(1, 0)),
            .batchNorm(weight: nil, bias: nil, mean: t([1]), variance: Tensor(shape: [1], unchecked: [2]), eps: 1e-3),
            .activation(.softplus(beta: 2)), .activation(.leakyReLU(slope: 0.3)), .activation(.silu), .activation(.gelu),
            .activation(.relu), .activation(.sigmoid), .flatten, .activation(.tanh),
        ])
    }

    func testEveryOpRoundTrips() throws {
        let g = try everyOp()
        let m = Manifold(name: "ops", generator: g)
        let back = try roundTrip(m, .f64)
        XCTAssertEqual((back.generator as? NeuralNetwork)?.layers.map { $0.op }, g.layers.map { $0.op })
        try assertSameOutputs(m, back, tolerance: 0)
    }

    /// F16 and BF16 files hold the weights rounded to nearest even, and nothing else changes: the
    /// loaded network computes exactly what the same network with weights rounded independently
    /// (Swift's Float16 for F16; for BF16 the 8-bit significand by scaling, x = k 2^(e-7))
    /// computes. Against the unrounded network the outputs move by what such weights move them:
    /// achieved 3.2e-4 (F16) and 1.7e-3 (BF16) relative.
    func testHalfPrecisionFilesHoldTheRoundedWeights() throws {
        let exact = Manifold(name: "ops", generator: try everyOp())
        func bf16(_ x: Double) -> Double {
            guard x != 0, x.isFinite else { return x }
            let ulp = Double(sign: .plus, exponent: x.exponent - 7, significand: 1)
            return (x / ulp).rounded(.toNearestOrEven) * ulp
        }
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        let cases: [(SafeTensorsDType, (Double) -> Double, Double)] = [(.f16, { Double(Float16($0)) }, 5e-4), (.bf16, bf16, 2.5e-3)]
        #else
        let cases: [(SafeTensorsDType, (Double) -> Double, Double)] = [(.bf16, bf16, 2.5e-3)]
        #endif
        for (dtype, round, tolerance) in cases {
            let loaded = try roundTrip(exact, dtype)
            let rounded = Manifold(name: "ops", generator: try everyOp(round))
            try assertSameOutputs(rounded, loaded, tolerance: 0)
            var rng = SeededRandom(seed: 77)
            let z = randomMatrix(5, 2, &rng)
            let error = relativeError(try loaded.generator.forward(z).scalars, try exact.generator.forward(z).scalars)
            XCTAssertLessThan(error, tolerance, "\(dtype)")
            XCTAssertGreaterThan(error, 0, "\(dtype): the weights were rounded")
        }
    }

    func testFilesOnDisk() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("georepl-modelfile-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("vae.safetensors").path
        try ModelFile.write(try mlpManifold(), to: path, dtype: .f32)
        let m = try ModelFile.load(path: path)
        XCTAssertEqual(m.name, "mlp")
        XCTAssertTrue(errorMessage { try ModelFile.load(path: dir.appendingPathComponent("missing.safetensors").path) }
            .hasPrefix("cannot open '\(dir.path)/missing.safetensors'"))
        // Without georepl.name the file name is used.
        let unnamed = try SafeTensors.read(path: path)
        var meta = unnamed.metadata
        meta["georepl.name"] = nil
        let p2 = dir.appendingPathComponent("unnamed.safetensors").path
        try SafeTensors.write(unnamed.names.compactMap { n in unnamed.tensors[n].map { (n, $0) } }, metadata: meta, to: p2)
        XCTAssertEqual(try ModelFile.load(path: p2).name, "unnamed")
        XCTAssertThrowsError(try ModelFile.write(m, to: "/nonexistent-dir/x.safetensors")) {
            XCTAssertTrue("\($0)".hasPrefix("cannot write '/nonexistent-dir/x.safetensors'"))
        }
    }

    // MARK: Malformed models

    /// A model file with a linear decoder 2 -> 3 whose metadata and layers can be altered.
    private func model(_ edit: (inout [String: String]) -> Void, extra: [(String, Tensor)] = []) throws -> Data {
        var rng = SeededRandom(seed: 3)
        var meta = ["georepl.format": "1", "georepl.latent_dim": "2", "georepl.data_shape": "[3]",
                    "georepl.decoder": #"[{"op":"linear","weight":"w","bias":"b"},{"op":"tanh"}]"#]
        edit(&meta)
        let tensors: [(name: String, tensor: Tensor)] = [("w", randomTensor([3, 2], &rng)), ("b", randomTensor([3], &rng)),
                                                        ("c", randomTensor([2, 1, 2, 2], &rng))] + extra.map { ($0.0, $0.1) }
        return try SafeTensors.encode(tensors, metadata: meta)
    }

    private func loadError(_ edit: (inout [String: String]) -> Void, extra: [(String, Tensor)] = []) -> String {
        errorMessage { try ModelFile.load(data: try self.model(edit, extra: extra)) }
    }

    func testValidBaseModelLoads() {
        XCTAssertEqual(loadError { _ in }, "no error")
    }

    func testMetadataErrors() {
        XCTAssertEqual(loadError { $0["georepl.format"] = nil },
                       "not a georepl model: the safetensors metadata has no 'georepl.format'")
        XCTAssertEqual(loadError { $0["georepl.format"] = "2" },
                       "unsupported georepl.format '2' (this version reads format 1)")
        XCTAssertEqual(loadError { $0["georepl.latent_dim"] = nil }, "georepl.latent_dim is missing")
        XCTAssertEqual(loadError { $0["georepl.latent_dim"] = "two" }, "georepl.latent_dim 'two' is not a positive integer")
        XCTAssertEqual(loadError { $0["georepl.latent_dim"] = "0" }, "georepl.latent_dim '0' is not a positive integer")
        XCTAssertEqual(loadError { $0["georepl.data_shape"] = nil }, "georepl.data_shape is missing")
        XCTAssertEqual(loadError { $0["georepl.data_shape"] = "[3,0]" },
                       "georepl.data_shape '[3,0]' is not a JSON array of positive integers")
        XCTAssertEqual(loadError { $0["georepl.data_shape"] = "3" },
                       "georepl.data_shape '3' is not a JSON array of positive integers")
        XCTAssertEqual(loadError { $0["georepl.decoder"] = nil }, "georepl.decoder is missing")
        XCTAssertTrue(loadError { $0["georepl.decoder"] = "[{" }.hasPrefix("georepl.decoder is not valid JSON: invalid JSON at byte 2"))
        XCTAssertEqual(loadError { $0["georepl.decoder"] = #"{"op":"tanh"}"# },
                       "georepl.decoder is an object, expected a JSON array of layers")
    }

    func testLayerErrors() {
        func dec(_ layers: String) -> (inout [String: String]) -> Void { { $0["georepl.decoder"] = layers } }
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w","bias":"b"},"tanh"]"#)),
                       "decoder layer 1: layer is a string, expected an object")
        XCTAssertEqual(loadError(dec(#"[{"weight":"w"}]"#)), "decoder layer 0: layer has no \"op\" string")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w","bias":"b"},{"op":"swish"}]"#)),
                       "decoder layer 1 (swish): unknown op 'swish' (known: batchnorm, conv2d, conv_transpose2d, elu, flatten, gelu, leaky_relu, linear, relu, reshape, sigmoid, silu, softplus, tanh)")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w","bias":"b","activation":"relu"}]"#)),
                       "decoder layer 0 (linear): unknown key 'activation'")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","bias":"b"}]"#)), "decoder layer 0 (linear): missing tensor key 'weight'")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"dec.0.weight"}]"#)),
                       "decoder layer 0 (linear): tensor 'dec.0.weight' (weight) is not in the file")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":7}]"#)),
                       "decoder layer 0 (linear): 'weight' is a number, expected a tensor name")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"b"}]"#)),
                       "decoder layer 0 (linear): weight 'b' has shape [3], expected [out,2] for 2 input features")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w","bias":"w"}]"#)),
                       "decoder layer 0 (linear): bias 'w' has shape [3,2], expected [3]")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"reshape","shape":[1,1,3]},{"op":"conv2d","weight":"c","stride":"2"}]"#)),
                       "decoder layer 2 (conv2d): 'stride' must be [h, w] or an integer")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"reshape","shape":[3,1,1]},{"op":"conv2d","weight":"c"}]"#)),
                       "decoder layer 2 (conv2d): weight 'c' has shape [2,1,2,2], expected [out,3,kh,kw] for 3 input channels")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"reshape","shape":[1,1,3]},{"op":"conv2d","weight":"c","padding":9223372036854775807}]"#)),
                       "decoder layer 2 (conv2d): padding [9223372036854775807,9223372036854775807] must be between 0 and 65536")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"reshape","shape":[-1,4611686018427387904,4]}]"#)),
                       "decoder layer 1 (reshape): cannot reshape 3 features to [-1,4611686018427387904,4]")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"reshape","shape":[1,1,3]},{"op":"conv2d","weight":"c"}]"#)),
                       "decoder layer 2 (conv2d): kernel 2x2 is larger than the padded input 1x3")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"reshape","shape":[1,1,3]},{"op":"conv_transpose2d","weight":"c"}]"#)),
                       "decoder layer 2 (conv_transpose2d): weight 'c' has shape [2,1,2,2], expected [1,out,kh,kw] for 1 input channels")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"batchnorm","mean":"b","var":"w"}]"#)),
                       "decoder layer 1 (batchnorm): var 'w' has shape [3,2], expected [3]")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"batchnorm","mean":"b"}]"#)),
                       "decoder layer 1 (batchnorm): missing tensor key 'var'")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"softplus","beta":0}]"#)),
                       "decoder layer 1 (softplus): 'beta' must be positive, got 0.0")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"elu","alpha":"one"}]"#)),
                       "decoder layer 1 (elu): 'alpha' is a string, expected a finite number")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"reshape","shape":[2,2]}]"#)),
                       "decoder layer 1 (reshape): cannot reshape 3 features (shape [3]) to [2,2]")
        XCTAssertEqual(loadError(dec(#"[{"op":"linear","weight":"w"},{"op":"flatten"},{"op":"linear","weight":"w"}]"#)),
                       "decoder layer 2 (linear): weight 'w' has shape [3,2], expected [out,3] for 3 input features")
    }

    func testHugeShapesAreRejectedBeforeAllocating() {
        var rng = SeededRandom(seed: 5)
        XCTAssertEqual(loadError({ $0["georepl.decoder"] = #"[{"op":"linear","weight":"w"},{"op":"reshape","shape":[1,1,3]},{"op":"conv_transpose2d","weight":"t","stride":[1,65536]}]"# },
                                 extra: [("t", randomTensor([1, 512, 2, 2], &rng))]),
                       "decoder layer 2 (conv_transpose2d): output shape [512,2,131074] has more than 67108864 features")
        XCTAssertEqual(loadError({ $0["georepl.decoder"] = #"[{"op":"linear","weight":"w"},{"op":"reshape","shape":[1,1,3]},{"op":"conv2d","weight":"t","padding":[60000,60000]}]"# },
                                 extra: [("t", randomTensor([1, 1, 2, 2], &rng))]),
                       "decoder layer 2 (conv2d): output shape [1,120000,120002] has more than 67108864 features")
        XCTAssertEqual(loadError { $0["georepl.latent_dim"] = "99999999999" },
                       "decoder input shape [99999999999] must be a non-empty list of positive sizes, at most 67108864 features")
    }

    func testConsistencyErrors() {
        XCTAssertEqual(loadError { $0["georepl.data_shape"] = "[1,2,2]" },
                       "decoder output has 3 features (shape [3]), but data_shape [1,2,2] has 4")
        XCTAssertEqual(loadError { $0["georepl.encoder"] = #"[{"op":"linear","weight":"w"}]"# },
                       "encoder layer 0 (linear): weight 'w' has shape [3,2], expected [out,3] for 3 input features")
        var rng = SeededRandom(seed: 2)
        XCTAssertEqual(loadError({ $0["georepl.encoder"] = #"[{"op":"linear","weight":"e"}]"# }, extra: [("e", randomTensor([1, 3], &rng))]),
                       "encoder has 1 outputs, fewer than latent_dim 2")
        XCTAssertEqual(loadError({ $0["georepl.encoder"] = #"[{"op":"linear","weight":"e"}]"# }, extra: [("e", randomTensor([4, 3], &rng))]),
                       "no error")
        XCTAssertEqual(loadError { $0["georepl.encoder"] = "{}" }, "georepl.encoder is an object, expected a JSON array of layers")
    }

    func testWriterRejectsOtherGenerators() throws {
        final class Identity: Generator {
            var latentDim: Int { 2 }
            var dataShape: [Int] { [2] }
            func forward(_ z: Matrix) throws -> Matrix { z }
            func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) { (z, tangents) }
            func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) { (z, cotangents) }
            func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
                SecondOrderResult(value: z, ju: u, jv: v, d2: Matrix(rows: u.rows, cols: 2))
            }
        }
        XCTAssertEqual(errorMessage { try ModelFile.encode(Manifold(name: "id", generator: Identity())) },
                       "manifold 'id' is not a neural network; only NeuralNetwork generators can be written to a model file")
    }

    func testCorruptedFilesNeverCrash() throws {
        let good = try ModelFile.encode(Manifold(name: "dcgan", generator: try smallDCGAN()), dtype: .f32)
        // Every truncation (strided) throws.
        for n in stride(from: 0, to: good.count, by: 7) {
            XCTAssertThrowsError(try ModelFile.load(data: good.prefix(n)), "truncated to \(n) bytes")
        }
        // Random byte changes: every outcome is either a model that loads (and decodes a point
        // to the right shape) or a GeoError with a message; both occur (a change in the tensor
        // bytes only alters weights; one in the header breaks it).
        var rng = SeededRandom(seed: 99)
        var loaded = 0, rejected = 0
        for trial in 0..<300 {
            var bad = good
            for _ in 0..<3 {
                let i = Int(rng.next() % UInt64(good.count))
                bad[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            do {
                let m = try ModelFile.load(data: bad)
                XCTAssertEqual(try m.generator.forward(Matrix(rows: 1, cols: m.latentDim)).cols, m.dataDim, "trial \(trial)")
                loaded += 1
            } catch let e as GeoError {
                XCTAssertFalse(e.description.isEmpty, "trial \(trial): an empty message")
                rejected += 1
            } catch {
                XCTFail("trial \(trial): not a GeoError: \(error)")
            }
        }
        // Achieved: 29 loaded, 271 rejected.
        XCTAssertEqual(loaded + rejected, 300)
        XCTAssertGreaterThan(loaded, 0)
        XCTAssertGreaterThan(rejected, 0)
    }
}
