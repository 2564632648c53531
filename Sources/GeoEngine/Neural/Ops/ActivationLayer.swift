/// An elementwise layer y = sigma(x) for one of the `Activation`s (relu, leaky_relu, elu, tanh,
/// sigmoid, softplus, silu, gelu). Forward mode scales each derivative row by sigma'(x) of its
/// point; second order carries w' = sigma''(x) u v + sigma'(x) w. Reverse mode: c' = sigma'(x) c,
/// with x the saved layer input. Both work in place on the state.
public final class ActivationLayer: Layer {
    public let activation: Activation
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public var op: String { activation.op }

    public init(_ activation: Activation, inputShape: [Int]) {
        self.activation = activation; self.inputShape = inputShape
    }

    public var spec: LayerSpec { .activation(activation) }

    public func forwardMode(inPlace state: inout Matrix, layout: ForwardModeLayout) throws {
        try checkState(state, layout)
        let f = state.cols, n = layout.points, k = layout.tangentsPerPoint, block = layout.blockRows
        if state.rows == 0 || f == 0 { return }
        let valueCount = n * f
        var d1 = [Double](repeating: 0, count: layout.order == .value ? 0 : valueCount)
        var d2 = [Double](repeating: 0, count: layout.order == .second ? valueCount : 0)
        state.scalars.withUnsafeMutableBufferPointer { ps in
            d1.withUnsafeMutableBufferPointer { p1 in
                d2.withUnsafeMutableBufferPointer { p2 in
                    guard let s = ps.baseAddress else { return }
                    // Derivatives from the value rows x, then x is overwritten by sigma(x).
                    // (An empty array's buffer may still have a base address: d2 only for second order.)
                    let a1 = layout.order == .value ? nil : p1.baseAddress
                    let a2 = layout.order == .second ? p2.baseAddress : nil
                    let activation = activation
                    Parallel.forRanges(valueCount, costPerItem: 8) { range in
                        let x = s + range.lowerBound
                        if let a1 = a1 {
                            activation.derivatives(x, count: range.count, first: a1 + range.lowerBound, second: a2.map { $0 + range.lowerBound })
                        }
                        activation.apply(x, x, count: range.count)
                    }
                    guard let g = a1 else { return }
                    Parallel.forRanges(n, costPerItem: k * f * (a2 == nil ? 1 : 3)) { pointRange in
                        for p in pointRange {
                            let g1 = g + p * f
                            for j in 0..<k {
                                let u = s + (n + p * k + j) * f
                                if let a2 = a2 {
                                    let g2 = a2 + p * f, v = u + block * f, w = v + block * f
                                    for q in 0..<f {
                                        w[q] = g2[q] * u[q] * v[q] + g1[q] * w[q]
                                        u[q] *= g1[q]
                                        v[q] *= g1[q]
                                    }
                                } else {
                                    for q in 0..<f { u[q] *= g1[q] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// c = sigma'(x) c on every cotangent row; for the tangents of cotangents (one cotangent c
    /// per point, k tangents t of x) c' = sigma'(x) c' + sigma''(x) t c.
    public func backward(input: Matrix, output: Matrix, inPlace cotangents: inout Matrix, layout: ReverseLayout) throws {
        try checkBackward(input: input, output: output, cotangents: cotangents, layout: layout)
        let f = inputFeatures, n = layout.points, kc = layout.cotangentsPerPoint, k = layout.tangentsPerPoint
        if cotangents.rows == 0 || f == 0 || n == 0 { return }
        var d1 = [Double](repeating: 0, count: n * f)
        var d2 = [Double](repeating: 0, count: k > 0 ? n * f : 0)
        let activation = activation
        try withBase(input.scalars) { x in
            try withBase(output.scalars) { y in
                cotangents.scalars.withUnsafeMutableBufferPointer { pc in
                    d1.withUnsafeMutableBufferPointer { p1 in
                        d2.withUnsafeMutableBufferPointer { p2 in
                            guard let c = pc.baseAddress, let a1 = p1.baseAddress else { return }
                            let a2 = k > 0 ? p2.baseAddress : nil
                            Parallel.forRanges(n, costPerItem: f * (8 + kc + 3 * k)) { pointRange in
                                let start = pointRange.lowerBound * f
                                if let a2 = a2 {
                                    activation.derivatives(x + start, count: pointRange.count * f, first: a1 + start, second: a2 + start)
                                } else {
                                    activation.firstDerivative(input: x + start, output: y + start, count: pointRange.count * f,
                                                               into: a1 + start)
                                }
                                for p in pointRange {
                                    let g1 = a1 + p * f
                                    if let a2 = a2 {
                                        // The tangents of the cotangents first, while the cotangent row is still c_y.
                                        let g2 = a2 + p * f, cy = c + p * f
                                        for j in 0..<k {
                                            let ct = c + (n + p * k + j) * f, t = x + (n + p * k + j) * f
                                            for q in 0..<f { ct[q] = g1[q] * ct[q] + g2[q] * t[q] * cy[q] }
                                        }
                                    }
                                    for j in 0..<kc {
                                        let row = c + (p * kc + j) * f
                                        for q in 0..<f { row[q] *= g1[q] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
