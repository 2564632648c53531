import XCTest
import Foundation
@testable import GeoEngine

final class TrainingTests: XCTestCase {
    // MARK: Adam

    func testAdamFirstStepAndConvergenceOnAQuadratic() throws {
        // f(p) = sum_i a_i (p_i - c_i)^2, gradient 2 a (p - c).
        let a = [1.0, 10.0, 0.1, 3.0], c = [1.0, -2.0, 0.5, 4.0]
        func gradient(_ p: Tensor) -> Tensor {
            Tensor(shape: p.shape, unchecked: p.scalars.indices.map { 2 * a[$0] * (p.scalars[$0] - c[$0]) })
        }
        var adam = try Adam(learningRate: 0.05)
        var p = [try Tensor(shape: [2, 2], scalars: [0, 0, 0, 0])]
        // The first bias-corrected step is lr * g / (|g| + eps) per entry.
        let g0 = gradient(p[0])
        try adam.step(&p, gradients: [g0])
        for i in 0..<4 {
            XCTAssertEqual(p[0].scalars[i], -0.05 * g0.scalars[i] / (abs(g0.scalars[i]) + 1e-8), accuracy: 1e-15)
        }
        for _ in 0..<3000 { try adam.step(&p, gradients: [gradient(p[0])]) }
        XCTAssertEqual(adam.steps, 3001)
        XCTAssertLessThan(relativeError(p[0].scalars, c), 1e-3)

        XCTAssertThrowsError(try Adam(learningRate: 0))
        XCTAssertThrowsError(try Adam(beta1: 1))
        XCTAssertThrowsError(try adam.step(&p, gradients: []))
        var q = [try Tensor(shape: [3], scalars: [0, 0, 0])]
        XCTAssertThrowsError(try adam.step(&q, gradients: [try Tensor(shape: [3], scalars: [1, 1, 1])])) { e in
            XCTAssertEqual((e as? GeoError)?.description, "dimension mismatch: Adam: the parameter tensors differ from the earlier steps'")
        }
    }

    // MARK: ELBO gradient

    /// Random images in [0, 1] and fixed noise.
    private func batch(_ n: Int, _ shape: [Int], latent: Int, seed: UInt64) -> (Matrix, Matrix) {
        var rng = SeededRandom(seed: seed)
        let dd = shape.reduce(1, *)
        let x = try! Matrix(rows: n, cols: dd, scalars: (0..<(n * dd)).map { _ in rng.uniform() })
        let eps = try! Matrix(rows: n, cols: latent, scalars: (0..<(n * latent)).map { _ in rng.normal() })
        return (x, eps)
    }

    /// Central differences of the loss with respect to every parameter scalar against `evaluate`'s gradient.
    private func checkGradient(_ config: VAEConfig, dataShape: [Int], klWeight: Double = 1, freeBits: Double = 0,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let vae = try VAE(config: config, dataShape: dataShape)
        let (x, eps) = batch(3, dataShape, latent: config.latent, seed: 7)
        let exact = try vae.evaluate(x, noise: eps, klWeight: klWeight, freeBits: freeBits)
        XCTAssertEqual(exact.loss, exact.reconstruction + exact.kl, accuracy: 1e-12 * abs(exact.loss), file: file, line: line)
        let params = vae.parameters
        XCTAssertEqual(exact.gradients.map(\.shape), params.map(\.shape), file: file, line: line)
        let numeric = try centralDifferences(params, set: vae.setParameters) {
            try vae.evaluate(x, noise: eps, gradients: false, klWeight: klWeight, freeBits: freeBits).objective
        }
        let analytic = exact.gradients.flatMap(\.scalars)
        XCTAssertEqual(numeric.count, vae.parameterCount, file: file, line: line)
        XCTAssertLessThan(relativeError(analytic, numeric), 1e-6, "ELBO gradient vs central differences", file: file, line: line)
    }

    /// KL warm-up and free bits change the trained objective: its gradient, against central
    /// differences of `objective`; with free bits above some dimensions' KL and below others'
    /// (the per-dimension KLs of this batch are about 0.05 to 0.6 nats).
    func testWarmupAndFreeBitsGradientsMatchFiniteDifferences() throws {
        let config = VAEConfig(latent: 3, hidden: [5, 4], seed: 3)
        try checkGradient(config, dataShape: [6], klWeight: 0.3)
        let vae = try VAE(config: config, dataShape: [6])
        let (x, eps) = batch(3, [6], latent: 3, seed: 7)
        let plain = try vae.evaluate(x, noise: eps, gradients: false)
        let free = try vae.evaluate(x, noise: eps, gradients: false, freeBits: 0.3)
        XCTAssertEqual(free.loss, plain.loss, "the reported loss stays the negative ELBO")
        XCTAssertGreaterThan(free.objective, plain.objective, "some dimension is below 0.3 nats")
        try checkGradient(config, dataShape: [6], freeBits: 0.3)
        var bad = config
        bad.freeBits = -1
        XCTAssertThrowsError(try bad.validate())
    }

