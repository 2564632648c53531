import XCTest
import Foundation
import ONNXProto
@testable import GeoEngine

/// The builders of ONNXShapes in graphs written here as ONNX models: every derivative mode of
/// the loaded graph against finite differences (the ops between nonlinear ones, so that second
/// derivatives are not trivially zero), the patterns torch writes (Softplus's threshold as
/// Where(Greater(...)), softmax's shift by ReduceMax), and the errors for what is unsupported.
final class ONNXShapesTests: XCTestCase {
    /// A small ONNX model under construction: nodes, initializers, one float input.
    struct Model {
        var opset: Int64 = 17
        var nodes: [Onnx_NodeProto] = []
        var initializers: [Onnx_TensorProto] = []

        mutating func node(_ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [Onnx_AttributeProto] = []) {
            nodes.append(Onnx_NodeProto.with {
                $0.opType = op; $0.input = inputs; $0.output = outputs; $0.attribute = attributes
                $0.name = "\(op)_\(nodes.count)"
            })
        }
        mutating func floats(_ name: String, _ shape: [Int], _ values: [Double]) {
            initializers.append(Onnx_TensorProto.with {
                $0.name = name; $0.dims = shape.map(Int64.init); $0.dataType = 1; $0.floatData = values.map(Float.init)
            })
        }
        mutating func ints(_ name: String, _ values: [Int64], shape: [Int]? = nil) {
            initializers.append(Onnx_TensorProto.with {
                $0.name = name; $0.dims = (shape ?? [values.count]).map(Int64.init); $0.dataType = 7; $0.int64Data = values
            })
        }
        func importer(input: [Int], output: String) throws -> ONNXImporter {
            let graph = Onnx_GraphProto.with {
                $0.node = nodes; $0.initializer = initializers
                $0.input = [Onnx_ValueInfoProto.with {
                    $0.name = "z"
                    $0.type.tensorType.elemType = 1
                    $0.type.tensorType.shape.dim = input.map { d in Onnx_TensorShapeProto.Dimension.with { $0.dimValue = Int64(d) } }
                }]
                $0.output = [Onnx_ValueInfoProto.with { $0.name = output }]
            }
            let model = Onnx_ModelProto.with {
                $0.irVersion = 8; $0.graph = graph
                $0.opsetImport = [Onnx_OperatorSetIdProto.with { $0.domain = ""; $0.version = opset }]
            }
            return try ONNXImporter(try ONNXFile.parse(try model.serializedData()))
        }
        func graph(input: [Int], output: String) throws -> Graph { try importer(input: input, output: output).build() }
    }

    static func attr(_ name: String, _ i: Int) -> Onnx_AttributeProto { .with { $0.name = name; $0.type = .int; $0.i = Int64(i) } }
    static func attr(_ name: String, ints: [Int]) -> Onnx_AttributeProto { .with { $0.name = name; $0.type = .ints; $0.ints = ints.map(Int64.init) } }
    static func attr(_ name: String, floats: [Double]) -> Onnx_AttributeProto { .with { $0.name = name; $0.type = .floats; $0.floats = floats.map(Float.init) } }
    static func attr(_ name: String, float: Double) -> Onnx_AttributeProto { .with { $0.name = name; $0.type = .float; $0.f = Float(float) } }
    static func attr(_ name: String, _ s: String) -> Onnx_AttributeProto { .with { $0.name = name; $0.type = .string; $0.s = Data(s.utf8) } }

    /// Every mode against finite differences, and Hessian-vector products against differences
    /// of VJPs, at z.
    func checkDerivatives(_ g: Graph, _ z: [Double], tolerance: Double = 1e-6, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertDerivativesMatchFiniteDifferences(g, at: Vector(z), tolerance: tolerance, file: file, line: line)
        var rng = SeededRandom(seed: 3)
        let d = g.latentDim, k = 2, h = 1e-5
        let c = Matrix(row: rng.normalVector(g.dataDim))
        let t = try Matrix(rowVectors: (0..<k).map { _ in rng.normalVector(d) })
        let r = try g.hvp(Matrix(row: Vector(z)), cotangents: c, tangents: t)
        for j in 0..<k {
            let plus = try g.vjp(Matrix(row: try Vector(z).adding(t.row(j), scaledBy: h)), cotangents: c).cotangents.scalars
            let minus = try g.vjp(Matrix(row: try Vector(z).adding(t.row(j), scaledBy: -h)), cotangents: c).cotangents.scalars
            let fd = zip(plus, minus).map { ($0 - $1) / (2 * h) }
            XCTAssertLessThan(relativeError(r.hvp.row(j).scalars, fd, floor: 1e-6), tolerance, "HVP vs differences of VJPs", file: file, line: line)
        }
    }

