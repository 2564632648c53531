/// The layer objects of `georepl.decoder` / `georepl.encoder` (SPEC "Model files") to and from
/// `LayerSpec`. Tensor-valued keys name tensors of the file; stride, padding and output_padding
/// are [h, w] or one integer for both. Defaults: stride [1,1], padding [0,0],
/// output_padding [0,0], eps 1e-5, leaky_relu slope 0.01, elu alpha 1, softplus beta 1; bias
/// (and batchnorm's weight and bias) may be absent. Unknown keys are errors.
enum LayerJSON {
    /// The keys each op accepts besides "op".
    static let allowedKeys: [String: Set<String>] = [
        "linear": ["weight", "bias"],
        "conv2d": ["weight", "bias", "stride", "padding"],
        "conv_transpose2d": ["weight", "bias", "stride", "padding", "output_padding"],
        "batchnorm": ["weight", "bias", "mean", "var", "eps"],
        "reshape": ["shape"], "flatten": [],
        "relu": [], "leaky_relu": ["slope"], "elu": ["alpha"], "tanh": [], "sigmoid": [],
        "softplus": ["beta"], "silu": [], "gelu": [],
    ]

    /// Parses one layer object. `tensors` are the file's tensors; returns the spec and the
    /// role -> tensor-name map for messages. Errors are `GeoError.format` messages without the
    /// "decoder layer i (op)" prefix, which the caller adds.
    static func parse(_ json: JSONValue, tensors: [String: Tensor]) throws -> (spec: LayerSpec, names: [String: String]) {
        guard case .object(let pairs) = json else { throw GeoError.format("layer is \(json.kindName), expected an object") }
        guard let op = json["op"]?.stringValue else { throw GeoError.format("layer has no \"op\" string") }
        guard let allowed = allowedKeys[op] else {
            throw GeoError.format("unknown op '\(untrusted: op)' (known: \(allowedKeys.keys.sorted().joined(separator: ", ")))")
        }
        for (k, _) in pairs where k != "op" && !allowed.contains(k) {
            throw GeoError.format("unknown key '\(untrusted: k)'")
        }
        var names: [String: String] = [:]
        func tensor(_ role: String, required: Bool) throws -> Tensor? {
            guard let v = json[role], v != .null else {
                if required { throw GeoError.format("missing tensor key '\(untrusted: role)'") }
                return nil
            }
            guard let name = v.stringValue else { throw GeoError.format("'\(untrusted: role)' is \(v.kindName), expected a tensor name") }
            guard let t = tensors[name] else { throw GeoError.format("tensor '\(untrusted: name)' (\(role)) is not in the file") }
            names[role] = name
            return t
        }
        func pair(_ key: String, _ def: Int) throws -> Size2D {
            guard let v = json[key] else { return Size2D(def) }
            if let i = v.intValue { return Size2D(i) }
            guard let a = v.arrayValue, a.count == 2, let h = a[0].intValue, let w = a[1].intValue else {
                throw GeoError.format("'\(untrusted: key)' must be [h, w] or an integer")
            }
            return Size2D(h, w)
        }
        func number(_ key: String, _ def: Double) throws -> Double {
            guard let v = json[key] else { return def }
            guard let d = v.doubleValue else { throw GeoError.format("'\(untrusted: key)' is \(v.kindName), expected a finite number") }
            return d
        }
        let spec: LayerSpec
        switch op {
        case "linear":
            spec = .linear(weight: try tensor("weight", required: true) ?? Tensor(shape: [0], unchecked: []),
                           bias: try tensor("bias", required: false))
        case "conv2d":
            spec = .conv2d(weight: try tensor("weight", required: true) ?? Tensor(shape: [0], unchecked: []),
                           bias: try tensor("bias", required: false), stride: try pair("stride", 1), padding: try pair("padding", 0))
        case "conv_transpose2d":
            spec = .convTranspose2d(weight: try tensor("weight", required: true) ?? Tensor(shape: [0], unchecked: []),
                                    bias: try tensor("bias", required: false), stride: try pair("stride", 1),
                                    padding: try pair("padding", 0), outputPadding: try pair("output_padding", 0))
        case "batchnorm":
            let w = try tensor("weight", required: false), b = try tensor("bias", required: false)
            let m = try tensor("mean", required: true) ?? Tensor(shape: [0], unchecked: [])
            let v = try tensor("var", required: true) ?? Tensor(shape: [0], unchecked: [])
            spec = .batchNorm(weight: w, bias: b, mean: m, variance: v, eps: try number("eps", 1e-5))
        case "reshape":
            guard let a = json["shape"]?.arrayValue else { throw GeoError.format("'shape' must be an array of sizes") }
            var shape: [Int] = []
            for s in a {
                guard let i = s.intValue else { throw GeoError.format("'shape' must be an array of integers") }
                shape.append(i)
            }
            spec = .reshape(shape)
        case "flatten": spec = .flatten
        case "relu": spec = .activation(.relu)
        case "leaky_relu": spec = .activation(.leakyReLU(slope: try number("slope", 0.01)))
        case "elu": spec = .activation(.elu(alpha: try number("alpha", 1)))
        case "tanh": spec = .activation(.tanh)
        case "sigmoid": spec = .activation(.sigmoid)
        case "softplus":
            let beta = try number("beta", 1)
            guard beta > 0 else { throw GeoError.format("'beta' must be positive, got \(beta)") }
            spec = .activation(.softplus(beta: beta))
        case "silu": spec = .activation(.silu)
        default: spec = .activation(.gelu)   // "gelu": the table above holds no other op
        }
        return (spec, names)
    }

