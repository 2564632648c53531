import XCTest
@testable import GeoEngine

/// Every mode of the arithmetic ops against finite differences, with broadcasting both ways and
/// operands that carry no derivative.
final class ArithmeticOpTests: XCTestCase {
    func tensor(_ shape: [Int], seed: UInt64, offset: Double = 0) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor(shape: shape, unchecked: (0..<shape.reduce(1, *)).map { _ in rng.normal() + offset })
    }

    func testBroadcastAffine() throws {
        let op = try BroadcastAffine("Mul", inputShape: [2, 3], scale: tensor([3], seed: 1), shift: tensor([2, 1], seed: 2))
        XCTAssertEqual(op.outputShapes, [[2, 3]])
        try assertOpDerivatives(op, inputs: [tensor([2, 3], seed: 3)])
        // The input broadcast up to a larger output.
        let up = try BroadcastAffine("Add", inputShape: [1, 3], scale: nil, shift: tensor([4, 1, 3], seed: 4))
        XCTAssertEqual(up.outputShapes, [[4, 1, 3]])
        try assertOpDerivatives(up, inputs: [tensor([1, 3], seed: 5)])
    }

    func testSum() throws {
        let op = try SumOp("Sub", inputShapes: [[2, 3], [3], [2, 1]], signs: [1, -1, 1])
        try assertOpDerivatives(op, inputs: [tensor([2, 3], seed: 1), tensor([3], seed: 2), tensor([2, 1], seed: 3)])
        try assertOpDerivatives(op, inputs: [tensor([2, 3], seed: 1), tensor([3], seed: 2), tensor([2, 1], seed: 3)],
                                differentiable: [true, false, true])
    }

    func testProduct() throws {
        let op = try ProductOp("Mul", [2, 1, 3], [4, 1])
        XCTAssertEqual(op.outputShapes, [[2, 4, 3]])
        try assertOpDerivatives(op, inputs: [tensor([2, 1, 3], seed: 1), tensor([4, 1], seed: 2)])
        try assertOpDerivatives(op, inputs: [tensor([2, 1, 3], seed: 1), tensor([4, 1], seed: 2)], differentiable: [false, true])
        let square = try ProductOp("Mul", [5], [5])
        try assertOpDerivatives(square, inputs: [tensor([5], seed: 7), tensor([5], seed: 8)])
    }

    func testMatMulConst() throws {
        let op = try MatMulConst("MatMul", inputShape: [2, 3, 4], weight: tensor([4, 5], seed: 1), bias: tensor([5], seed: 2))
        XCTAssertEqual(op.outputShapes, [[2, 3, 5]])
        try assertOpDerivatives(op, inputs: [tensor([2, 3, 4], seed: 3)])
    }

    /// The functions ONNX adds to the activations, value by value against closed forms, and
    /// every mode against finite differences.
    func testElementwiseFunctions() throws {
        let x = tensor([12], seed: 4)
        let positive = Tensor(shape: [12], unchecked: x.scalars.map { abs($0) + 0.3 })
        let cases: [(Activation, Tensor, (Double) -> Double)] = [
            (.geluTanh, x, { 0.5 * $0 * (1 + tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }),
            (.selu(alpha: 1.6732632423543772, gamma: 1.0507009873554805), x, { $0 > 0 ? 1.0507009873554805 * $0 : 1.0507009873554805 * 1.6732632423543772 * (exp($0) - 1) }),
            (.celu(alpha: 0.7), x, { max(0, $0) + min(0, 0.7 * (exp($0 / 0.7) - 1)) }),
            (.hardSigmoid(alpha: 0.2, beta: 0.5), x, { max(0, min(1, 0.2 * $0 + 0.5)) }),
            (.hardSwish, Tensor(shape: [12], unchecked: x.scalars.map { 2.5 * $0 }), { $0 * max(0, min(1, $0 / 6 + 0.5)) }),
            (.softsign, x, { $0 / (1 + abs($0)) }),
            (.mish, x, { $0 * tanh(log(1 + exp($0))) }),
            (.softplusExact, x, { log(1 + exp($0)) }),
            (.erf, x, { erf($0) }), (.exp, x, { exp($0) }), (.log, positive, { log($0) }), (.sqrt, positive, { sqrt($0) }),
            (.reciprocal, positive, { 1 / $0 }), (.neg, x, { -$0 }), (.abs, x, { abs($0) }),
            (.pow(3), x, { $0 * $0 * $0 }), (.pow(-0.5), positive, { 1 / sqrt($0) }),
            (.clip(lo: -0.5, hi: 0.6), x, { min(max($0, -0.5), 0.6) }),
        ]
        for (f, input, closed) in cases {
            let layer = ActivationLayer(f, inputShape: [12])
            var states = [Matrix(rows: 1, cols: 12, unchecked: input.scalars)]
            let y = try layer.forward(&states, ForwardModeLayout(points: 1, order: .value))[0].scalars
            XCTAssertLessThan(relativeError(y, input.scalars.map(closed)), 1e-14, "\(f.op) value")
            // Away from the kinks for finite differences.
            let smooth = Tensor(shape: [12], unchecked: input.scalars.map { v in
                if case .clip = f, abs(v + 0.5) < 0.05 || abs(v - 0.6) < 0.05 { return v + 0.1 }
                if f == .hardSwish, abs(abs(v) - 3) < 0.05 { return v + 0.1 }
                return v
            })
            try assertOpDerivatives(layer, inputs: [smooth], tolerance: 1e-6)
        }
    }
}
