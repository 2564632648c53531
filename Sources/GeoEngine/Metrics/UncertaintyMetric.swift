import Foundation

/// The expected pull-back metric of a decoder with uncertainty (Arvanitidis, Hansen & Hauberg,
/// "Latent Space Oddity", ICLR 2018, Theorem 1): for x = mu(z) + sigma(z) * eps,
///
///     M(z) = E[J_x^T J_x] = J_mu(z)^T J_mu(z) + J_sigma(z)^T J_sigma(z),
///
/// realised as the immersion z -> (mu(z), sigma(z)) (`StackedImmersion`), so that every algorithm
/// is exact on it. sigma is an `RBFPrecisionNetwork`, large away from the data: the metric grows
/// where the decoder becomes uncertain and geodesics keep to the data.
///
/// `fit` builds sigma as the paper does, from training data X (N x D) and its latent codes Z
/// (the encoder's means):
///  1. centres c_k: `KMeans` of Z (k = `centers`, `seed`);
///  2. bandwidths: s_k = `bandwidth` * the spread of cluster k (the root mean square distance of
///     its points to c_k; a cluster of one point, or of identical points, takes the median
///     spread of the others), lambda_k = 0.5 / s_k^2 (the authors' code);
///  3. W >= 0 (D x K) by maximum likelihood of the reconstruction residuals r = x - mu(z) under
///     N(0, 1 / beta(z)) per output, mu fixed (the decoders here are Bernoulli: they have no
///     variance head to start from): minimise sum_ij (beta_ij r_ij^2 - log beta_ij) / 2 with
///     beta = V W^T + zeta, a convex problem, by the multiplicative update
///         W_jk <- W_jk (sum_i V_ik / beta_ij) / (sum_i V_ik (r_ij^2 + eps)),  eps = 1e-8,
///     (the ratio of the negative and positive parts of the gradient; it keeps W >= 0 and its
///     fixed points are the stationary points), from W_jk = 1 / (mean_i (r_ij^2 + eps) mean_i
///     sum_k V_ik), until the objective changes by less than 1e-9 relative or after
///     `iterations`;
///  4. zeta = `floor`, so that sigma <= zeta^(-1/2) far from the data.
/// At most `samples` training points are used (a seeded subset).
///
/// A background layer (`backgroundCenters` > 0) makes sigma both local and far-reaching. A local
/// network (many centres, a small bandwidth) lets sigma rise in every gap between the codes, but
/// its kernels die out within a few spreads of the data, so far away sigma sits at the floor and
/// the metric is only J_mu^T J_mu; a wide network reaches far but smooths over the gaps. With a
/// background, steps 1-3 run a second time with `backgroundCenters` centres and
/// `backgroundBandwidth`, and that fit W_b is added scaled by `backgroundWeight` = w:
///
///     beta(z) = W v(z) + w W_b v_b(z) + zeta,
///
/// so that on the data beta is the local fit's (times at most 1 + w), in a gap between codes sigma
/// climbs to about w^(-1/2) times its value on the data, and far from all data, where v_b dies
/// out too, on to zeta^(-1/2). The result is one RBF network (the centres of both layers), saved
/// and differentiated like any other.
public enum UncertaintyMetric {
    public struct Options {
        /// K, the number of RBF centres (default 64).
        public var centers = 64
        /// Seed of the k-means start and of the subset (default 1).
        public var seed: UInt64 = 1
        /// The factor a in s_k = a * spread_k (default 1).
        public var bandwidth = 1.0
        /// zeta, the precision floor (default 1e-3: sigma reaches at most ~31.6 far away).
        public var floor = 1e-3
        /// The most training points used (default 10 000).
        public var samples = 10_000
        /// The most multiplicative updates of W (default 500).
        public var iterations = 500
        /// Centres of the wide background layer (default 0: none).
        public var backgroundCenters = 0
        /// The background layer's bandwidth factor a_b (default 4).
        public var backgroundBandwidth = 4.0
        /// w, the background fit's scale (default 0.01: sigma in a gap rises to ~10x its value on
        /// the data). In (0, 1].
        public var backgroundWeight = 0.01
        public init() {}
    }

    /// Allowed ranges of the options.
    public static let centerRange = 1...4096
    public static let sampleRange = 1...1_000_000
    public static let iterationRange = 1...100_000

