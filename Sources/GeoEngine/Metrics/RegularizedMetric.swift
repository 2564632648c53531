/// The regularised pull-back metric
///
///     M_lambda(z) = J(z)^T J(z) + lambda I,
///
/// realised as the immersion of the latent space into R^(D+d)
///
///     g_lambda(z) = (g(z), sqrt(lambda) z),   J_lambda = [J; sqrt(lambda) I],
///     D2 g_lambda[u, v] = (D2 g[u, v], 0),
///
/// so that every algorithm (geodesics, exp, log, transport, curvature by the Gauss equation)
/// applies to it unchanged and exactly: it is the pull-back metric of g_lambda. The length of a
/// path is measured in data space plus sqrt(lambda) times latent space,
/// |g_lambda(z_{i+1}) - g_lambda(z_i)|^2 = |g(z_{i+1}) - g(z_i)|^2 + lambda |z_{i+1} - z_i|^2.
///
/// Why: a trained decoder often ignores some latent directions (a VAE's posterior collapse);
/// there J is (nearly) rank-deficient and J^T J nearly singular, moving along those directions
/// costs (almost) nothing, so latent geodesics are not unique: they drift far from the data
/// along the collapsed directions, and the exponential map, which must resolve them, becomes
/// too sensitive for the log map's shooting to invert. lambda I makes every direction cost at
/// least sqrt(lambda) per unit of latent length: the smallest singular value of J_lambda is at
/// least sqrt(lambda), directions the decoder uses (s_i^2 >> lambda) keep their geometry, and
/// geodesics no longer leave the data region. lambda is in squared data units per squared
/// latent unit; a choice of the order of (0.01 to 0.1) times the typical s_1^2 of J removes the
/// degeneracy while changing little where the decoder is active.
///
/// `base` is the decoder g (what a picture should show); the wrapper's outputs are g's followed
/// by the d scaled latent coordinates, `dataShape` = [D + d].
public final class RegularizedMetric: Generator {
    /// The wrapped generator g.
    public let base: Generator
    /// lambda > 0, finite.
    public let lambda: Double
    /// sqrt(lambda), the scale of the appended latent coordinates.
    public let scale: Double

    /// g_lambda for g = `base`. Throws `GeoError.invalidArgument` unless lambda is positive and
    /// finite.
    public init(_ base: Generator, lambda: Double) throws {
        try Setting.positive("lambda", lambda)
        self.base = base
        self.lambda = lambda
        self.scale = lambda.squareRoot()
    }

    public var latentDim: Int { base.latentDim }
    /// [D + d]: g's outputs, then sqrt(lambda) z.
    public var dataShape: [Int] { [base.dataDim + base.latentDim] }

