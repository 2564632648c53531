import XCTest
import Foundation
@testable import GeoEngine

/// Regression tests of the hardening issue, at the engine's level: the memory budget, the
/// atomic writer, cancellation that nothing swallows and vectors that refuse mismatches.
final class HardeningTests: XCTestCase {
    override func tearDown() { MemoryBudget.override = nil }

    // MARK: Memory budget

    func testBudgetArithmeticIsOverflowSafe() {
        XCTAssertNil(MemoryBudget.product([Int.max, 2]))
        XCTAssertNil(MemoryBudget.product([3, -1]))
        XCTAssertEqual(MemoryBudget.product([]), 1)
        MemoryBudget.override = 1 << 20
        XCTAssertThrowsError(try MemoryBudget.doubles(1 << 40, 1 << 40, for: "x")) {
            XCTAssertEqual(($0 as? GeoError)?.description,
                           "not enough memory: x needs more than 8 EB, the memory budget is 1 MB (set GEOREPL_MEMORY_LIMIT to change it)")
        }
        XCTAssertNoThrow(try MemoryBudget.doubles(1 << 17, for: "exactly 1 MB"))
        XCTAssertThrowsError(try MemoryBudget.doubles((1 << 17) + 1, for: "one more"))
    }

    func testEnvironmentSizesParse() {
        XCTAssertEqual(MemoryBudget.parse("512M"), 512 << 20)
        XCTAssertEqual(MemoryBudget.parse(" 2g "), 2 << 30)
        XCTAssertEqual(MemoryBudget.parse("1.5K"), 1536)
        XCTAssertEqual(MemoryBudget.parse("4096"), 4096)
        for bad in ["", "-1", "1e400", "lots", "12MB", "2GiB", "nan"] { XCTAssertNil(MemoryBudget.parse(bad), bad) }
        XCTAssertEqual(MemoryBudget.format(bytes: 1536), "1.5 KB")
        XCTAssertEqual(MemoryBudget.format(bytes: 100), "100 bytes")
    }

    /// The model: a valid conv model of a few bytes whose decoder output is
    /// [1, 2700, 15004]. Its single-point decode needs about 1 GB: under a smaller budget it is
    /// rejected at load, naming the layer; under a larger one it loads, and a Jacobian that
    /// does not fit is an error that says how much it needs.
    func testHugeOutputModel() throws {
        let model = try HardeningTests.hugeOutputModel()
        MemoryBudget.override = 256 << 20
        XCTAssertThrowsError(try ModelFile.load(data: model)) {
            let m = ($0 as? GeoError)?.description ?? ""
            XCTAssertEqual(m, "not enough memory: decoder layer 2 (conv_transpose2d) decoding one point needs 927 MB, the memory budget is 256 MB (set GEOREPL_MEMORY_LIMIT to change it)")
        }
        MemoryBudget.override = 1 << 30
        let m = try ModelFile.load(data: model)
        XCTAssertEqual(m.dataShape, [1, 2700, 15004])
        let z = Vector([0.3, -0.2])
        XCTAssertThrowsError(try m.generator.jacobian(z)) {
            XCTAssertEqual(($0 as? GeoError)?.description,
                           "not enough memory: a 40510800x2 Jacobian needs 1.21 GB, the memory budget is 1 GB (set GEOREPL_MEMORY_LIMIT to change it)")
        }
        XCTAssertThrowsError(try Curvature.sectional(on: m.generator, at: z, Vector([1, 0]), Vector([0, 1]))) {
            // The Jacobian comes first (first-order mode), and is what does not fit.
            XCTAssertEqual(($0 as? GeoError)?.description,
                           "not enough memory: a JVP (its result, and the work of one point at layer 2 (conv_transpose2d)) needs 2.11 GB, the memory budget is 1 GB (set GEOREPL_MEMORY_LIMIT to change it)")
        }
    }

    /// latent 2 -> linear [4] -> reshape [1,2,2] -> conv_transpose2d 1x1 kernel, stride
    /// [2699, 15003]: output [1, 2700, 15004] from 13 weights.
    static func hugeOutputModel() throws -> Data {
        let w1 = try Tensor(shape: [4, 2], scalars: (0..<8).map { 0.1 * Double($0) })
        let w2 = try Tensor(shape: [1, 1, 1, 1], scalars: [1])
        let layers = """
            [{"op":"linear","weight":"w1"},{"op":"reshape","shape":[1,2,2]},
             {"op":"conv_transpose2d","weight":"w2","stride":[2699,15003]}]
            """
        return try SafeTensors.encode([("w1", w1), ("w2", w2)], metadata: [
            "georepl.format": "1", "georepl.latent_dim": "2", "georepl.data_shape": "[1,2700,15004]",
            "georepl.decoder": layers], dtype: .f32)
    }

