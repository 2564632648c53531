import XCTest
import Foundation
import ONNXProto
@testable import GeoEngine

/// Regression tests of what the ONNX-file fuzzer (scripts/fuzz/onnx.lua) found, each a small
/// malicious model written here (see scripts/fuzz/FINDINGS.md): sizes from the file that were
/// allocated before they were checked, shape arithmetic that trapped on overflow, and messages
/// that printed a file's shapes and names in full. Each is now a clear `GeoError` at load.
final class ONNXHardeningTests: XCTestCase {
    typealias Model = ONNXShapesTests.Model
    override func tearDown() { MemoryBudget.override = nil }

    /// The error of loading `m` (input z of `input`, output "y"); nil when it loads.
    func loadError(_ m: Model, input: [Int] = [1, 2], file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            _ = try m.graph(input: input, output: "y")
            return nil
        } catch let e as GeoError {
            return e.description
        } catch {
            XCTFail("not a GeoError: \(error)", file: file, line: line)
            return "\(error)"
        }
    }

    /// `m` fails to load with exactly `expected`; a clear message (short, no control characters).
    func assertLoadError(_ m: Model, input: [Int] = [1, 2], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let message = loadError(m, input: input, file: file, line: line) else {
            return XCTFail("the model loaded; expected: \(expected)", file: file, line: line)
        }
        XCTAssertEqual(message, expected, file: file, line: line)
        assertClear(message, file: file, line: line)
    }

    /// What the fuzzer calls a clear message: under 1000 bytes, no control characters.
    func assertClear(_ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThan(message.utf8.count, 1000, message, file: file, line: line)
        XCTAssertFalse(message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }, "control characters in \(message)",
                       file: file, line: line)
    }

    static let limit = maxFeaturesPerPoint
    static let big = Int64(1) << 62

    // MARK: The rule for shapes

    func testTheRuleForShapes() throws {
        XCTAssertEqual(try Tensor.checkedCount([64, 3, 4, 4], "w"), 3072)
        XCTAssertEqual(try Tensor.checkedCount([], "scalar"), 1)
        XCTAssertEqual(try Tensor.checkedCount([0, 5], "empty"), 0)
        XCTAssertEqual(try Tensor.checkedCount([1 << 13, 1 << 13], "at the limit"), Self.limit)
        let cases: [([Int], String)] = [
            ([3, -1], "x has shape [3,-1], with a negative size"),
            ([1 << 13, (1 << 13) + 1], "x has shape [8192,8193], more than georepl's \(Self.limit) entries per value"),
            ([Int.max, Int.max], "x has shape [9223372036854775807,9223372036854775807], more than georepl's \(Self.limit) entries per value"),
            // No entries, but strides and per-axis tables of 2^62.
            ([0, 1 << 62], "x has shape [0,4611686018427387904], more than georepl's \(Self.limit) entries per value (an axis of size 0 counting as 1)"),
        ]
        for (shape, expected) in cases {
            XCTAssertThrowsError(try Tensor.checkedCount(shape, "x")) { XCTAssertEqual(($0 as? GeoError)?.description, expected) }
        }
        MemoryBudget.override = 1 << 20
        XCTAssertThrowsError(try Tensor.checkedCount([512, 512], copies: 2, "x")) {
            XCTAssertEqual(($0 as? GeoError)?.description,
                           "not enough memory: x (shape [512,512]) needs 4 MB, the memory budget is 1 MB (set GEOREPL_MEMORY_LIMIT to change it)")
        }
    }

    // MARK: Sizes from the file, allocated before they were checked

    /// fold_huge: two modest constants [N, 1] and [1, N] whose broadcast ([N, N], 8 bytes to
    /// 8.8 TB) was allocated while folding, by Broadcast.map, before any check.
    func testFoldedBroadcastIsCheckedBeforeItIsAllocated() {
        for op in ["Add", "Sub", "Mul", "Div", "Pow", "Sum", "Mod", "Greater", "Where", "Expand", "MatMul"] {
            for n: Int64 in [10_000, 1 << 20] {
                var m = Model(opset: 13)
                m.ints("s1", [n, 1]); m.ints("s2", [1, n]); m.ints("nn", [n, n])
                m.node("ConstantOfShape", ["s1"], ["a"])
                m.node("ConstantOfShape", ["s2"], ["b"])
                switch op {
                case "Where": m.node("Greater", ["a", "b"], ["g"]); m.node("Where", ["g", "a", "b"], ["c"])
                case "Expand": m.node("Expand", ["a", "nn"], ["c"])
                default: m.node(op, ["a", "b"], ["c"])
                }
                m.node("Add", ["z", "c"], ["y"])
                let node = op == "Where" ? "'Greater_2' (Greater)" : "'\(op)_2' (\(op))"
                let what = op == "MatMul" ? "the product of [\(n),1] by [1,\(n)]" : op == "Expand" ? "the broadcast of [\(n),1] and [\(n),\(n)]"
                                                                                 : "the broadcast of [\(n),1] and [1,\(n)]"
                assertLoadError(m, "node \(node): \(what) has shape [\(n),\(n)], more than georepl's \(Self.limit) entries per value")
            }
        }
    }

    /// A broadcast within the per-value limit but not in the memory budget: an out-of-memory
    /// error naming the node, before the four arrays of folding are allocated.
    func testFoldedBroadcastMustFitTheBudget() {
        func model(_ n: Int64) -> Model {
            var m = Model(opset: 13)
            m.ints("s1", [n, 1]); m.ints("s2", [1, n])
            m.node("ConstantOfShape", ["s1"], ["a"])
            m.node("ConstantOfShape", ["s2"], ["b"])
            m.node("Add", ["a", "b"], ["c"])
            m.node("ReduceSum", ["c"], ["s"])
            m.node("Add", ["z", "s"], ["y"])
            return m
        }
        MemoryBudget.override = 64 << 20
        assertLoadError(model(3000), "not enough memory: node 'Add_2' (Add): the broadcast of [3000,1] and [1,3000] (shape [3000,3000]) needs 275 MB, the memory budget is 64 MB (set GEOREPL_MEMORY_LIMIT to change it)")
        XCTAssertNil(loadError(model(300)), "it loads when it fits")
    }

    /// zero_huge: a tensor without entries whose dims are huge ([2^62, 0]) passed the count
    /// check; Transpose, Slice, Split, Concat, Pad, ReduceSum, ... then allocated per-axis
    /// tables of 2^62 entries or overflowed computing strides. Refused where it enters.
    func testEmptyTensorsWithHugeDimsAreRefused() {
        for op in ["Transpose", "Slice", "Split", "Concat", "Pad", "ReduceSum", "Gather", "Flatten"] {
            for viaConstantOfShape in [false, true] {
                var m = Model(opset: 13)
                if viaConstantOfShape {
                    m.ints("dims", [0, Self.big])
                    m.node("ConstantOfShape", ["dims"], ["c"])
                } else {
                    m.floats("c", [Int(Self.big), 0], [])
                }
                m.ints("zero", [0]); m.ints("one", [1]); m.ints("pads", [1, 1, 1, 1])
                switch op {
                case "Slice": m.node(op, ["c", "zero", "one", "one"], ["d"])
                case "Concat": m.node(op, ["c", "c"], ["d"], [ONNXShapesTests.attr("axis", 0)])
                case "Pad": m.node(op, ["c", "pads"], ["d"])
                case "Gather": m.node(op, ["c", "zero"], ["d"])
                case "Split": m.node(op, ["c"], ["d", "e"], [ONNXShapesTests.attr("axis", 1)])
                default: m.node(op, ["c"], ["d"])
                }
                m.node("Add", ["z", "d"], ["y"])
                assertLoadError(m, viaConstantOfShape
                    ? "node 'ConstantOfShape_0' (ConstantOfShape): the output has shape [0,4611686018427387904], more than georepl's \(Self.limit) entries per value (an axis of size 0 counting as 1)"
                    : "initializer 'c' has shape [4611686018427387904,0], more than georepl's \(Self.limit) entries per value (an axis of size 0 counting as 1)")
            }
        }
    }

    /// A Reshape of an empty tensor to a shape of the same (zero) entries but huge dims.
    func testReshapeOfAnEmptyTensorToHugeDims() {
        var m = Model(opset: 14)
        m.floats("c", [0], [])
        m.ints("shape", [0, Self.big])
        m.node("Reshape", ["c", "shape"], ["d"], [ONNXShapesTests.attr("allowzero", 1)])
        m.node("Add", ["z", "d"], ["y"])
        assertLoadError(m, "node 'Reshape_0' (Reshape): the output has shape [0,4611686018427387904], more than georepl's \(Self.limit) entries per value (an axis of size 0 counting as 1)")
    }

    /// resize_huge on a fixture: Resize to sizes [1, 1, 0, 2^26] (an output without entries)
    /// built a list of samples for each of the 2^26 coordinates of the last axis (about 5 GB);
    /// [1, 1, 1, 2^24] fits the budget as an output, not as lists of samples.
    func testResizeSamplesAreBudgeted() {
        func model(_ sizes: [Int64]) -> Model {
            var m = Model(opset: 13)
            m.ints("sizes", sizes)
            m.node("Resize", ["z", "", "", "sizes"], ["y"], [ONNXShapesTests.attr("mode", "linear")])
            return m
        }
        MemoryBudget.override = 512 << 20
        assertLoadError(model([1, 1, 0, 1 << 26]), input: [1, 1, 1, 2],
                        "not enough memory: node 'Resize_0' (Resize): the output (shape [1,1,0,67108864]) needs 1.5 GB, the memory budget is 512 MB (set GEOREPL_MEMORY_LIMIT to change it)")
        assertLoadError(model([1, 1, 1, 1 << 24]), input: [1, 1, 1, 2],
                        "not enough memory: node 'Resize_0' (Resize): the list of samples of the output (shape [1,1,1,16777216]) needs 1.25 GB, the memory budget is 512 MB (set GEOREPL_MEMORY_LIMIT to change it)")
        XCTAssertNil(loadError(model([1, 1, 1, 1 << 12]), input: [1, 1, 1, 2]))
    }

    /// An initializer of 10^6 x 10^6 values declared with no data: checked against the budget
    /// before its values are read.
    func testInitializerSizesAreCheckedFirst() {
        var m = Model(opset: 13)
        m.floats("w", [1000, 1000], [])
        m.node("Add", ["z", "w"], ["y"])
        MemoryBudget.override = 1 << 20
        assertLoadError(m, "not enough memory: initializer 'w' (shape [1000,1000]) needs 7.63 MB, the memory budget is 1 MB (set GEOREPL_MEMORY_LIMIT to change it)")
    }

    /// The graph input's declared shape, from the file: [2^62, 1] overflowed later products.
    func testGraphInputShapeIsChecked() {
        var m = Model(opset: 13)
        m.node("Relu", ["z"], ["y"])
        assertLoadError(m, input: [1 << 62, 1], "'z' has shape [4611686018427387904,1], more than georepl's \(Self.limit) entries per value")
    }

    /// MatMul of two computed values whose product is huge (folded, or built and evaluated).
    func testMatMulOfValuesIsChecked() {
        var m = Model(opset: 13)
        m.ints("s1", [1, 100_000]); m.ints("s2", [100_000, 1])
        m.node("Reshape", ["z", "s2"], ["a"])
        m.node("Reshape", ["z", "s1"], ["b"])
        m.node("MatMul", ["a", "b"], ["y"])
        assertLoadError(m, input: [100_000], "node 'MatMul_2' (MatMul): the product of [100000,1] by [1,100000] has shape [100000,100000], more than georepl's \(Self.limit) entries per value")
    }

    /// GEOREPL_MEMORY_LIMIT bounds each allocation, but never lifts what `ulimit -v` leaves:
    /// under the fuzzer's limits (512M, 2 GB) folded constants that each fit added up to an
    /// abort. (End to end: ONNXHardeningEndToEndTests.)
    func testBudgetIsNeverMoreThanTheAddressSpaceLeft() {
        XCTAssertEqual(MemoryBudget.budget(limit: 512 << 20, addressSpaceLeft: nil), 512 << 20)
        XCTAssertEqual(MemoryBudget.budget(limit: 512 << 20, addressSpaceLeft: 2 << 30), 512 << 20)
        XCTAssertEqual(MemoryBudget.budget(limit: 512 << 20, addressSpaceLeft: 200 << 20), 200 << 20)
        XCTAssertEqual(MemoryBudget.budget(limit: 512 << 20, addressSpaceLeft: 0), 0)
    }

    // MARK: Shape arithmetic that trapped

    /// reshape_impossible: the product of the requested sizes overflowed (a trap at
    /// ONNXStructure.swift:103) before it was compared with the input's.
    func testReshapeToOverflowingSizes() {
        for shape: [Int64] in [[Self.big, Self.big, -1], [-1, Self.big, Self.big], [Int64.max, -1], [Self.big, 4, -1]] {
            var m = Model(opset: 13)
            m.ints("shape", shape)
            m.node("Reshape", ["z", "shape"], ["y"])
            assertLoadError(m, "node 'Reshape_0' (Reshape): cannot reshape [1,2] to \(shape.map { Int($0) })")
        }
    }

    /// range_huge: Range(0, -1e300, 1) converted -1e300 entries to an Int (a trap at
    /// ONNXShapes.swift:556); (-1e308, 1e308, 1) has an infinite count.
    func testRangeCountsThatDoNotFitAnInt() {
        func model(_ start: Double, _ limit: Double, _ delta: Double) -> Model {
            var m = Model(opset: 13)
            for (name, x) in [("start", start), ("limit", limit), ("delta", delta)] {
                m.initializers.append(Onnx_TensorProto.with { $0.name = name; $0.dataType = 11; $0.doubleData = [x] })
            }
            m.floats("c", [1], [0])
            m.node("Range", ["start", "limit", "delta"], ["r"])
            m.node("Concat", ["r", "c"], ["k"], [ONNXShapesTests.attr("axis", 0)])
            m.node("Add", ["z", "k"], ["y"])
            return m
        }
        XCTAssertNil(loadError(model(0, -1e300, 1), input: [1]), "an empty range")
        XCTAssertNil(loadError(model(0, 1e300, -1), input: [1]), "an empty range")
        assertLoadError(model(-1e308, 1e308, 1), input: [1],
                        "node 'Range_0' (Range): Range(-1e+308, 1e+308, 1) has more than \(Self.limit) entries")
        assertLoadError(model(0, 1e9, 1), input: [1], "node 'Range_0' (Range): Range(0, 1000000000, 1) has more than \(Self.limit) entries")
    }

    /// Split sizes whose sum overflowed.
    func testSplitSizesThatOverflow() {
        var m = Model(opset: 13)
        m.ints("split", [Int64.max, Int64.max])
        m.node("Split", ["z", "split"], ["a", "b"], [ONNXShapesTests.attr("axis", 1)])
        m.node("Add", ["a", "b"], ["y"])
        assertLoadError(m, "node 'Split_0' (Split): split [9223372036854775807, 9223372036854775807] does not divide axis 1 of size 2 among 2 outputs")
    }

    /// Pads of INT64's extremes that cancel out: the size was valid, the index arithmetic
    /// overflowed.
    func testPadsOfExtremeSizes() {
        var m = Model(opset: 13)
        m.ints("pads", [0, Int64.min, 0, Int64.max])
        m.node("Pad", ["z", "pads"], ["y"])
        assertLoadError(m, "node 'Pad_0' (Pad): pads [0, -9223372036854775808, 0, 9223372036854775807] must have entries between -\(Self.limit) and \(Self.limit)")
    }

    // MARK: Messages that printed the file's shapes and names in full

    /// tensor_dims: a shape of 1000 ones was printed in full (2 KB messages).
    func testLongShapesAreCut() {
        var m = Model(opset: 13)
        m.initializers.append(Onnx_TensorProto.with {
            $0.name = "w"; $0.dims = [Int64](repeating: 1, count: 1000); $0.dataType = 1; $0.rawData = Data(count: 72)
        })
        m.node("Add", ["z", "w"], ["y"])
        assertLoadError(m, "initializer 'w': raw_data holds 72 bytes, shape [1,1,1,1,1,1,1,1,...(1000 dims)] of float needs 4")
        var c = Model(opset: 13)
        c.floats("w", [Int](repeating: 1, count: 1000), [1])
        c.node("Concat", ["z", "w"], ["y"], [ONNXShapesTests.attr("axis", 0)])
        assertLoadError(c, "node 'Concat_0' (Concat): cannot concatenate input 2 of shape [1,1,1,1,1,1,1,1,...(1000 dims)] with input 1 of shape [1,2] along axis 0")
    }

    /// op_unknown with names_odd: an op type of terminal escapes 10,000 characters long, in the
    /// message that also lists every supported op.
    func testUnknownOpNamesAreCut() {
        let evil = String(String(repeating: "A\u{1b}[2J\u{1b}[31m\u{1b}]0;pwned\u{07}\u{08}\r", count: 500).prefix(10_000))
        var m = Model(opset: 13)
        m.node(evil, ["z"], ["y"])
        guard let message = loadError(m) else { return XCTFail("loaded") }
        assertClear(message)
        XCTAssertTrue(message.hasPrefix("node 'A\\27[2J\\27[31m\\27]0;pwned\\7\\8\\rA"), message)
        XCTAssertTrue(message.contains("more characters)' is not supported (supported: Abs, Add, "), message)
        XCTAssertFalse(message.contains("MatMul(values)"), "internal builders are not listed")
    }

    /// Names, lists and escapes are cut by what is shown, so that escapes cannot make a name
    /// 8 times longer than its limit.
    func testUntrustedTextIsCutByWhatIsShown() {
        XCTAssertEqual(UntrustedText.list([1, 2, 3]), "[1, 2, 3]")
        XCTAssertEqual(shapeString(Array(1...9)), "[1,2,3,4,5,6,7,8,...(9 dims)]")
        XCTAssertEqual("\(untrusted: [Int](repeating: 0, count: 100))", "[0, 0, 0, 0, 0, 0, 0, 0, ...(100 entries)]")
        XCTAssertEqual(UntrustedText.names(["a", "b\u{1b}"]), "'a', 'b\\27'")
        XCTAssertEqual(UntrustedText.names((1...7).map(String.init)), "'1', '2', '3', '4', '5', ...(7 names)")
        XCTAssertEqual(shapesString([[1], [2], [3], [4], [5]]), "[1] and [2] and [3] and [4] and ...(5 shapes)")
        let bidi = UntrustedText.sanitized(String(repeating: "\u{202e}", count: 1000))
        XCTAssertEqual(bidi, String(repeating: "\\u{202e}", count: 50) + "...(950 more characters)")
        XCTAssertEqual(UntrustedText.sanitized(String(repeating: "x", count: 300)), String(repeating: "x", count: 200) + "...(100 more characters)")
    }

    /// A graph with 10,000 free inputs: the message lists five.
    func testLongNameListsAreCut() {
        var m = Model(opset: 13)
        m.node("Relu", ["z"], ["y"])
        let graph = Onnx_GraphProto.with {
            $0.node = m.nodes
            $0.input = (0..<10_000).map { i in Onnx_ValueInfoProto.with { $0.name = "in\(i)"; $0.type.tensorType.elemType = 1 } }
            $0.output = [Onnx_ValueInfoProto.with { $0.name = "y" }]
        }
        let model = Onnx_ModelProto.with {
            $0.irVersion = 8; $0.graph = graph
            $0.opsetImport = [Onnx_OperatorSetIdProto.with { $0.domain = ""; $0.version = 13 }]
        }
        XCTAssertThrowsError(try ONNXImporter(try ONNXFile.parse(try model.serializedData())).build()) {
            let message = ($0 as? GeoError)?.description ?? ""
            XCTAssertEqual(message, "the ONNX graph has 10000 inputs that are not initializers ('in0', 'in1', 'in2', 'in3', 'in4', ...(10000 names)); a decoder takes one, the latent point")
        }
    }
}
