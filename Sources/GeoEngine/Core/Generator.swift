/// A smooth map g: R^d -> R^D (a decoder, a GAN generator, an analytic surface) with exact
/// derivatives. The latent space becomes a Riemannian manifold with the pull-back metric
/// M(z) = J(z)^T J(z), J = dg/dz.
///
/// Batches: points are the rows of a matrix `z` of shape [n, d]. Tangent and cotangent batches
/// carry k rows per point, k = rows / n: rows i*k ..< (i+1)*k belong to point i. Implementations
/// push whole batches through matrix-matrix products (OpenBLAS dgemm), never per-point loops.
/// Every method throws `GeoError.dimensionMismatch` on shapes that do not fit.
public protocol Generator: AnyObject {
    /// d, the latent dimension.
    var latentDim: Int { get }
    /// The shape of one output, e.g. [1, 28, 28] for images (C, H, W) or [D].
    var dataShape: [Int] { get }

    /// g(z): [n, d] -> [n, D].
    func forward(_ z: Matrix) throws -> Matrix
    /// Forward mode: g(z) [n, D] and J(z_i) t for every tangent row t of point i: [n*k, D].
    func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix)
    /// Reverse mode: g(z) [n, D] and J(z_i)^T c for every cotangent row c of point i: [n*k, d].
    func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix)
    /// Second-order forward mode for k pairs (u, v) per point (u, v: [n*k, d]): the value
    /// g(z) [n, D], the first derivatives J u, J v and the exact second directional derivative
    /// D2g(z)[u, v] = sum_ab d2g/dz_a dz_b u_a v_b, each [n*k, D].
    func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult

    /// Forward over reverse, fused: one pass with k tangents u per point ([n*k, d]) gives
    /// g(z) [n, D] and J(z) u [n*k, D]; `cotangents` turns the values into one cotangent c per
    /// point ([n, D]); the reverse pass gives the gradient J(z)^T c [n, d] and the Hessian-vector
    /// products Hess<c, g>(z) u [n*k, d], exactly. A default implementation (from `jvp`, `vjp`
    /// and d second-order pairs per tangent) serves generators that have no faster one.
    ///
    /// `cotangents` receives the values and, when the implementation has them at that moment
    /// (before the reverse pass), the rows J(z) u ([n*k, D]; nil when the values came from a
    /// separate value pass). An error it throws ends the call before the reverse pass and
    /// propagates unchanged: a caller that learns from the forward part alone that it needs no
    /// second order (Newton at convergence) stops there.
    func hessianVectorProducts(_ z: Matrix, tangents: Matrix, cotangents: (Matrix, Matrix?) throws -> Matrix) throws
        -> HessianVectorProducts
}

/// The result of `Generator.hessianVectorProducts`.
public struct HessianVectorProducts {
    /// g(z), [n, D].
    public var value: Matrix
    /// J(z) u for every tangent row, [n*k, D].
    public var jvp: Matrix
    /// J(z)^T c, [n, d].
    public var gradient: Matrix
    /// Hess<c, g>(z) u for every tangent row, [n*k, d].
    public var hvp: Matrix
    public init(value: Matrix, jvp: Matrix, gradient: Matrix, hvp: Matrix) {
        self.value = value; self.jvp = jvp; self.gradient = gradient; self.hvp = hvp
    }
}

/// The result of `Generator.secondOrder`.
public struct SecondOrderResult {
    /// g(z), [n, D].
    public var value: Matrix
    /// J(z) u, [n*k, D].
    public var ju: Matrix
    /// J(z) v, [n*k, D].
    public var jv: Matrix
    /// D2g(z)[u, v], [n*k, D].
    public var d2: Matrix
    public init(value: Matrix, ju: Matrix, jv: Matrix, d2: Matrix) {
        self.value = value; self.ju = ju; self.jv = jv; self.d2 = d2
    }
}

extension Generator {
    /// D, the number of outputs: the product of `dataShape`.
    public var dataDim: Int { dataShape.reduce(1, *) }

