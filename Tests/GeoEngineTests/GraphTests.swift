import XCTest
@testable import GeoEngine

/// The graph evaluator: Hessian-vector products (forward over reverse) against finite
/// differences of VJPs and against the contraction of second-order forward mode, on chains of
/// every layer kind.
final class GraphTests: XCTestCase {
    /// A chain with every activation and a conv part, small enough for finite differences.
    static func network(seed: UInt64) throws -> NeuralNetwork {
        var rng = SeededRandom(seed: seed)
        func t(_ shape: [Int], _ s: Double) throws -> Tensor {
            try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.normal() * s })
        }
        return try NeuralNetwork(latentDim: 3, layers: [
            .linear(weight: try t([2 * 4 * 4, 3], 0.6), bias: try t([32], 0.1)), .activation(.gelu),
            .reshape([2, 4, 4]),
            .conv2d(weight: try t([3, 2, 3, 3], 0.4), bias: try t([3], 0.1), stride: Size2D(1), padding: Size2D(1)),
            .activation(.silu),
            .convTranspose2d(weight: try t([3, 2, 2, 2], 0.4), bias: nil, stride: Size2D(2), padding: Size2D(0), outputPadding: Size2D(0)),
            .batchNorm(weight: try t([2], 0.5), bias: try t([2], 0.1), mean: try t([2], 0.1),
                       variance: try Tensor(shape: [2], scalars: [0.8, 1.3]), eps: 1e-5),
            .activation(.elu(alpha: 0.7)), .flatten,
            .linear(weight: try t([9, 128], 0.2), bias: nil), .activation(.tanh),
            .linear(weight: try t([7, 9], 0.5), bias: nil), .activation(.softplus(beta: 2)),
            .linear(weight: try t([5, 7], 0.5), bias: nil), .activation(.sigmoid),
        ])
    }

    func testHessianVectorProductsMatchFiniteDifferencesAndSecondOrder() throws {
        let g = try Self.network(seed: 11)
        var rng = SeededRandom(seed: 5)
        let n = 2, d = g.latentDim, k = 3
        let z = try Matrix(rows: n, cols: d, scalars: (0..<(n * d)).map { _ in rng.normal() })
        let c = try Matrix(rows: n, cols: g.dataDim, scalars: (0..<(n * g.dataDim)).map { _ in rng.normal() })
        let u = try Matrix(rows: n * k, cols: d, scalars: (0..<(n * k * d)).map { _ in rng.normal() })
        let r = try g.hvp(z, cotangents: c, tangents: u)
        XCTAssertEqual(r.value, try g.forward(z))
        XCTAssertLessThan(relativeError(r.gradient.scalars, try g.vjp(z, cotangents: c).cotangents.scalars), 1e-14)
        let h = 1e-5
        for p in 0..<n {
            for j in 0..<k {
                let zp = z.row(p), t = u.row(p * k + j), cp = Matrix(row: c.row(p))
                // Central difference of the gradient J^T c along t.
                let plus = try g.vjp(Matrix(row: try zp.adding(t, scaledBy: h)), cotangents: cp).cotangents.scalars
                let minus = try g.vjp(Matrix(row: try zp.adding(t, scaledBy: -h)), cotangents: cp).cotangents.scalars
                let fd = zip(plus, minus).map { ($0 - $1) / (2 * h) }
                XCTAssertLessThan(relativeError(r.hvp.row(p * k + j).scalars, fd), 1e-7, "point \(p), tangent \(j)")
                // <e_a, H t> = <c, D2g[e_a, t]> for every unit vector e_a, from second-order forward mode.
                let e = Matrix.identity(d), tt = try Matrix(rowVectors: [Vector](repeating: t, count: d))
                let so = try g.secondOrder(Matrix(row: zp), u: e, v: tt)
                let contracted = (0..<d).map { a in (0..<g.dataDim).reduce(0.0) { $0 + cp.scalars[$1] * so.d2[a, $1] } }
                XCTAssertLessThan(relativeError(r.hvp.row(p * k + j).scalars, contracted), 1e-12)
            }
        }
    }

    /// The Hessian is symmetric: <t1, H t2> = <t2, H t1>.
    func testHessianIsSymmetric() throws {
        let g = try Self.network(seed: 3)
        var rng = SeededRandom(seed: 9)
        let z = Matrix(row: rng.normalVector(3)), c = Matrix(row: rng.normalVector(g.dataDim))
        let t1 = rng.normalVector(3), t2 = rng.normalVector(3)
        let r = try g.hvp(z, cotangents: c, tangents: try Matrix(rowVectors: [t1, t2]))
        XCTAssertEqual(try t2.dot(r.hvp.row(0)), try t1.dot(r.hvp.row(1)), accuracy: 1e-13)
    }

    /// Sliced to fit a small budget, the products equal the unsliced ones.
    func testHessianVectorProductsAreSlicedToFitTheBudget() throws {
        let g = try Self.network(seed: 4)
        var rng = SeededRandom(seed: 2)
        let z = Matrix(row: rng.normalVector(3)), c = Matrix(row: rng.normalVector(g.dataDim))
        let u = try Matrix(rows: 6, cols: 3, scalars: (0..<18).map { _ in rng.normal() })
        let full = try g.hvp(z, cotangents: c, tangents: u)
        defer { MemoryBudget.override = nil }
        MemoryBudget.override = (8 * g.dataDim + 3 * g.peakDoublesPerRow + 2 * g.allDoublesPerRow + 2 * (2 * g.peakDoublesPerRow + g.allDoublesPerRow)) * 8
        let plan = try g.memoryPlan(points: 1, tangents: 6, rowsPerTangent: 2, outputRowsPerPoint: 8,
                                    savedPerPoint: g.allDoublesPerRow, savedPerTangent: g.allDoublesPerRow, what: "t")
        XCTAssertLessThan(plan.tangentsPerSlice, 6)
        let sliced = try g.hvp(z, cotangents: c, tangents: u)
        XCTAssertLessThan(relativeError(sliced.hvp.scalars, full.hvp.scalars), 1e-14)
        XCTAssertLessThan(relativeError(sliced.gradient.scalars, full.gradient.scalars), 1e-14)
        XCTAssertEqual(sliced.hvp.rows, 6)
        XCTAssertEqual(sliced.gradient.rows, 1)
    }
}