    /// The RBF precision network fitted to data `x` (N x D) with latent codes `z` (N x d) and
    /// decoder `mu` (see the type's documentation). Errors: mismatched sizes, fewer points than
    /// centres, non-finite values, options out of range (`GeoError`).
    public static func fit(mean mu: Generator, latents z: Matrix, data x: Matrix, options: Options = Options(),
                           progress: ProgressHandler? = nil) throws -> RBFPrecisionNetwork {
        try Setting.integer("centers", options.centers, in: centerRange)
        try Setting.integer("samples", options.samples, in: sampleRange)
        try Setting.integer("iterations", options.iterations, in: iterationRange)
        try Setting.positive("bandwidth", options.bandwidth)
        try Setting.positive("floor", options.floor)
        try Setting.integer("background_centers", options.backgroundCenters, in: 0...centerRange.upperBound)
        try Setting.positive("background_bandwidth", options.backgroundBandwidth)
        try Setting.require("background_weight", options.backgroundWeight > 0 && options.backgroundWeight <= 1,
                            "a number in (0, 1]", got: formatNumber(options.backgroundWeight))
        let d = mu.latentDim, dd = mu.dataDim
        guard z.cols == d else { throw GeoError.dimensionMismatch("latent_dim is \(d), latent codes have \(z.cols)") }
        guard x.cols == dd else { throw GeoError.dimensionMismatch("data_dim is \(dd), data vectors have \(x.cols)") }
        guard x.rows == z.rows else { throw GeoError.dimensionMismatch("\(x.rows) data vectors but \(z.rows) latent codes") }
        guard z.isFinite, x.isFinite else { throw GeoError.invalidArgument("the data or its latent codes have a NaN or infinite entry") }
        let k = max(options.centers, options.backgroundCenters)
        guard z.rows >= k else { throw GeoError.invalidArgument("\(k) centres need at least \(k) data points, got \(z.rows)") }

        let chosen = sampleIndices(count: z.rows, options: options)
        let n = chosen.count
        guard n >= k else { throw GeoError.invalidArgument("\(k) centres need at least \(k) samples, got \(n)") }
        try MemoryBudget.doubles(4, n, dd, for: "fitting the uncertainty of \(n) samples of \(dd) outputs")
        var zs = Matrix(rows: n, cols: d), xs = Matrix(rows: n, cols: dd)
        for (r, i) in chosen.enumerated() {
            for a in 0..<d { zs.scalars[r * d + a] = z.scalars[i * d + a] }
            for j in 0..<dd { xs.scalars[r * dd + j] = x.scalars[i * dd + j] }
        }

        // The residuals r^2 + eps of the decoder's means on the codes, shared by both layers.
        let residual = try mu.forward(zs)
        guard residual.rows == n, residual.cols == dd, residual.isFinite else {
            throw GeoError.numerical("the decoder returned NaN, infinity or the wrong shape on the latent codes")
        }
        var r2 = Matrix(rows: n, cols: dd)
        for q in r2.scalars.indices { let t = xs.scalars[q] - residual.scalars[q]; r2.scalars[q] = t * t + 1e-8 }
        let local = try layer(codes: zs, residuals: r2, centers: options.centers, bandwidth: options.bandwidth,
                              options: options, dataShape: mu.dataShape, progress: progress)
        guard options.backgroundCenters > 0 else { return local }
        let wide = try layer(codes: zs, residuals: r2, centers: options.backgroundCenters,
                             bandwidth: options.backgroundBandwidth, options: options, dataShape: mu.dataShape,
                             progress: progress)
        // One network: [c; c_b], [lambda; lambda_b], [W, w W_b].
        let k1 = local.count, k2 = wide.count, kk = k1 + k2
        var centers = Matrix(rows: kk, cols: d), w = Matrix(rows: dd, cols: kk)
        centers.scalars = local.centers.scalars + wide.centers.scalars
        for j in 0..<dd {
            for c in 0..<k1 { w.scalars[j * kk + c] = local.weights.scalars[j * k1 + c] }
            for c in 0..<k2 { w.scalars[j * kk + k1 + c] = options.backgroundWeight * wide.weights.scalars[j * k2 + c] }
        }
        return try RBFPrecisionNetwork(centers: centers, lambdas: local.lambdas + wide.lambdas, weights: w,
                                       floor: options.floor, dataShape: mu.dataShape)
    }

