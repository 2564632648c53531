/// Several generators g_1 ... g_K of the same latent space joined into one, exactly in every
/// mode: either stacked,
///
///     h(z) = (s_1 g_1(z), ..., s_K g_K(z))   in R^(D_1 + ... + D_K),
///     pull-back metric  M_h(z) = sum_i s_i^2 J_i(z)^T J_i(z),
///
/// or averaged (all D_i equal), h(z) = (1/K) sum_i g_i(z), for pictures of an ensemble.
///
/// Stacking is how metrics that are sums of pull-backs become immersions, so that every
/// algorithm (geodesics, exp, log, transport, curvature by the Gauss equation) applies to them
/// unchanged: the ensemble metric (1/K) sum_i J_i^T J_i (s_i = 1/sqrt(K), `Ensemble`) and the
/// expected metric of a decoder with uncertainty J_mu^T J_mu + J_sigma^T J_sigma (s = 1, 1,
/// `UncertaintyMetric`).
///
/// Derivatives are those of the parts, joined: J_h u = (s_i J_i u)_i, D2 h[u, v] =
/// (s_i D2 g_i[u, v])_i, J_h^T (c_1, ..., c_K) = sum_i s_i J_i^T c_i and
/// Hess<(c_i), h> u = sum_i Hess<s_i c_i, g_i> u (averaging: the same with s_i = 1/K and every
/// c_i = c). `hessianVectorProducts` takes the parts' values from one forward pass each (the
/// cotangents depend on all of them), then runs each part's fused pass with its cotangents; the
/// closure gets no J u (nil).
public final class StackedImmersion: Generator {
    /// How the parts' outputs are joined.
    public enum Join: Equatable {
        /// (s_1 g_1, ..., s_K g_K).
        case stack
        /// (1/K) sum_i g_i (every part has the same data shape).
        case mean
    }

    /// The parts g_i.
    public let parts: [Generator]
    /// The scales s_i (stack) or 1/K each (mean).
    public let scales: [Double]
    public let join: Join
    public let latentDim: Int
    public let dataShape: [Int]
    /// Column offsets of each part in the stacked output (stack), all 0 (mean).
    private let offsets: [Int]

    /// Joins `parts` (at least one; the same latent dimension; for `.mean` the same data
    /// shape). `scales` (stack only, finite, one per part) defaults to 1 each. Throws
    /// `GeoError.invalidArgument` or `.dimensionMismatch` naming the part that does not fit.
    public init(_ parts: [Generator], scales: [Double]? = nil, join: Join = .stack) throws {
        guard let first = parts.first else { throw GeoError.invalidArgument("joining generators needs at least one") }
        for (i, p) in parts.enumerated() where p.latentDim != first.latentDim {
            throw GeoError.dimensionMismatch("generator \(i + 1) has latent_dim \(p.latentDim), generator 1 has \(first.latentDim)")
        }
        let k = parts.count
        switch join {
        case .stack:
            let s = scales ?? [Double](repeating: 1, count: k)
            guard s.count == k else { throw GeoError.dimensionMismatch("\(s.count) scales for \(k) generators") }
            guard s.allSatisfy({ $0.isFinite }) else { throw GeoError.invalidArgument("a scale is NaN or infinite") }
            self.scales = s
            var offsets = [Int](), total = 0
            for p in parts {
                offsets.append(total)
                let (sum, overflow) = total.addingReportingOverflow(p.dataDim)
                guard !overflow else { throw GeoError.invalidArgument("the joined output is too large") }
                total = sum
            }
            self.offsets = offsets
            self.dataShape = [total]
        case .mean:
            guard scales == nil else { throw GeoError.invalidArgument("an average takes no scales") }
            for (i, p) in parts.enumerated() where p.dataShape != first.dataShape {
                throw GeoError.dimensionMismatch("generator \(i + 1) has data shape \(p.dataShape), generator 1 has \(first.dataShape)")
            }
            self.scales = [Double](repeating: 1 / Double(k), count: k)
            self.offsets = [Int](repeating: 0, count: k)
            self.dataShape = first.dataShape
        }
        self.parts = parts
        self.join = join
        self.latentDim = first.latentDim
    }

    // MARK: Joining and splitting rows

