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