    /// Steps 1-3 for one layer: k-means centres of the codes, bandwidths `bandwidth` times each
    /// cluster's spread, W by maximum likelihood of the residuals `r2` (r^2 + eps, n x D).
    private static func layer(codes zs: Matrix, residuals r2: Matrix, centers k: Int, bandwidth: Double,
                              options: Options, dataShape: [Int], progress: ProgressHandler?) throws -> RBFPrecisionNetwork {
        let n = zs.rows, d = zs.cols, dd = r2.cols
        // 1-2. Centres and bandwidths.
        let clusters = try KMeans(zs, k: k, seed: options.seed)
        var spreads = [Double](repeating: 0, count: k), counts = [Int](repeating: 0, count: k)
        for i in 0..<n {
            let c = clusters.assignment[i]
            counts[c] += 1
            for a in 0..<d { let t = zs.scalars[i * d + a] - clusters.centers.scalars[c * d + a]; spreads[c] += t * t }
        }
        for c in 0..<k { spreads[c] = counts[c] > 1 ? (spreads[c] / Double(counts[c])).squareRoot() : 0 }
        let valid = spreads.filter { $0 > 0 }.sorted()
        guard !valid.isEmpty else { throw GeoError.invalidArgument("the latent codes are all identical: no spread to set the RBF bandwidths") }
        let median = valid[valid.count / 2]
        let lambdas = spreads.map { s -> Double in
            let b = bandwidth * (s > 0 ? s : median)
            return 0.5 / (b * b)
        }

        // 3. W by maximum likelihood, mu fixed.
        let placeholder = try RBFPrecisionNetwork(centers: clusters.centers, lambdas: lambdas,
                                                  weights: Matrix(rows: dd, cols: k), floor: options.floor, dataShape: dataShape)
        let v = placeholder.basis(zs)
        let denominator = try Matrix.product(r2, transposeA: true, v)     // D x K
        var w = Matrix(rows: dd, cols: k)
        let meanBasis = v.scalars.reduce(0, +) / Double(n)
        for j in 0..<dd {
            var m = 0.0
            for i in 0..<n { m += r2.scalars[i * dd + j] }
            m /= Double(n)
            for c in 0..<k { w.scalars[j * k + c] = 1 / (m * max(meanBasis, 1e-300)) }
        }
        var previous = Double.infinity
        var beta = Matrix(rows: n, cols: dd)
        for it in 0..<options.iterations {
            try Cancellation.check()
            try Matrix.gemm(v, w, transposeB: true, into: &beta)
            var objective = 0.0
            for q in beta.scalars.indices {
                let b = beta.scalars[q] + options.floor
                objective += 0.5 * (b * r2.scalars[q] - log(b))
                beta.scalars[q] = 1 / b
            }
            let numerator = try Matrix.product(beta, transposeA: true, v)   // D x K
            for q in w.scalars.indices {
                let den = denominator.scalars[q]
                w.scalars[q] = den > 0 ? w.scalars[q] * numerator.scalars[q] / den : 0
            }
            progress?(ProgressReport(completed: it + 1, total: options.iterations,
                                     detail: "fitting sigma, objective \(formatNumber(objective / Double(n * dd)))"))
            if abs(previous - objective) <= 1e-9 * abs(objective) { break }
            previous = objective
        }
        guard w.isFinite else { throw GeoError.numerical("fitting sigma diverged (non-finite weights)") }
        return try RBFPrecisionNetwork(centers: clusters.centers, lambdas: lambdas, weights: w, floor: options.floor,
                                       dataShape: dataShape)
    }

    /// A seeded subset of at most `options.samples` of `count` indices, in increasing order.
    public static func sampleIndices(count: Int, options: Options) -> [Int] {
        var rng = SeededRandom(seed: options.seed &+ 0x9E37_79B9)
        var chosen = Array(0..<max(0, count))
        guard chosen.count > options.samples, options.samples > 0 else { return chosen }
        for i in 0..<options.samples {
            let j = i + Int(rng.uniform() * Double(chosen.count - i))
            chosen.swapAt(i, min(j, chosen.count - 1))
        }
        return Array(chosen[0..<options.samples]).sorted()
    }

