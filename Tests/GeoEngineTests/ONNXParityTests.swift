import XCTest
import Foundation
@testable import GeoEngine

/// Parity with PyTorch on ONNX files that torch.onnx.export wrote (both exporters), made once by
/// scripts/make_onnx_fixtures.py: decoding, Jacobian, second derivative and Hessian-vector
/// product against torch's own float64 results on the exported float32 weights.
///
/// Two references per file. `onnx_f64.<file>` is the file's own graph evaluated in float64 by
/// onnx.reference: georepl evaluates the same graph, so it must agree to rounding (1e-12). torch's
/// float64 model is the other: files store some constants in float32 (LeakyRelu's 0.2, GELU's
/// constants, BatchNorm folded into the weights), which moves the graph's function away from
/// torch's by up to a few 1e-7; the derivatives must agree with torch's to 1e-9 relative where
/// the file is exact, and otherwise as closely as the values do.
final class ONNXParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("onnx")

    static let models = ["mlp", "dcgan", "vae_ln_gelu", "upsample_conv", "resblock_groupnorm", "dropout_skip_tanh",
                         "attention", "attention_sdpa"]

    /// The ONNX files of a model: default export, legacy, opset 18 where present.
    func files(_ model: String) -> [String] {
        ["", "_legacy", "_opset18"].map { model + $0 }
            .filter { FileManager.default.fileExists(atPath: Self.fixtures.appendingPathComponent($0 + ".onnx").path) }
    }

    func check(_ model: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try SafeTensors.read(path: Self.fixtures.appendingPathComponent(model + "_expected.safetensors").path).tensors
        func t(_ k: String) throws -> Tensor { try XCTUnwrap(expected[k], "missing \(k)", file: file, line: line) }
        let z = try t("z"), d = z.shape[1]
        let z0 = Vector(Array(z.scalars[0..<d]))
        let decoded = try t("decoded"), jac = try t("jacobian"), d2 = try t("d2"), hvp = try t("hvp")
        let u = Vector(try t("u").scalars), v = Vector(try t("v").scalars), c = try t("c")
        for stem in files(model) {
            let g = try ONNXModel.generator(path: Self.fixtures.appendingPathComponent(stem + ".onnx").path)
            XCTAssertEqual(g.latentDim, d, stem, file: file, line: line)
            let dd = g.dataDim
            // The same graph in float64.
            let reference = try t("onnx_f64." + stem).scalars
            let y0 = try g.decode(z0).scalars
            XCTAssertLessThan(relativeError(y0, reference), 1e-12, "\(stem): decode vs onnx.reference (float64)", file: file, line: line)
            // torch float64: how far the file's function is from torch's bounds every comparison.
            let fileError = relativeError(reference, Array(decoded.scalars[0..<dd]))
            let tol = max(1e-9, 10 * fileError)
            let y = try g.forward(try Matrix(rows: 3, cols: d, scalars: z.scalars))
            XCTAssertLessThan(relativeError(y.scalars, decoded.scalars), tol, "\(stem): decode vs torch", file: file, line: line)
            let j = try g.jacobian(z0)
            XCTAssertLessThan(relativeError(j.scalars, jac.scalars), tol, "\(stem): Jacobian vs torch", file: file, line: line)
            let so = try g.secondOrder(Matrix(row: z0), u: Matrix(row: u), v: Matrix(row: v))
            XCTAssertLessThan(relativeError(so.d2.scalars, d2.scalars), tol * 10, "\(stem): D2g[u, v] vs torch", file: file, line: line)
            let h = try g.hvp(Matrix(row: z0), cotangents: Matrix(row: Vector(c.scalars)), tangents: Matrix.identity(d))
            XCTAssertLessThan(relativeError(h.hvp.scalars, hvp.scalars), tol * 10, "\(stem): Hessian of <c, g> vs torch", file: file, line: line)
            print("\(stem): file vs torch \(formatNumber(fileError)), decode \(formatNumber(relativeError(y.scalars, decoded.scalars))), jacobian \(formatNumber(relativeError(j.scalars, jac.scalars))), d2 \(formatNumber(relativeError(so.d2.scalars, d2.scalars))), hvp \(formatNumber(relativeError(h.hvp.scalars, hvp.scalars)))")
        }
    }

    func testMLP() throws { try check("mlp") }
    func testDCGAN() throws { try check("dcgan") }
    func testVAEWithLayerNormGELUAndConvTranspose() throws { try check("vae_ln_gelu") }
    func testBilinearUpsampleAndConv() throws { try check("upsample_conv") }
    func testResidualBlockWithGroupNorm() throws { try check("resblock_groupnorm") }
    func testDropoutSkipConcatenationAndScaledTanh() throws { try check("dropout_skip_tanh") }
    func testSelfAttention() throws { try check("attention") }
    func testScaledDotProductAttention() throws { try check("attention_sdpa") }

    /// Weights in a separate file (`location`, `offset`, `length`) load like inline ones.
    func testExternalData() throws {
        let a = try ONNXModel.generator(path: Self.fixtures.appendingPathComponent("mlp_external.onnx").path)
        let b = try ONNXModel.generator(path: Self.fixtures.appendingPathComponent("mlp.onnx").path)
        let z = Vector([0.1, -0.2, 0.3, 0.4, -0.5])
        XCTAssertEqual(try a.decode(z), try b.decode(z))
    }
}
