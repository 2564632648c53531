import XCTest
import Foundation
@testable import GeoEngine

/// Parity with PyTorch: a small conv VAE exported by scripts/export_torch_example.py (F32
/// weights, the whole state dict) and torch's outputs and derivatives for fixed points.
/// The fixtures live in Tests/Fixtures/torch/, found relative to this source file (#filePath),
/// outside the test target so that SwiftPM needs no resource declarations.
final class TorchParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("torch")

    private func load() throws -> (Manifold, [String: Tensor]) {
        let model = try ModelFile.load(path: Self.fixtures.appendingPathComponent("torch_example.safetensors").path)
        let expected = try SafeTensors.read(path: Self.fixtures.appendingPathComponent("torch_example_expected.safetensors").path)
        return (model, expected.tensors)
    }

    private func matrix(_ t: Tensor?) throws -> Matrix {
        let t = try XCTUnwrap(t)
        return try Matrix(rows: t.shape.count > 1 ? t.shape[0] : 1, cols: t.shape.last ?? 1, scalars: t.scalars)
    }

    func testModelLoads() throws {
        let (m, _) = try load()
        XCTAssertEqual(m.name, "torch-example")
        XCTAssertEqual(m.latentDim, 4)
        XCTAssertEqual(m.dataShape, [1, 32, 32])
        XCTAssertEqual((m.generator as? NeuralNetwork)?.layers.map { $0.op },
                       ["linear", "reshape", "conv_transpose2d", "batchnorm", "relu", "conv_transpose2d", "batchnorm",
                        "leaky_relu", "conv2d", "gelu", "conv_transpose2d", "sigmoid"])
        XCTAssertEqual((m.encoder as? NeuralNetwork)?.dataShape, [8])
    }

    func testDecodeMatchesTorch() throws {
        let (m, e) = try load()
        let z = try matrix(e["z"])
        let y = try m.generator.forward(z)
        // torch in float32: agreement to float32 rounding.
        XCTAssertLessThan(relativeError(y.scalars, try matrix(e["decoded_f32"]).scalars), 1e-5)
        // torch in float64 with the same weights: agreement to double rounding.
        XCTAssertLessThan(relativeError(y.scalars, try matrix(e["decoded_f64"]).scalars), 1e-12)
    }

    func testDerivativesMatchTorchAutograd() throws {
        let (m, e) = try load()
        let z0 = try matrix(e["z"]).row(0)
        let j = try m.generator.jacobian(z0)
        XCTAssertLessThan(relativeError(j.scalars, try XCTUnwrap(e["jacobian"]).scalars), 1e-12)
        let u = try matrix(e["u"]), v = try matrix(e["v"])
        let so = try m.generator.secondOrder(Matrix(row: z0), u: u, v: v)
        XCTAssertLessThan(relativeError(so.d2.scalars, try XCTUnwrap(e["d2"]).scalars), 1e-11)
        try assertDerivativesMatchFiniteDifferences(m.generator, at: z0)
    }

    func testEncoderMatchesTorch() throws {
        let (m, e) = try load()
        let x = try matrix(e["x"])
        let enc = try XCTUnwrap(m.encoder)
        XCTAssertLessThan(relativeError(try enc.forward(x).scalars, try XCTUnwrap(e["encoded_f64"]).scalars), 1e-12)
        XCTAssertEqual(try m.encode(x.row(0)).scalars, Array(try enc.forward(Matrix(row: x.row(0))).scalars.prefix(4)))
    }

    func testRoundTripOfTheTorchModel() throws {
        let (m, e) = try load()
        let back = try ModelFile.load(data: try ModelFile.encode(m, dtype: .f64))
        let z = try matrix(e["z"])
        XCTAssertEqual(try back.generator.forward(z), try m.generator.forward(z))
    }
}
