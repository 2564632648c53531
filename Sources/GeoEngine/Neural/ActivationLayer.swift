/// An elementwise layer y = sigma(x) for one of the `Activation`s (relu, leaky_relu, elu, tanh,
/// sigmoid, softplus, silu, gelu). Forward mode scales each derivative row by sigma'(x) of its
/// point; second order carries w' = sigma''(x) u v + sigma'(x) w. Reverse mode: c' = sigma'(x) c,
/// with x the saved layer input.
public final class ActivationLayer: Layer {
    public let activation: Activation
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public var op: String { activation.op }

    public init(_ activation: Activation, inputShape: [Int]) {
        self.activation = activation; self.inputShape = inputShape
    }

    public var spec: LayerSpec { .activation(activation) }

    public func forwardMode(_ state: Matrix, layout: ForwardModeLayout) throws -> Matrix {
        try checkState(state, layout)
        let f = state.cols, n = layout.points, k = layout.tangentsPerPoint, block = layout.blockRows
        var out = Matrix(rows: state.rows, cols: f)
        if state.rows == 0 || f == 0 { return out }
        let valueCount = n * f
        var d1 = [Double](repeating: 0, count: layout.order == .value ? 0 : valueCount)
        var d2 = [Double](repeating: 0, count: layout.order == .second ? valueCount : 0)
        state.scalars.withUnsafeBufferPointer { ps in
            out.scalars.withUnsafeMutableBufferPointer { po in
                d1.withUnsafeMutableBufferPointer { p1 in
                    d2.withUnsafeMutableBufferPointer { p2 in
                        guard let s = ps.baseAddress, let o = po.baseAddress else { return }
                        activation.apply(s, o, count: valueCount)
                        guard layout.order != .value, let a1 = p1.baseAddress else { return }
                        // An empty array's buffer may still have a base address: pass d2 only for second order.
                        activation.derivatives(s, count: valueCount, first: a1,
                                               second: layout.order == .second ? p2.baseAddress : nil)
                        for p in 0..<n {
                            let g1 = a1 + p * f
                            for j in 0..<k {
                                let row = n + p * k + j
                                if layout.order == .first {
                                    scale(s + row * f, by: g1, into: o + row * f, count: f)
                                } else if let a2 = p2.baseAddress {
                                    let g2 = a2 + p * f
                                    let u = s + row * f, v = u + block * f, w = v + block * f
                                    let ou = o + row * f, ov = ou + block * f, ow = ov + block * f
                                    for q in 0..<f {
                                        ow[q] = g2[q] * u[q] * v[q] + g1[q] * w[q]
                                        ou[q] = g1[q] * u[q]
                                        ov[q] = g1[q] * v[q]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    public func backward(input: Matrix, output: Matrix, cotangents: Matrix) throws -> Matrix {
        let k = try checkBackward(input: input, output: output, cotangents: cotangents)
        let f = input.cols, n = input.rows
        var out = Matrix(rows: cotangents.rows, cols: f)
        if out.rows == 0 || f == 0 { return out }
        var d1 = [Double](repeating: 0, count: n * f)
        input.scalars.withUnsafeBufferPointer { px in
            cotangents.scalars.withUnsafeBufferPointer { pc in
                out.scalars.withUnsafeMutableBufferPointer { po in
                    d1.withUnsafeMutableBufferPointer { p1 in
                        guard let x = px.baseAddress, let c = pc.baseAddress, let o = po.baseAddress,
                              let a1 = p1.baseAddress else { return }
                        activation.derivatives(x, count: n * f, first: a1, second: nil)
                        for p in 0..<n {
                            for j in 0..<k {
                                let row = p * k + j
                                scale(c + row * f, by: a1 + p * f, into: o + row * f, count: f)
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// o[i] = a[i] * s[i] for i < count.
@inline(__always) func scale(_ a: UnsafePointer<Double>, by s: UnsafePointer<Double>,
                             into o: UnsafeMutablePointer<Double>, count: Int) {
    for i in 0..<count { o[i] = a[i] * s[i] }
}
