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