    /// Hess<c, g>(z) u for one cotangent c per point ([n, D]) and k tangents u per point:
    /// `hessianVectorProducts` with fixed cotangents.
    public func hvp(_ z: Matrix, cotangents: Matrix, tangents: Matrix) throws -> (value: Matrix, gradient: Matrix, hvp: Matrix) {
        let r = try hessianVectorProducts(z, tangents: tangents) { _, _ in cotangents }
        return (r.value, r.gradient, r.hvp)
    }

    /// The default `hessianVectorProducts`: a JVP for the values and J u, a VJP for J^T c, and
    /// <c, D2g[e_a, u]> for every unit vector e_a from second-order forward mode (d pairs per
    /// tangent). Exact, and cheap for the analytic surfaces; networks have a faster one.
    public func hessianVectorProducts(_ z: Matrix, tangents: Matrix, cotangents: (Matrix, Matrix?) throws -> Matrix) throws
        -> HessianVectorProducts {
        let k = try checkBatch(z, tangents: tangents)
        let n = z.rows, d = latentDim, dd = dataDim
        let (value, ju) = try jvp(z, tangents: tangents)
        let c = try cotangents(value, ju)
        guard c.rows == n, c.cols == dd else {
            throw GeoError.dimensionMismatch("cotangents are \(c.rows)x\(c.cols), expected \(n)x\(dd)")
        }
        let gradient = try vjp(z, cotangents: c).cotangents
        var hvp = Matrix(rows: n * k, cols: d)
        if n * k > 0 && d > 0 {
            var eu = Matrix(rows: n * k * d, cols: d), uu = Matrix(rows: n * k * d, cols: d)
            for r in 0..<(n * k) {
                for a in 0..<d {
                    eu.scalars[(r * d + a) * d + a] = 1
                    for b in 0..<d { uu.scalars[(r * d + a) * d + b] = tangents.scalars[r * d + b] }
                }
            }
            let so = try secondOrder(z, u: eu, v: uu)
            for p in 0..<n {
                for r in (p * k)..<((p + 1) * k) {
                    for a in 0..<d {
                        var s = 0.0
                        let row = (r * d + a) * dd
                        for j in 0..<dd { s += c.scalars[p * dd + j] * so.d2.scalars[row + j] }
                        hvp.scalars[r * d + a] = s
                    }
                }
            }
        }
        return HessianVectorProducts(value: value, jvp: ju, gradient: gradient, hvp: hvp)
    }

    /// Checks that `z` is a batch of latent points and returns the tangent multiplicity k of
    /// `tangents` (rows per point). Shared by implementations.
    public func checkBatch(_ z: Matrix, tangents: Matrix? = nil, tangentCols: Int? = nil) throws -> Int {
        guard z.cols == latentDim else {
            throw GeoError.dimensionMismatch("latent_dim is \(latentDim), points have \(z.cols)")
        }
        guard let t = tangents else { return 0 }
        let cols = tangentCols ?? latentDim
        guard t.cols == cols else {
            throw GeoError.dimensionMismatch("expected \(cols) entries per tangent row, got \(t.cols)")
        }
        guard z.rows > 0 ? t.rows % z.rows == 0 : t.rows == 0 else {
            throw GeoError.dimensionMismatch("\(t.rows) tangent rows do not divide among \(z.rows) points")
        }
        return z.rows > 0 ? t.rows / z.rows : 0
    }

    /// Checks a single latent point.
    public func checkPoint(_ z: Vector, _ what: String = "vector") throws {
        guard z.count == latentDim else {
            throw GeoError.dimensionMismatch("latent_dim is \(latentDim), \(what) has \(z.count)")
        }
        guard z.isFinite else { throw GeoError.invalidArgument("\(what) has a NaN or infinite entry") }
    }

    /// g(z) for one point.
    public func decode(_ z: Vector) throws -> Vector {
        try checkPoint(z)
        return Vector(try forward(Matrix(row: z)).scalars)
    }

