import Foundation
import XCTest
@testable import GeoEngine

/// The metrics of Metrics/ (uncertainty, Fisher–Rao, ensemble) against closed-form geometry,
/// and their derivatives in every mode against finite differences.
final class MetricTests: XCTestCase {
    /// A small sigmoid-output network d -> D (Bernoulli means).
    func bernoulliNetwork(latent d: Int, data dd: Int, seed: UInt64) throws -> NeuralNetwork {
        var rng = SeededRandom(seed: seed)
        func t(_ shape: [Int], _ s: Double) throws -> Tensor {
            try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.normal() * s })
        }
        return try NeuralNetwork(latentDim: d, layers: [
            .linear(weight: try t([12, d], 0.8), bias: try t([12], 0.2)), .activation(.elu(alpha: 1)),
            .linear(weight: try t([dd, 12], 0.6), bias: try t([dd], 0.1)), .activation(.sigmoid),
        ])
    }

    /// One centre c with weights w (D = w.count): sigma_j(z) = (w_j exp(-lambda |z - c|^2) + zeta)^(-1/2).
    func oneCentre(_ c: [Double], lambda: Double, weights w: [Double], floor: Double) throws -> RBFPrecisionNetwork {
        try RBFPrecisionNetwork(centers: Matrix(rows: 1, cols: c.count, scalars: c), lambdas: [lambda],
                                weights: Matrix(rows: w.count, cols: 1, scalars: w), floor: floor, dataShape: [w.count])
    }

    // MARK: RBF precision network and the uncertainty immersion

    func testRBFNetworkDerivativesInEveryMode() throws {
        var rng = SeededRandom(seed: 5)
        let k = 3, d = 2, dd = 4
        let sigma = try RBFPrecisionNetwork(centers: Matrix(rows: k, cols: d, scalars: (0..<(k * d)).map { _ in rng.normal() }),
                                            lambdas: [0.7, 1.3, 0.4],
                                            weights: Matrix(rows: dd, cols: k, scalars: (0..<(dd * k)).map { _ in 2 * rng.uniform() }),
                                            floor: 0.05, dataShape: [dd])
        for z in [[0.3, -0.2], [1.1, 0.8], [-0.6, 1.4]] {
            try assertDerivativesMatchFiniteDifferences(sigma, at: Vector(z), tolerance: 1e-6)
        }
        try assertHessianVectorProductsMatch(sigma, points: [[0.3, -0.2], [1.1, 0.8], [-0.6, 1.4]])
        // The uncertainty immersion of a network and sigma, in every mode.
        let mu = try bernoulliNetwork(latent: 2, data: dd, seed: 3)
        let u = try UncertaintyMetric.immersion(mean: mu, variance: sigma)
        try assertDerivativesMatchFiniteDifferences(u, at: Vector([0.2, 0.5]))
        try assertHessianVectorProductsMatch(u, points: [[0.2, 0.5], [-0.7, 0.1]])
        // M = J_mu^T J_mu + J_sigma^T J_sigma.
        let z = Vector([0.2, 0.5])
        let m = try u.metric(z), a = try mu.metric(z), b = try sigma.metric(z)
        for i in 0..<4 { XCTAssertEqual(m.scalars[i], a.scalars[i] + b.scalars[i], accuracy: 1e-13 * max(1, abs(m.scalars[i]))) }
    }

    /// With mu(z) = z (a plane) and one centre, (z, sigma(|z - c|)) is a surface of revolution:
    /// its metric is I + f'(r)^2 r^ r^T, its Gaussian curvature f' f'' / (r (1 + f'^2)^2), and
    /// along a geodesic Clairaut's r^2 theta' (the cross product (z - c) x z') is constant.
    func testOneCentreIsASurfaceOfRevolution() throws {
        let c = [0.3, -0.2], lambda = 0.8, w = 3.0, zeta = 0.2
        let sigma = try oneCentre(c, lambda: lambda, weights: [w], floor: zeta)
        let g = try UncertaintyMetric.immersion(mean: try Plane(dim: 2), variance: sigma)
        func f1f2(_ r: Double) -> (Double, Double) {
            let e = w * exp(-lambda * r * r), beta = e + zeta
            let b1 = -2 * lambda * r * e, b2 = -2 * lambda * e + 4 * lambda * lambda * r * r * e
            let f1 = -0.5 * pow(beta, -1.5) * b1
            let f2 = 0.75 * pow(beta, -2.5) * b1 * b1 - 0.5 * pow(beta, -1.5) * b2
            return (f1, f2)
        }
        for (x, y) in [(1.0, 0.4), (0.1, 0.9), (-0.8, -1.1), (0.35, -0.15)] {
            let z = Vector([x, y])
            let dx = x - c[0], dy = y - c[1], r = (dx * dx + dy * dy).squareRoot()
            let (f1, f2) = f1f2(r)
            let m = try g.metric(z)
            let expected = [1 + f1 * f1 * dx * dx / (r * r), f1 * f1 * dx * dy / (r * r), f1 * f1 * dx * dy / (r * r), 1 + f1 * f1 * dy * dy / (r * r)]
            for i in 0..<4 { XCTAssertEqual(m.scalars[i], expected[i], accuracy: 1e-14, "metric at \(z)") }
            let k = f1 * f2 / (r * pow(1 + f1 * f1, 2))
            let sectional = try Curvature.sectional(on: g, at: z, Vector([1, 0]), Vector([0, 1]))
            XCTAssertEqual(sectional, k, accuracy: 1e-11 * max(1, abs(k)), "Gaussian curvature at \(z)")
            XCTAssertEqual(try Curvature.scalar(on: g, at: z), 2 * k, accuracy: 1e-11 * max(1, abs(k)))
        }
        // Clairaut along the exponential map, and the speed.
        let z0 = Vector([1.2, -0.6]), v = Vector([-0.9, 1.1])
        let shot = try ExponentialMap.shoot(from: z0, velocity: v, on: g, steps: 400)
        func clairaut(_ z: Vector, _ w: Vector) -> Double { (z[0] - c[0]) * w[1] - (z[1] - c[1]) * w[0] }
        XCTAssertEqual(clairaut(shot.point, shot.velocity), clairaut(z0, v), accuracy: 1e-9)
        // A discrete geodesic (Newton) between the same kind of points keeps it to O(1/T^2).
        let a = Vector([1.3, -0.9]), b = Vector([-0.7, 0.8])
        let p = try Geodesic.solve(g, from: a, to: b, options: GeodesicOptions(points: 101, tolerance: 1e-10))
        XCTAssertTrue(p.converged)
        let values = (1..<100).map { t in clairaut(p.points[t], try! (p.points[t + 1] - p.points[t - 1])) * 50 }
        let spread = (values.max() ?? 0) - (values.min() ?? 0)
        XCTAssertLessThan(spread, 2e-3 * abs(values[50]), "Clairaut's r^2 theta' along the discrete geodesic: \(values.min() ?? 0) ... \(values.max() ?? 0)")
        // Through the centre, geodesics are straight (symmetry): the midpoint of a diameter is c.
        let q = try Geodesic.solve(g, from: Vector([c[0] - 1, c[1]]), to: Vector([c[0] + 1, c[1]]), options: GeodesicOptions(points: 11))
        XCTAssertEqual(q.points[5][0], c[0], accuracy: 1e-10); XCTAssertEqual(q.points[5][1], c[1], accuracy: 1e-10)
    }

    /// The fit recovers the residual standard deviation near a single cluster, sigma rises to
    /// zeta^(-1/2) far from the data, and the fitted network round-trips through a model file.
    func testFitRecoversTheNoiseAndRoundTripsThroughAModelFile() throws {
        let mu = try bernoulliNetwork(latent: 2, data: 3, seed: 9)
        var rng = SeededRandom(seed: 21)
        let n = 4000, s = [0.05, 0.1, 0.2]
        var z = Matrix(rows: n, cols: 2), x = Matrix(rows: n, cols: 3)
        for i in 0..<n { for a in 0..<2 { z.scalars[i * 2 + a] = 0.3 * rng.normal() } }
        let clean = try mu.forward(z)
        for i in 0..<n { for j in 0..<3 { x.scalars[i * 3 + j] = clean.scalars[i * 3 + j] + s[j] * rng.normal() } }
        var o = UncertaintyMetric.Options()
        o.centers = 4; o.floor = 1e-4
        let sigma = try UncertaintyMetric.fit(mean: mu, latents: z, data: x, options: o)
        XCTAssertEqual(sigma.count, 4)
        // The maximum-likelihood condition (stationarity in W, with W > 0): the residuals are
        // standardised on average, mean_i r_ij^2 / sigma_ij^2 = 1 (up to zeta's share).
        let sd = try sigma.forward(z)
        for j in 0..<3 {
            var standardised = 0.0
            for i in 0..<n { let r = x.scalars[i * 3 + j] - clean.scalars[i * 3 + j]; standardised += r * r / pow(sd.scalars[i * 3 + j], 2) }
            XCTAssertEqual(standardised / Double(n), 1, accuracy: 2e-3, "output \(j)")
            let sorted = (0..<n).map { sd.scalars[$0 * 3 + j] }.sorted()
            XCTAssertEqual(sorted[n / 2], s[j], accuracy: 0.1 * s[j], "median sigma_\(j) at the data")
        }
        let far = try sigma.decode(Vector([30, 30]))
        for j in 0..<3 { XCTAssertEqual(far[j], 1 / o.floor.squareRoot(), accuracy: 1e-9) }
        // Deterministic for a seed.
        let again = try UncertaintyMetric.fit(mean: mu, latents: z, data: x, options: o)
        XCTAssertEqual(again.weights, sigma.weights); XCTAssertEqual(again.centers, sigma.centers)

        let m = Manifold(name: "bern", generator: mu, variance: sigma)
        let loaded = try ModelFile.load(data: try ModelFile.encode(m, dtype: .f64))
        let back = try XCTUnwrap(loaded.variance)
        XCTAssertEqual(back.centers, sigma.centers); XCTAssertEqual(back.lambdas, sigma.lambdas)
        XCTAssertEqual(back.weights, sigma.weights); XCTAssertEqual(back.floor, sigma.floor)
        // The uncertainty manifold itself writes as the decoder plus its variance network.
        let u = try m.uncertainty()
        let reloaded = try ModelFile.load(data: try ModelFile.encode(u, dtype: .f64))
        XCTAssertEqual(reloaded.variance?.weights, sigma.weights)
        XCTAssertEqual(reloaded.name, "bern", "the file keeps the model's own name")
        XCTAssertThrowsError(try Manifold(name: "plain", generator: mu).uncertainty()) { e in
            XCTAssertTrue("\(e)".contains("carries no fitted variance network"), "\(e)")
        }
    }

    /// The background layer: one network holding the local fit's centres and the wide fit's
    /// (its weights exactly w times the wide layer fitted alone); on the data sigma is the local
    /// fit's (times (1 + w)^(-1/2) at most), in the gap between two clusters it rises to about
    /// w^(-1/2) times its value on the data (where the local layer alone would reach the floor's
    /// zeta^(-1/2)), and far away to zeta^(-1/2).
    func testBackgroundLayerIsLocalAndFarReaching() throws {
        let mu = try bernoulliNetwork(latent: 2, data: 3, seed: 9)
        var rng = SeededRandom(seed: 23)
        let n = 4000
        var z = Matrix(rows: n, cols: 2), x = Matrix(rows: n, cols: 3)
        for i in 0..<n {
            z.scalars[i * 2] = (i % 2 == 0 ? -3 : 3) + 0.3 * rng.normal()
            z.scalars[i * 2 + 1] = 0.3 * rng.normal()
        }
        let clean = try mu.forward(z)
        for q in x.scalars.indices { x.scalars[q] = clean.scalars[q] + 0.1 * rng.normal() }
        var local = UncertaintyMetric.Options()
        local.centers = 8; local.bandwidth = 1; local.floor = 1e-12
        var wide = local
        wide.centers = 2; wide.bandwidth = 4
        var both = local
        both.backgroundCenters = 2; both.backgroundBandwidth = 4; both.backgroundWeight = 1e-2
        let l = try UncertaintyMetric.fit(mean: mu, latents: z, data: x, options: local)
        let w = try UncertaintyMetric.fit(mean: mu, latents: z, data: x, options: wide)
        let b = try UncertaintyMetric.fit(mean: mu, latents: z, data: x, options: both)
        XCTAssertEqual(b.count, 10)
        XCTAssertEqual(b.lambdas, l.lambdas + w.lambdas)
        XCTAssertEqual(b.centers.scalars, l.centers.scalars + w.centers.scalars)
        for j in 0..<3 {
            for c in 0..<8 { XCTAssertEqual(b.weights[j, c], l.weights[j, c]) }
            for c in 0..<2 { XCTAssertEqual(b.weights[j, 8 + c], 1e-2 * w.weights[j, c]) }
        }
        let data = Vector([3, 0]), gap = Vector([0, 0])
        let sl = try l.decode(data), sb = try b.decode(data), gl = try l.decode(gap), gb = try b.decode(gap)
        let far = try b.decode(Vector([40, 40]))
        for j in 0..<3 {
            XCTAssertLessThanOrEqual(sb[j], sl[j])
            XCTAssertGreaterThan(sb[j], sl[j] / (1.0 + 1e-2).squareRoot() * 0.999, "output \(j) on the data")
            XCTAssertGreaterThan(gl[j], 1e4 * sl[j], "the local layer alone rises to the floor in the gap")
            let rise = gb[j] / sb[j]
            XCTAssertTrue(rise > 3 && rise < 30, "sigma in the gap / on the data: \(rise), w^(-1/2) = 10")
            XCTAssertEqual(far[j], 1e6, accuracy: 1e-3)
        }
        both.backgroundWeight = 0
        XCTAssertThrowsError(try UncertaintyMetric.fit(mean: mu, latents: z, data: x, options: both)) { e in
            XCTAssertTrue("\(e)".contains("background_weight"), "\(e)")
        }
    }

    func testMalformedVarianceSectionsAreClearErrors() throws {
        let mu = try bernoulliNetwork(latent: 2, data: 3, seed: 9)
        let sigma = try oneCentre([0, 0], lambda: 1, weights: [1, 2, 3], floor: 0.1)
        let good = try ModelFile.encode(Manifold(name: "m", generator: mu, variance: sigma), dtype: .f64)
        let file = try SafeTensors.read(data: good)
        let text = try XCTUnwrap(file.metadata["georepl.variance"])
        let cases: [(String, String)] = [
            ("[1]", "expected a JSON object"),
            (text.replacingOccurrences(of: "\"rbf\"", with: "\"gp\""), "'kind' must be \"rbf\""),
            (text.replacingOccurrences(of: "\"variance.weights\"", with: "\"nope\""), "tensor 'nope' (weights) is not in the file"),
            (text.replacingOccurrences(of: "\"variance.weights\"", with: "\"variance.centers\""), "has shape [1,2], expected [3,1]"),
            (text.replacingOccurrences(of: "\"floor\"", with: "\"flor\""), "unknown key 'flor'"),
            (text.replacingOccurrences(of: "0.1", with: "-1"), "floor"),
        ]
        for (variance, expected) in cases {
            var meta = file.metadata
            meta["georepl.variance"] = variance
            let data = try SafeTensors.encode(file.tensors.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }, metadata: meta, dtype: .f64)
            XCTAssertThrowsError(try ModelFile.load(data: data), variance) { e in
                XCTAssertTrue("\(e)".contains(expected), "\(variance): \(e)")
            }
        }
    }

    // MARK: Fisher–Rao

    /// p(z) = sigmoid(z): the Fisher information of Bernoulli(p) is 1/(p(1-p)), times p'^2 =
    /// (p(1-p))^2: the metric is p(1-p); a path's length is |2 arcsin(sqrt p(b)) - 2 arcsin(sqrt p(a))|.
    func testFisherRaoOfASigmoidIsTheBernoulliInformation() throws {
        let sigmoid = try NeuralNetwork(latentDim: 1, layers: [.activation(.sigmoid)])
        let g = try FisherRaoMetric(sigmoid)
        for z in [-3.0, -0.4, 0, 1.7, 5] {
            let p = 1 / (1 + exp(-z))
            XCTAssertEqual(try g.metric(Vector([z]))[0, 0], p * (1 - p), accuracy: 1e-15)
        }
        let a = -2.5, b = 3.0
        let path = try Geodesic.solve(g, from: Vector([a]), to: Vector([b]), options: GeodesicOptions(points: 40))
        func h(_ z: Double) -> Double { 2 * asin((1 / (1 + exp(-z))).squareRoot()) }
        XCTAssertEqual(try path.length(on: g), h(b) - h(a), accuracy: 1e-13)
        // Derivatives of a many-output Bernoulli network through the map, in every mode.
        let net = try bernoulliNetwork(latent: 3, data: 5, seed: 4)
        let fr = try FisherRaoMetric(net)
        try assertDerivativesMatchFiniteDifferences(fr, at: Vector([0.2, -0.4, 0.6]))
        try assertHessianVectorProductsMatch(fr, points: [[0.2, -0.4, 0.6], [-1, 0.3, 0.1]])
        // J^T diag(1/(p(1-p))) J.
        let z = Vector([0.2, -0.4, 0.6])
        let j = try net.jacobian(z), p = try net.decode(z)
        var expected = Matrix(rows: 3, cols: 3)
        for a in 0..<3 { for b in 0..<3 { for q in 0..<5 { expected[a, b] += j[q, a] * j[q, b] / (p[q] * (1 - p[q])) } } }
        XCTAssertLessThan(relativeError(try fr.metric(z).scalars, expected.scalars), 1e-13)
    }

    func testFisherRaoRejectsOutputsThatAreNotBernoulliMeans() throws {
        XCTAssertThrowsError(try FisherRaoMetric(try Plane(dim: 2))) { e in
            XCTAssertTrue("\(e)".contains("needs Bernoulli means in [0, 1]"), "\(e)")
        }
        let sigmoid = try NeuralNetwork(latentDim: 1, layers: [.activation(.sigmoid)])
        let g = try FisherRaoMetric(sigmoid)
        XCTAssertThrowsError(try g.metric(Vector([40]))) { e in
            XCTAssertTrue("\(e)".contains("is exactly 1 at point 1: the Fisher information 1/(p(1-p)) is infinite"), "\(e)")
        }
    }

    // MARK: Ensembles

    func testEnsembleMetricIsTheMeanOfTheMembers() throws {
        let g1 = try bernoulliNetwork(latent: 2, data: 4, seed: 1), g2 = try bernoulliNetwork(latent: 2, data: 4, seed: 2)
        let same = try Manifold.ensemble([Manifold(name: "a", generator: g1), Manifold(name: "b", generator: g1)])
        let z = Vector([0.4, -0.3])
        XCTAssertLessThan(relativeError(try same.generator.metric(z).scalars, try g1.metric(z).scalars), 1e-15)
        let a = Vector([-1, 0.5]), b = Vector([1.2, -0.4])
        let p1 = try Geodesic.solve(g1, from: a, to: b, options: GeodesicOptions(points: 16))
        let pe = try Geodesic.solve(same.generator, from: a, to: b, options: GeodesicOptions(points: 16))
        for t in 0..<16 { XCTAssertLessThan(try (p1.points[t] - pe.points[t]).norm, 1e-9) }

        let two = try Manifold.ensemble([Manifold(name: "a", generator: g1), Manifold(name: "b", generator: g2)])
        let m1 = try g1.metric(z), m2 = try g2.metric(z)
        XCTAssertLessThan(relativeError(try two.generator.metric(z).scalars, zip(m1.scalars, m2.scalars).map { ($0 + $1) / 2 }), 1e-14)
        try assertDerivativesMatchFiniteDifferences(two.generator, at: z)
        try assertHessianVectorProductsMatch(two.generator, points: [[0.4, -0.3], [1, 1]])
        // Pictures: the mean decoding.
        let x1 = try g1.decode(z), x2 = try g2.decode(z), xe = try two.decoder.decode(z)
        for q in 0..<4 { XCTAssertEqual(xe[q], (x1[q] + x2[q]) / 2, accuracy: 1e-15) }
        XCTAssertThrowsError(try Manifold.ensemble([Manifold(name: "a", generator: g1), Manifold(name: "s", generator: try Sphere())])) { e in
            XCTAssertTrue("\(e)".contains("data shape"), "\(e)")
        }
        XCTAssertThrowsError(try Manifold.ensemble([Manifold(name: "a", generator: g1), Manifold(name: "p", generator: try Plane(dim: 3))])) { e in
            XCTAssertTrue("\(e)".contains("generator 2 has latent_dim 3, generator 1 has 2"), "\(e)")
        }
    }

    // MARK: k-means

    func testKMeansFindsSeparatedClusters() throws {
        var rng = SeededRandom(seed: 8)
        let centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]
        var rows: [Vector] = []
        for i in 0..<300 { let c = centres[i % 3]; rows.append(Vector([c[0] + 0.3 * rng.normal(), c[1] + 0.3 * rng.normal()])) }
        let km = try KMeans(try Matrix(rowVectors: rows), k: 3, seed: 1)
        for i in 0..<300 { XCTAssertEqual(km.assignment[i], km.assignment[i % 3], "point \(i) joins its cluster") }
        for j in 0..<3 {
            let c = km.centers.row(j)
            XCTAssertLessThan(centres.map { try! (c - Vector($0)).norm }.min() ?? 1, 0.1)
        }
        XCTAssertLessThan(km.objective, 300 * 2 * 0.09 * 1.3)
        XCTAssertThrowsError(try KMeans(try Matrix(rowVectors: rows), k: 0, seed: 1))
        XCTAssertThrowsError(try KMeans(Matrix(rows: 2, cols: 2), k: 3, seed: 1)) { e in
            XCTAssertTrue("\(e)".contains("needs at least 3 points"), "\(e)")
        }
        // k >= distinct points: every point its own centre.
        let few = try KMeans(try Matrix(rowVectors: Array(rows[0..<4])), k: 4, seed: 2)
        XCTAssertEqual(few.objective, 0, accuracy: 1e-24)
    }
}
