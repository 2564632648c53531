import Foundation
import GeoEngine

/// How the geodesic solvers converge on large latent spaces (issue 11): a DCGAN-style decoder
/// (d = 100; with ELU, smooth, and with its ReLUs) and an MLP with d = 64 (64 -> 512 -> 512 ->
/// 784, ELU, ELU, sigmoid). One endpoint pair each (standard normal, fixed seed), tol 1e-6:
/// newton with its residual at every iteration (quadratic convergence: the exponent about
/// doubles), georce and descent with iteration limits (DCGAN: 30 and 1000, whose iterations
/// cost a JVP with 100 columns and a VJP; MLP: 300 and 3000), each timed once. On the ReLU
/// decoder the energy is piecewise smooth (Hess g = 0 between kinks, the gradient jumps across
/// them) and no solver converges quickly; newton is capped at 15 iterations there.
struct ConvergenceSection: BenchmarkSection {
    var name: String { "convergence" }

    func mlp64() throws -> NeuralNetwork {
        var rng = SeededRandom(seed: 64)
        func lin(_ o: Int, _ i: Int) throws -> LayerSpec {
            .linear(weight: try randomTensor([o, i], &rng, scale: 1 / Double(i).squareRoot()), bias: try randomTensor([o], &rng, scale: 0.1))
        }
        return try NeuralNetwork(latentDim: 64, layers: [
            try lin(512, 64), .activation(.elu(alpha: 1)), try lin(512, 512), .activation(.elu(alpha: 1)),
            try lin(784, 512), .activation(.sigmoid),
        ], outputShape: [1, 28, 28])
    }

    func run(_ context: BenchmarkContext) throws {
        let cases: [(String, Generator, Int, [Int])] = [
            ("DCGAN decoder, ELU (d = 100)", try NeuralSection().dcgan(activation: .elu(alpha: 1)), 16, [50, 30, 1000]),
            ("DCGAN decoder, ReLU (d = 100)", try NeuralSection().dcgan(), 16, [15, 30, 1000]),
            ("MLP 64 -> 512 -> 512 -> 784, ELU (d = 64)", try mlp64(), 32, [50, 300, 3000]),
        ]
        for (title, g, points, limits) in cases {
            let (a, b) = geodesicBenchmarkPairs(latentDim: g.latentDim, count: 1, seed: 7)[0]
            print("convergence: \(title), \(points) points, tol 1e-6")
            var table = Table(["solver", "time s", "iterations", "stop", "residual", "energy"])
            var newtonResiduals: [Double] = []
            for (solver, limit) in zip([GeodesicSolver.newton, .georce, .descent], limits) {
                Cancellation.reset()
                let options = GeodesicOptions(points: points, solver: solver, tolerance: 1e-6, maxIterations: limit)
                let clock = ContinuousClock()
                var path: Path?
                do {
                    let elapsed = try clock.measure { path = try Geodesic.solve(g, from: a, to: b, options: options) }
                    guard let p = path else { continue }
                    if solver == .newton { newtonResiduals = p.residuals }
                    table.add([solver.rawValue, fmt(geodesicSeconds(elapsed), 2), "\(p.iterations)", p.stop.rawValue,
                               String(format: "%.1e", p.residuals.last ?? .nan), String(format: "%.6e", try p.energy(on: g))])
                } catch {
                    table.add([solver.rawValue, "error", "", "", "", "\(error)"])
                }
            }
            print(table.render())
            print("newton residual per iteration: " + newtonResiduals.map { String(format: "%.1e", $0) }.joined(separator: " ") + "\n")
        }
    }
}
