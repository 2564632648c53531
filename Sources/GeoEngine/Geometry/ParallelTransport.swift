/// Parallel translation of tangent vectors along a discrete path, the algorithm of Shao, Kumar &
/// Fletcher (2018): the vector lives in data space and is carried from tangent space to tangent
/// space by orthogonal projection.
///
/// For a path z_0, ..., z_T and a latent tangent vector v at z_0, with `.projection` (the
/// default, the paper's algorithm):
///
///     u_0 = J(z_0) v                                     (push forward into R^D)
///     u_i = (|u_{i-1}| / |P_i u_{i-1}|) P_i u_{i-1},      P_i = J(z_i) J(z_i)^+ (projection
///                                                         onto the tangent space at z_i)
///     v_T = J(z_T)^+ u_T                                 (pull back)
///
/// Properties: every u_i lies in the tangent space at z_i and has the length |u_0| = |v|_M, so
/// the metric length |v_T|_{M(z_T)} = |v|_{M(z_0)} is preserved to rounding error; on a path
/// that is refined it converges to the Levi-Civita parallel transport with error O(1/T): the
/// projection shrinks the components that turn out of the tangent space by cos(step angle),
/// and the common rescaling does not undo that non-uniform shrinkage (e.g. along the sphere's
/// equator a vector's angle drifts by ~L^2 / (2T) radians). A zero vector stays zero.
///
/// `.polar`: the same projection with its shrinkage removed. In orthonormal bases U_{i-1}, U_i
/// of consecutive tangent spaces (the left singular vectors of J) the projection is the d x d
/// matrix C = U_i^T U_{i-1}; its polar factor Q = W Z^T (from the SVD C = W S Z^T), the
/// orthogonal matrix closest to C, is applied instead:
///
///     u_i = U_i Q U_{i-1}^T u_{i-1}.
///
/// C = Q_exact (I - h^2 S / 2 + O(h^3)) with S symmetric (the normal curvature of the step), so
/// Q = Q_exact + O(h^3) and the transport converges as O(1/T^2); lengths and angles between
/// transported vectors are preserved exactly (Q is orthogonal). Along the sphere's equator it
/// is exact. Cost: one extra d x D by D x d product and a d x d SVD per point.
///
/// Cost: the Jacobians of all T + 1 points come from one batched JVP (d tangent rows per
/// point; split into chunks only when the output would exceed 2^24 entries) and one thin SVD
/// per point (`TangentSpace`); no second derivatives.
///
/// Errors: a path of fewer than 2 points, a point or vector of the wrong dimension or with a NaN
/// (`GeoError.dimensionMismatch` / `.invalidArgument`); a singular metric at some point, or a
/// vector (for `.polar`: a direction) that becomes normal to the next tangent space (steps far
/// too large for the curvature) (`GeoError.numerical`, naming the point).
public enum ParallelTransport {
    /// How a vector is carried from one tangent space to the next.
    public enum Method: String, CaseIterable {
        /// Project and rescale to the previous length (Shao, Kumar & Fletcher 2018); O(1/T).
        case projection
        /// Apply the polar (orthogonal) factor of the projection between orthonormal bases;
        /// O(1/T^2).
        case polar
    }

    /// The outcome of transporting one vector.
    public struct Result {
        /// v_T = J(z_T)^+ u_T, the transported latent vector at the end of the path.
        public var vector: Vector
        /// u_T, the transported vector in data space (in the tangent space at g(z_T)).
        public var dataVector: Vector
        /// v_i = J(z_i)^+ u_i at every point z_0 ... z_T when requested (`recordAll`), else empty.
        public var vectors: [Vector]
    }

    /// Transports the latent tangent vector `v` at the first point of `path` to its last point
    /// (see the type's documentation). With `recordAll` (default false) the result also holds
    /// the transported vector at every point. `progress` receives about 100 reports.
    public static func transport(_ v: Vector, along path: Path, on g: Generator, method: Method = .projection,
                                 recordAll: Bool = false, progress: ProgressHandler? = nil) throws -> Result {
        try PathJacobians.checkVector(g, v, "vector")
        let z = try PathJacobians.checkPath(g, path)
        let r = try transportRows(Matrix(row: v), z, g, method: method, recordAll: recordAll, progress: progress)
        return Result(vector: r.vectors.row(0), dataVector: r.dataVectors.row(0),
                      vectors: r.all.map { $0.row(0) })
    }

