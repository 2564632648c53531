import Foundation

/// A variational autoencoder (Kingma & Welling 2014) being trained: an encoder q(z | x) =
/// N(mu(x), diag exp(logvar(x))) whose 2 * latent outputs are [mu, logvar], and a decoder whose
/// outputs are logits l(z) with image y = sigmoid(l) in [0, 1].
///
/// The loss of one image x is the negative evidence lower bound, estimated with one sample
/// z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) (the reparameterisation trick):
///
///     -ELBO(x) = -log p(x | z) + KL(N(mu, sigma^2) || N(0, I)),
///     KL = 1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j),
///
/// with -log p(x | z) as `VAEConfig.Likelihood` says (Bernoulli: the binary cross-entropy
/// softplus(l) - x l summed over pixels, from the logits). `evaluate` returns the mean over the
/// batch and its exact gradient with respect to every parameter: reverse mode through the
/// decoder to dL/dz, the chain rule through the reparameterisation
///     dL/dmu = dL/dz + mu,   dL/dlogvar = dL/dz * eps * exp(logvar / 2) / 2 + (exp(logvar) - 1) / 2
/// (the KL terms divided by the batch size like the rest), and reverse mode through the encoder.
public final class VAE {
    /// d.
    public let latentDim: Int
    /// The shape of one data point, e.g. [1, 28, 28].
    public let dataShape: [Int]
    public let likelihood: VAEConfig.Likelihood
    /// Data -> [mu, logvar] (2 * latentDim outputs).
    public let encoder: NeuralNetwork
    /// Latent -> logits (no final sigmoid), output shape `dataShape`.
    public let decoder: NeuralNetwork

    /// Wraps existing networks; throws `GeoError.dimensionMismatch` when they do not fit together.
    public init(encoder: NeuralNetwork, decoder: NeuralNetwork, likelihood: VAEConfig.Likelihood = .bernoulli) throws {
        guard encoder.latentDim == decoder.dataDim else {
            throw GeoError.dimensionMismatch("the encoder takes \(encoder.latentDim) values, the decoder gives \(decoder.dataDim)")
        }
        guard encoder.dataDim == 2 * decoder.latentDim else {
            throw GeoError.dimensionMismatch("the encoder has \(encoder.dataDim) outputs, expected 2 * latent = \(2 * decoder.latentDim) (mean and log-variance)")
        }
        if case .gaussian(let sigma) = likelihood, !(sigma > 0 && sigma.isFinite) {
            throw GeoError.invalidArgument("sigma must be a positive number, got \(formatNumber(sigma))")
        }
        self.encoder = encoder; self.decoder = decoder; self.likelihood = likelihood
        latentDim = decoder.latentDim; dataShape = decoder.dataShape
    }

    /// A freshly initialised VAE of `config`'s architecture for data of `dataShape`, weights
    /// drawn from `config.seed` (PyTorch's default initialisation; see `WeightInit`).
    public convenience init(config: VAEConfig, dataShape: [Int]) throws {
        try config.validate()
        let (enc, dec) = try VAEArchitecture.build(config, dataShape: dataShape, seed: config.seed)
        try self.init(encoder: enc, decoder: dec, likelihood: config.likelihood)
    }

    /// D = product of dataShape.
    public var dataDim: Int { decoder.dataDim }

    /// All trainable parameters: the encoder's, then the decoder's.
    public var parameters: [Tensor] { encoder.parameters + decoder.parameters }
    /// The number of trainable scalars.
    public var parameterCount: Int { encoder.parameterCount + decoder.parameterCount }

    /// Replaces all parameters (order and shapes of `parameters`).
    public func setParameters(_ values: [Tensor]) throws {
        let ne = encoder.parameters.count
        guard values.count == ne + decoder.parameters.count else {
            throw GeoError.dimensionMismatch("the VAE has \(ne + decoder.parameters.count) parameter tensors, got \(values.count)")
        }
        try encoder.setParameters(Array(values[..<ne]))
        try decoder.setParameters(Array(values[ne...]))
    }