    func latent(_ d: Int, seed: UInt64, scale: Double = 1) -> [Double] {
        var rng = SeededRandom(seed: seed)
        return (0..<d).map { _ in scale * rng.normal() }
    }

    /// Transpose, Concat with a constant, Split into two outputs, Slice with a negative step and
    /// torch's INT64 extremes, between Tanh and a product.
    func testTransposeConcatSplitSlice() throws {
        var m = Model(opset: 13)
        m.ints("shape", [1, 3, 4]); m.floats("c", [1, 4, 2], latent(8, seed: 1))
        m.ints("split", [1, 3]); m.ints("starts", [-1]); m.ints("ends", [Int64.min]); m.ints("axes", [1]); m.ints("steps", [-2])
        m.node("Tanh", ["z"], ["t"])
        m.node("Reshape", ["t", "shape"], ["r"])
        m.node("Transpose", ["r"], ["tr"], [Self.attr("perm", ints: [0, 2, 1])])
        m.node("Concat", ["tr", "c"], ["cat"], [Self.attr("axis", -1)])
        m.node("Split", ["cat", "split"], ["a", "b"], [Self.attr("axis", 1)])
        m.node("Slice", ["b", "starts", "ends", "axes", "steps"], ["s"])
        m.node("Mul", ["s", "a"], ["y"])
        let g = try m.graph(input: [1, 12], output: "y")
        XCTAssertEqual(g.dataShape, [2, 5])
        let z = latent(12, seed: 2)
        // Direct: tr[i][j] = tanh(z[j * 4 + i]) (i < 4, j < 3), rows 3 and 1 of b = rows 3 and 1 of cat.
        let y = try eval(g, Vector(z)), cv = latent(8, seed: 1).map { Double(Float($0)) }
        func cat(_ i: Int, _ j: Int) -> Double { j < 3 ? tanh(z[j * 4 + i]) : cv[i * 2 + j - 3] }
        for (q, i) in [3, 1].enumerated() { for j in 0..<5 { XCTAssertEqual(y[q * 5 + j], cat(i, j) * cat(0, j), accuracy: 1e-15) } }
        try checkDerivatives(g, z)
    }

    /// Gather with negative and repeated indices, Expand, and Pad in every mode.
    func testGatherExpandPad() throws {
        for mode in ["constant", "reflect", "edge", "wrap"] {
            var m = Model(opset: 19)
            m.ints("idx", [-1, 0, 2, 2], shape: [2, 2]); m.ints("shape", [3, 1, 1, 1]); m.ints("pads", [0, 1, -1, 2, 0, 2, 2, 1])
            m.floats("value", [], [0.5])
            m.node("Tanh", ["z"], ["t"])
            m.node("Gather", ["t", "idx"], ["gt"], [Self.attr("axis", 1)])
            m.node("Expand", ["gt", "shape"], ["e"])
            m.node("Pad", ["e", "pads", "value"], ["p"], [Self.attr("mode", mode)])
            m.node("Mul", ["p", "p"], ["y"])
            let g = try m.graph(input: [1, 4], output: "y")
            XCTAssertEqual(g.dataShape, [3, 4, 3, 5], mode)
            try checkDerivatives(g, latent(4, seed: 4))
        }
    }