    /// The layer object for a spec, naming its tensors `prefix.role` and appending them to
    /// `tensors`. Hyper-parameters are always written out (no reliance on defaults). Throws
    /// `GeoError.invalidArgument` for a convolution with settings model files do not have
    /// (groups, dilation, asymmetric padding).
    static func object(_ spec: LayerSpec, prefix: String, tensors: inout [(name: String, tensor: Tensor)]) throws -> JSONValue {
        var pairs: [(key: String, value: JSONValue)] = [("op", .string(spec.op))]
        func add(_ role: String, _ t: Tensor?) {
            guard let t = t else { return }
            let name = "\(prefix).\(role)"
            tensors.append((name, t))
            pairs.append((role, .string(name)))
        }
        func pair(_ key: String, _ s: Size2D) { pairs.append((key, .array([.int(s.h), .int(s.w)]))) }
        switch spec {
        case .linear(let w, let b):
            add("weight", w); add("bias", b)
        case .conv2d(let w, let b, let s, let p, let options):
            try requireModelFileForm(options, padding: p, spec.op, prefix)
            add("weight", w); add("bias", b); pair("stride", s); pair("padding", p)
        case .convTranspose2d(let w, let b, let s, let p, let op, let options):
            try requireModelFileForm(options, padding: p, spec.op, prefix)
            add("weight", w); add("bias", b); pair("stride", s); pair("padding", p); pair("output_padding", op)
        case .batchNorm(let w, let b, let m, let v, let eps):
            add("weight", w); add("bias", b); add("mean", m); add("var", v)
            pairs.append(("eps", .double(eps)))
        case .reshape(let shape):
            pairs.append(("shape", .array(shape.map { .int($0) })))
        case .flatten:
            break
        case .activation(let a):
            switch a {
            case .leakyReLU(let slope): pairs.append(("slope", .double(slope)))
            case .elu(let alpha): pairs.append(("alpha", .double(alpha)))
            case .softplus(let beta): pairs.append(("beta", .double(beta)))
            default: break
            }
        }
        return .object(pairs)
    }

    /// Model files' conv2d and conv_transpose2d have stride, symmetric padding and
    /// output_padding only: other settings cannot be written.
    private static func requireModelFileForm(_ options: ConvOptions, padding: Size2D, _ op: String, _ prefix: String) throws {
        let symmetric = ConvOptions(groups: options.groups, dilation: options.dilation,
                                    paddingEnd: options.paddingEnd == padding ? nil : options.paddingEnd)
        guard symmetric.isDefault else {
            throw GeoError.invalidArgument("layer \(prefix) (\(op)) has \(symmetric.summary), which model files cannot describe (their \(op) has stride and symmetric padding only)")
        }
    }
}