    func testELBOGradientOfAnMLPMatchesFiniteDifferences() throws {
        try checkGradient(VAEConfig(latent: 2, hidden: [5, 4], seed: 3), dataShape: [6])
        try checkGradient(VAEConfig(latent: 3, hidden: [4], activation: .tanh, seed: 4, likelihood: .gaussian(sigma: 0.3)),
                          dataShape: [1, 2, 3])
    }

    func testELBOGradientOfAConvVAEMatchesFiniteDifferences() throws {
        try checkGradient(VAEConfig(latent: 2, architecture: .conv, hidden: [2, 3], seed: 5), dataShape: [1, 8, 8])
    }

    func testELBOValueByHand() throws {
        // A linear VAE with zero weights: mu = b_mu, logvar = b_lv, logits = b_dec.
        let enc = try NeuralNetwork(latentDim: 2, layers: [
            .linear(weight: Tensor(shape: [2, 2], repeating: 0), bias: try Tensor(shape: [2], scalars: [0.5, -1]))])
        let dec = try NeuralNetwork(latentDim: 1, layers: [
            .linear(weight: Tensor(shape: [2, 1], repeating: 0), bias: try Tensor(shape: [2], scalars: [2, -3]))])
        let vae = try VAE(encoder: enc, decoder: dec)
        let x = try Matrix(rows: 1, cols: 2, scalars: [1, 0.25])
        let e = try vae.evaluate(x, noise: try Matrix(rows: 1, cols: 1, scalars: [0.7]))
        func softplus(_ l: Double) -> Double { log1p(exp(l)) }
        let recon = (softplus(2) - 1 * 2) + (softplus(-3) - 0.25 * -3)
        let kl = 0.5 * (0.25 + exp(-1) - 1 + 1)
        XCTAssertEqual(e.reconstruction, recon, accuracy: 1e-14)
        XCTAssertEqual(e.kl, kl, accuracy: 1e-14)
        XCTAssertThrowsError(try vae.evaluate(Matrix(rows: 0, cols: 2), noise: Matrix(rows: 0, cols: 1)))
        XCTAssertThrowsError(try vae.evaluate(x, noise: Matrix(rows: 1, cols: 2)))
        XCTAssertThrowsError(try VAE(encoder: enc, decoder: enc))
    }

    // MARK: Training

    /// On a synthetic IDX data set (no real data needed: bands of ten classes on 12x12 images).
    func testShortSeededRunLearnsAndRepeatsBitForBit() throws {
        let data = try FashionMNIST(split: .test, directory: writeSyntheticFashionMNIST(self, n: 600))
        let config = VAEConfig(latent: 4, hidden: [64], epochs: 4, batchSize: 64, learningRate: 1e-2, seed: 11, subset: 512)
        var reports: [ProgressReport] = [], epochs: [VAEEpochReport] = []
        let a = try VAETrainer.train(config, on: data, progress: { reports.append($0) }, onEpoch: { epochs.append($0) })
        XCTAssertEqual(a.history.count, 4)
        XCTAssertEqual(epochs, a.history)
        XCTAssertEqual(reports.count, 4 * 8)
        XCTAssertEqual(reports.last?.completed, 32); XCTAssertEqual(reports.last?.total, 32)
        XCTAssertTrue(reports.last?.detail.hasPrefix("epoch 4/4  loss ") ?? false)
        XCTAssertEqual(a.images, 512)
        let losses = a.history.map(\.loss)
        // Learning, against a bound that needs no model: predicting every pixel by its mean over
        // the 512 images (what a VAE that ignores its latent code converges to, with KL 0)
        // costs the per-pixel entropy, summed.
        let x = try data.batch(0..<512)
        var baseline = 0.0
        for j in 0..<x.cols {
            let column = (0..<512).map { x.scalars[$0 * x.cols + j] }
            let mean = column.reduce(0, +) / 512
            baseline -= column.reduce(0) { $0 + $1 * log(mean) + (1 - $1) * log(1 - mean) } / 512
        }
        // Achieved: losses 87.3, 72.7, 61.7, 54.5 against the bound 74.1.
        XCTAssertLessThan(losses[3], baseline, "loss \(losses)")
        XCTAssertEqual(losses, losses.sorted(by: >), "the loss falls every epoch")
        XCTAssertTrue(a.history.allSatisfy { $0.imagesPerSecond > 0 && abs($0.loss - $0.reconstruction - $0.kl) < 1e-9 * $0.loss })

        let b = try VAETrainer.train(config, on: data)
        XCTAssertEqual(b.history.map(\.loss), losses)
        XCTAssertEqual(b.vae.parameters, a.vae.parameters)

        var other = config; other.seed = 12
        let c = try VAETrainer.train(other, on: data)
        XCTAssertNotEqual(c.vae.parameters, a.vae.parameters)
    }

