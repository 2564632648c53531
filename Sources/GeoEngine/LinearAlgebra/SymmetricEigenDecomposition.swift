/// The spectral decomposition A = Q diag(lambda) Q^T of a real symmetric matrix, as computed
/// by `SymmetricMatrix.eigenDecomposition()` (LAPACKE_dsyevd). Eigenvalues are real and in
/// ascending order; Q is orthogonal (Q^T Q = I) with the unit eigenvector for lambda_i in
/// column i (each determined up to sign; for repeated eigenvalues, up to a rotation within
/// the eigenspace).
public struct SymmetricEigenDecomposition {
    /// lambda_1 <= ... <= lambda_n.
    public let values: Vector
    /// Q, n x n: column i is the eigenvector for values[i].
    public let vectors: Matrix

    public init(values: Vector, vectors: Matrix) {
        self.values = values; self.vectors = vectors
    }

    /// The unit eigenvector for values[i] (column i of Q), or nil when i is out of range.
    public func vector(_ i: Int) -> Vector? {
        guard i >= 0, i < values.count else { return nil }
        return vectors.column(i)
    }
}
