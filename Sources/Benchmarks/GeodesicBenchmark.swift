import Foundation
import GeoEngine

/// Geodesic benchmarks: times `Geodesic.solve` with every solver (newton, georce, descent)
/// on one decoder and prints, per solver, the wall time, iterations, generator evaluations,
/// why it stopped (`Path.Stop`: converged, max_iter, line_search, stalled), the final energy
/// and the geodesic / straight-line length ratio.
///
/// - decoder: the generator to benchmark.
/// - name: a label for the printout.
/// - pairs: the endpoint pairs; nil draws `pairCount` pairs of standard normal latent points
///   from a fixed seed (the same pairs on every run).
/// - points: points per path, endpoints included (default 32).
/// - tolerance: the stopping tolerance (default 1e-6; see `Geodesic` for what it measures).
/// - descentMaxIterations: the iteration limit for gradient descent (nil: its default, 50 000).
///
/// Each solve runs once (no warm-up); errors are printed, not thrown.
func runGeodesicBenchmarks(decoder: Generator, name: String = "decoder", pairs: [(Vector, Vector)]? = nil,
                           pairCount: Int = 3, points: Int = 32, tolerance: Double = 1e-6,
                           descentMaxIterations: Int? = nil) {
    let endpoints = pairs ?? geodesicBenchmarkPairs(latentDim: decoder.latentDim, count: pairCount)
    print("geodesic: \(name) (latent_dim \(decoder.latentDim), data_dim \(decoder.dataDim)), \(points) points, tol \(tolerance)")
    print("  pair  solver     time [s]  iterations  evaluations  stop         energy        length/line")
    for (k, (a, b)) in endpoints.enumerated() {
        for solver in GeodesicSolver.allCases {
            let options = GeodesicOptions(points: points, solver: solver, tolerance: tolerance,
                                          maxIterations: solver == .descent ? descentMaxIterations : nil)
            do {
                Cancellation.reset()
                let clock = ContinuousClock()
                var path: Path?
                let elapsed = try clock.measure { path = try Geodesic.solve(decoder, from: a, to: b, options: options) }
                guard let p = path else { continue }
                let energy = try p.energy(on: decoder)
                let line = try Path.line(from: a, to: b, points: points).length(on: decoder)
                let ratio = line > 0 ? try p.length(on: decoder) / line : 1
                let label = solver.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                let stop = p.stop.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
                print(String(format: "  %4d  ", k + 1) + label
                      + String(format: " %10.4f  %10d  %11d  ", geodesicSeconds(elapsed), p.iterations, p.evaluations)
                      + stop + String(format: "  %-12.6e  %.6f", energy, ratio))
            } catch {
                print("  \(k + 1)  \(solver.rawValue): error: \(error)")
            }
        }
    }
}

/// The geodesic benchmarks on the analytic sphere (radius 1) and torus (R = 2, r = 1), with
/// endpoint pairs away from the sphere's poles.
func runGeodesicBenchmarksOnSurfaces(points: Int = 32, tolerance: Double = 1e-6) {
    do {
        let sphere = try Sphere(radius: 1)
        runGeodesicBenchmarks(decoder: sphere, name: "sphere", pairs: [
            (Vector([1.27, 0.2]), Vector([1.97, 1.0])), (Vector([1.27, 0.2]), Vector([1.97, 2.8])),
        ], points: points, tolerance: tolerance)
        let torus = try Torus(R: 2, r: 1)
        runGeodesicBenchmarks(decoder: torus, name: "torus", pairs: [
            (Vector([0.3, 0.1]), Vector([2.6, 1.9])),
        ], points: points, tolerance: tolerance)
    } catch {
        print("geodesic surfaces benchmark: error: \(error)")
    }
}

/// `count` reproducible pairs of standard normal latent points.
func geodesicBenchmarkPairs(latentDim: Int, count: Int, seed: UInt64 = 2025) -> [(Vector, Vector)] {
    var rng = SeededRandom(seed: seed)
    return (0..<max(0, count)).map { _ in (rng.normalVector(latentDim), rng.normalVector(latentDim)) }
}

/// A Duration in seconds.
func geodesicSeconds(_ d: Duration) -> Double {
    let (s, atto) = d.components
    return Double(s) + Double(atto) * 1e-18
}
