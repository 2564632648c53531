/// y = x[offset ..< offset + count] (flattened), as a value of shape `shape`: a contiguous part
/// of a value. Linear: derivative rows are cut the same way; reverse mode puts the cotangent
/// back in its place, zeros elsewhere. It splits one latent vector into several graph inputs.
final class SelectRange: Op {
    var op: String { "SelectRange" }
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    let offset: Int, count: Int

    init(inputShape: [Int], offset: Int, shape: [Int]) throws {
        let total = inputShape.reduce(1, *), c = shape.reduce(1, *)
        guard offset >= 0, c >= 0, offset + c <= total else {
            throw GeoError.format("range \(offset) ..< \(offset + c) is outside a value of \(total) entries")
        }
        inputShapes = [inputShape]; outputShapes = [shape]; self.offset = offset; count = c
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let x = inputs[0], f = x.cols
        var out = [Double](); out.reserveCapacity(x.rows * count)
        for r in 0..<x.rows { out.append(contentsOf: x.scalars[(r * f + offset)..<(r * f + offset + count)]) }
        return [Matrix(rows: x.rows, cols: count, unchecked: out)]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        let c = cotangents[0], f = inputFeatures(0)
        var x = Matrix(rows: c.rows, cols: f)
        for r in 0..<c.rows { for i in 0..<count { x.scalars[r * f + offset + i] = c.scalars[r * count + i] } }
        return [x]
    }
}
