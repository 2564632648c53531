/// A layer whose trainable parameters are a weight and an optional bias (linear, conv2d,
/// conv_transpose2d): their names, order and checked replacement, in one place.
protocol WeightedLayer: Layer {
    var weight: Tensor { get }
    var bias: Tensor? { get }
    /// Stores new parameters (already checked against the old shapes).
    func assign(weight: Tensor, bias: Tensor?)
}

extension WeightedLayer {
    public var parameterNames: [String] { bias == nil ? ["weight"] : ["weight", "bias"] }
    public var parameters: [Tensor] { bias.map { [weight, $0] } ?? [weight] }

    /// Replaces weight (and bias) with tensors of the same shapes, in `parameters`' order.
    public func setParameters(_ values: [Tensor]) throws {
        guard values.count == parameters.count else {
            throw GeoError.dimensionMismatch("\(op) has \(parameters.count) parameters, got \(values.count)")
        }
        try expectShape(values[0], weight.shape, "weight", [:])
        if let b = bias { try expectShape(values[1], b.shape, "bias", [:]) }
        assign(weight: values[0], bias: bias == nil ? nil : values[1])
    }
}