    /// Joins one output matrix per part (same rows, part i has D_i columns) into h's layout.
    private func joined(_ ms: [Matrix], rows: Int) throws -> Matrix {
        let c = dataDim
        var out = Matrix(rows: rows, cols: c)
        for (i, m) in ms.enumerated() {
            let ci = parts[i].dataDim
            guard m.rows == rows, m.cols == ci else {
                throw GeoError.dimensionMismatch("generator \(i + 1) returned \(m.rows)x\(m.cols), expected \(rows)x\(ci)")
            }
            let s = scales[i], off = offsets[i]
            out.scalars.withUnsafeMutableBufferPointer { o in
                m.scalars.withUnsafeBufferPointer { pm in
                    for r in 0..<rows {
                        for j in 0..<ci { o[r * c + off + j] += s * pm[r * ci + j] }
                    }
                }
            }
        }
        return out
    }

    /// Part i's slice of a cotangent matrix in h's layout, times s_i: the cotangent of g_i.
    private func cotangentSlice(_ c: Matrix, _ i: Int) -> Matrix {
        let ci = parts[i].dataDim, cc = c.cols, s = scales[i], off = offsets[i]
        var out = Matrix(rows: c.rows, cols: ci)
        out.scalars.withUnsafeMutableBufferPointer { o in
            c.scalars.withUnsafeBufferPointer { pc in
                for r in 0..<c.rows { for j in 0..<ci { o[r * ci + j] = s * pc[r * cc + off + j] } }
            }
        }
        return out
    }

    /// The sum of same-shaped matrices.
    private func sum(_ ms: [Matrix], rows: Int, cols: Int) throws -> Matrix {
        var out = Matrix(rows: rows, cols: cols)
        for m in ms {
            guard m.rows == rows, m.cols == cols else {
                throw GeoError.dimensionMismatch("a generator returned \(m.rows)x\(m.cols), expected \(rows)x\(cols)")
            }
            for k in out.scalars.indices { out.scalars[k] += m.scalars[k] }
        }
        return out
    }

    // MARK: Generator

    public func forward(_ z: Matrix) throws -> Matrix {
        _ = try checkBatch(z)
        return try joined(try parts.map { try $0.forward(z) }, rows: z.rows)
    }

    public func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        _ = try checkBatch(z, tangents: tangents)
        let rs = try parts.map { try $0.jvp(z, tangents: tangents) }
        return (try joined(rs.map(\.value), rows: z.rows), try joined(rs.map(\.tangents), rows: tangents.rows))
    }

    public func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        _ = try checkBatch(z, tangents: cotangents, tangentCols: dataDim)
        let rs = try parts.indices.map { try parts[$0].vjp(z, cotangents: cotangentSlice(cotangents, $0)) }
        return (try joined(rs.map(\.value), rows: z.rows), try sum(rs.map(\.cotangents), rows: cotangents.rows, cols: latentDim))
    }

    public func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        _ = try checkBatch(z, tangents: u)
        guard v.rows == u.rows, v.cols == u.cols else {
            throw GeoError.dimensionMismatch("u is \(u.rows)x\(u.cols) but v is \(v.rows)x\(v.cols)")
        }
        let rs = try parts.map { try $0.secondOrder(z, u: u, v: v) }
        return SecondOrderResult(value: try joined(rs.map(\.value), rows: z.rows), ju: try joined(rs.map(\.ju), rows: u.rows),
                                 jv: try joined(rs.map(\.jv), rows: u.rows), d2: try joined(rs.map(\.d2), rows: u.rows))
    }

    public func hessianVectorProducts(_ z: Matrix, tangents: Matrix, cotangents: (Matrix, Matrix?) throws -> Matrix) throws
        -> HessianVectorProducts {
        _ = try checkBatch(z, tangents: tangents)
        let value = try forward(z)
        let c = try cotangents(value, nil)
        guard c.rows == z.rows, c.cols == dataDim else {
            throw GeoError.dimensionMismatch("cotangents are \(c.rows)x\(c.cols), expected \(z.rows)x\(dataDim)")
        }
        let rs = try parts.indices.map { i in try parts[i].hessianVectorProducts(z, tangents: tangents) { _, _ in cotangentSlice(c, i) } }
        return HessianVectorProducts(value: value, jvp: try joined(rs.map(\.jvp), rows: tangents.rows),
                                     gradient: try sum(rs.map(\.gradient), rows: z.rows, cols: latentDim),
                                     hvp: try sum(rs.map(\.hvp), rows: tangents.rows, cols: latentDim))
    }
}
