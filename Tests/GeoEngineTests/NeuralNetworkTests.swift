import XCTest
import Foundation
@testable import GeoEngine

/// A small DCGAN-style generator: linear -> reshape -> conv_transpose2d s2 -> batchnorm -> relu
/// -> conv_transpose2d s2 -> tanh, from latentDim to [1, 8, 8].
func smallDCGAN(latentDim: Int = 3, seed: UInt64 = 5) throws -> NeuralNetwork {
    var rng = SeededRandom(seed: seed)
    return try NeuralNetwork(latentDim: latentDim, layers: [
        .linear(weight: randomTensor([4 * 2 * 2, latentDim], &rng), bias: randomTensor([16], &rng)),
        .reshape([4, 2, 2]),
        .convTranspose2d(weight: randomTensor([4, 3, 4, 4], &rng, scale: 0.4), bias: nil,
                         stride: Size2D(2), padding: Size2D(1), outputPadding: Size2D(0)),
        .batchNorm(weight: randomTensor([3], &rng), bias: randomTensor([3], &rng), mean: randomTensor([3], &rng, scale: 0.1),
                   variance: Tensor(shape: [3], unchecked: [0.9, 1.1, 1.4]), eps: 1e-5),
        .activation(.relu),
        .convTranspose2d(weight: randomTensor([3, 1, 4, 4], &rng, scale: 0.4), bias: randomTensor([1], &rng),
                         stride: Size2D(2), padding: Size2D(1), outputPadding: Size2D(0)),
        .activation(.tanh),
    ])
}

/// A small MLP decoder latentDim -> 8 -> 12 with smooth activations, output [3, 2, 2].
func smallMLP(latentDim: Int = 2, seed: UInt64 = 6) throws -> NeuralNetwork {
    var rng = SeededRandom(seed: seed)
    return try NeuralNetwork(latentDim: latentDim, layers: [
        .linear(weight: randomTensor([8, latentDim], &rng), bias: randomTensor([8], &rng)),
        .activation(.softplus(beta: 1)),
        .linear(weight: randomTensor([12, 8], &rng, scale: 0.5), bias: randomTensor([12], &rng)),
        .activation(.sigmoid),
    ], outputShape: [3, 2, 2])
}

final class NeuralNetworkTests: XCTestCase {
    func testShapesAreInferred() throws {
        let g = try smallDCGAN()
        XCTAssertEqual(g.latentDim, 3)
        XCTAssertEqual(g.dataShape, [1, 8, 8])
        XCTAssertEqual(g.layers.map { $0.outputShape }, [[16], [4, 2, 2], [3, 4, 4], [3, 4, 4], [3, 4, 4], [1, 8, 8], [1, 8, 8]])
        XCTAssertEqual(g.layers.map { $0.op }, ["linear", "reshape", "conv_transpose2d", "batchnorm", "relu", "conv_transpose2d", "tanh"])
        let m = try smallMLP()
        XCTAssertEqual(m.dataShape, [3, 2, 2])
        XCTAssertEqual(m.dataDim, 12)
        XCTAssertThrowsError(try NeuralNetwork(latentDim: 2, layers: [], outputShape: [3])) {
            XCTAssertEqual("\($0)", "the last layer has 2 outputs (shape [2]), output shape [3] has 3")
        }
    }

    func testDerivativesOfDCGANAndMLP() throws {
        var rng = SeededRandom(seed: 3)
        // Points away from relu kinks are the generic case; check a few.
        for _ in 0..<3 {
            try assertDerivativesMatchFiniteDifferences(try smallDCGAN(), at: rng.normalVector(3), seed: rng.next())
            try assertDerivativesMatchFiniteDifferences(try smallMLP(), at: rng.normalVector(2), seed: rng.next())
        }
    }

    func testBatchesWithManyTangentsAgreeWithSinglePoints() throws {
        let g = try smallDCGAN()
        var rng = SeededRandom(seed: 4)
        let n = 3, k = 4, d = g.latentDim
        let z = randomMatrix(n, d, &rng), u = randomMatrix(n * k, d, &rng), v = randomMatrix(n * k, d, &rng)
        let c = randomMatrix(n * k, g.dataDim, &rng)
        let (y, ju) = try g.jvp(z, tangents: u)
        let so = try g.secondOrder(z, u: u, v: v)
        let (_, jtc) = try g.vjp(z, cotangents: c)
        XCTAssertEqual(y, try g.forward(z))
        for p in 0..<n {
            let zp = Matrix(row: z.row(p))
            let rows = (p * k)..<((p + 1) * k)
            let up = try Matrix(rowVectors: rows.map { u.row($0) }), vp = try Matrix(rowVectors: rows.map { v.row($0) })
            let cp = try Matrix(rowVectors: rows.map { c.row($0) })
            let single = try g.secondOrder(zp, u: up, v: vp)
            let singleVJP = try g.vjp(zp, cotangents: cp)
            for (j, r) in rows.enumerated() {
                XCTAssertLessThan(relativeError(ju.row(r).scalars, single.ju.row(j).scalars), 1e-13)
                XCTAssertLessThan(relativeError(so.jv.row(r).scalars, single.jv.row(j).scalars), 1e-13)
                XCTAssertLessThan(relativeError(so.d2.row(r).scalars, single.d2.row(j).scalars, floor: 1e-6), 1e-12)
                XCTAssertLessThan(relativeError(jtc.row(r).scalars, singleVJP.cotangents.row(j).scalars), 1e-13)
            }
        }
    }

