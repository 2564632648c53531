import XCTest
import Foundation
@testable import Bindings
import GeoEngine

final class TrainTests: LuaTestCase {
    func testTinyTrainingRunWritesAModel() throws {
        try requireFashionMNIST()
        let path = NSTemporaryDirectory() + "/georepl-train-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertNil(lua.run("""
            m, info = geo.train_vae{data = ds, latent = 2, hidden = {16}, epochs = 2, batch = 32, subset = 64,
                                    lr = 2e-3, seed = 3, out = '\(path)', progress = false}
            """))
        XCTAssertEqual(eval("m.name, m.latent_dim, m.data_dim, m.has_encoder, #info.losses, info.images"),
                       ["georepl-train-\(getpid())", "2", "784", "true", "2", "64"])
        let encoderParameters = 784 * 16 + 16 + 16 * 4 + 4, decoderParameters = 2 * 16 + 16 + 16 * 784 + 784
        XCTAssertEqual(value("info.parameters"), String(encoderParameters + decoderParameters))
        XCTAssertEqual(value("info.loss == info.losses[2] and info.seconds > 0 and info.rate > 0"), "true")
        XCTAssertEqual(value("(function() local y = m:decode(geo.vec{1, -1}) for i = 1, #y do if y[i] < 0 or y[i] > 1 then return false end end return true end)()"), "true")
        XCTAssertEqual(value("#m:encode(ds[1])"), "2")
        XCTAssertTrue(value("info.description").contains("trained on fashion-mnist test (64 images) for 2 epochs"))
        // The file holds the same model (F32).
        let loaded = try ModelFile.load(path: path)
        XCTAssertEqual(loaded.latentDim, 2)
        XCTAssertEqual(loaded.description, value("info.description"))
        let z = Vector([0.3, -0.2])
        let fromLua = eval("(function() local y = m:decode(geo.vec{0.3, -0.2}) return y[1], y[400] end)()").compactMap(Double.init)
        let fromFile = try loaded.generator.decode(z)
        XCTAssertEqual(fromLua[0], fromFile[0], accuracy: 1e-5)
        XCTAssertEqual(fromLua[1], fromFile[399], accuracy: 1e-5)

        // The same seed gives the same losses; a name option names the model.
        XCTAssertNil(lua.run("m2, info2 = geo.train_vae{data = ds, latent = 2, hidden = {16}, epochs = 2, batch = 32, subset = 64, lr = 2e-3, seed = 3, name = 'tiny'}"))
        XCTAssertEqual(eval("m2.name, info2.losses[1] == info.losses[1], info2.losses[2] == info.losses[2]"), ["tiny", "true", "true"])
    }

    func testConvAndGaussianOptions() throws {
        try requireFashionMNIST()
        XCTAssertNil(lua.run("m, info = geo.train_vae{data = ds, arch = 'conv', hidden = {2, 4}, latent = 3, epochs = 1, subset = 16, likelihood = 'gaussian', sigma = 0.2, activation = 'elu'}"))
        XCTAssertEqual(eval("m.latent_dim, #m.data_shape, info.images"), ["3", "3", "16"])
        let d = value("info.description")
        XCTAssertTrue(d.contains("conv channels [2,4]") && d.contains("Gaussian likelihood (sigma 0.2)") && d.contains("elu activations"), d)
        XCTAssertNil(lua.run("m, info = geo.train_vae{data = ds, latent = 3, hidden = {8}, epochs = 2, subset = 64, free_bits = 0.5, kl_warmup = 1, beta = 0.1}"))
        let fb = value("info.description")
        XCTAssertTrue(fb.contains("free bits 0.5 nats per dimension, KL warm-up over 1 epoch, KL weight beta 0.1;"), fb)
    }

    func testOptionErrors() throws {
        try requireFashionMNIST()
        let f = "bad argument #1 to 'train_vae'"
        assertError("geo.train_vae()", "\(f) (table expected, got no value)")
        assertError("geo.train_vae{}", "\(f) (option 'data' is required (a geo.Dataset))")
        assertError("geo.train_vae{data = 3}", "\(f) (option 'data' must be a geo.Dataset, got number)")
        assertError("geo.train_vae{data = ds, latnet = 2}",
                    "\(f) (unknown option 'latnet' (expected one of: data, latent, arch, hidden, activation, epochs, batch, lr, seed, likelihood, sigma, subset, free_bits, kl_warmup, beta, out, name, progress, verbose))")
        assertError("geo.train_vae{data = ds, latent = 0}", "\(f) (option 'latent' must be an integer from 1 to 4096, got 0)")
        assertError("geo.train_vae{data = ds, arch = 'rnn'}", "\(f) (option 'arch' must be one of \"mlp\", \"conv\", got \"rnn\")")
        assertError("geo.train_vae{data = ds, hidden = 5}", "\(f) (option 'hidden' must be a table of integers, got number)")
        assertError("geo.train_vae{data = ds, hidden = {64, 'x'}}",
                    "\(f) (option 'hidden' must be a table of integers (entry 2), got a string)")
        assertError("geo.train_vae{data = ds, hidden = {64, 0.5}}",
                    "\(f) (option 'hidden' must be a table of integers (entry 2), got 0.5)")
        assertError("geo.train_vae{data = ds, arch = 'conv', hidden = {8, 16, 32}}",
                    "\(f) (option 'hidden' must be two channel counts {c1, c2} for arch \"conv\", got 3 entries)")
        assertError("geo.train_vae{data = ds, epochs = 0}", "\(f) (option 'epochs' must be an integer from 1 to 1000000, got 0)")
        assertError("geo.train_vae{data = ds, batch = 1.5}", "\(f) (option 'batch' must be an integer, got 1.5)")
        assertError("geo.train_vae{data = ds, lr = -1}", "\(f) (option 'lr' must be a positive number, got -1)")
        assertError("geo.train_vae{data = ds, likelihood = 'poisson'}",
                    "\(f) (option 'likelihood' must be one of \"bernoulli\", \"gaussian\", got \"poisson\")")
        assertError("geo.train_vae{data = ds, sigma = 0.1}", "\(f) (option 'sigma' needs likelihood = \"gaussian\")")
        assertError("geo.train_vae{data = ds, free_bits = -0.5}", "\(f) (option 'free_bits' must be a number from 0 to 100, got -0.5)")
        assertError("geo.train_vae{data = ds, beta = 0}", "\(f) (option 'beta' must be a number in (0, 100], got 0)")
        assertError("geo.train_vae{data = ds, kl_warmup = -1}", "\(f) (option 'kl_warmup' must be an integer from 0 to 1000000, got -1)")
        assertError("geo.train_vae{data = ds, subset = 10001}", "\(f) (option 'subset' must be an integer from 1 to 10000, got 10001)")
        assertError("geo.train_vae{data = ds, activation = 'swish'}",
                    "\(f) (option 'activation' must be one of \"silu\", \"elu\", \"gelu\", \"tanh\", \"softplus\", \"relu\", \"leaky_relu\", got \"swish\")")
        assertError("geo.train_vae{data = ds, progress = 1}", "\(f) (option 'progress' must be a boolean, got number)")
        assertError("geo.train_vae{data = ds, hidden = {70000, 70000}}",
                    "\(f) (option 'hidden' must be a list of integers from 1 to 65536 (entry 1), got 70000)")
        assertError("geo.train_vae{data = ds, hidden = {65536, 65536}, subset = 8}",
                    "the VAE would have 8696103728 parameters, more than the limit of 50000000; use smaller hidden sizes")
        assertError("geo.train_vae{data = ds, hidden = {4}, latent = 2, subset = 8, epochs = 1, out = '/nonexistent/dir/m.safetensors'}",
                    "\(f) (option 'out': cannot write '/nonexistent/dir/m.safetensors': No such file or directory)")
    }

    /// Ctrl-C while training runs: the interrupt (what the REPL's SIGINT handler calls) is sent
    /// when the progress bar, which training draws from inside its loop, appears on stderr, so
    /// it cannot arrive before training starts; a million epochs could not end first.
    func testInterruptStopsTraining() throws {
        try requireFashionMNIST()
        let (e, bar) = observingStandardError(onFirstOutput: { LuaSession.interrupt() }) {
            lua.run("geo.train_vae{data = ds, hidden = {4}, latent = 2, subset = 8, epochs = 1000000, progress = true}", chunkName: "=test")
        }
        XCTAssertEqual(e?.description.components(separatedBy: "\n")[0], "interrupted")
        XCTAssertTrue(bar.hasPrefix("\r\u{1B}[Ktrain_vae ["), bar)
        XCTAssertTrue(bar.hasSuffix("\r\u{1B}[K"), "the bar is erased: \(bar)")
        XCTAssertEqual(value("1 + 1"), "2")
    }

    // MARK: train_decoder

    /// A new decoder for the 2-d model's encoder on 64 test images: the encoder is the model's,
    /// the file holds the new model, a seed repeats, and the ensemble of the two has one latent space.
    func testTinyDecoderRunWritesAMemberOfOneLatentSpace() throws {
        try requireFashionMNIST()
        let path = NSTemporaryDirectory() + "/georepl-member-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertNil(lua.run("""
            base = geo.model('fashion-vae-2d')
            m, info = geo.train_decoder{model = base, data = ds, epochs = 2, batch = 32, subset = 64, lr = 2e-3,
                                        seed = 3, out = '\(path)', progress = false}
            """))
        XCTAssertEqual(eval("m.name, m.latent_dim, m.data_dim, m.has_encoder, #info.losses, info.images, info.saved"),
                       ["georepl-member-\(getpid())", "2", "784", "true", "2", "64", "true"])
        let decoderParameters: Int = 2 * 256 + 256 + 256 * 512 + 512 + 512 * 784 + 784
        XCTAssertEqual(value("info.parameters"), String(decoderParameters))
        XCTAssertEqual(value("info.loss == info.losses[2] and info.seconds > 0 and info.rate > 0"), "true")
        XCTAssertEqual(value("m:encode(ds[1]) == base:encode(ds[1]) and m:encode(ds[5]) == base:encode(ds[5])"), "true")
        XCTAssertEqual(value("m:decode(geo.vec{0.5, -0.5}) == base:decode(geo.vec{0.5, -0.5})"), "false")
        let d = value("info.description")
        XCTAssertTrue(d.contains("trained on the latent codes of the encoder of 'fashion-vae-2d' (posterior samples)"), d)
        XCTAssertTrue(d.contains("fashion-mnist test (64 images), 2 epochs, batch 32, Adam lr 0.002, seed 3"), d)
        // The file holds the same model (F32), with the encoder.
        let loaded = try ModelFile.load(path: path)
        XCTAssertEqual(loaded.description, d)
        XCTAssertNotNil(loaded.encoder)
        let fromLua = eval("(function() local y = m:decode(geo.vec{0.3, -0.2}) return y[1], y[400] end)()").compactMap(Double.init)
        let fromFile = try loaded.generator.decode(Vector([0.3, -0.2]))
        XCTAssertEqual(fromLua[0], fromFile[0], accuracy: 1e-5)
        XCTAssertEqual(fromLua[1], fromFile[399], accuracy: 1e-5)

        // geo.save with encoder = false writes the decoder alone (as the shipped members are).
        let bare = NSTemporaryDirectory() + "/georepl-member-bare-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: bare) }
        XCTAssertNil(lua.run("geo.save(m, '\(bare)', {encoder = false})"))
        XCTAssertEqual(eval("geo.load('\(bare)').has_encoder, geo.load('\(path)').has_encoder, geo.load('\(bare)'):decode(geo.vec{1, 2}) == geo.load('\(path)'):decode(geo.vec{1, 2})"),
                       ["false", "true", "true"])
        assertError("geo.save(m, '\(bare)', {encoder = 1})", "bad argument #3 to 'save' (option 'encoder' must be a boolean, got number)")

        // The same seed gives the same losses; codes = "mean" trains on the means.
        XCTAssertNil(lua.run("m2, info2 = geo.train_decoder{model = base, data = ds, epochs = 2, batch = 32, subset = 64, lr = 2e-3, seed = 3, name = 'tiny'}"))
        XCTAssertEqual(eval("m2.name, info2.losses[1] == info.losses[1], info2.losses[2] == info.losses[2]"), ["tiny", "true", "true"])
        XCTAssertNil(lua.run("m3, info3 = geo.train_decoder{model = base, data = ds, epochs = 1, subset = 16, codes = 'mean'}"))
        XCTAssertEqual(value("m3.name"), "decoder")
        XCTAssertTrue(value("info3.description").contains("(posterior means)"))
        // The ensemble's metric is the mean of the members'.
        XCTAssertEqual(value("""
            (function()
              local e, z = geo.ensemble{base, m}, geo.vec{0.2, -0.4}
              local a, b, c = e:metric(z), base:metric(z), m:metric(z)
              local worst = 0
              for i = 1, 2 do for j = 1, 2 do
                worst = math.max(worst, math.abs(a:get(i, j) - (b:get(i, j) + c:get(i, j)) / 2) / math.abs(a:get(1, 1)))
              end end
              return worst < 1e-12
            end)()
            """), "true")
    }

    func testDecoderOptionErrors() throws {
        try requireFashionMNIST()
        lua.run("base = geo.model('fashion-vae-2d')")
        let f = "bad argument #1 to 'train_decoder'"
        assertError("geo.train_decoder()", "\(f) (table expected, got no value)")
        assertError("geo.train_decoder{}", "\(f) (option 'model' is required (a geo.Manifold))")
        assertError("geo.train_decoder{model = 3, data = ds}", "\(f) (option 'model' must be a geo.Manifold, got number)")
        assertError("geo.train_decoder{model = base}", "\(f) (option 'data' is required (a geo.Dataset))")
        assertError("geo.train_decoder{model = base, data = base}", "\(f) (option 'data' must be a geo.Dataset, got geo.Manifold)")
        assertError("geo.train_decoder{model = base, data = ds, latent = 2}",
                    "\(f) (unknown option 'latent' (expected one of: model, data, epochs, batch, lr, seed, subset, codes, out, name, progress, verbose))")
        assertError("geo.train_decoder{model = base, data = ds, epochs = 0}",
                    "\(f) (option 'epochs' must be an integer from 1 to 1000000, got 0)")
        assertError("geo.train_decoder{model = base, data = ds, batch = 1.5}", "\(f) (option 'batch' must be an integer, got 1.5)")
        assertError("geo.train_decoder{model = base, data = ds, lr = -1}", "\(f) (option 'lr' must be a positive number, got -1)")
        assertError("geo.train_decoder{model = base, data = ds, subset = 10001}",
                    "\(f) (option 'subset' must be an integer from 1 to 10000, got 10001)")
        assertError("geo.train_decoder{model = base, data = ds, codes = 'median'}",
                    "\(f) (option 'codes' must be one of \"sample\", \"mean\", got \"median\")")
        assertError("geo.train_decoder{model = base, data = ds, verbose = 'yes'}",
                    "\(f) (option 'verbose' must be a boolean, got string)")
        assertError("geo.train_decoder{model = geo.sphere{}, data = ds}",
                    "\(f) (option 'model': model 'sphere' has no encoder: a decoder is trained on its encoder's latent codes)")
        assertError("geo.train_decoder{model = geo.ensemble{base, base}, data = ds}",
                    "\(f) (option 'model': the decoder of 'ensemble(fashion-vae-2d,fashion-vae-2d)' is not a neural network of georepl's layers: a new decoder copies its architecture)")
        assertError("geo.train_decoder{model = base, data = ds, subset = 8, epochs = 1, out = '/nonexistent/dir/m.safetensors'}",
                    "\(f) (option 'out': cannot write '/nonexistent/dir/m.safetensors': No such file or directory)")
    }

    /// Ctrl-C while a decoder trains (sent when its progress bar appears, as for train_vae).
    func testInterruptStopsDecoderTraining() throws {
        try requireFashionMNIST()
        let (e, bar) = observingStandardError(onFirstOutput: { LuaSession.interrupt() }) {
            lua.run("geo.train_decoder{model = geo.model('fashion-vae-2d'), data = ds, subset = 8, epochs = 1000000, progress = true}",
                    chunkName: "=test")
        }
        XCTAssertEqual(e?.description.components(separatedBy: "\n")[0], "interrupted")
        XCTAssertTrue(bar.hasPrefix("\r\u{1B}[Ktrain_decoder ["), bar)
        XCTAssertEqual(value("1 + 1"), "2")
    }
}
