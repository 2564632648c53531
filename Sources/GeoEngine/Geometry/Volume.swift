extension Generator {
    /// The Riemannian volume element at z: sqrt(det M(z)) = sqrt(det J^T J), the product of
    /// J's singular values (from one SVD, without forming the metric). It measures how much g
    /// stretches a small latent cell: the "magnification factor" of latent-space maps.
    /// Zero where J is rank-deficient (instead of an error: a volume map shows collapsed
    /// regions as 0).
    public func volume(_ z: Vector) throws -> Double {
        let j = try jacobian(z)
        return try TangentSpace(jacobian: j, requireFullRank: false).volume
    }
}

extension Generator {
    /// The singular values s_1 >= s_2 >= ... of J(z), min(D, d) of them (one SVD; none dropped): the data-space
    /// stretch of the principal latent directions at z. The metric's eigenvalues are s_i^2, the
    /// volume element is their product, and a decoder that ignores a latent direction (a VAE's
    /// collapsed unit) shows it as an s_i many orders of magnitude below s_1.
    public func singularValues(_ z: Vector) throws -> Vector {
        try TangentSpace(jacobian: try jacobian(z), requireFullRank: false).singularValues
    }
}
