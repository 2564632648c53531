/// NumPy's (and ONNX's multidirectional) broadcasting of per-point shapes: shapes are aligned at
/// their last axes, and a size-1 axis (or a missing one) stretches to the other's size.
///
/// `Broadcast.map(from:to:)` gives, for every element of the result shape (row-major), the index
/// of the element of the operand that lands there, or nil when the operand has the result's
/// shape (the identity, the fast path of every elementwise kernel).
enum Broadcast {
    /// The broadcast shape of `shapes`, or nil when two sizes differ and neither is 1. The
    /// result can be far larger than every operand ([N, 1] and [1, N] give [N, N]): it must
    /// pass the rule for shapes (`Tensor.checkedCount`, `copies` arrays of its entries in the
    /// memory budget), or it is an error, before anything of its size is allocated.
    static func shape(_ shapes: [[Int]], copies: Int = 1) throws -> [Int]? {
        let rank = shapes.map(\.count).max() ?? 0
        var out = [Int](repeating: 1, count: rank)
        for s in shapes {
            for (k, size) in s.enumerated() {
                let axis = rank - s.count + k
                if out[axis] == 1 { out[axis] = size } else if size != 1 && size != out[axis] { return nil }
            }
        }
        try Tensor.checkedCount(out, copies: copies, "the broadcast of \(shapesString(shapes))")
        return out
    }

    /// For each element of `result` (row-major), the index of the element of an operand of shape
    /// `operand` that broadcasting puts there; nil for the identity. `operand` must broadcast to
    /// `result`.
    static func map(from operand: [Int], to result: [Int]) -> [Int]? {
        if operand == result { return nil }
        let rank = result.count
        let padded = [Int](repeating: 1, count: rank - operand.count) + operand
        // Strides of the operand, 0 along broadcast axes.
        var strides = [Int](repeating: 0, count: rank), s = 1
        for k in stride(from: rank - 1, through: 0, by: -1) {
            strides[k] = padded[k] == 1 ? 0 : s
            s *= padded[k]
        }
        let count = result.reduce(1, *)
        var out = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank), offset = 0
        for e in 0..<count {
            out[e] = offset
            var k = rank - 1
            while k >= 0 {
                index[k] += 1
                offset += strides[k]
                if index[k] < result[k] { break }
                offset -= strides[k] * index[k]
                index[k] = 0
                k -= 1
            }
        }
        return out
    }

    /// `values` (of shape `operand`) broadcast to `result`, as a flat array.
    static func expand(_ values: [Double], from operand: [Int], to result: [Int]) -> [Double] {
        guard let m = map(from: operand, to: result) else { return values }
        return m.map { values[$0] }
    }

    /// A normalised axis in 0..<rank for ONNX's axis convention (negative counts from the end),
    /// or nil when out of range.
    static func axis(_ a: Int, rank: Int) -> Int? {
        let r = a < 0 ? a + rank : a
        return (0..<max(rank, 1)).contains(r) ? r : nil
    }
}
