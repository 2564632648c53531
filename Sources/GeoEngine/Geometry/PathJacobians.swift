/// Shared plumbing of the tangent-space algorithms (parallel transport, holonomy, exponential
/// map, curvature): the tangent spaces of many latent points from batched forward-mode passes,
/// and the checks of user input they all make.
///
/// Jacobians: for points z_0 ... z_{n-1} (rows of a matrix) one `Generator.jvp` call with the d
/// unit tangents e_1 ... e_d per point returns the rows J(z_i) e_a, i.e. J(z_i)^T as a d x D
/// block per point. To bound memory the points are split into chunks of at most
/// `maxEntriesPerBatch` (2^24 Doubles, 128 MB) output entries, so that a path on a small model
/// is one call while a long path on a large image model is a few.
enum PathJacobians {
    /// The largest number of Doubles one batched JVP may return (2^24, 128 MB).
    static let maxEntriesPerBatch = 1 << 24

    /// How many points fit in one batch when each point yields `rowsPerPoint` rows of D entries.
    static func chunkSize(_ g: Generator, rowsPerPoint: Int) -> Int {
        max(1, maxEntriesPerBatch / max(1, rowsPerPoint * max(1, g.dataDim)))
    }

    /// The Jacobians J(z_i) (D x d each) of the rows of `z`, from one `jvp` call (the caller
    /// chunks long batches with `chunkSize`).
    static func jacobians(_ g: Generator, _ z: Matrix) throws -> [Matrix] {
        let d = g.latentDim, dd = g.dataDim, n = z.rows
        var eye = Matrix(rows: n * d, cols: d)
        for i in 0..<n { for a in 0..<d { eye.scalars[(i * d + a) * d + a] = 1 } }
        let (_, jt) = try g.jvp(z, tangents: eye)
        guard jt.rows == n * d, jt.cols == dd else {
            throw GeoError.dimensionMismatch("the generator's JVP returned \(jt.rows)x\(jt.cols), expected \(n * d)x\(dd)")
        }
        return (0..<n).map { i in
            var j = Matrix(rows: dd, cols: d)
            for a in 0..<d {
                let row = (i * d + a) * dd
                for c in 0..<dd { j.scalars[c * d + a] = jt.scalars[row + c] }
            }
            return j
        }
    }

    /// The tangent space of a Jacobian, with a singular or non-finite metric reported as a
    /// `GeoError.numerical` that says where (`context`, e.g. "at path point 3").
    static func tangentSpace(_ j: Matrix, _ context: String) throws -> TangentSpace {
        do {
            return try TangentSpace(jacobian: j)
        } catch GeoError.numerical(let message) {
            throw GeoError.numerical("\(message) (\(context))")
        }
    }

    /// Calls `body(i, T_i)` for the tangent space of every row i of `z` in order, computing the
    /// Jacobians chunk by chunk (one batched JVP per chunk) and checking for cancellation
    /// between points.
    static func forEachTangentSpace(_ g: Generator, _ z: Matrix, what: String,
                                    _ body: (Int, TangentSpace) throws -> Void) throws {
        let chunk = chunkSize(g, rowsPerPoint: g.latentDim)
        var start = 0
        while start < z.rows {
            let end = min(z.rows, start + chunk)
            let block = try Matrix(rows: end - start, cols: z.cols,
                                   scalars: Array(z.scalars[(start * z.cols)..<(end * z.cols)]))
            let js = try jacobians(g, block)
            for (offset, j) in js.enumerated() {
                try Cancellation.check()
                let i = start + offset
                try body(i, try tangentSpace(j, "at \(what) \(i + 1)"))
            }
            start = end
        }
    }

    /// Checks a tangent vector (right length, finite).
    static func checkVector(_ g: Generator, _ v: Vector, _ what: String) throws {
        try g.checkPoint(v, what)
    }

    /// Checks a path (at least `minimum` points, each of length d and finite) and returns its
    /// points as the rows of a matrix.
    static func checkPath(_ g: Generator, _ path: Path, minimum: Int = 2, what: String = "path") throws -> Matrix {
        guard path.count >= minimum else {
            throw GeoError.invalidArgument("a \(what) needs at least \(minimum) points, got \(path.count)")
        }
        for (i, p) in path.points.enumerated() {
            guard p.count == g.latentDim else {
                throw GeoError.dimensionMismatch("latent_dim is \(g.latentDim), \(what) point \(i + 1) has \(p.count)")
            }
            guard p.isFinite else {
                throw GeoError.invalidArgument("\(what) point \(i + 1) has a NaN or infinite entry")
            }
        }
        return try path.matrix()
    }

    /// Calls `progress` about 100 times over `total` units of work (and at the end).
    static func report(_ progress: ProgressHandler?, _ done: Int, _ total: Int, _ detail: @autoclosure () -> String = "") {
        guard let progress else { return }
        let every = max(1, total / 100)
        if done % every == 0 || done == total {
            progress(ProgressReport(completed: done, total: total, detail: detail()))
        }
    }
}
