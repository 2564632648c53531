import Foundation

/// The elementwise nonlinearities sigma of model files, with exact first and second derivatives
/// (PyTorch's definitions and defaults):
/// - relu:       max(0, x); sigma' = 1 for x > 0 else 0; sigma'' = 0.
/// - leaky_relu: x for x > 0 else slope x (default slope 0.01); sigma' = 1 or slope.
/// - elu:        x for x > 0 else alpha (e^x - 1) (default alpha 1); sigma' = alpha e^x, sigma'' = alpha e^x for x <= 0.
/// - tanh:       sigma' = 1 - y^2, sigma'' = -2 y (1 - y^2).
/// - sigmoid:    y = 1 / (1 + e^-x); sigma' = y (1 - y), sigma'' = y (1 - y)(1 - 2y).
/// - softplus:   log(1 + e^(beta x)) / beta (default beta 1), and x where beta x > 20 (PyTorch's
///               threshold); sigma' = s = sigmoid(beta x), sigma'' = beta s (1 - s) (1 and 0 in the
///               linear region).
/// - silu:       x s, s = sigmoid(x); sigma' = s (1 + x (1 - s)), sigma'' = s (1 - s)(2 + x (1 - 2s)).
/// - gelu:       exact form x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2; sigma' = Phi + x phi,
///               sigma'' = phi (2 - x^2), phi(x) = e^(-x^2/2) / sqrt(2 pi).
public enum Activation: Equatable {
    case relu
    case leakyReLU(slope: Double)
    case elu(alpha: Double)
    case tanh
    case sigmoid
    case softplus(beta: Double)
    case silu
    case gelu

    /// PyTorch's softplus threshold: beta x above it is treated as linear.
    public static let softplusThreshold = 20.0

    /// The op name of model files.
    public var op: String {
        switch self {
        case .relu: return "relu"
        case .leakyReLU: return "leaky_relu"
        case .elu: return "elu"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .softplus: return "softplus"
        case .silu: return "silu"
        case .gelu: return "gelu"
        }
    }

    /// y[i] = sigma(x[i]) for i < count.
    func apply(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int) {
        switch self {
        case .relu:
            for i in 0..<count { y[i] = x[i] > 0 ? x[i] : 0 }
        case .leakyReLU(let slope):
            for i in 0..<count { y[i] = x[i] > 0 ? x[i] : slope * x[i] }
        case .elu(let alpha):
            for i in 0..<count { y[i] = x[i] > 0 ? x[i] : alpha * Foundation.expm1(x[i]) }
        case .tanh:
            for i in 0..<count { y[i] = Foundation.tanh(x[i]) }
        case .sigmoid:
            for i in 0..<count { y[i] = logistic(x[i]) }
        case .softplus(let beta):
            for i in 0..<count {
                let bx = beta * x[i]
                y[i] = bx > Activation.softplusThreshold ? x[i] : Foundation.log1p(Foundation.exp(bx)) / beta
            }
        case .silu:
            for i in 0..<count { y[i] = x[i] * logistic(x[i]) }
        case .gelu:
            for i in 0..<count { y[i] = x[i] * 0.5 * (1 + Foundation.erf(x[i] * 0.5.squareRoot())) }
        }
    }

    /// d1[i] = sigma'(x[i]), from the output y = sigma(x) where that is cheaper (tanh: 1 - y^2,
    /// sigmoid: y (1 - y)), else from the input x. Used by reverse mode, which saved both.
    func firstDerivative(input x: UnsafePointer<Double>, output y: UnsafePointer<Double>, count: Int,
                         into d1: UnsafeMutablePointer<Double>) {
        switch self {
        case .tanh:
            for i in 0..<count { d1[i] = 1 - y[i] * y[i] }
        case .sigmoid:
            for i in 0..<count { d1[i] = y[i] * (1 - y[i]) }
        default:
            derivatives(x, count: count, first: d1, second: nil)
        }
    }

    /// d1[i] = sigma'(x[i]) and, when d2 is given, d2[i] = sigma''(x[i]).
    func derivatives(_ x: UnsafePointer<Double>, count: Int, first d1: UnsafeMutablePointer<Double>,
                     second d2: UnsafeMutablePointer<Double>?) {
        switch self {
        case .relu:
            for i in 0..<count { d1[i] = x[i] > 0 ? 1 : 0 }
            d2?.update(repeating: 0, count: count)
        case .leakyReLU(let slope):
            for i in 0..<count { d1[i] = x[i] > 0 ? 1 : slope }
            d2?.update(repeating: 0, count: count)
        case .elu(let alpha):
            for i in 0..<count { d1[i] = x[i] > 0 ? 1 : alpha * Foundation.exp(x[i]) }
            if let d2 = d2 { for i in 0..<count { d2[i] = x[i] > 0 ? 0 : alpha * Foundation.exp(x[i]) } }
        case .tanh:
            for i in 0..<count {
                let y = Foundation.tanh(x[i]), s = 1 - y * y
                d1[i] = s
                d2?[i] = -2 * y * s
            }
        case .sigmoid:
            for i in 0..<count {
                let y = logistic(x[i]), s = y * (1 - y)
                d1[i] = s
                d2?[i] = s * (1 - 2 * y)
            }
        case .softplus(let beta):
            for i in 0..<count {
                if beta * x[i] > Activation.softplusThreshold {
                    d1[i] = 1; d2?[i] = 0
                } else {
                    let s = logistic(beta * x[i])
                    d1[i] = s; d2?[i] = beta * s * (1 - s)
                }
            }
        case .silu:
            for i in 0..<count {
                let s = logistic(x[i]), xi = x[i]
                d1[i] = s * (1 + xi * (1 - s))
                d2?[i] = s * (1 - s) * (2 + xi * (1 - 2 * s))
            }
        case .gelu:
            let invSqrt2 = 0.5.squareRoot(), invSqrt2Pi = 1 / (2 * Double.pi).squareRoot()
            for i in 0..<count {
                let xi = x[i]
                let cdf = 0.5 * (1 + Foundation.erf(xi * invSqrt2)), pdf = invSqrt2Pi * Foundation.exp(-0.5 * xi * xi)
                d1[i] = cdf + xi * pdf
                d2?[i] = pdf * (2 - xi * xi)
            }
        }
    }
}

/// The logistic function 1 / (1 + e^-x), evaluated without overflow for either sign.
@inline(__always) func logistic(_ x: Double) -> Double {
    if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
    let e = Foundation.exp(x)
    return e / (1 + e)
}