    /// `fit` for a model with an encoder and data vectors `x` (N x D): the latent codes are the
    /// encoder's means of a seeded subset of at most `samples` rows (encoded 1000 at a time).
    public static func fit(_ m: Manifold, data x: Matrix, options: Options = Options(),
                           progress: ProgressHandler? = nil) throws -> RBFPrecisionNetwork {
        guard m.encoder != nil else {
            throw GeoError.invalidArgument("model '\(untrusted: m.name)' has no encoder to place the data in its latent space")
        }
        try Setting.integer("samples", options.samples, in: sampleRange)
        guard x.cols == m.dataDim else { throw GeoError.dimensionMismatch("data_dim is \(m.dataDim), data vectors have \(x.cols)") }
        let chosen = sampleIndices(count: x.rows, options: options)
        let n = chosen.count, d = m.latentDim, dd = m.dataDim
        try MemoryBudget.doubles(n, dd + d, for: "the \(n) data vectors and latent codes of an uncertainty fit")
        var xs = Matrix(rows: n, cols: dd)
        for (r, i) in chosen.enumerated() { for j in 0..<dd { xs.scalars[r * dd + j] = x.scalars[i * dd + j] } }
        var zs = Matrix(rows: n, cols: d)
        for (r, z) in try m.encode(rows: xs).enumerated() { for a in 0..<d { zs.scalars[r * d + a] = z[a] } }
        var o = options
        o.samples = max(1, n)
        return try fit(mean: m.decoder, latents: zs, data: xs, options: o, progress: progress)
    }

    /// The immersion z -> (mu(z), sigma(z)).
    public static func immersion(mean mu: Generator, variance sigma: RBFPrecisionNetwork) throws -> StackedImmersion {
        guard sigma.latentDim == mu.latentDim else {
            throw GeoError.dimensionMismatch("the variance network has latent_dim \(sigma.latentDim), the model \(mu.latentDim)")
        }
        return try StackedImmersion([mu, sigma])
    }
}

extension Manifold {
    /// The same model with the expected metric J_mu^T J_mu + J_sigma^T J_sigma
    /// (`UncertaintyMetric`) for the variance network `sigma` (default: the model's own,
    /// `variance`): geometry on (mu, sigma), pictures from mu.
    public func uncertainty(_ sigma: RBFPrecisionNetwork? = nil) throws -> Manifold {
        guard let s = sigma ?? variance else {
            throw GeoError.invalidArgument("model '\(untrusted: name)' carries no fitted variance network: give data to fit one")
        }
        return Manifold(name: "\(name)+uncertainty",
                        description: "\(name) with the expected metric J_mu^T J_mu + J_sigma^T J_sigma (RBF sigma, \(s.count) centres)",
                        generator: try UncertaintyMetric.immersion(mean: generator, variance: s),
                        encoder: encoder, decoder: decoder, variance: s, base: base ?? self)
    }

    /// The Fisher–Rao metric of this model's Bernoulli-mean outputs (`FisherRaoMetric`).
    public func fisherRao() throws -> Manifold {
        Manifold(name: "\(name)+fisher-rao", description: "\(name) with the Fisher–Rao metric of its Bernoulli means",
                 generator: try FisherRaoMetric(generator), encoder: encoder, decoder: decoder, variance: variance,
                 base: base ?? self)
    }

    /// The ensemble metric (1/K) sum_i J_i^T J_i of `members` (the same latent dimension): the
    /// pull-back of (g_1, ..., g_K) / sqrt(K); pictures show the members' mean decoding, the
    /// encoder is the first member's.
    public static func ensemble(_ members: [Manifold]) throws -> Manifold {
        guard let first = members.first else { throw GeoError.invalidArgument("an ensemble needs at least one model") }
        let k = Double(members.count)
        let g = try StackedImmersion(members.map(\.generator), scales: [Double](repeating: 1 / k.squareRoot(), count: members.count))
        let mean = try StackedImmersion(members.map(\.decoder), join: .mean)
        return Manifold(name: "ensemble(\(members.map { $0.name }.joined(separator: ",")))",
                        description: "the mean metric of \(members.count) decoders", generator: g,
                        encoder: first.encoder, decoder: mean)
    }
}