    /// The loss of a batch: means over its images.
    public struct Evaluation {
        /// The mean negative ELBO per image, reconstruction + kl.
        public var loss: Double
        /// The mean -log p(x | z).
        public var reconstruction: Double
        /// The mean KL(q(z | x) || N(0, I)).
        public var kl: Double
        /// The objective the gradients are of: `loss`, or with a KL weight or free bits
        /// reconstruction + klWeight * sum_j max(freeBits, mean KL_j).
        public var objective: Double
        /// d objective / d parameter, aligned with `parameters` (empty when not requested).
        public var gradients: [Tensor]
    }

    /// The loss of the images x [n, D] with reparameterisation noise eps [n, d] and, when
    /// `gradients` is set, its exact gradient. Throws `GeoError.dimensionMismatch` for shapes
    /// that do not fit and `GeoError.invalidArgument` for an empty batch.
    ///
    /// `klWeight` (beta times the KL warm-up's ramp) and `freeBits` (nats per dimension, see
    /// `VAEConfig.freeBits`) change the trained objective, (reconstruction + klWeight *
    /// sum_j max(freeBits, mean KL_j)), and so the gradients; the returned loss stays the
    /// negative ELBO.
    public func evaluate(_ x: Matrix, noise eps: Matrix, gradients: Bool = true, klWeight: Double = 1,
                         freeBits: Double = 0) throws -> Evaluation {
        let n = x.rows, d = latentDim, dd = dataDim
        guard n > 0 else { throw GeoError.invalidArgument("the batch is empty") }
        guard x.cols == dd else {
            throw GeoError.dimensionMismatch("data_dim is \(dd), the batch has \(x.cols) values per image")
        }
        guard eps.rows == n, eps.cols == d else {
            throw GeoError.dimensionMismatch("the noise is \(eps.rows)x\(eps.cols), expected \(n)x\(d)")
        }
        let encPass = try encoder.forwardPass(x)
        let h = encPass.output
        // z = mu + sigma eps, sigma = exp(logvar / 2); KL summed over the batch.
        var z = Matrix(rows: n, cols: d)
        var sigma = [Double](repeating: 0, count: n * d)
        var kl = 0.0
        var klPerDimension = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d {
                let mu = h.scalars[i * 2 * d + j], lv = h.scalars[i * 2 * d + d + j]
                let s = Foundation.exp(lv / 2)
                sigma[i * d + j] = s
                z.scalars[i * d + j] = mu + s * eps.scalars[i * d + j]
                let term = 0.5 * (mu * mu + s * s - 1 - lv)
                kl += term
                klPerDimension[j] += term
            }
        }
        // The KL gradient's weight per dimension: 0 below the free bits (max(lambda, KL_j) is
        // flat there), klWeight otherwise.
        let klGradientWeight = klPerDimension.map { $0 / Double(n) < freeBits ? 0 : klWeight }
        let decPass = try decoder.forwardPass(z)
        // Reconstruction term and its cotangent dL/dl (divided by n: the loss is a batch mean).
        let (recon, cot) = VAE.reconstruction(likelihood, logits: decPass.output, data: x, cotangents: gradients)
        let scale = 1 / Double(n)
        let trainedKL = klPerDimension.reduce(0.0) { $0 + max(freeBits, $1 / Double(n)) } * klWeight
        var result = Evaluation(loss: (recon + kl) * scale, reconstruction: recon * scale, kl: kl * scale,
                                objective: recon * scale + trainedKL, gradients: [])
        guard gradients else { return result }

