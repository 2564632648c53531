import XCTest
import Foundation
@testable import Bindings

/// geo.load with ONNX files, from Lua: the path form, the table form, and clear errors.
final class ONNXLoadTests: LuaTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("onnx").path

    func testPathAndTableForms() {
        let dir = Self.fixtures
        lua.run("m = geo.load('\(dir)/dcgan.onnx')")
        XCTAssertEqual(eval("m.name, m.latent_dim, m.data_dim, m.has_encoder"), ["dcgan", "6", "1024", "false"])
        XCTAssertEqual(eval("table.concat(m.data_shape, ',')"), ["1,32,32"])
        lua.run("t = geo.load{decoder = '\(dir)/mlp.onnx', name = 'mine', data_shape = {3, 4, 4}}")
        XCTAssertEqual(eval("t.name, table.concat(t.data_shape, ','), #t:decode(geo.zeros(5))"), ["mine", "3,4,4", "48"])
        // The same weights through both exporters: the same function.
        lua.run("a = geo.load('\(dir)/resblock_groupnorm.onnx') b = geo.load('\(dir)/resblock_groupnorm_legacy.onnx') z = geo.randn(8, 3)")
        XCTAssertEqual(value("(a:decode(z) - b:decode(z)):norm() < 1e-12 * a:decode(z):norm()"), "true")
    }

    func testErrors() {
        let dir = Self.fixtures
        assertError("geo.load('\(dir)/missing.onnx')", "cannot open '\(dir)/missing.onnx': No such file or directory")
        assertError("geo.load{encoder = 'x.onnx'}", "bad argument #1 to 'load' (option 'decoder' is required (the path of an ONNX file))")
        assertError("geo.load{decoder = '\(dir)/mlp.onnx', data_shape = {5, 5}}",
                    "bad argument #1 to 'load' (option 'data_shape' must be a shape of 48 entries (the decoder's output), got [5,5])")
        assertError("geo.load{decoder = '\(dir)/mlp.onnx', colour = 1}",
                    "bad argument #1 to 'load' (unknown option 'colour' (expected one of: decoder, encoder, name, data_shape))")
        // A safetensors file given as ONNX is a clear protobuf error, not a crash.
        let st = NSTemporaryDirectory() + "/georepl-not-onnx-\(getpid()).onnx"
        XCTAssertTrue(FileManager.default.createFile(atPath: st, contents: Data([0x08, 0x96, 0x01, 0xff, 0xff, 0xff])))
        defer { try? FileManager.default.removeItem(atPath: st) }
        XCTAssertEqual(value("select(2, pcall(geo.load, '\(st)')):match('^.-not a valid ONNX model') ~= nil"), "true")
    }

    /// The "done when" on the residual block with GroupNorm torch exported: load it,
    /// compute a geodesic, an analogy and a curvature sweep (kept small for a debug build).
    func testResidualGroupNormDecoderRunsEveryAlgorithm() {
        lua.run("""
            m = geo.load('\(Self.fixtures)/resblock_groupnorm.onnx')
            a, b, c = geo.randn(8, 1), geo.randn(8, 2), geo.randn(8, 3)
            p = geo.geodesic(m, a, b, {points = 6})
            line = geo.line(m, a, b, {points = 6})
            d, info = geo.analogy(m, a, b, c, {points = 6, steps = 10})
            s = geo.sweep(m, {samples = 4, seed = 1})
            """)
        XCTAssertEqual(value("p.converged"), "true")
        XCTAssertEqual(value("p:length() <= line:length()"), "true")
        XCTAssertEqual(value("info.residual < 1e-8"), "true")
        XCTAssertEqual(value("(geo.exp(m, c, info.transported, {steps = 10}) - d):norm() < 1e-12"), "true")
        XCTAssertEqual(eval("s.count, s.dropped"), ["4", "0"])
    }
}