    /// [a | s b]: the columns of a followed by those of b scaled by s (same number of rows).
    private func append(_ a: Matrix, _ b: Matrix, scaledBy s: Double) throws -> Matrix {
        guard a.rows == b.rows else {
            throw GeoError.dimensionMismatch("the generator returned \(a.rows) rows, expected \(b.rows)")
        }
        let ca = a.cols, cb = b.cols, c = ca + cb
        var out = Matrix(rows: a.rows, cols: c)
        out.scalars.withUnsafeMutableBufferPointer { o in
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    for i in 0..<a.rows {
                        for j in 0..<ca { o[i * c + j] = pa[i * ca + j] }
                        for j in 0..<cb { o[i * c + ca + j] = s * pb[i * cb + j] }
                    }
                }
            }
        }
        return out
    }

    public func forward(_ z: Matrix) throws -> Matrix {
        _ = try checkBatch(z)
        return try append(try base.forward(z), z, scaledBy: scale)
    }

    public func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        _ = try checkBatch(z, tangents: tangents)
        let r = try base.jvp(z, tangents: tangents)
        return (try append(r.value, z, scaledBy: scale), try append(r.tangents, tangents, scaledBy: scale))
    }

    /// J_lambda^T (c, e) = J^T c + sqrt(lambda) e for each cotangent row (c, e), |e| = d.
    public func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        let d = latentDim, dd = base.dataDim, c = dd + d
        _ = try checkBatch(z, tangents: cotangents, tangentCols: c)
        var head = Matrix(rows: cotangents.rows, cols: dd)
        for i in 0..<cotangents.rows {
            for j in 0..<dd { head.scalars[i * dd + j] = cotangents.scalars[i * c + j] }
        }
        let r = try base.vjp(z, cotangents: head)
        guard r.cotangents.rows == cotangents.rows, r.cotangents.cols == d else {
            throw GeoError.dimensionMismatch("the generator's vjp returned \(r.cotangents.rows)x\(r.cotangents.cols), expected \(cotangents.rows)x\(d)")
        }
        var out = r.cotangents
        for i in 0..<cotangents.rows {
            for a in 0..<d { out.scalars[i * d + a] += scale * cotangents.scalars[i * c + dd + a] }
        }
        return (try append(r.value, z, scaledBy: scale), out)
    }

    /// For a cotangent (c, e): the gradient J^T c + sqrt(lambda) e, and Hess<(c, e), g_lambda> =
    /// Hess<c, g> (the appended coordinates are linear).
    public func hessianVectorProducts(_ z: Matrix, tangents: Matrix, cotangents: (Matrix, Matrix?) throws -> Matrix) throws
        -> HessianVectorProducts {
        let d = latentDim, dd = base.dataDim, c = dd + d
        _ = try checkBatch(z, tangents: tangents)
        var tail = Matrix(rows: z.rows, cols: d)
        let r = try base.hessianVectorProducts(z, tangents: tangents) { value, jvp in
            let full = try cotangents(try append(value, z, scaledBy: scale),
                                      try jvp.map { try append($0, tangents, scaledBy: scale) })
            guard full.rows == z.rows, full.cols == c else {
                throw GeoError.dimensionMismatch("cotangents are \(full.rows)x\(full.cols), expected \(z.rows)x\(c)")
            }
            var head = Matrix(rows: z.rows, cols: dd)
            for i in 0..<z.rows {
                for j in 0..<dd { head.scalars[i * dd + j] = full.scalars[i * c + j] }
                for a in 0..<d { tail.scalars[i * d + a] = full.scalars[i * c + dd + a] }
            }
            return head
        }
        var gradient = r.gradient
        for k in gradient.scalars.indices { gradient.scalars[k] += scale * tail.scalars[k] }
        return HessianVectorProducts(value: try append(r.value, z, scaledBy: scale), jvp: try append(r.jvp, tangents, scaledBy: scale),
                                     gradient: gradient, hvp: r.hvp)
    }

    /// The appended coordinates are linear in z: their second derivative is 0.
    public func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        _ = try checkBatch(z, tangents: u)
        guard v.rows == u.rows, v.cols == u.cols else {
            throw GeoError.dimensionMismatch("u is \(u.rows)x\(u.cols) but v is \(v.rows)x\(v.cols)")
        }
        let r = try base.secondOrder(z, u: u, v: v)
        return SecondOrderResult(value: try append(r.value, z, scaledBy: scale),
                                 ju: try append(r.ju, u, scaledBy: scale),
                                 jv: try append(r.jv, v, scaledBy: scale),
                                 d2: try append(r.d2, Matrix(rows: u.rows, cols: latentDim), scaledBy: 0))
    }
}

extension Manifold {
    /// The same model with the regularised metric J^T J + lambda I (`RegularizedMetric`):
    /// geometry on g_lambda, pictures (`decoder`) and the encoder from this manifold.
    public func regularized(lambda: Double) throws -> Manifold {
        let g = try RegularizedMetric(generator, lambda: lambda)
        return Manifold(name: "\(name)+\(formatNumber(lambda))I",
                        description: "\(name) with the regularised metric J^T J + \(formatNumber(lambda)) I",
                        generator: g, encoder: encoder, decoder: decoder, variance: variance, base: base ?? self)
    }
}