    func testWrittenModelLoadsAndDecodesToTheUnitInterval() throws {
        var rng = SeededRandom(seed: 2)
        let points = try Matrix(rows: 40, cols: 64, scalars: (0..<(40 * 64)).map { _ in rng.uniform() })
        let data = try MatrixTrainingSet(points: points, dataShape: [1, 8, 8], description: "noise")
        let config = VAEConfig(latent: 3, architecture: .conv, hidden: [2, 4], epochs: 2, batchSize: 16, seed: 1)
        let result = try VAETrainer.train(config, on: data)
        let dir = try makeDataTestDirectory(self)
        let path = dir.appendingPathComponent("vae.safetensors").path
        try result.write(to: path, name: "tiny-vae")
        let m = try ModelFile.load(path: path)
        XCTAssertEqual(m.name, "tiny-vae")
        XCTAssertEqual(m.latentDim, 3)
        XCTAssertEqual(m.dataShape, [1, 8, 8])
        XCTAssertTrue(m.description.contains("conv channels [2,4]"), m.description)
        XCTAssertTrue(m.description.contains("latent 3"), m.description)
        XCTAssertTrue(m.description.contains("trained on noise (40 images) for 2 epochs"), m.description)
        XCTAssertEqual((m.generator as? NeuralNetwork)?.layers.last?.op, "sigmoid")
        let z = Vector([3, -2, 0.5])
        let y = try m.generator.decode(z)
        XCTAssertTrue(y.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        // The file holds F32 copies of the trained networks.
        let logits = try result.vae.decoder.forward(Matrix(row: z)).scalars
        XCTAssertLessThan(relativeError(y.scalars, logits.map { 1 / (1 + exp(-$0)) }), 1e-5)
        let x = points.row(0)
        let mean = try m.encode(x)
        let h = try result.vae.encoder.forward(Matrix(row: x)).scalars
        XCTAssertLessThan(relativeError(mean.scalars, Array(h[0..<3])), 1e-5)
        let fileSize = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        XCTAssertLessThan(fileSize, 4 * result.vae.parameterCount + 20_000)
    }

    func testBadConfigurationsAndInterruption() throws {
        let data = try MatrixTrainingSet(points: Matrix(rows: 10, cols: 6))
        func message(_ config: VAEConfig) -> String? {
            do { _ = try VAETrainer.train(config, on: data); return nil } catch { return "\(error)" }
        }
        XCTAssertEqual(message(VAEConfig(latent: 0)), "latent must be an integer from 1 to 4096, got 0")
        XCTAssertEqual(message(VAEConfig(architecture: .conv)),
                       "the conv architecture needs images of shape [C,H,W] with H and W divisible by 4, got data shape [6]")
        XCTAssertEqual(message(VAEConfig(architecture: .conv, hidden: [1, 2, 3])),
                       "hidden must be two channel counts {c1, c2} for arch \"conv\", got 3 entries")
        XCTAssertEqual(message(VAEConfig(hidden: [4, 0])), "hidden must be a list of integers from 1 to 65536 (entry 2), got 0")
        XCTAssertEqual(message(VAEConfig(hidden: [65536, 65536])),
                       "the VAE would have 8594128934 parameters, more than the limit of 50000000; use smaller hidden sizes")
        XCTAssertEqual(message(VAEConfig(epochs: 0)), "epochs must be an integer from 1 to 1000000, got 0")
        XCTAssertEqual(message(VAEConfig(batchSize: 0)), "batch must be an integer from 1 to 65536, got 0")
        XCTAssertEqual(message(VAEConfig(learningRate: .nan)), "lr must be a positive number, got nan")
        XCTAssertEqual(message(VAEConfig(likelihood: .gaussian(sigma: 0))), "sigma must be a positive number, got 0")
        XCTAssertEqual(message(VAEConfig(subset: 11)), "subset must be an integer from 1 to 10, got 11")
        XCTAssertEqual(message(VAEConfig(batchSize: 2, learningRate: 1e300)).map { $0.hasPrefix("VAE training diverged in epoch 1") }, true)
        let empty = try MatrixTrainingSet(points: Matrix(rows: 0, cols: 6))
        XCTAssertThrowsError(try VAETrainer.train(VAEConfig(), on: empty))

        assertInterruptible { progress in
            _ = try VAETrainer.train(VAEConfig(latent: 2, hidden: [3], epochs: 1000, batchSize: 2), on: data, progress: progress)
        }
    }
}
