/// A picture of a 2-d latent space: the Riemannian volume element sqrt det M(z) (how much the
/// generator magnifies a small latent cell) sampled at the centres of a resolution x
/// resolution grid over a box, rendered as a heat map with latent paths drawn on it.
/// All Jacobians come from one batched JVP (2 tangents per grid point), in chunks.
public enum LatentMap {
    /// The accepted grid sizes (cells per side).
    public static let resolutionRange = 2...2048

    /// The volumes at the cell centres of `box` (`HeatMap`'s grid convention), rows x cols.
    public static func volumes(on g: Generator, box: LatentBox, rows: Int, cols: Int,
                               progress: ProgressHandler? = nil) throws -> Matrix {
        guard g.latentDim == 2 else {
            throw GeoError.invalidArgument("a latent map needs a manifold with latent_dim 2, got \(g.latentDim)")
        }
        try Setting.integer("resolution", rows, in: LatentMap.resolutionRange)
        try Setting.integer("resolution", cols, in: LatentMap.resolutionRange)
        try MemoryBudget.doubles(rows, cols, 4, for: "a latent map of \(rows)x\(cols) cells")
        var out = Matrix(rows: rows, cols: cols)
        let centres = (0..<(rows * cols)).map { k in
            HeatMap.cellCenter(row: k / cols, col: k % cols, rows: rows, cols: cols, box: box)
        }
        let chunk = 256
        var start = 0
        while start < centres.count {
            try Cancellation.check()
            let range = start..<min(centres.count, start + chunk)
            let z = try Matrix(rowVectors: range.map { Vector([centres[$0].x, centres[$0].y]) })
            let (_, t) = try g.jvp(z, tangents: Matrix.identity(2).repeatingRowsBlock(range.count))
            let dd = g.dataDim
            for (i, k) in range.enumerated() {
                // J^T J from the two rows J e_1, J e_2 of point i; volume = sqrt(det).
                var a = 0.0, b = 0.0, c = 0.0
                let r1 = (2 * i) * dd, r2 = (2 * i + 1) * dd
                for j in 0..<dd {
                    let x = t.scalars[r1 + j], y = t.scalars[r2 + j]
                    a += x * x; b += x * y; c += y * y
                }
                out.scalars[k] = max(0, a * c - b * b).squareRoot()
            }
            start = range.upperBound
            progress?(ProgressReport(completed: start, total: centres.count))
        }
        return out
    }
}

extension Matrix {
    /// The whole matrix stacked n times: [A; A; ...] (k tangent rows for each of n points).
    func repeatingRowsBlock(_ n: Int) -> Matrix {
        var out = [Double](); out.reserveCapacity(scalars.count * n)
        for _ in 0..<n { out.append(contentsOf: scalars) }
        return Matrix(rows: rows * n, cols: cols, unchecked: out)
    }
}