    /// The Jacobian J(z), a D x d matrix, from one forward-mode pass with the d unit tangents.
    public func jacobian(_ z: Vector) throws -> Matrix {
        try checkPoint(z)
        // The JVP's rows and their transpose exist together for a moment.
        try MemoryBudget.doubles(2, dataDim, latentDim, for: "a \(dataDim)x\(latentDim) Jacobian")
        let (_, t) = try jvp(Matrix(row: z), tangents: Matrix.identity(latentDim))
        return t.transposed   // rows of t are J e_j; transpose to D x d
    }

    /// The pull-back metric M(z) = J(z)^T J(z), d x d.
    public func metric(_ z: Vector) throws -> Matrix {
        let j = try jacobian(z)
        return try Matrix.product(j, transposeA: true, j)
    }
}

/// A generator with its optional encoder and descriptive text: what Lua calls a geo.Manifold.
public final class Manifold {
    public let name: String
    public let description: String
    /// The immersion whose pull-back metric the geometry uses: the decoder g itself, or a
    /// wrapper of it such as `RegularizedMetric`.
    public let generator: Generator
    /// What `decode` and pictures show: the decoder g (the same object as `generator` unless
    /// the geometry uses a wrapper). Same latent dimension as `generator`.
    public let decoder: Generator
    /// The encoder, if the model has one: its first latent_dim outputs are the posterior mean.
    public let encoder: Generator?
    /// The decoder's fitted standard deviation sigma(z), if the model carries one (a model
    /// file's georepl.variance; `UncertaintyMetric`).
    public let variance: RBFPrecisionNetwork?
    /// The model this one's metric was derived from (`uncertainty()` and the other metric
    /// wrappers), whose name and description a model file keeps.
    public let base: Manifold?

    /// `decoder` defaults to `generator`.
    public init(name: String, description: String = "", generator: Generator, encoder: Generator? = nil,
                decoder: Generator? = nil, variance: RBFPrecisionNetwork? = nil, base: Manifold? = nil) {
        self.name = name; self.description = description
        self.generator = generator; self.encoder = encoder
        self.decoder = decoder ?? generator
        self.variance = variance
        self.base = base
    }

    public var latentDim: Int { generator.latentDim }
    /// The decoder's output size D.
    public var dataDim: Int { decoder.dataDim }
    /// The decoder's output shape (e.g. [1, 28, 28]).
    public var dataShape: [Int] { decoder.dataShape }

    /// The encoder's means for the rows of x (n x data_dim), encoded 1000 at a time.
    public func encode(rows x: Matrix) throws -> [Vector] {
        guard let enc = encoder else { throw GeoError.invalidArgument("manifold '\(untrusted: name)' has no encoder") }
        guard x.cols == enc.latentDim else { throw GeoError.dimensionMismatch("data_dim is \(enc.latentDim), the data has \(x.cols) columns") }
        var out: [Vector] = []
        var start = 0
        while start < x.rows {
            try Cancellation.check()
            let end = min(x.rows, start + 1000)
            let h = try enc.forward(try Matrix(rows: end - start, cols: x.cols, scalars: Array(x.scalars[(start * x.cols)..<(end * x.cols)])))
            guard h.cols >= latentDim, h.rows == end - start else {
                throw GeoError.format("encoder of '\(untrusted: name)' has \(h.cols) outputs, fewer than latent_dim \(latentDim)")
            }
            for r in 0..<h.rows { out.append(Vector(Array(h.scalars[(r * h.cols)..<(r * h.cols + latentDim)]))) }
            start = end
        }
        return out
    }

    /// The encoder's mean for one data vector x (length data_dim).
    public func encode(_ x: Vector) throws -> Vector {
        guard let enc = encoder else {
            throw GeoError.invalidArgument("manifold '\(untrusted: name)' has no encoder")
        }
        guard x.count == enc.latentDim else {
            throw GeoError.dimensionMismatch("data_dim is \(enc.latentDim), vector has \(x.count)")
        }
        guard x.isFinite else { throw GeoError.invalidArgument("vector has a NaN or infinite entry") }
        let out = try enc.forward(Matrix(row: x))
        guard out.cols >= latentDim else {
            throw GeoError.format("encoder of '\(untrusted: name)' has \(out.cols) outputs, fewer than latent_dim \(latentDim)")
        }
        return Vector(Array(out.scalars[0..<latentDim]))
    }
}
