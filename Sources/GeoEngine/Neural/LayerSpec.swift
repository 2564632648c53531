/// A layer as described in a model file or by code, without the input shape: `build` binds it
/// to the shape of the incoming points (shape inference). Tensors use PyTorch's layouts (see the
/// layer classes). Defaults: stride [1,1], padding [0,0], output_padding [0,0], eps 1e-5, and
/// the convolutions' `options` (groups, dilation, bottom/right padding) those of model files.
public enum LayerSpec {
    /// `linear`: weight [out, in], bias [out] or nil.
    case linear(weight: Tensor, bias: Tensor?)
    /// `conv2d`: weight [out, in/groups, kh, kw], bias [out] or nil.
    case conv2d(weight: Tensor, bias: Tensor?, stride: Size2D, padding: Size2D, options: ConvOptions = ConvOptions())
    /// `conv_transpose2d`: weight [in, out/groups, kh, kw], bias [out] or nil.
    case convTranspose2d(weight: Tensor, bias: Tensor?, stride: Size2D, padding: Size2D, outputPadding: Size2D,
                         options: ConvOptions = ConvOptions())
    /// `batchnorm` (inference form): weight, bias, mean, var [C] (weight/bias nil: 1 and 0).
    case batchNorm(weight: Tensor?, bias: Tensor?, mean: Tensor, variance: Tensor, eps: Double)
    /// `reshape` to the given shape (one entry may be -1).
    case reshape([Int])
    /// `flatten` to one dimension.
    case flatten
    /// An elementwise nonlinearity.
    case activation(Activation)

    /// The op name of model files.
    public var op: String {
        switch self {
        case .linear: return "linear"
        case .conv2d: return "conv2d"
        case .convTranspose2d: return "conv_transpose2d"
        case .batchNorm: return "batchnorm"
        case .reshape: return "reshape"
        case .flatten: return "flatten"
        case .activation(let a): return a.op
        }
    }

    /// The layer for incoming points of `inputShape`. Throws `GeoError.format` when a tensor
    /// does not fit; `names` maps roles ("weight", "bias", "mean", "var") to tensor names used
    /// in the message.
    public func build(inputShape: [Int], names: [String: String] = [:]) throws -> Layer {
        switch self {
        case .linear(let w, let b):
            return try Linear(inputShape: inputShape, weight: w, bias: b, names: names)
        case .conv2d(let w, let b, let s, let p, let options):
            return try Conv2D(inputShape: inputShape, weight: w, bias: b, stride: s, padding: p, options: options, names: names)
        case .convTranspose2d(let w, let b, let s, let p, let op, let options):
            return try ConvTranspose2D(inputShape: inputShape, weight: w, bias: b, stride: s, padding: p,
                                       outputPadding: op, options: options, names: names)
        case .batchNorm(let w, let b, let m, let v, let eps):
            return try BatchNorm(inputShape: inputShape, weight: w, bias: b, mean: m, variance: v, eps: eps, names: names)
        case .reshape(let shape):
            return try Reshape(inputShape: inputShape, shape: shape)
        case .flatten:
            return Reshape(flattening: inputShape)
        case .activation(let a):
            return ActivationLayer(a, inputShape: inputShape)
        }
    }
}