    /// Softmax as torch's decompositions write it: exp(x - ReduceMax(x)) / ReduceSum(...), and
    /// ReduceMean/ReduceMin with keepdims 0.
    func testReductionsAndSoftmax() throws {
        var m = Model(opset: 13)
        m.ints("axes", [-1])
        m.node("ReduceMax", ["z"], ["mx"], [Self.attr("axes", ints: [-1])])
        m.node("Sub", ["z", "mx"], ["d"])
        m.node("Exp", ["d"], ["e"])
        m.node("ReduceSum", ["e", "axes"], ["s"])
        m.node("Div", ["e", "s"], ["sm"])
        m.node("ReduceMean", ["sm"], ["mean"], [Self.attr("axes", ints: [0, 1]), Self.attr("keepdims", 0)])
        m.node("ReduceMin", ["z"], ["mn"], [Self.attr("axes", ints: [1]), Self.attr("keepdims", 1)])
        m.node("Tanh", ["mn"], ["tm"])
        m.node("Mul", ["sm", "tm"], ["prod"])
        m.node("Add", ["prod", "mean"], ["y"])
        let g = try m.graph(input: [1, 2, 5], output: "y")
        let z = latent(10, seed: 5, scale: 2)
        let y = try eval(g, Vector(z))
        let sm = (0..<2).map { r -> [Double] in
            let row = Array(z[(r * 5)..<(r * 5 + 5)]), e = row.map { exp($0 - (row.max() ?? 0)) }
            return e.map { $0 / e.reduce(0, +) }
        }
        let expected = (0..<10).map { i -> Double in
            let (r, j) = (i / 5, i % 5)
            return sm[r][j] * tanh(min(z[j], z[5 + j])) + (sm[0][j] + sm[1][j]) / 2
        }
        XCTAssertLessThan(relativeError(y, expected), 1e-14)
        XCTAssertEqual(y.count, 10)
        try checkDerivatives(g, z)
    }

    /// torch's Softplus(beta=2, threshold=20) from the dynamo exporter: Where(Greater(2x, 20), x,
    /// Softplus(2x) / 2); points on both sides of the threshold, in one batch.
    func testSoftplusThreshold() throws {
        var m = Model(opset: 18)
        m.floats("two", [], [2]); m.floats("twenty", [], [20])
        m.node("Mul", ["z", "two"], ["bx"])
        m.node("Greater", ["bx", "twenty"], ["big"])
        m.node("Softplus", ["bx"], ["sp"])
        m.node("Div", ["sp", "two"], ["soft"])
        m.node("Where", ["big", "z", "soft"], ["y"])
        let g = try m.graph(input: [1, 4], output: "y")
        let z = [-1.0, 0.5, 12, 9.9]
        let y = try eval(g, Vector(z))
        XCTAssertEqual(y[2], 12)
        XCTAssertEqual(y[0], log1p(exp(-2)) / 2, accuracy: 1e-15)
        try checkDerivatives(g, z)
        // A batch whose points fall on different sides: each point's rows follow its own branch.
        let zs = try Matrix(rows: 2, cols: 4, scalars: [11, 0.3, -2, 10.5, 9, 0.3, -2, 10.5])
        let t = try Matrix(rows: 2, cols: 4, scalars: [Double](repeating: 1, count: 8))
        let j = try g.jvp(zs, tangents: t).tangents.scalars
        XCTAssertEqual(j[0], 1)
        XCTAssertEqual(j[4], 1 / (1 + exp(-18)), accuracy: 1e-15)
    }