        let decGrads = try VAE.backward(decoder, decPass, cotangents: cot, inputGradient: true)
        let dz = decGrads.input
        var cotEnc = Matrix(rows: n, cols: 2 * d)
        for i in 0..<n {
            for j in 0..<d {
                let mu = h.scalars[i * 2 * d + j], s = sigma[i * d + j], g = dz.scalars[i * d + j]
                let w = klGradientWeight[j]
                cotEnc.scalars[i * 2 * d + j] = g + w * mu * scale
                cotEnc.scalars[i * 2 * d + d + j] = g * eps.scalars[i * d + j] * s / 2 + w * (s * s - 1) / 2 * scale
            }
        }
        let encGrads = try VAE.backward(encoder, encPass, cotangents: cotEnc, inputGradient: false)
        result.gradients = encGrads.parameters + decGrads.parameters
        return result
    }

    /// Sum over the batch of -log p(x | z) under `likelihood` for logits l (the rows of x are
    /// the images) and, when `cotangents` is set, dL/dl / n (the cotangents of the batch mean).
    static func reconstruction(_ likelihood: VAEConfig.Likelihood, logits l: Matrix, data x: Matrix,
                               cotangents: Bool) -> (Double, Matrix) {
        let count = l.scalars.count, scale = 1 / Double(max(1, x.rows))
        var cot = Matrix(rows: cotangents ? l.rows : 0, cols: l.cols)
        var total = 0.0
        l.scalars.withUnsafeBufferPointer { pl in
        x.scalars.withUnsafeBufferPointer { px in
        cot.scalars.withUnsafeMutableBufferPointer { pc in
            switch likelihood {
            case .bernoulli:
                // softplus(l) - x l = max(l, 0) - x l + log1p(exp(-|l|)); d/dl = sigmoid(l) - x.
                for k in 0..<count {
                    let lk = pl[k]
                    total += max(lk, 0) - px[k] * lk + Foundation.log1p(Foundation.exp(-abs(lk)))
                    if cotangents { pc[k] = (logistic(lk) - px[k]) * scale }
                }
            case .gaussian(let sigma):
                // (x - y)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2 per value, y = sigmoid(l);
                // d/dl = (y - x) / sigma^2 * y (1 - y).
                let inv = 1 / (sigma * sigma)
                var squares = 0.0
                for k in 0..<count {
                    let y = logistic(pl[k]), r = y - px[k]
                    squares += r * r
                    if cotangents { pc[k] = r * inv * y * (1 - y) * scale }
                }
                total = squares * inv / 2 + Double(count) * (Foundation.log(sigma) + 0.5 * Foundation.log(2 * Double.pi))
            }
        } } }
        return (total, cot)
    }

    /// Reverse mode through a saved pass: every parameter gradient and, when `inputGradient` is
    /// set, dL/dx (the first layer's input cotangent is skipped otherwise: the encoder's input is
    /// data, which needs no gradient).
    static func backward(_ net: NeuralNetwork, _ pass: NeuralNetwork.ForwardPass, cotangents: Matrix,
                         inputGradient: Bool) throws -> NeuralNetwork.Gradients {
        guard pass.activations.count == net.layers.count + 1, cotangents.rows == pass.output.rows,
              cotangents.cols == net.dataDim else {
            throw GeoError.dimensionMismatch("the cotangents do not fit the forward pass")
        }
        var c = cotangents
        var grads: [[Tensor]] = Array(repeating: [], count: net.layers.count)
        for i in stride(from: net.layers.count - 1, through: 0, by: -1) {
            let layer = net.layers[i], x = pass.activations[i], y = pass.activations[i + 1]
            if !layer.parameterNames.isEmpty {
                grads[i] = try layer.parameterGradients(input: x, output: y, cotangents: c)
            }
            if i > 0 || inputGradient { try layer.backward(input: x, output: y, inPlace: &c) }
        }
        return NeuralNetwork.Gradients(input: inputGradient ? c : Matrix(rows: 0, cols: 0), parameters: grads.flatMap { $0 })
    }

    /// The trained model as a georepl Manifold: the decoder with a final sigmoid (decode gives
    /// images in [0, 1]) and the encoder (its first latent outputs are the mean). The networks
    /// are copies: further training does not change the manifold.
    public func manifold(name: String, description: String = "") throws -> Manifold {
        let enc = try NeuralNetwork(inputShape: encoder.inputShape, layers: encoder.specs)
        return Manifold(name: name, description: description, generator: try VAE.withSigmoid(decoder), encoder: enc)
    }

    /// A copy of a decoder of logits with a final sigmoid: the Bernoulli means, images in [0, 1].
    static func withSigmoid(_ logits: NeuralNetwork) throws -> NeuralNetwork {
        try NeuralNetwork(inputShape: logits.inputShape, layers: logits.specs + [.activation(.sigmoid)],
                          outputShape: logits.dataShape)
    }
}