    func testJacobianAndSecondOrderOfAnAffineNetwork() throws {
        var rng = SeededRandom(seed: 8)
        let w = randomTensor([5, 3], &rng), b = randomTensor([5], &rng)
        let g = try NeuralNetwork(latentDim: 3, layers: [.linear(weight: w, bias: b)])
        let z = rng.normalVector(3)
        let j = try g.jacobian(z)
        XCTAssertEqual(j.rows, 5); XCTAssertEqual(j.cols, 3)
        for r in 0..<5 { for c in 0..<3 { XCTAssertEqual(j[r, c], w.scalars[r * 3 + c], accuracy: 1e-15) } }
        let so = try g.secondOrder(Matrix(row: z), u: Matrix(row: rng.normalVector(3)), v: Matrix(row: rng.normalVector(3)))
        XCTAssertTrue(so.d2.scalars.allSatisfy { $0 == 0 })
    }

    func testBigBatchesRunInGroupsOfPoints() throws {
        var rng = SeededRandom(seed: 14)
        let g = try NeuralNetwork(latentDim: 3, layers: [
            .linear(weight: randomTensor([4096, 3], &rng), bias: randomTensor([4096], &rng)), .activation(.tanh),
            .linear(weight: randomTensor([5, 4096], &rng, scale: 0.02), bias: nil), .activation(.gelu),
        ])
        let n = 3, k = 300
        XCTAssertEqual(g.pointsPerGroup(rowsPerPoint: 1 + k), 1)
        XCTAssertEqual(g.pointsPerGroup(rowsPerPoint: 1), 512)
        let z = randomMatrix(n, 3, &rng), t = randomMatrix(n * k, 3, &rng), c = randomMatrix(n * k, 5, &rng)
        let (y, jt) = try g.jvp(z, tangents: t)
        let (yb, jtc) = try g.vjp(z, cotangents: c)
        let so = try g.secondOrder(z, u: t, v: t)
        XCTAssertEqual(y.rows, n); XCTAssertEqual(jt.rows, n * k); XCTAssertEqual(jtc.rows, n * k)
        XCTAssertLessThan(relativeError(yb.scalars, y.scalars), 1e-13)
        XCTAssertLessThan(relativeError(so.ju.scalars, jt.scalars), 1e-12)
        for p in 0..<n {
            let rows = (p * k)..<((p + 1) * k)
            let one = try g.jvp(Matrix(row: z.row(p)), tangents: try Matrix(rowVectors: rows.map { t.row($0) }))
            let oneBack = try g.vjp(Matrix(row: z.row(p)), cotangents: try Matrix(rowVectors: rows.map { c.row($0) }))
            XCTAssertLessThan(relativeError(y.row(p).scalars, one.value.row(0).scalars), 1e-13)
            XCTAssertLessThan(relativeError(jt.row(p * k + 7).scalars, one.tangents.row(7).scalars), 1e-12)
            XCTAssertLessThan(relativeError(jtc.row(p * k + k - 1).scalars, oneBack.cotangents.row(k - 1).scalars), 1e-12)
        }
    }

    /// Ctrl-C (a `Cancellation` request) stops a batched forward-mode call between layers with
    /// `GeoError.interrupted`; the request is consumed, so the next call runs.
    func testForwardModeCallsStopOnCancellation() throws {
        let net = try smallDCGAN()
        let z = Matrix(rows: 2, cols: 3, unchecked: [0.1, -0.2, 0.3, 0.5, 0.1, -0.4])
        for call in [{ _ = try net.forward(z) }, { _ = try net.jvp(z, tangents: Matrix.identity(3).repeatingRowsBlock(2)) },
                     { _ = try net.secondOrder(z, u: z, v: z) }] {
            Cancellation.reset()
            Cancellation.request()
            XCTAssertThrowsError(try call()) { XCTAssertEqual($0 as? GeoError, .interrupted) }
            XCTAssertNoThrow(try call())
        }
        Cancellation.reset()
    }

