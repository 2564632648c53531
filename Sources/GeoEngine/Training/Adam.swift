import Foundation

/// The Adam optimiser (Kingma & Ba 2015) with bias correction, in PyTorch's form
/// (torch.optim.Adam without weight decay or amsgrad). For every scalar parameter p with gradient
/// g, at step t = 1, 2, ...:
///
///     m <- beta1 m + (1 - beta1) g
///     v <- beta2 v + (1 - beta2) g^2
///     p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
///
/// Defaults: lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8. The moments m and v are kept per
/// parameter tensor (index i of the arrays passed to `step`) and start at zero; the first call
/// fixes the tensor shapes, later calls must pass the same ones.
public struct Adam {
    public let learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    /// The number of steps taken so far (t).
    public private(set) var steps = 0
    private var m: [[Double]] = []
    private var v: [[Double]] = []

    /// Throws `GeoError.invalidArgument` unless lr > 0, 0 <= beta1, beta2 < 1 and eps > 0 (all finite).
    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) throws {
        guard learningRate > 0, learningRate.isFinite else {
            throw GeoError.invalidArgument("Adam: the learning rate must be a positive number, got \(formatNumber(learningRate))")
        }
        guard beta1 >= 0, beta1 < 1, beta2 >= 0, beta2 < 1 else {
            throw GeoError.invalidArgument("Adam: beta1 and beta2 must be in [0, 1), got \(formatNumber(beta1)) and \(formatNumber(beta2))")
        }
        guard epsilon > 0, epsilon.isFinite else {
            throw GeoError.invalidArgument("Adam: eps must be a positive number, got \(formatNumber(epsilon))")
        }
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
    }

    /// One update of `parameters` with `gradients` (aligned, equal shapes). Throws
    /// `GeoError.dimensionMismatch` when the tensors do not match each other or earlier steps.
    public mutating func step(_ parameters: inout [Tensor], gradients: [Tensor]) throws {
        guard parameters.count == gradients.count else {
            throw GeoError.dimensionMismatch("Adam: \(parameters.count) parameter tensors but \(gradients.count) gradients")
        }
        for i in parameters.indices where parameters[i].shape != gradients[i].shape {
            throw GeoError.dimensionMismatch("Adam: parameter \(i) has shape \(shapeString(parameters[i].shape)), its gradient \(shapeString(gradients[i].shape))")
        }
        if steps == 0 {
            m = parameters.map { [Double](repeating: 0, count: $0.count) }
            v = m
        } else {
            guard m.count == parameters.count, zip(m, parameters).allSatisfy({ $0.count == $1.count }) else {
                throw GeoError.dimensionMismatch("Adam: the parameter tensors differ from the earlier steps'")
            }
        }
        steps += 1
        // PyTorch's arrangement: step = lr / (1 - beta1^t), denominator sqrt(v) / sqrt(1 - beta2^t) + eps.
        let t = Double(steps)
        let stepSize = learningRate / (1 - Foundation.pow(beta1, t))
        let invSqrtC2 = 1 / (1 - Foundation.pow(beta2, t)).squareRoot()
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for i in parameters.indices {
            parameters[i].scalars.withUnsafeMutableBufferPointer { p in
                gradients[i].scalars.withUnsafeBufferPointer { g in
                    m[i].withUnsafeMutableBufferPointer { mi in
                        v[i].withUnsafeMutableBufferPointer { vi in
                            let n = p.count
                            guard let p = p.baseAddress, let g = g.baseAddress,
                                  let mi = mi.baseAddress, let vi = vi.baseAddress else { return }
                            // Elementwise and split into disjoint ranges: the result does not depend on threads.
                            Parallel.forRanges(n, costPerItem: 16) { r in
                                for j in r {
                                    let gj = g[j]
                                    let mj = b1 * mi[j] + (1 - b1) * gj, vj = b2 * vi[j] + (1 - b2) * gj * gj
                                    mi[j] = mj; vi[j] = vj
                                    p[j] -= stepSize * mj / (vj.squareRoot() * invSqrtC2 + eps)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