    /// When one point with all its tangents does not fit, the tangents are processed in slices,
    /// with results identical to the unsliced pass.
    func testTangentsAreSlicedToFitTheBudget() throws {
        var rng = SeededRandom(seed: 3)
        let d = 6, hidden = 300, out = 400
        let net = try NeuralNetwork(latentDim: d, layers: [
            .linear(weight: try Tensor(shape: [hidden, d], scalars: (0..<(hidden * d)).map { _ in rng.normal() * 0.3 }), bias: nil),
            .activation(.tanh),
            .linear(weight: try Tensor(shape: [out, hidden], scalars: (0..<(out * hidden)).map { _ in rng.normal() * 0.1 }), bias: nil),
            .activation(.sigmoid)])
        let z = try Matrix(rows: 2, cols: d, scalars: (0..<(2 * d)).map { _ in rng.normal() })
        let t = try Matrix(rows: 2 * d, cols: d, scalars: (0..<(2 * d * d)).map { _ in rng.normal() })
        let c = try Matrix(rows: 2 * 3, cols: out, scalars: (0..<(6 * out)).map { _ in rng.normal() })
        let full = (try net.jvp(z, tangents: t), try net.vjp(z, cotangents: c), try net.secondOrder(z, u: t, v: t))
        // Room for the outputs and a few state rows only: one point's 6 tangents cannot travel together.
        let outputs = 2 * (1 + 3 * d) * out
        MemoryBudget.override = (outputs + 12 * net.doublesPerStateRow) * 8
        let plan = try net.memoryPlan(points: 2, tangents: d, rowsPerTangent: 3, outputRowsPerPoint: 1 + 3 * d, what: "t")
        XCTAssertLessThan(plan.tangentsPerSlice, d)
        XCTAssertGreaterThanOrEqual(plan.tangentsPerSlice, 1)
        let sliced = (try net.jvp(z, tangents: t), try net.vjp(z, cotangents: c), try net.secondOrder(z, u: t, v: t))
        // Equal up to the rounding of products of other shapes.
        XCTAssertLessThan(relativeError(sliced.0.value.scalars, full.0.value.scalars), 1e-14)
        XCTAssertLessThan(relativeError(sliced.0.tangents.scalars, full.0.tangents.scalars), 1e-14)
        XCTAssertLessThan(relativeError(sliced.1.cotangents.scalars, full.1.cotangents.scalars), 1e-14)
        XCTAssertLessThan(relativeError(sliced.2.d2.scalars, full.2.d2.scalars), 1e-14)
        XCTAssertLessThan(relativeError(sliced.2.ju.scalars, full.2.ju.scalars), 1e-14)
        XCTAssertLessThan(relativeError(sliced.2.jv.scalars, full.2.jv.scalars), 1e-14)
        XCTAssertEqual(sliced.2.d2.rows, 2 * d)
        // Less than one tangent's worth: a clear error, not a crash.
        MemoryBudget.override = outputs * 8
        XCTAssertThrowsError(try net.secondOrder(z, u: t, v: t)) {
            XCTAssertTrue(($0 as? GeoError)?.description.contains("the work of one point at layer") == true, "\($0)")
        }
    }

    func testSafeTensorsConversionIsChecked() throws {
        let data = try SafeTensors.encode([("big", try Tensor(shape: [1000], scalars: [Double](repeating: 1, count: 1000)))],
                                          dtype: .f16)
        MemoryBudget.override = 4000
        XCTAssertThrowsError(try SafeTensors.read(data: data)) {
            XCTAssertTrue(($0 as? GeoError)?.description.hasPrefix("not enough memory: the 1 tensors of the file (1000 values as Doubles) needs 7.81 KB") == true, "\($0)")
        }
    }

    func testOnlyRegularFilesAreRead() {
        XCTAssertThrowsError(try FileBytes.read("/dev/zero")) {
            XCTAssertEqual(($0 as? GeoError)?.description, "cannot read '/dev/zero': not a regular file")
        }
        XCTAssertThrowsError(try FileBytes.read("/")) {
            XCTAssertEqual(($0 as? GeoError)?.description, "cannot read '/': is a directory")
        }
    }

