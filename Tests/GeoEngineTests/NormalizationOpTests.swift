import XCTest
import Foundation
import ONNXProto
@testable import GeoEngine

/// Every mode of the normalisation, softmax, matrix-product and PRelu ops against finite
/// differences (several shapes, negative axes, broadcasting, operands without derivatives), and
/// their ONNX builders on one-node models against direct computations (GroupNormalization,
/// which ONNX 1.12's backend cases lack, LayerNormalization's statistics outputs, the errors).
final class NormalizationOpTests: XCTestCase {
    func tensor(_ shape: [Int], seed: UInt64, offset: Double = 0, scale: Double = 1) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor(shape: shape, unchecked: (0..<shape.reduce(1, *)).map { _ in scale * rng.normal() + offset })
    }

    // MARK: Ops

    func testNormalizationOp() throws {
        // LayerNorm over the last axis with per-entry scale and bias.
        let last = try NormalizationOp("LayerNormalization", inputShape: [2, 3, 4], blockSize: 4, epsilon: 1e-5,
                                       scale: tensor([4], seed: 1), shift: tensor([4], seed: 2))
        try assertOpDerivatives(last, inputs: [tensor([2, 3, 4], seed: 3)])
        // Over the two last axes, scale [3, 4], with the statistics outputs.
        let two = try NormalizationOp("LayerNormalization", inputShape: [2, 3, 4], blockSize: 12, epsilon: 1e-3,
                                      scale: tensor([3, 4], seed: 4), shift: tensor([1, 4], seed: 5), statisticsShape: [2, 1, 1])
        XCTAssertEqual(two.outputShapes, [[2, 3, 4], [2, 1, 1], [2, 1, 1]])
        try assertOpDerivatives(two, inputs: [tensor([2, 3, 4], seed: 6, offset: 0.5, scale: 2)])
        // Instance norm of [1, 3, 2, 2] with per-channel scale and no bias; and no affine at all.
        let instance = try NormalizationOp("InstanceNormalization", inputShape: [1, 3, 2, 2], blockSize: 4, epsilon: 1e-5,
                                           scale: tensor([3, 1, 1], seed: 7))
        try assertOpDerivatives(instance, inputs: [tensor([1, 3, 2, 2], seed: 8)])
        let plain = try NormalizationOp("GroupNormalization", inputShape: [1, 4, 3], blockSize: 6, epsilon: 0.1, statisticsShape: [2])
        try assertOpDerivatives(plain, inputs: [tensor([1, 4, 3], seed: 9)])
        // Blocks of one entry: h = 0, only the bias remains.
        let single = try NormalizationOp("InstanceNormalization", inputShape: [1, 3], blockSize: 1, epsilon: 1e-5,
                                         shift: tensor([3], seed: 10))
        try assertOpDerivatives(single, inputs: [tensor([1, 3], seed: 11)])
        var states = [Matrix(rows: 1, cols: 3, unchecked: [1, 2, 3])]
        XCTAssertEqual(try single.forward(&states, ForwardModeLayout(points: 1, order: .value))[0].scalars, single.shift)
        XCTAssertThrowsError(try NormalizationOp("LayerNormalization", inputShape: [2, 3], blockSize: 4, epsilon: 1e-5))
        XCTAssertThrowsError(try NormalizationOp("LayerNormalization", inputShape: [2, 3], blockSize: 3, epsilon: 1e-5, scale: tensor([2], seed: 1)))
    }

    /// y has mean 0 and variance var / (var + eps) per block before the affine part.
    func testNormalizationValues() throws {
        let op = try NormalizationOp("LayerNormalization", inputShape: [2, 5], blockSize: 5, epsilon: 1e-5, statisticsShape: [2, 1])
        let x = tensor([2, 5], seed: 3, offset: 4, scale: 3)
        var states = [Matrix(rows: 1, cols: 10, unchecked: x.scalars)]
        let out = try op.forward(&states, ForwardModeLayout(points: 1, order: .value))
        for b in 0..<2 {
            let xb = Array(x.scalars[(b * 5)..<(b * 5 + 5)]), yb = Array(out[0].scalars[(b * 5)..<(b * 5 + 5)])
            let mean = xb.reduce(0, +) / 5, variance = xb.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5
            XCTAssertEqual(out[1].scalars[b], mean, accuracy: 1e-14)
            XCTAssertEqual(out[2].scalars[b], 1 / (variance + 1e-5).squareRoot(), accuracy: 1e-14)
            for i in 0..<5 { XCTAssertEqual(yb[i], (xb[i] - mean) / (variance + 1e-5).squareRoot(), accuracy: 1e-14) }
        }
    }

    func testSoftmaxOp() throws {
        let x = tensor([3, 4, 5], seed: 1)
        for logarithmic in [false, true] {
            let name = logarithmic ? "LogSoftmax" : "Softmax"
            // axis 1 (= -2): lanes of 4 entries 5 apart; axis 0; axis -1; coerced to 2-D at axis 1.
            for (outer, length, inner) in [(3, 4, 5), (1, 3, 20), (12, 5, 1), (3, 20, 1)] {
                let op = try SoftmaxOp(name, shape: [3, 4, 5], outer: outer, length: length, inner: inner, logarithmic: logarithmic)
                try assertOpDerivatives(op, inputs: [x])
            }
        }
        // Values: lanes sum to one, log-softmax is the log of softmax, large inputs are fine.
        let big = Tensor(shape: [2, 4], unchecked: [0, 1, 2, 3, 10000, 10001, 10002, 10003])
        let soft = try SoftmaxOp("Softmax", shape: [2, 4], outer: 2, length: 4, inner: 1, logarithmic: false)
        let logSoft = try SoftmaxOp("LogSoftmax", shape: [2, 4], outer: 2, length: 4, inner: 1, logarithmic: true)
        var s1 = [Matrix(rows: 1, cols: 8, unchecked: big.scalars)], s2 = s1
        let p = try soft.forward(&s1, ForwardModeLayout(points: 1, order: .value))[0].scalars
        let lp = try logSoft.forward(&s2, ForwardModeLayout(points: 1, order: .value))[0].scalars
        let z = (0..<4).map { exp(Double($0) - 3) }.reduce(0, +)
        for i in 0..<8 {
            XCTAssertEqual(p[i], exp(Double(i % 4) - 3) / z, accuracy: 1e-15)
            XCTAssertEqual(lp[i], Double(i % 4) - 3 - log(z), accuracy: 1e-14)
        }
    }

    func testMatMulOp() throws {
        let cases: [([Int], [Int], [Int])] = [
            ([2, 3, 4], [2, 4, 5], [2, 3, 5]),       // batched, no broadcasting
            ([3, 4], [2, 4, 5], [2, 3, 5]),          // A broadcast over B's batch
            ([2, 3, 4], [4, 5], [2, 3, 5]),          // B broadcast (one batch matrix)
            ([2, 1, 3, 4], [3, 4, 2], [2, 3, 3, 2]), // both broadcast
            ([4], [2, 4, 3], [2, 3]),                // a row vector
            ([2, 3, 4], [4], [2, 3]),                // a column vector
            ([4], [4], [1]),                         // a dot product
        ]
        for (i, (a, b, out)) in cases.enumerated() {
            let op = try MatMulOp(a, b)
            XCTAssertEqual(op.outputShapes, [out], "\(a) x \(b)")
            let ta = tensor(a, seed: UInt64(2 * i + 1)), tb = tensor(b, seed: UInt64(2 * i + 2))
            try assertOpDerivatives(op, inputs: [ta, tb])
            try assertOpDerivatives(op, inputs: [ta, tb], differentiable: [false, true])
            try assertOpDerivatives(op, inputs: [ta, tb], differentiable: [true, false])
        }
        // Values against a direct product, with broadcasting.
        let op = try MatMulOp([2, 1, 3, 4], [3, 4, 2])
        let a = tensor([2, 1, 3, 4], seed: 5), b = tensor([3, 4, 2], seed: 6)
        var states = [Matrix(rows: 1, cols: 24, unchecked: a.scalars), Matrix(rows: 1, cols: 24, unchecked: b.scalars)]
        let y = try op.forward(&states, ForwardModeLayout(points: 1, order: .value))[0].scalars
        for i in 0..<2 { for j in 0..<3 { for r in 0..<3 { for c in 0..<2 {
            let expected = (0..<4).reduce(0.0) { $0 + a.scalars[i * 12 + r * 4 + $1] * b.scalars[j * 8 + $1 * 2 + c] }
            XCTAssertEqual(y[((i * 3 + j) * 3 + r) * 2 + c], expected, accuracy: 1e-14)
        } } } }
        XCTAssertThrowsError(try MatMulOp([2, 3], [4, 5]))
        XCTAssertThrowsError(try MatMulOp([2, 3, 4], [3, 4, 5]))
    }

    func testPReluOp() throws {
        // Away from the kink for finite differences.
        func awayFromZero(_ t: Tensor) -> Tensor {
            Tensor(shape: t.shape, unchecked: t.scalars.map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 })
        }
        let x = awayFromZero(tensor([3, 4, 2], seed: 1))
        for slopeShape in [[4, 1], [3, 4, 2], [2], [1]] {
            let slope = tensor(slopeShape, seed: 2, offset: 0.3, scale: 0.2)
            let constant = try PReluOp(inputShape: [3, 4, 2], slope: slope)
            try assertOpDerivatives(constant, inputs: [x])
            let computed = try PReluOp(inputShape: [3, 4, 2], slopeShape: slopeShape)
            try assertOpDerivatives(computed, inputs: [x, slope])
            try assertOpDerivatives(computed, inputs: [x, slope], differentiable: [true, false])
            try assertOpDerivatives(computed, inputs: [x, slope], differentiable: [false, true])
            // Both forms agree.
            var s1 = [Matrix(rows: 1, cols: 24, unchecked: x.scalars)]
            var s2 = [Matrix(rows: 1, cols: 24, unchecked: x.scalars), Matrix(rows: 1, cols: slope.count, unchecked: slope.scalars)]
            let y1 = try constant.forward(&s1, ForwardModeLayout(points: 1, order: .value))[0].scalars
            XCTAssertEqual(y1, try computed.forward(&s2, ForwardModeLayout(points: 1, order: .value))[0].scalars)
        }
        XCTAssertThrowsError(try PReluOp(inputShape: [3, 4], slope: tensor([3], seed: 1)))
        XCTAssertThrowsError(try PReluOp(inputShape: [4], slopeShape: [3, 4]))
    }

    // MARK: Builders on one-node ONNX models

    /// A model of one node with input "x" (varying), the given double initializers, and outputs.
    func model(_ op: String, x: [Int], initializers: [(String, Tensor)], inputs: [String], outputs: [String],
               attributes: [Onnx_AttributeProto] = [], opset: Int64) throws -> ONNXFile {
        try model(nodes: [(op, inputs, outputs, attributes)], x: x, initializers: initializers, outputs: outputs, opset: opset)
    }

    /// A model of nodes (op, inputs, outputs, attributes) with input "x" (varying), the given
    /// double initializers, and graph outputs.
    func model(nodes: [(String, [String], [String], [Onnx_AttributeProto])], x: [Int], initializers: [(String, Tensor)],
               outputs: [String], opset: Int64) throws -> ONNXFile {
        let m = Onnx_ModelProto.with { m in
            m.irVersion = 8
            m.opsetImport = [Onnx_OperatorSetIdProto.with { $0.domain = ""; $0.version = opset }]
            m.graph = Onnx_GraphProto.with { g in
                g.name = "test"
                g.node = nodes.enumerated().map { i, spec in
                    Onnx_NodeProto.with { node in
                        node.opType = spec.0; node.name = "n\(i)"; node.input = spec.1; node.output = spec.2; node.attribute = spec.3
                    }
                }
                g.initializer = initializers.map { name, t in
                    Onnx_TensorProto.with { $0.name = name; $0.dims = t.shape.map(Int64.init); $0.dataType = 11; $0.doubleData = t.scalars }
                }
                g.input = [Onnx_ValueInfoProto.with { v in
                    v.name = "x"
                    v.type = Onnx_TypeProto.with { ty in
                        ty.tensorType = Onnx_TypeProto.Tensor.with { tt in
                            tt.elemType = 11
                            tt.shape = Onnx_TensorShapeProto.with { sh in
                                sh.dim = x.map { d in Onnx_TensorShapeProto.Dimension.with { $0.dimValue = Int64(d) } }
                            }
                        }
                    }
                }]
                g.output = outputs.filter { !$0.isEmpty }.map { name in Onnx_ValueInfoProto.with { $0.name = name } }
            }
        }
        return try ONNXFile.parse(try m.serializedData())
    }

    func intAttribute(_ name: String, _ v: Int64) -> Onnx_AttributeProto {
        Onnx_AttributeProto.with { $0.name = name; $0.type = .int; $0.i = v }
    }
    func floatAttribute(_ name: String, _ v: Float) -> Onnx_AttributeProto {
        Onnx_AttributeProto.with { $0.name = name; $0.type = .float; $0.f = v }
    }

    /// Group normalisation of x [1, C, H, W] with per-channel scale and bias, directly.
    func groupNorm(_ x: Tensor, groups: Int, scale: [Double], bias: [Double], eps: Double) -> [Double] {
        let c = x.shape[1], plane = x.shape[2...].reduce(1, *), width = c / groups, size = width * plane
        var y = [Double](repeating: 0, count: x.count)
        for g in 0..<groups {
            let block = Array(x.scalars[(g * size)..<((g + 1) * size)])
            let mean = block.reduce(0, +) / Double(size)
            let variance = block.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(size)
            for i in 0..<size {
                let ch = g * width + i / plane
                y[g * size + i] = (block[i] - mean) / (variance + eps).squareRoot() * scale[ch] + bias[ch]
            }
        }
        return y
    }

    func testGroupNormalizationOpsets18And21() throws {
        let x = tensor([1, 6, 2, 3], seed: 1, offset: 1, scale: 2)
        let eps = Double(Float(1e-4))
        let attributes = [intAttribute("num_groups", 3), floatAttribute("epsilon", Float(eps))]
        // Opset 18: scale and bias per group.
        let sg = tensor([3], seed: 2), bg = tensor([3], seed: 3)
        let f18 = try model("GroupNormalization", x: [1, 6, 2, 3], initializers: [("s", sg), ("b", bg)], inputs: ["x", "s", "b"],
                            outputs: ["y"], attributes: attributes, opset: 18)
        let g18 = try ONNXImporter(f18).build()
        let expected18 = groupNorm(x, groups: 3, scale: (0..<6).map { sg.scalars[$0 / 2] }, bias: (0..<6).map { bg.scalars[$0 / 2] }, eps: eps)
        XCTAssertLessThan(relativeError(try g18.forward(Matrix(row: Vector(x.scalars))).scalars, expected18), 1e-13)
        // Opset 21: per channel.
        let sc = tensor([6], seed: 4), bc = tensor([6], seed: 5)
        let f21 = try model("GroupNormalization", x: [1, 6, 2, 3], initializers: [("s", sc), ("b", bc)], inputs: ["x", "s", "b"],
                            outputs: ["y"], attributes: attributes, opset: 21)
        let g21 = try ONNXImporter(f21).build()
        let expected21 = groupNorm(x, groups: 3, scale: sc.scalars, bias: bc.scalars, eps: eps)
        XCTAssertLessThan(relativeError(try g21.forward(Matrix(row: Vector(x.scalars))).scalars, expected21), 1e-13)
        // Wrong counts are errors naming what is expected.
        let bad = try model("GroupNormalization", x: [1, 6, 2, 3], initializers: [("s", sc), ("b", bc)], inputs: ["x", "s", "b"],
                            outputs: ["y"], attributes: attributes, opset: 18)
        XCTAssertThrowsError(try ONNXImporter(bad).build()) { e in
            XCTAssertTrue("\(e)".contains("one per group"), "\(e)")
        }
        let indivisible = try model("GroupNormalization", x: [1, 6, 2, 3], initializers: [("s", sg), ("b", bg)], inputs: ["x", "s", "b"],
                                    outputs: ["y"], attributes: [intAttribute("num_groups", 4)], opset: 18)
        XCTAssertThrowsError(try ONNXImporter(indivisible).build()) { e in
            XCTAssertTrue("\(e)".contains("does not divide"), "\(e)")
        }
    }

    /// GroupNormalization whose scale and bias vary with the latent point (per group at opset
    /// 18: spread over the channels by a constant matrix): values and every derivative of the
    /// graph against the same computation with constants.
    func testGroupNormalizationComputedScale() throws {
        let x = tensor([1, 4, 3], seed: 1)
        let sg = tensor([2], seed: 2), bg = tensor([2], seed: 3)
        let f = try model("GroupNormalization", x: [1, 4, 3], initializers: [], inputs: ["x", "s", "b"], outputs: ["y"],
                          attributes: [intAttribute("num_groups", 2)], opset: 18)
        // Graph inputs s and b declared.
        var proto = f.model
        for (name, shape) in [("s", [2]), ("b", [2])] {
            proto.graph.input.append(Onnx_ValueInfoProto.with { v in
                v.name = name
                v.type = Onnx_TypeProto.with { ty in
                    ty.tensorType = Onnx_TypeProto.Tensor.with { tt in
                        tt.elemType = 11
                        tt.shape = Onnx_TensorShapeProto.with { sh in sh.dim = shape.map { d in Onnx_TensorShapeProto.Dimension.with { $0.dimValue = Int64(d) } } }
                    }
                }
            })
        }
        let file = try ONNXFile.parse(try proto.serializedData())
        let g = try ONNXImporter(file).build(inputNames: ["x", "s", "b"])
        let z = Vector(x.scalars + sg.scalars + bg.scalars)
        let expected = groupNorm(Tensor(shape: [1, 4, 3], unchecked: x.scalars), groups: 2,
                                 scale: (0..<4).map { sg.scalars[$0 / 2] }, bias: (0..<4).map { bg.scalars[$0 / 2] }, eps: 1e-5)
        XCTAssertLessThan(relativeError(try g.forward(Matrix(row: z)).scalars, expected), 1e-13)
        // The whole graph's derivatives against finite differences of the graph.
        var rng = SeededRandom(seed: 9)
        let d = z.count, h = 1e-5
        let u = (0..<d).map { _ in rng.normal() }, v = (0..<d).map { _ in rng.normal() }
        func at(_ s: Double, _ dir: [Double]) throws -> [Double] {
            try g.forward(Matrix(row: Vector(zip(z.scalars, dir).map { $0 + s * $1 }))).scalars
        }
        let jvp = try g.jvp(Matrix(row: z), tangents: Matrix(row: Vector(u))).tangents.scalars
        let fd = zip(try at(h, u), try at(-h, u)).map { ($0 - $1) / (2 * h) }
        XCTAssertLessThan(relativeError(jvp, fd), 1e-7)
        let so = try g.secondOrder(Matrix(row: z), u: Matrix(row: Vector(u)), v: Matrix(row: Vector(v)))
        func jvpAt(_ s: Double) throws -> [Double] {
            try g.jvp(Matrix(row: Vector(zip(z.scalars, v).map { $0 + s * $1 })), tangents: Matrix(row: Vector(u))).tangents.scalars
        }
        let d2 = zip(try jvpAt(h), try jvpAt(-h)).map { ($0 - $1) / (2 * h) }
        XCTAssertLessThan(relativeError(so.d2.scalars, d2), 1e-6)
    }

    func testLayerNormalizationStatisticsOutputs() throws {
        let x = tensor([2, 3, 4], seed: 1)
        let w = tensor([3, 4], seed: 2), b = tensor([3, 4], seed: 3)
        let f = try model("LayerNormalization", x: [2, 3, 4], initializers: [("w", w), ("b", b)], inputs: ["x", "w", "b"],
                          outputs: ["y", "mean", "inv"], attributes: [intAttribute("axis", -2)], opset: 17)
        let z = Matrix(row: Vector(x.scalars))
        let y = try ONNXImporter(f).build(outputName: "y").forward(z).scalars
        let mean = try ONNXImporter(f).build(outputName: "mean").forward(z).scalars
        let inv = try ONNXImporter(f).build(outputName: "inv").forward(z).scalars
        XCTAssertEqual(mean.count, 2); XCTAssertEqual(inv.count, 2)
        for blk in 0..<2 {
            let xb = Array(x.scalars[(blk * 12)..<(blk * 12 + 12)])
            let m = xb.reduce(0, +) / 12, variance = xb.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 12
            let r = 1 / (variance + 1e-5).squareRoot()
            XCTAssertEqual(mean[blk], m, accuracy: 1e-14)
            XCTAssertEqual(inv[blk], r, accuracy: 1e-12)
            for i in 0..<12 { XCTAssertEqual(y[blk * 12 + i], (xb[i] - m) * r * w.scalars[i] + b.scalars[i], accuracy: 1e-13) }
        }
        // Half-precision statistics are not supported, and say so.
        let half = try model("LayerNormalization", x: [2, 3, 4], initializers: [("w", w)], inputs: ["x", "w"], outputs: ["y"],
                             attributes: [intAttribute("stash_type", 10)], opset: 17)
        XCTAssertThrowsError(try ONNXImporter(half).build()) { e in XCTAssertTrue("\(e)".contains("stash_type = 10"), "\(e)") }
        let badAxis = try model("LayerNormalization", x: [2, 3, 4], initializers: [("w", w)], inputs: ["x", "w"], outputs: ["y"],
                                attributes: [intAttribute("axis", 3)], opset: 17)
        XCTAssertThrowsError(try ONNXImporter(badAxis).build()) { e in XCTAssertTrue("\(e)".contains("axis 3 is out of range"), "\(e)") }
    }

    /// Softmax before opset 13 coerces to 2-D at the axis; from 13 it runs along one axis.
    func testSoftmaxOpsetSemantics() throws {
        let x = tensor([2, 3, 4], seed: 1)
        let z = Matrix(row: Vector(x.scalars))
        let old = try ONNXImporter(try model("Softmax", x: [2, 3, 4], initializers: [], inputs: ["x"], outputs: ["y"],
                                             attributes: [intAttribute("axis", 1)], opset: 11)).build().forward(z).scalars
        let new = try ONNXImporter(try model("Softmax", x: [2, 3, 4], initializers: [], inputs: ["x"], outputs: ["y"],
                                             attributes: [intAttribute("axis", 1)], opset: 13)).build().forward(z).scalars
        for o in 0..<2 {
            let row = Array(x.scalars[(o * 12)..<(o * 12 + 12)])
            let z12 = row.map(exp).reduce(0, +)
            for i in 0..<12 { XCTAssertEqual(old[o * 12 + i], exp(row[i]) / z12, accuracy: 1e-15) }
            for i in 0..<4 {
                let lane = (0..<3).map { row[$0 * 4 + i] }, zl = lane.map(exp).reduce(0, +)
                for l in 0..<3 { XCTAssertEqual(new[o * 12 + l * 4 + i], exp(lane[l]) / zl, accuracy: 1e-15) }
            }
        }
    }

    /// A small attention-like decoder of these ops only, through the importer and the graph
    /// evaluator: every mode against finite differences, and Hessian-vector products against
    /// differences of VJPs and the contraction of second order.
    func testAttentionLikeGraphInEveryMode() throws {
        let attrs = { (name: String, v: Int64) in [self.intAttribute(name, v)] }
        let nodes: [(String, [String], [String], [Onnx_AttributeProto])] = [
            ("MatMul", ["x", "x"], ["scores"], []),
            ("Softmax", ["scores"], ["p"], attrs("axis", -1)),
            ("MatMul", ["p", "x"], ["o"], []),
            ("LayerNormalization", ["o", "w", "b"], ["l"], attrs("axis", -1)),
            ("PRelu", ["l", "slope"], ["r"], []),
            ("InstanceNormalization", ["r", "s", "c"], ["i"], []),
            ("MatMul", ["i", "x"], ["m"], []),
            ("LogSoftmax", ["m"], ["y"], attrs("axis", 1)),
        ]
        let f = try model(nodes: nodes, x: [1, 4, 4],
                          initializers: [("w", tensor([4], seed: 2)), ("b", tensor([4], seed: 3)), ("slope", tensor([4, 1], seed: 4, offset: 0.3, scale: 0.1)),
                                         ("s", tensor([4], seed: 5)), ("c", tensor([4], seed: 6))],
                          outputs: ["y"], opset: 17)
        let g = try ONNXImporter(f).build()
        XCTAssertEqual(g.latentDim, 16)
        let z = Vector(tensor([16], seed: 7, scale: 0.5).scalars)
        try assertDerivativesMatchFiniteDifferences(g, at: z, tolerance: 1e-6)
        var rng = SeededRandom(seed: 8)
        let d = g.latentDim, k = 3, h = 1e-5
        let c = Matrix(row: rng.normalVector(g.dataDim))
        let u = try Matrix(rows: k, cols: d, scalars: (0..<(k * d)).map { _ in rng.normal() })
        let r = try g.hvp(Matrix(row: z), cotangents: c, tangents: u)
        XCTAssertLessThan(relativeError(r.gradient.scalars, try g.vjp(Matrix(row: z), cotangents: c).cotangents.scalars), 1e-14)
        for j in 0..<k {
            let t = u.row(j)
            let plus = try g.vjp(Matrix(row: try z.adding(t, scaledBy: h)), cotangents: c).cotangents.scalars
            let minus = try g.vjp(Matrix(row: try z.adding(t, scaledBy: -h)), cotangents: c).cotangents.scalars
            XCTAssertLessThan(relativeError(r.hvp.row(j).scalars, zip(plus, minus).map { ($0 - $1) / (2 * h) }), 1e-7, "tangent \(j)")
            let so = try g.secondOrder(Matrix(row: z), u: Matrix.identity(d), v: try Matrix(rowVectors: [Vector](repeating: t, count: d)))
            let contracted = (0..<d).map { a in (0..<g.dataDim).reduce(0.0) { $0 + c.scalars[$1] * so.d2[a, $1] } }
            XCTAssertLessThan(relativeError(r.hvp.row(j).scalars, contracted), 1e-12, "tangent \(j)")
        }
    }
}
