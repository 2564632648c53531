/// A layer y = A x + b (linear, conv2d, conv_transpose2d, batchnorm, reshape, flatten). Forward
/// mode applies A to every row of the state and adds b to the value rows only (tangents and
/// second derivatives are pushed by the linear part: t' = A t, w' = A w); reverse mode is
/// c' = A^T c on every row, the tangents of cotangents included (a linear map has no
/// second-order term).
public protocol AffineLayer: Layer {
    /// A x for every row of `x`, plus b on the first `biasRows` rows.
    func applyLinear(_ x: Matrix, biasRows: Int) throws -> Matrix
    /// A^T c for every row of `c` ([rows, outputFeatures] -> [rows, inputFeatures]).
    func applyTransposed(_ c: Matrix) throws -> Matrix
}

extension AffineLayer {
    public func forwardMode(inPlace state: inout Matrix, layout: ForwardModeLayout) throws {
        try checkState(state, layout)
        state = try applyLinear(state, biasRows: layout.points)
    }

    public func backward(input: Matrix, output: Matrix, inPlace cotangents: inout Matrix, layout: ReverseLayout) throws {
        try checkBackward(input: input, output: output, cotangents: cotangents, layout: layout)
        cotangents = try applyTransposed(cotangents)
    }
}
