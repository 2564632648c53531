import Foundation
import GeoEngine

/// Geometry on the MLP decoder 16 -> 512 -> 512 -> 784 of `NeuralSection`: geodesics with the three
/// solvers (32 points, tol 1e-6; descent capped at 5000 iterations so the run stays short), parallel transport along the geodesic, one analogy, and
/// sectional and scalar curvatures per second (batched over 64 points); then the solvers on
/// the shipped, trained fashion-vae decoder, raw and with the regularised metric.
struct GeometrySection: BenchmarkSection {
    let name = "geometry"

    func run(_ context: BenchmarkContext) throws {
        let g = try NeuralSection().mlp()
        let pairs = geodesicBenchmarkPairs(latentDim: g.latentDim, count: context.repeats >= 7 ? 3 : 1)
        runGeodesicBenchmarks(decoder: g, name: "MLP decoder 16 -> 512 -> 512 -> 784", pairs: pairs, points: 32,
                              tolerance: 1e-6, descentMaxIterations: 5000)
        let (a, b) = pairs[0]
        let path = try Geodesic.solve(g, from: a, to: b, options: GeodesicOptions(points: 32))
        var rng = SeededRandom(seed: 11)
        let v = rng.normalVector(g.latentDim), c = rng.normalVector(g.latentDim)
        let fmtS = { (s: Double) in String(format: "%10.4f", s) }
        print("\ngeometry on the MLP decoder                          median time [s]   rate")
        let tTransport = try context.medianSeconds { _ = try ParallelTransport.transport(v, along: path, on: g) }
        print("  transport along the 32-point geodesic (projection)  \(fmtS(tTransport))")
        let tPolar = try context.medianSeconds { _ = try ParallelTransport.transport(v, along: path, on: g, method: .polar) }
        print("  transport along the 32-point geodesic (polar)       \(fmtS(tPolar))")
        let clock = ContinuousClock()
        var analogy: Analogy.Result?
        let tAnalogy = try clock.measure {
            analogy = try Analogy.solve(on: g, a, b, c, options: Analogy.Options(geodesic: GeodesicOptions(points: 32)))
        }
        print("  one analogy a:b::c:? (32-point geodesics, log residual \(String(format: "%.1e", analogy?.log.residual ?? .nan)))  \(fmtS(geodesicSeconds(tAnalogy)))")
        let n = 64
        let z = try Matrix(rowVectors: (0..<n).map { _ in rng.normalVector(g.latentDim) })
        let u = try Matrix(rowVectors: (0..<n).map { _ in rng.normalVector(g.latentDim) })
        let w = try Matrix(rowVectors: (0..<n).map { _ in rng.normalVector(g.latentDim) })
        let tSectional = try context.medianSeconds { _ = try Curvature.sectional(on: g, at: z, u: u, v: w) }
        print("  sectional curvature, batch of \(n) points              \(fmtS(tSectional))   \(String(format: "%.0f", Double(n) / tSectional)) per second")
        let tScalar = try context.medianSeconds { _ = try Curvature.scalar(on: g, at: z) }
        print("  scalar curvature (136 pairs each), batch of \(n)       \(fmtS(tScalar))   \(String(format: "%.0f", Double(n) / tScalar)) per second")
        print()
        trainedDecoder(context)
    }

    /// Both solvers on the shipped, trained fashion-vae decoder (SiLU MLP 16 -> 256 -> 512 ->
    /// 784) and on its regularised metric J^T J + 0.1 I, between prior samples; skipped with a
    /// note when the model files are not found.
    private func trainedDecoder(_ context: BenchmarkContext) {
        let m: Manifold
        do { m = try ModelCatalog.load("fashion-vae") } catch {
            print("geodesic on the trained fashion-vae: skipped (\(error))\n")
            return
        }
        let pairs = geodesicBenchmarkPairs(latentDim: m.latentDim, count: context.repeats >= 7 ? 2 : 1, seed: 7)
        runGeodesicBenchmarks(decoder: m.generator, name: "trained fashion-vae", pairs: pairs, points: 32,
                              tolerance: 1e-6, descentMaxIterations: 5000)
        do {
            let r = try m.regularized(lambda: 0.1)
            runGeodesicBenchmarks(decoder: r.generator, name: "trained fashion-vae, metric J^T J + 0.1 I", pairs: pairs,
                                  points: 32, tolerance: 1e-6, descentMaxIterations: 5000)
        } catch {
            print("geodesic on the regularised fashion-vae: error: \(error)")
        }
        print()
    }
}