    /// Transports several latent vectors at the first point of `path` (the rows of `vectors`,
    /// [k, d]) along it at once (with `.projection` each is rescaled separately); returns the
    /// transported vectors as rows [k, d]. Used for whole frames (e.g. the matrix of transport).
    public static func transport(rows vectors: Matrix, along path: Path, on g: Generator,
                                 method: Method = .projection, progress: ProgressHandler? = nil) throws -> Matrix {
        guard vectors.cols == g.latentDim else {
            throw GeoError.dimensionMismatch("latent_dim is \(g.latentDim), vectors have \(vectors.cols)")
        }
        guard vectors.isFinite else { throw GeoError.invalidArgument("a vector has a NaN or infinite entry") }
        let z = try PathJacobians.checkPath(g, path)
        return try transportRows(vectors, z, g, method: method, recordAll: false, progress: progress).vectors
    }

    /// The algorithm on k row vectors along the points (rows of z, already checked). Returns the
    /// latent vectors at the end, the data-space vectors at the end, and optionally the latent
    /// vectors at every point.
    static func transportRows(_ v: Matrix, _ z: Matrix, _ g: Generator, method: Method, recordAll: Bool,
                              progress: ProgressHandler?) throws
        -> (vectors: Matrix, dataVectors: Matrix, all: [Matrix]) {
        let n = z.rows
        var u = Matrix(rows: 0, cols: 0)          // current data-space vectors, [k, D]
        var lengths = [Double]()                  // their lengths |u_0|
        var all = [Matrix]()
        var last: TangentSpace?
        try PathJacobians.forEachTangentSpace(g, z, what: "path point") { i, space in
            if i == 0 {
                u = try Matrix.product(v, space.jacobian, transposeB: true)   // rows (J v)^T
                lengths = (0..<u.rows).map { u.row($0).norm }
            } else if method == .polar, let previous = last {
                let q = try polarFactor(try Matrix.product(space.basis, transposeA: true, previous.basis), i)
                // u U_{i-1} Q^T U_i^T, row by row.
                let coordinates = try Matrix.product(try Matrix.product(u, previous.basis), q, transposeB: true)
                u = try Matrix.product(coordinates, space.basis, transposeB: true)
            } else {
                u = try space.project(rows: u)
                for r in 0..<u.rows where lengths[r] > 0 {
                    let norm = u.row(r).norm
                    guard norm > 1e-8 * lengths[r], norm.isFinite else {
                        throw GeoError.numerical("parallel transport failed at path point \(i + 1): the vector is normal to the tangent space there (the path's steps are too large)")
                    }
                    let s = lengths[r] / norm
                    for c in 0..<u.cols { u.scalars[r * u.cols + c] *= s }
                }
            }
            if recordAll { all.append(try space.pseudoInverse(rows: u)) }
            last = space
            PathJacobians.report(progress, i + 1, n, "parallel transport")
        }
        guard let end = last else { throw GeoError.invalidArgument("the path is empty") }
        let out = recordAll ? all[n - 1] : try end.pseudoInverse(rows: u)
        return (out, u, all)
    }

    /// The polar factor W Z^T of the d x d matrix C = W S Z^T (the orthogonal matrix nearest C).
    /// Throws when C is (nearly) singular: the tangent spaces at points i and i + 1 meet at a
    /// right angle in some direction.
    private static func polarFactor(_ c: Matrix, _ i: Int) throws -> Matrix {
        let failure = GeoError.numerical("parallel transport failed at path point \(i + 1): a direction of the tangent space is normal to the tangent space there (the path's steps are too large)")
        let svd: TangentSpace
        do {
            svd = try TangentSpace(jacobian: c, relativeTolerance: 0, requireFullRank: true)
        } catch GeoError.numerical {
            throw failure
        }
        guard let smallest = svd.singularValues.scalars.last, smallest > 1e-8 else { throw failure }
        return try Matrix.product(svd.basis, svd.rightSingularVectors)
    }
}
