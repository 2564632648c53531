import XCTest
@testable import GeoEngine

/// Every mode of the ops that move, select, reduce, compare and resize entries against finite
/// differences (assertOpDerivatives), with broadcasting, inputs that carry no derivative and
/// several outputs; values against direct computations.
final class ShapeOpTests: XCTestCase {
    func tensor(_ shape: [Int], seed: UInt64, offset: Double = 0) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor(shape: shape, unchecked: (0..<shape.reduce(1, *)).map { _ in rng.normal() + offset })
    }

    /// Row-major strides of a shape.
    func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        for a in stride(from: shape.count - 2, through: 0, by: -1) { s[a] = s[a + 1] * shape[a + 1] }
        return s
    }

    /// Sums over the cartesian product of per-axis offsets (row-major): an index map.
    func combine(_ tables: [[Int]]) -> [Int] {
        tables.reduce([0]) { acc, table in acc.flatMap { a in table.map { a + $0 } } }
    }

    /// The op's outputs at one point.
    func values(_ op: Op, _ inputs: [Tensor]) throws -> [[Double]] {
        var states = inputs.map { Matrix(rows: 1, cols: $0.count, unchecked: $0.scalars) }
        return try op.forward(&states, ForwardModeLayout(points: 1, order: .value)).map(\.scalars)
    }

    /// A transpose of [2, 3, 4] by perm [2, 0, 1], as the Transpose builder lays it out.
    func testEntryMapPermutation() throws {
        let s = [2, 3, 4], perm = [2, 0, 1]
        let st = strides(s)
        let src = combine(perm.map { a in (0..<s[a]).map { $0 * st[a] } })
        let op = try EntryMap("Transpose", inputShapes: [s], outputShapes: [[4, 2, 3]], sources: [src])
        let x = tensor(s, seed: 1)
        let y = try values(op, [x])[0]
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { XCTAssertEqual(y[k * 6 + i * 3 + j], x.scalars[i * 12 + j * 4 + k]) } } }
        try assertOpDerivatives(op, inputs: [x])
    }

    /// Concat of a computed value and a value without derivatives (a constant operand), with a
    /// repeated entry (Expand-like) and a fill (Pad-like) in a second output.
    func testEntryMapSeveralInputsAndOutputs() throws {
        // Inputs [2] and [3] laid end to end: global entries 0, 1 and 2, 3, 4.
        let op = try EntryMap("Concat", inputShapes: [[2], [3]], outputShapes: [[5], [2, 3]],
                              sources: [[0, 1, 2, 3, 4], [1, 1, -1, 4, 0, -1]], fill: 0.25)
        let a = tensor([2], seed: 2), b = tensor([3], seed: 3)
        let y = try values(op, [a, b])
        XCTAssertEqual(y[0], a.scalars + b.scalars)
        XCTAssertEqual(y[1], [a.scalars[1], a.scalars[1], 0.25, b.scalars[2], a.scalars[0], 0.25])
        try assertOpDerivatives(op, inputs: [a, b])
        try assertOpDerivatives(op, inputs: [a, b], differentiable: [true, false])
        try assertOpDerivatives(op, inputs: [a, b], differentiable: [false, true])
    }

    /// Split into three outputs, one of them empty of derivatives' repeats.
    func testEntryMapSplit() throws {
        let s = [2, 5]
        let st = strides(s)
        var sources: [[Int]] = [], shapes: [[Int]] = [], start = 0
        for p in [1, 3, 1] {
            sources.append(combine([(0..<2).map { $0 * st[0] }, (start..<(start + p)).map { $0 }]))
            shapes.append([2, p]); start += p
        }
        let op = try EntryMap("Split", inputShapes: [s], outputShapes: shapes, sources: sources)
        let x = tensor(s, seed: 4)
        let y = try values(op, [x])
        XCTAssertEqual(y[1], [x.scalars[1], x.scalars[2], x.scalars[3], x.scalars[6], x.scalars[7], x.scalars[8]])
        try assertOpDerivatives(op, inputs: [x])
    }

    func testReductions() throws {
        let x = tensor([2, 3, 4], seed: 5)
        for kind in [ReduceOp.Kind.sum, .mean, .max, .min] {
            for (axes, keep) in [([1], true), ([0, 2], false), ([0, 1, 2], false), ([2], true)] {
                let op = try ReduceOp("Reduce", kind, inputShape: [2, 3, 4], axes: axes, keepDims: keep)
                let y = try values(op, [x])[0]
                // Direct computation.
                let outShape = op.outputShapes[0]
                XCTAssertEqual(outShape, keep ? [2, 3, 4].enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
                                              : [2, 3, 4].enumerated().filter { !axes.contains($0.offset) }.map(\.element))
                var groups = [[Double]](repeating: [], count: y.count)
                for i in 0..<2 { for j in 0..<3 { for k in 0..<4 {
                    let c = [i, j, k]
                    var o = 0
                    for a in 0..<3 where !axes.contains(a) { o = o * [2, 3, 4][a] + c[a] }
                    groups[o].append(x.scalars[i * 12 + j * 4 + k])
                } } }
                let expected = groups.map { g -> Double in
                    switch kind {
                    case .sum: return g.reduce(0, +)
                    case .mean: return g.reduce(0, +) / Double(g.count)
                    case .max: return g.max() ?? 0
                    case .min: return g.min() ?? 0
                    }
                }
                XCTAssertLessThan(relativeError(y, expected), 1e-15, "\(kind) over \(axes)")
                try assertOpDerivatives(op, inputs: [x])
            }
        }
    }

    /// Max selects the first of tied entries: its derivative is that entry's.
    func testReduceMaxTieTakesTheFirstEntry() throws {
        let op = try ReduceOp("ReduceMax", .max, inputShape: [4], axes: [0], keepDims: false)
        var states = [Matrix(rows: 1 + 1, cols: 4, unchecked: [1, 3, 3, 2, 10, 20, 30, 40])]
        let out = try op.forward(&states, ForwardModeLayout(points: 1, tangentsPerPoint: 1, order: .first))[0]
        XCTAssertEqual(out.scalars, [3, 20])
        let back = try op.backward(inputs: [Matrix(rows: 1, cols: 4, unchecked: [1, 3, 3, 2])], outputs: [],
                                   cotangents: [Matrix(rows: 1, cols: 1, unchecked: [5])], ReverseLayout(points: 1, cotangentsPerPoint: 1))
        XCTAssertEqual(back[0].scalars, [0, 5, 0, 0])
    }

    func testComparisons() throws {
        let a = Tensor(shape: [2, 3], unchecked: [1, 2, 3, 0, -1, 2]), b = Tensor(shape: [3], unchecked: [1, 0, 3])
        let cases: [(ComparisonOp.Kind, [Double])] = [
            (.greater, [0, 1, 0, 0, 0, 0]), (.less, [0, 0, 0, 1, 1, 1]), (.equal, [1, 0, 1, 0, 0, 0]),
            (.greaterOrEqual, [1, 1, 1, 0, 0, 0]), (.lessOrEqual, [1, 0, 1, 1, 1, 1]),
            (.and, [1, 0, 1, 0, 0, 1]), (.or, [1, 1, 1, 1, 1, 1]), (.xor, [0, 1, 0, 1, 1, 0]),
        ]
        for (kind, expected) in cases {
            let op = try ComparisonOp(kind, inputShapes: [[2, 3], [3]])
            XCTAssertEqual(op.differentiableOutputs, [false])
            XCTAssertEqual(try values(op, [a, b])[0], expected, kind.rawValue)
            try assertOpDerivatives(op, inputs: [a, b])
        }
        let not = try ComparisonOp(.not, inputShapes: [[2, 3]])
        XCTAssertEqual(try values(not, [a])[0], [0, 0, 0, 1, 0, 0])
    }

    func testWhere() throws {
        let cond = Tensor(shape: [3], unchecked: [1, 0, 1])
        let x = tensor([2, 3], seed: 6), y = tensor([2, 1], seed: 7)
        let op = try WhereOp(condition: [3], x: [2, 3], y: [2, 1])
        XCTAssertEqual(op.outputShapes, [[2, 3]])
        let out = try values(op, [cond, x, y])[0]
        XCTAssertEqual(out, [x.scalars[0], y.scalars[0], x.scalars[2], x.scalars[3], y.scalars[1], x.scalars[5]])
        try assertOpDerivatives(op, inputs: [cond, x, y], differentiable: [false, true, true])
        try assertOpDerivatives(op, inputs: [cond, x, y], differentiable: [false, true, false])
        try assertOpDerivatives(op, inputs: [cond, x, y], differentiable: [false, false, true])
        // A condition that varies by point: the second point's condition differs.
        let per = try WhereOp(condition: [2, 3], x: [2, 3], y: [])
        let c2 = Tensor(shape: [2, 3], unchecked: [1, 0, 0, 1, 1, 0])
        try assertOpDerivatives(per, inputs: [c2, x, Tensor(shape: [], unchecked: [0.5])], differentiable: [false, true, true])
        // Two points with different conditions, one tangent each: each point's rows follow its
        // own condition, forward and reverse.
        let flat = try WhereOp(condition: [3], x: [3], y: [])
        var states = [Matrix(rows: 2, cols: 3, unchecked: [1, 0, 0, 0, 1, 1]),
                      Matrix(rows: 4, cols: 3, unchecked: [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]),
                      Matrix(rows: 2, cols: 1, unchecked: [-1, -1])]
        let saved = states
        let two = try flat.forward(&states, ForwardModeLayout(points: 2, tangentsPerPoint: 1, order: .first))[0]
        XCTAssertEqual(two.scalars, [1, -1, -1, -1, 5, 6, 10, 0, 0, 0, 50, 60])
        let back = try flat.backward(inputs: saved, outputs: [two], cotangents: [Matrix(rows: 4, cols: 3, unchecked: [Double](repeating: 1, count: 12))],
                                     ReverseLayout(points: 2, cotangentsPerPoint: 1, tangentsPerPoint: 1))
        XCTAssertEqual(back[1].scalars, [1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1])
        XCTAssertEqual(back[2].scalars, [2, 1, 2, 1])
    }

    /// Bilinear weights with an extrapolated border (tf_crop_and_resize's constant).
    func testResizeOp() throws {
        let rows: [ResizeOp.AxisTerms] = [[(0, 1)], [(0, 0.25), (1, 0.75)], nil]
        let cols: [ResizeOp.AxisTerms] = [[(0, 0.5), (2, 0.5)], [(1, 1)], [(2, 0.9), (1, 0.1)], [(0, 1)]]
        let op = try ResizeOp.separable("Resize", inputShape: [2, 3], axes: [rows, cols], extrapolation: 7)
        XCTAssertEqual(op.outputShapes, [[3, 4]])
        let x = tensor([2, 3], seed: 8)
        let y = try values(op, [x])[0]
        let v = x.scalars
        XCTAssertEqual(y[0], 0.5 * v[0] + 0.5 * v[2], accuracy: 1e-15)
        XCTAssertEqual(y[6], 0.25 * (0.9 * v[2] + 0.1 * v[1]) + 0.75 * (0.9 * v[5] + 0.1 * v[4]), accuracy: 1e-15)
        XCTAssertEqual(Array(y[8...]), [7, 7, 7, 7])
        try assertOpDerivatives(op, inputs: [x])
    }
}
