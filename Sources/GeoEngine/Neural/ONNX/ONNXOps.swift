/// The ONNX ops georepl reads: op type -> builder. A builder checks the node's attributes and
/// inputs and emits georepl ops (`ONNXNode.emit`) for it, or binds its outputs to constants;
/// every unsupported attribute value or input is an error that says what is supported.
enum ONNXOps {
    typealias Builder = (ONNXNode) throws -> Void

    static let builders: [String: Builder] = {
        var b: [String: Builder] = [:]
        for family in [ONNXElementwise.builders, ONNXArithmetic.builders, ONNXStructure.builders, ONNXLinear.builders,
                       ONNXShapes.builders, ONNXNormalization.builders] {
            b.merge(family) { first, _ in first }
        }
        return b
    }()

    /// The supported op types, sorted (for messages); not the builders that others delegate to,
    /// named with parentheses ("MatMul(values)").
    static var supported: [String] { builders.keys.filter { !$0.contains("(") }.sorted() }
}
