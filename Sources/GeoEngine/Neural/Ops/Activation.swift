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
/// The functions of ONNX's elementwise ops (no model-file name; `op` is the ONNX op):
/// - geluTanh:   x (1 + tanh u) / 2, u = sqrt(2/pi) (x + 0.044715 x^3) (Gelu approximate="tanh").
/// - selu:       gamma x for x > 0 else gamma alpha (e^x - 1).  - celu: x for x > 0 else alpha (e^(x/alpha) - 1).
/// - hardSigmoid: max(0, min(1, alpha x + beta)).  - hardSwish: x max(0, min(1, x/6 + 1/2)).
/// - softsign:   x / (1 + |x|).  - mish: x tanh(softplus(x)), softplus without threshold.
/// - softplusExact: log(1 + e^x) for every x (ONNX's Softplus; torch's threshold is a Where).
/// - erf, exp, log, sqrt, reciprocal (1/x), neg (-x), abs, pow(p) (x^p, a constant exponent),
///   clip(lo, hi) (derivative 1 for lo <= x <= hi, as torch's), identity.
/// Kinks (relu at 0, clip at its bounds, ...) take the one-sided derivative torch takes.
public enum Activation: Equatable {
    case relu
    case leakyReLU(slope: Double)
    case elu(alpha: Double)
    case tanh
    case sigmoid
    case softplus(beta: Double)
    case silu
    case gelu
    case geluTanh
    case selu(alpha: Double, gamma: Double)
    case celu(alpha: Double)
    case hardSigmoid(alpha: Double, beta: Double)
    case hardSwish
    case softsign
    case mish
    case softplusExact
    case erf, exp, log, sqrt, reciprocal, neg, abs, identity
    case pow(Double)
    case clip(lo: Double, hi: Double)

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
        case .geluTanh: return "Gelu(tanh)"
        case .selu: return "Selu"
        case .celu: return "Celu"
        case .hardSigmoid: return "HardSigmoid"
        case .hardSwish: return "HardSwish"
        case .softsign: return "Softsign"
        case .mish: return "Mish"
        case .softplusExact: return "Softplus"
        case .erf: return "Erf"
        case .exp: return "Exp"
        case .log: return "Log"
        case .sqrt: return "Sqrt"
        case .reciprocal: return "Reciprocal"
        case .neg: return "Neg"
        case .abs: return "Abs"
        case .identity: return "Identity"
        case .pow: return "Pow"
        case .clip: return "Clip"
        }
    }

    /// Whether the function has a name in SPEC's model files (the others come from ONNX only).
    public var isModelFileLayer: Bool {
        switch self {
        case .relu, .leakyReLU, .elu, .tanh, .sigmoid, .softplus, .silu, .gelu: return true
        default: return false
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
        default:
            for i in 0..<count { y[i] = value(x[i]) }
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
        default:
            for i in 0..<count {
                let (a, b) = derivatives(x[i])
                d1[i] = a
                d2?[i] = b
            }
        }
    }

    /// sigma(x) of the ONNX-only functions.
    func value(_ x: Double) -> Double {
        switch self {
        case .geluTanh:
            return 0.5 * x * (1 + Foundation.tanh(Activation.geluC * (x + 0.044715 * x * x * x)))
        case .selu(let alpha, let gamma): return x > 0 ? gamma * x : gamma * alpha * Foundation.expm1(x)
        case .celu(let alpha): return x > 0 ? x : alpha * Foundation.expm1(x / alpha)
        case .hardSigmoid(let alpha, let beta): return Swift.max(0, Swift.min(1, alpha * x + beta))
        case .hardSwish: return x * Swift.max(0, Swift.min(1, x / 6 + 0.5))
        case .softsign: return x / (1 + Swift.abs(x))
        case .mish: return x * Foundation.tanh(Activation.softplusStable(x))
        case .softplusExact: return Activation.softplusStable(x)
        case .erf: return Foundation.erf(x)
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .reciprocal: return 1 / x
        case .neg: return -x
        case .abs: return Swift.abs(x)
        case .identity: return x
        case .pow(let p): return Activation.power(x, p)
        case .clip(let lo, let hi): return Swift.min(Swift.max(x, lo), hi)
        default:
            var y = 0.0, xx = x
            apply(&xx, &y, count: 1)
            return y
        }
    }

    /// (sigma'(x), sigma''(x)) of the ONNX-only functions.
    func derivatives(_ x: Double) -> (Double, Double) {
        switch self {
        case .geluTanh:
            let c = Activation.geluC, k = 0.044715
            let u = c * (x + k * x * x * x), du = c * (1 + 3 * k * x * x), ddu = c * 6 * k * x
            let t = Foundation.tanh(u), s = 1 - t * t
            return (0.5 * (1 + t) + 0.5 * x * s * du, s * du + 0.5 * x * (-2 * t * s * du * du + s * ddu))
        case .selu(let alpha, let gamma):
            return x > 0 ? (gamma, 0) : (gamma * alpha * Foundation.exp(x), gamma * alpha * Foundation.exp(x))
        case .celu(let alpha):
            return x > 0 ? (1, 0) : (Foundation.exp(x / alpha), Foundation.exp(x / alpha) / alpha)
        case .hardSigmoid(let alpha, let beta):
            let a = alpha * x + beta
            return (a > 0 && a < 1 ? alpha : 0, 0)
        case .hardSwish:
            if x >= 3 { return (1, 0) }
            if x <= -3 { return (0, 0) }
            return ((2 * x + 3) / 6, 1.0 / 3)
        case .softsign:
            let q = 1 + Swift.abs(x)
            return (1 / (q * q), -2 * (x > 0 ? 1 : (x < 0 ? -1 : 0)) / (q * q * q))
        case .mish:
            let sp = Activation.softplusStable(x), t = Foundation.tanh(sp), s = logistic(x), r = 1 - t * t
            return (t + x * r * s, 2 * r * s + x * (-2 * t * r * s * s + r * s * (1 - s)))
        case .softplusExact:
            let s = logistic(x)
            return (s, s * (1 - s))
        case .erf:
            let d = 2 / Double.pi.squareRoot() * Foundation.exp(-x * x)
            return (d, -2 * x * d)
        case .exp:
            let e = Foundation.exp(x)
            return (e, e)
        case .log: return (1 / x, -1 / (x * x))
        case .sqrt:
            let r = x.squareRoot()
            return (0.5 / r, -0.25 / (r * x))
        case .reciprocal: return (-1 / (x * x), 2 / (x * x * x))
        case .neg: return (-1, 0)
        case .abs: return (x > 0 ? 1 : (x < 0 ? -1 : 0), 0)
        case .identity: return (1, 0)
        case .pow(let p): return (p * Activation.power(x, p - 1), p * (p - 1) * Activation.power(x, p - 2))
        case .clip(let lo, let hi): return (x >= lo && x <= hi ? 1 : 0, 0)
        default:
            var d1 = 0.0, d2 = 0.0, xx = x
            derivatives(&xx, count: 1, first: &d1, second: &d2)
            return (d1, d2)
        }
    }

    /// sqrt(2 / pi), the tanh approximation's constant.
    static let geluC = (2 / Double.pi).squareRoot()

    /// log(1 + e^x) without overflow or cancellation.
    static func softplusStable(_ x: Double) -> Double {
        x > 0 ? x + Foundation.log1p(Foundation.exp(-x)) : Foundation.log1p(Foundation.exp(x))
    }

    /// x^p, exact for integer exponents of negative bases.
    static func power(_ x: Double, _ p: Double) -> Double {
        if p == 0 { return 1 }
        if p == 1 { return x }
        if p == 2 { return x * x }
        if p == 3 { return x * x * x }
        return Foundation.pow(x, p)
    }
}

/// The logistic function 1 / (1 + e^-x), evaluated without overflow for either sign.
@inline(__always) func logistic(_ x: Double) -> Double {
    if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
    let e = Foundation.exp(x)
    return e / (1 + e)
}
