/// y = a < b, a == b, ..., a && b, !a: ONNX's comparisons (Greater, Less, Equal, GreaterOrEqual,
/// LessOrEqual) and logical ops (And, Or, Xor, Not) of values broadcast to one shape (NumPy
/// rules), as 0/1 entries (a logical op reads an entry as true when it is not 0).
///
/// Derivatives: none. The output is piecewise constant in its inputs, so its derivative is 0
/// wherever it is defined; it carries no derivative (`differentiableOutputs` false) and travels
/// as its n value rows alone, read from the inputs' value rows. What a result selects (Where's
/// condition, a mask's product) carries the derivatives of the selected values. Reverse mode,
/// which the evaluator never asks of an output without derivatives, would return zeros.
final class ComparisonOp: Op {
    enum Kind: String, CaseIterable {
        case greater = "Greater", less = "Less", equal = "Equal", greaterOrEqual = "GreaterOrEqual",
             lessOrEqual = "LessOrEqual", and = "And", or = "Or", xor = "Xor", not = "Not"

        func apply(_ a: Double, _ b: Double) -> Bool {
            switch self {
            case .greater: return a > b
            case .less: return a < b
            case .equal: return a == b
            case .greaterOrEqual: return a >= b
            case .lessOrEqual: return a <= b
            case .and: return a != 0 && b != 0
            case .or: return a != 0 || b != 0
            case .xor: return (a != 0) != (b != 0)
            case .not: return a == 0
            }
        }
    }

    let kind: Kind
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    var op: String { kind.rawValue }
    var differentiableOutputs: [Bool] { [false] }
    /// For each input, for each output entry, the input's entry (nil: the identity).
    let maps: [[Int]?]

    init(_ kind: Kind, inputShapes: [[Int]]) throws {
        guard inputShapes.count == (kind == .not ? 1 : 2) else {
            throw GeoError.format("\(kind.rawValue) takes \(kind == .not ? 1 : 2) operands, got \(inputShapes.count)")
        }
        // One index map per operand.
        guard let out = try Broadcast.shape(inputShapes, copies: inputShapes.count) else {
            throw GeoError.format("shapes \(shapesString(inputShapes)) do not broadcast")
        }
        self.kind = kind; self.inputShapes = inputShapes; outputShapes = [out]
        maps = inputShapes.map { Broadcast.map(from: $0, to: out) }
    }

    func forward(_ inputs: inout [Matrix], _ layout: ForwardModeLayout) throws -> [Matrix] {
        let n = layout.points, f = outputFeatures(0)
        for (j, x) in inputs.enumerated() where x.rows < n || x.cols != inputFeatures(j) {
            throw GeoError.dimensionMismatch("\(op): input \(j + 1) is a \(x.rows)x\(x.cols) state, expected \(n) rows of \(inputFeatures(j))")
        }
        var y = Matrix(rows: n, cols: f)
        let a = inputs[0], b = inputs.count > 1 ? inputs[1] : inputs[0]
        let fa = inputFeatures(0), fb = inputFeatures(inputs.count > 1 ? 1 : 0)
        let ma = maps[0], mb = maps.count > 1 ? maps[1] : maps[0]
        for p in 0..<n {
            for i in 0..<f {
                let u = a.scalars[p * fa + (ma?[i] ?? i)], v = b.scalars[p * fb + (mb?[i] ?? i)]
                y.scalars[p * f + i] = kind.apply(u, v) ? 1 : 0
            }
        }
        return [y]
    }

    func backward(inputs: [Matrix], outputs: [Matrix], cotangents: [Matrix], _ layout: ReverseLayout) throws -> [Matrix] {
        inputShapes.indices.map { Matrix(rows: layout.rows, cols: inputFeatures($0)) }
    }
}
