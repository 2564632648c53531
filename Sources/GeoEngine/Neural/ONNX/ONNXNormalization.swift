/// Builders of ONNX's normalisations, softmax, attention products and PRelu: Softmax,
/// LayerNormalization, InstanceNormalization, GroupNormalization, MatMul of two computed values,
/// PRelu.
enum ONNXNormalization {
    static let builders: [String: ONNXOps.Builder] = [:]
}