    /// MemoryTuning's effect, observed in malloc itself, in a fresh process (this test binary
    /// run again for `MallocProbe` alone: in a long-lived process the heap may already hold
    /// enough free memory to serve any request, and earlier frees move glibc's dynamic
    /// threshold). There, with glibc's defaults, a 1 MB block is mmapped (the threshold starts
    /// at 128 kB and its free raises it to 1 MB); after configure() (M_MMAP_THRESHOLD 32 MB) a
    /// 33 MB block is mmapped and a 31 MB block comes from the heap, which the 1 MB threshold
    /// left by the defaults would have mmapped.
    func testMemoryTuningRaisesGlibcsMmapThreshold() throws {
        #if canImport(Glibc)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        p.arguments = ["GeoEngineTests.MallocProbe/testProbe"]
        p.environment = ProcessInfo.processInfo.environment.merging(["GEOREPL_MALLOC_PROBE": "1"]) { $1 }
        let out = Pipe()
        p.standardOutput = out; p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("malloc probe: default 1 MB mmapped true; configure true; 33 MB mmapped true, 31 MB mmapped false"), text)
        #endif
    }

    func testBuiltLayersMustChain() throws {
        var rng = SeededRandom(seed: 9)
        let l1 = try Linear(weight: randomTensor([4, 2], &rng), bias: nil)
        let act = ActivationLayer(.gelu, inputShape: [4])
        let g = try NeuralNetwork(inputShape: [2], builtLayers: [l1, act])
        XCTAssertEqual(g.dataShape, [4])
        try assertDerivativesMatchFiniteDifferences(g, at: rng.normalVector(2))
        XCTAssertThrowsError(try NeuralNetwork(inputShape: [2], builtLayers: [act])) {
            XCTAssertEqual("\($0)", "layer 0 (gelu): takes points of shape [4], but receives [2]")
        }
        XCTAssertThrowsError(try NeuralNetwork(inputShape: [0], builtLayers: []))
    }

    func testTrainingStepReducesLoss() throws {
        // Plain gradient descent on L = |g(x) - target|^2 / 2 through the training API.
        let g = try smallDCGAN(latentDim: 2, seed: 12)
        var rng = SeededRandom(seed: 13)
        let x = randomMatrix(4, 2, &rng)
        let target = Matrix(rows: 4, cols: g.dataDim, unchecked: (0..<(4 * g.dataDim)).map { _ in 0.5 * rng.normal() })
        func loss() throws -> Double {
            let y = try g.forward(x)
            return zip(y.scalars, target.scalars).reduce(0) { $0 + 0.5 * ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
        let before = try loss()
        for _ in 0..<20 {
            let pass = try g.forwardPass(x)
            let c = try pass.output - target
            let grads = try g.backward(pass, cotangents: c)
            var p = g.parameters
            for i in p.indices { for j in p[i].scalars.indices { p[i].scalars[j] -= 0.002 * grads.parameters[i].scalars[j] } }
            try g.setParameters(p)
        }
        XCTAssertLessThan(try loss(), 0.9 * before)
        XCTAssertEqual(g.parameterCount, g.parameters.reduce(0) { $0 + $1.count })
    }
}

/// Run by `NeuralNetworkTests.testMemoryTuningRaisesGlibcsMmapThreshold` in a fresh process
/// (GEOREPL_MALLOC_PROBE=1); does nothing otherwise. Prints what malloc did.
final class MallocProbe: XCTestCase {
    func testProbe() {
        #if canImport(Glibc)
        guard ProcessInfo.processInfo.environment["GEOREPL_MALLOC_PROBE"] == "1" else { return }
        /// glibc marks an mmapped chunk with the IS_MMAPPED bit (0x2) of the size word before it.
        func isMmapped(_ bytes: Int) -> Bool {
            guard let p = malloc(bytes) else { return false }
            defer { free(p) }
            return (p - MemoryLayout<Int>.size).load(as: UInt.self) & 2 != 0
        }
        // 1 MB, not more: freeing an mmapped block raises glibc's dynamic threshold to its size,
        // which must stay below 31 MB for the last check to tell the settings apart.
        let before = isMmapped(1 << 20)
        let configured = MemoryTuning.configure()
        let above = isMmapped(33 << 20), below = isMmapped(31 << 20)
        print("malloc probe: default 1 MB mmapped \(before); configure \(configured); 33 MB mmapped \(above), 31 MB mmapped \(below)")
        #endif
    }
}
