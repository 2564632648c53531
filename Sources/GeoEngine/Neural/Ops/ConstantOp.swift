/// A constant tensor as a value of the graph: an op with no inputs whose output, the same for
/// every point, carries no derivative. It stands where a constant meets an op that takes its
/// operands as values (a Concat of a variable and a constant, say).
final class ConstantOp: Op {
    let value: Tensor
    var op: String { "Constant" }
    var inputShapes: [[Int]] { [] }
    var outputShapes: [[Int]] { [value.shape] }
    var differentiableOutputs: [Bool] { [false] }

    init(_ value: Tensor) { self.value = value }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        var out = [Double](); out.reserveCapacity(layout.points * value.count)
        for _ in 0..<layout.points { out.append(contentsOf: value.scalars) }
        return [Matrix(rows: layout.points, cols: value.count, unchecked: out)]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] { [] }
}

/// An op seen with other per-point shapes: the same data in the same row-major order (a
/// Reshape's view), e.g. a conv layer written for [C, H, W] applied to ONNX's [1, C, H, W].
final class ShapedOp: Op {
    let base: Op
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    var op: String { base.op }
    var differentiableOutputs: [Bool] { base.differentiableOutputs }
    var scratchPerRow: Int { base.scratchPerRow }

    /// `base` with its inputs and outputs relabelled; each new shape must have the element count
    /// of the old one.
    init(_ base: Op, inputShapes: [[Int]], outputShapes: [[Int]]) throws {
        guard inputShapes.count == base.inputShapes.count, outputShapes.count == base.outputShapes.count,
              zip(inputShapes, base.inputShapes).allSatisfy({ Tensor.elementCount($0) == Tensor.elementCount($1) }),
              zip(outputShapes, base.outputShapes).allSatisfy({ Tensor.elementCount($0) == Tensor.elementCount($1) }) else {
            throw GeoError.format("\(base.op): cannot view shapes \(base.inputShapes.map(shapeString)) -> \(base.outputShapes.map(shapeString)) as \(inputShapes.map(shapeString)) -> \(outputShapes.map(shapeString))")
        }
        self.base = base; self.inputShapes = inputShapes; self.outputShapes = outputShapes
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        try base.forward(&inputs, layout)
    }
    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        try base.backward(inputs: inputs, outputs: outputs, cotangents: cotangents, layout)
    }
}