    /// Resize in modes linear and nearest with several coordinate transformations, and
    /// Upsample, between nonlinear ops.
    func testResizeAndUpsample() throws {
        let configurations: [(Int64, [Onnx_AttributeProto], Bool)] = [
            (13, [Self.attr("mode", "linear")], false),
            (13, [Self.attr("mode", "linear"), Self.attr("coordinate_transformation_mode", "align_corners")], true),
            (13, [Self.attr("mode", "linear"), Self.attr("coordinate_transformation_mode", "pytorch_half_pixel")], true),
            (13, [Self.attr("mode", "nearest"), Self.attr("coordinate_transformation_mode", "asymmetric"), Self.attr("nearest_mode", "floor")], false),
            (13, [Self.attr("mode", "nearest"), Self.attr("nearest_mode", "round_prefer_ceil")], true),
            (19, [Self.attr("mode", "linear"), Self.attr("coordinate_transformation_mode", "half_pixel_symmetric")], false),
            (11, [Self.attr("mode", "linear"), Self.attr("coordinate_transformation_mode", "tf_crop_and_resize"), Self.attr("extrapolation_value", float: 0.25)], true),
        ]
        for (opset, attributes, useSizes) in configurations {
            var m = Model(opset: opset)
            m.floats("roi", [8], [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3]); m.floats("scales", [4], [1, 1, 2, 1.5]); m.ints("sizes", [1, 1, 5, 4])
            m.floats("noscales", [0], [])
            m.node("Tanh", ["z"], ["t"])
            m.node("Resize", useSizes ? ["t", "roi", "noscales", "sizes"] : ["t", "roi", "scales"], ["r"], attributes)
            m.node("Mul", ["r", "r"], ["y"])
            let g = try m.graph(input: [1, 1, 2, 3], output: "y")
            XCTAssertEqual(g.dataShape, useSizes ? [1, 5, 4] : [1, 4, 4], "\(attributes.map(\.s))")
            try checkDerivatives(g, latent(6, seed: 7))
        }
        var m = Model(opset: 9)
        m.floats("scales", [4], [1, 1, 2, 3])
        m.node("Tanh", ["z"], ["t"])
        m.node("Upsample", ["t", "scales"], ["r"], [Self.attr("mode", "linear")])
        m.node("Mul", ["r", "r"], ["y"])
        let g = try m.graph(input: [1, 1, 2, 3], output: "y")
        XCTAssertEqual(g.dataShape, [1, 4, 9])
        try checkDerivatives(g, latent(6, seed: 8))
        // Upsample(nearest, 2): each entry repeated in a 2x2 block.
        var u = Model(opset: 7)
        u.node("Upsample", ["z"], ["y"], [Self.attr("mode", "nearest"), Self.attr("scales", floats: [1, 1, 2, 2])])
        let up = try u.graph(input: [1, 1, 2, 2], output: "y")
        XCTAssertEqual(try eval(up, Vector([1, 2, 3, 4])), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
    }

    /// Constant-only ops fold at load with their element types: Size, Range, ConstantOfShape,
    /// Mod and comparisons feed a Reshape and a Gather of a computed value.
    func testConstantOps() throws {
        var m = Model(opset: 13)
        m.ints("three", [3], shape: []); m.ints("two", [2], shape: []); m.ints("zero", [0], shape: []); m.ints("one", [1], shape: [])
        m.node("Size", ["z"], ["n"])                         // 6
        m.node("Mod", ["n", "three"], ["m0"])                // 0
        m.node("Range", ["zero", "n", "two"], ["idx"])        // [0, 2, 4]
        m.node("Equal", ["m0", "zero"], ["eq"])              // true
        m.node("Where", ["eq", "idx", "one"], ["sel"])       // [0, 2, 4]
        m.node("Gather", ["z", "sel"], ["y"], [Self.attr("axis", 1)])
        let g = try m.graph(input: [1, 6], output: "y")
        XCTAssertEqual(g.nodes.count, 1, "everything but the Gather is folded")
        XCTAssertEqual(try eval(g, Vector([1, 2, 3, 4, 5, 6])), [1, 3, 5])
        // ConstantOfShape's value keeps its type; Mod follows the divisor's sign unless fmod.
        var c = Model(opset: 13)
        c.ints("a", [-7, 7]); c.ints("b", [3, -3]); c.ints("s", [2])
        c.node("Mod", ["a", "b"], ["pm"])
        c.node("Mod", ["a", "b"], ["fm"], [Self.attr("fmod", 1)])
        c.node("ConstantOfShape", ["s"], ["k"])
        let importer = try c.importer(input: [1], output: "pm")
        XCTAssertEqual(try importer.constantOutput("pm", constants: [:]).scalars, [2, -2])
        XCTAssertEqual(try c.importer(input: [1], output: "fm").constantOutput("fm", constants: [:]).scalars, [-1, 1])
        XCTAssertEqual(try c.importer(input: [1], output: "k").constantOutput("k", constants: [:]).scalars, [0, 0])
    }

    /// Sizes from the file are checked before anything is allocated: huge or overflowing shapes,
    /// pads, scales and ranges are errors at load, not crashes.
    func testHostileSizesAreErrors() throws {
        func fails(_ build: (inout Model) -> Void, input: [Int] = [1, 4], _ what: String) {
            var m = Model(opset: 19)
            build(&m)
            do {
                let importer = try m.importer(input: input, output: "y")
                _ = try importer.build()
                XCTFail("\(what): no error")
            } catch let e as GeoError {
                XCTAssertFalse(e.description.isEmpty, what)
            } catch {
                XCTFail("\(what): \(error)")
            }
        }
        fails({ $0.ints("s", [65536, 65536, 4]); $0.node("Expand", ["z", "s"], ["y"]) }, "Expand")
        fails({ $0.ints("p", [0, Int64.max, 0, 0]); $0.node("Pad", ["z", "p"], ["y"]) }, "Pad")
        fails({ $0.ints("p", [0, -9, 0, 0]); $0.node("Pad", ["z", "p"], ["y"]) }, "negative Pad")
        fails({ $0.floats("s", [2], [1, 1e12]); $0.node("Resize", ["z", "", "s"], ["y"]) }, "Resize scales")
        fails({ $0.ints("s", [1, Int64.max]); $0.node("Resize", ["z", "", "", "s"], ["y"]) }, "Resize sizes")
        fails({ $0.ints("s", [1 << 40]); $0.node("ConstantOfShape", ["s"], ["c"]); $0.node("Add", ["z", "c"], ["y"]) }, "ConstantOfShape")
        fails({ m in
            m.floats("a", [], [0]); m.floats("b", [], [1e15]); m.floats("d", [], [1])
            m.node("Range", ["a", "b", "d"], ["r"]); m.node("Add", ["z", "r"], ["y"])
        }, "Range")
        fails({ $0.ints("i", [Int64.min]); $0.node("Gather", ["z", "i"], ["y"], [Self.attr("axis", 1)]) }, "Gather index")
        fails({ $0.ints("s", [0]); $0.ints("e", [4]); $0.ints("a", [1]); $0.ints("st", [0]); $0.node("Slice", ["z", "s", "e", "a", "st"], ["y"]) }, "Slice step 0")
        fails({ $0.ints("sp", [3, 3]); $0.node("Split", ["z", "sp"], ["y", "w"], [Self.attr("axis", 1)]) }, "Split sizes")
        fails({ $0.node("Transpose", ["z"], ["y"], [Self.attr("perm", ints: [0, 0])]) }, "Transpose perm")
    }

    /// What is not supported is an error at load that names it.
    func testUnsupportedFeaturesAreNamed() throws {
        func message(_ build: () throws -> Graph) -> String {
            do { _ = try build(); return "" } catch { return "\(error)" }
        }
        var cubic = Model(opset: 13)
        cubic.floats("scales", [4], [1, 1, 2, 2])
        cubic.node("Resize", ["z", "", "scales"], ["y"], [Self.attr("mode", "cubic")])
        XCTAssertTrue(message { try cubic.graph(input: [1, 1, 2, 2], output: "y") }.contains("mode 'cubic' is not supported"))
        var gather = Model(opset: 13)
        gather.node("Gather", ["z", "z"], ["y"])
        XCTAssertTrue(message { try gather.graph(input: [3], output: "y") }.contains("only constant indices are supported"))
        var mod = Model(opset: 13)
        mod.floats("b", [], [2])
        mod.node("Mod", ["z", "b"], ["y"], [Self.attr("fmod", 1)])
        XCTAssertTrue(message { try mod.graph(input: [3], output: "y") }.contains("supported on constants only"))
        var aa = Model(opset: 18)
        aa.floats("scales", [2], [1, 0.5])
        aa.node("Resize", ["z", "", "scales"], ["y"], [Self.attr("mode", "linear"), Self.attr("antialias", 1)])
        XCTAssertTrue(message { try aa.graph(input: [2, 4], output: "y") }.contains("antialias = 1 (antialiasing) is not supported"))
        var cmp = Model(opset: 13)
        cmp.floats("c", [], [0])
        cmp.node("Greater", ["z", "c"], ["y"])
        XCTAssertTrue(message { try cmp.graph(input: [3], output: "y") }.contains("does not depend on the graph's input"))
    }
}