    // MARK: Atomic writer

    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "/georepl-atomic-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testWriteReplacesAtomicallyAndKeepsNoTemporaryFiles() throws {
        let dir = try temporaryDirectory(), path = dir + "/out.bin"
        try AtomicFile.write([1, 2, 3], to: path)
        XCTAssertEqual(try FileBytes.read(path), [1, 2, 3])
        chmod(path, 0o640)
        try AtomicFile.write([4, 5], to: path)
        XCTAssertEqual(try FileBytes.read(path), [4, 5])
        var info = stat()
        stat(path, &info)
        XCTAssertEqual(info.st_mode & 0o777, 0o640, "the old file's permissions are kept")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out.bin"])
    }

    func testUncommittedFileLeavesTheTargetAsItWas() throws {
        let dir = try temporaryDirectory(), path = dir + "/keep.txt"
        try AtomicFile.write(Array("old".utf8), to: path)
        do {
            let f = try AtomicFile(path: path)
            try f.write("new, but never committed")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).count, 2, "the temporary file exists meanwhile")
        }
        XCTAssertEqual(try FileBytes.read(path), Array("old".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["keep.txt"])
    }

    func testTargetsThatAreNotRegularFilesFailBeforeAnyWork() throws {
        let dir = try temporaryDirectory()
        for (path, reason) in [(dir, "is a directory"), ("/dev/null", "not a regular file"),
                               ("/nonexistent/dir/x", "No such file or directory"), ("", "no file name")] {
            XCTAssertThrowsError(try AtomicFile(path: path)) {
                XCTAssertEqual(($0 as? GeoError)?.description, "cannot write '\(path)': \(reason)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testSymbolicLinksAreFollowed() throws {
        let dir = try temporaryDirectory()
        try AtomicFile.write([1], to: dir + "/real")
        symlink("real", dir + "/link")
        symlink("link", dir + "/link2")
        try AtomicFile.write([9, 9], to: dir + "/link2")
        XCTAssertEqual(try FileBytes.read(dir + "/real"), [9, 9])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link"), "real", "links stay links")
        symlink("missing", dir + "/dangling")
        try AtomicFile.write([7], to: dir + "/dangling")
        XCTAssertEqual(try FileBytes.read(dir + "/missing"), [7], "a dangling link creates its target")
        symlink("loop", dir + "/loop")
        XCTAssertThrowsError(try AtomicFile(path: dir + "/loop")) {
            XCTAssertEqual(($0 as? GeoError)?.description, "cannot write '\(dir)/loop': too many levels of symbolic links")
        }
    }

    // MARK: Cancellation and vectors

    /// Sweep's per-point fallback (after a batch fails numerically) must not turn Ctrl-C into
    /// NaN: here the batch fails, and the first single point requests an interrupt.
    func testSweepFallbackPassesInterruptsOn() throws {
        final class Flaky: Generator {
            let inner: Sphere
            init() throws { inner = try Sphere() }
            var latentDim: Int { 2 }
            var dataShape: [Int] { [3] }
            func forward(_ z: Matrix) throws -> Matrix { try inner.forward(z) }
            func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
                if z.rows > 1 { throw GeoError.numerical("batch fails") }
                Cancellation.request()
                try Cancellation.check()
                return try inner.jvp(z, tangents: tangents)
            }
            func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) { try inner.vjp(z, cotangents: cotangents) }
            func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
                if z.rows > 1 { throw GeoError.numerical("batch fails") }
                Cancellation.request()
                try Cancellation.check()
                return try inner.secondOrder(z, u: u, v: v)
            }
        }
        Cancellation.reset()
        let points = [Vector([1, 0.2]), Vector([1.2, 0.4]), Vector([0.8, 1])]
        var rng = SeededRandom(seed: 1)
        XCTAssertThrowsError(try Sweep.sectional(on: try Flaky(), at: points, rng: &rng)) {
            XCTAssertEqual($0 as? GeoError, .interrupted)
        }
        XCTAssertThrowsError(try Sweep.scalar(on: try Flaky(), at: points)) { XCTAssertEqual($0 as? GeoError, .interrupted) }
        Cancellation.reset()
    }

    func testVectorsRefuseLengthMismatches() {
        let a = Vector([1, 2, 3]), b = Vector([1, 2])
        XCTAssertThrowsError(try a + b) {
            XCTAssertEqual($0 as? GeoError, .dimensionMismatch("cannot add vectors of length 3 and 2"))
        }
        XCTAssertThrowsError(try a - b)
        XCTAssertThrowsError(try a.dot(b))
        XCTAssertThrowsError(try a.adding(b, scaledBy: 2))
        var c = a
        XCTAssertThrowsError(try c += b)
        XCTAssertEqual(c, a, "a refused += leaves the vector unchanged")
        XCTAssertThrowsError(try c -= b)
        XCTAssertEqual(try a + a, Vector([2, 4, 6]))
    }
}
