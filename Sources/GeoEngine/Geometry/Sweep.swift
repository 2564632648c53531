/// Curvature and geodesic/line length ratios over many latent points: how a user measures the
/// paper's "close to flat" claim on any model.
///
/// Measures:
/// - `.sectional`: K(u, v) at each point for a random plane, u and v independent standard
///   normal directions (seeded): every plane is equally likely under the rotation-invariant
///   law of the pair.
/// - `.scalar`: the scalar curvature at each point (the sum over ordered pairs of a
///   metric-orthonormal frame; 2K on a surface).
/// - `.ratio`: for each pair (a, b), L(geodesic) / L(straight line), both discrete lengths in
///   data space with the same number of points. 1 means the straight latent line is already
///   a geodesic; the geodesic can only be shorter, so ratios are <= 1 up to solver tolerance.
///
/// A point where the measure cannot be evaluated (a singular metric, a solver failure) yields
/// NaN, which `SampleStatistics` drops and counts, instead of aborting the whole sweep.
/// Points are evaluated in chunks of `chunkSize` (one batched generator call each); between
/// chunks the sweep checks `Cancellation` and reports progress.
public enum Sweep {
    public enum Measure: String, CaseIterable { case sectional, scalar, ratio }

    /// Points per batched curvature call.
    public static let chunkSize = 64
    /// The accepted numbers of samples.
    public static let sampleRange = 1...10_000_000

    /// Checks a requested sample count (`sampleRange`, and the memory for twice as many latent
    /// points, as a ratio sweep draws pairs); returns it.
    public static func checkSamples(_ samples: Int, latentDim: Int) throws -> Int {
        try Setting.integer("samples", samples, in: sampleRange)
        try MemoryBudget.doubles(2, samples, max(1, latentDim), for: "\(samples) samples")
        return samples
    }

    /// Sectional curvatures at `points` for random planes drawn from `rng`.
    public static func sectional(on g: Generator, at points: [Vector], rng: inout SeededRandom,
                                 progress: ProgressHandler? = nil) throws -> [Double] {
        let d = g.latentDim
        guard d >= 2 else { throw GeoError.invalidArgument("sectional curvature needs latent_dim >= 2, got \(d)") }
        let planes = points.map { _ in (rng.normalVector(d), rng.normalVector(d)) }
        return try chunked(points.count, progress) { range in
            let z = try Matrix(rowVectors: Array(points[range]))
            let u = try Matrix(rowVectors: range.map { planes[$0].0 }), v = try Matrix(rowVectors: range.map { planes[$0].1 })
            do { return try Curvature.sectional(on: g, at: z, u: u, v: v) } catch GeoError.numerical {
                return try range.map { i in
                    try nanIfSingular { try Curvature.sectional(on: g, at: points[i], planes[i].0, planes[i].1) }
                }
            }
        }
    }

    /// Scalar curvatures at `points`.
    public static func scalar(on g: Generator, at points: [Vector], progress: ProgressHandler? = nil) throws -> [Double] {
        try chunked(points.count, progress) { range in
            do { return try Curvature.scalar(on: g, at: try Matrix(rowVectors: Array(points[range]))) } catch GeoError.numerical {
                return try range.map { i in try nanIfSingular { try Curvature.scalar(on: g, at: points[i]) } }
            }
        }
    }

    /// Geodesic / line length ratios for `pairs`, geodesics by `Geodesic.solve` with `options`.
    /// Identical endpoints give NaN (no ratio is defined).
    public static func lengthRatios(on g: Generator, pairs: [(Vector, Vector)], options: GeodesicOptions = GeodesicOptions(),
                                    progress: ProgressHandler? = nil) throws -> [Double] {
        var out = [Double]()
        for (i, (a, b)) in pairs.enumerated() {
            try Cancellation.check()
            let line = try Path.line(from: a, to: b, points: options.points).length(on: g)
            var ratio = Double.nan
            if line > 0 {
                do { ratio = try Geodesic.solve(g, from: a, to: b, options: options).length(on: g) / line }
                catch GeoError.interrupted { throw GeoError.interrupted }
                catch GeoError.numerical {}
            }
            out.append(ratio)
            progress?(ProgressReport(completed: i + 1, total: pairs.count, detail: "ratio \(formatNumber(ratio))"))
        }
        return out
    }

    /// The value of `body`, or NaN when it fails numerically (a singular metric at this point);
    /// every other error, Ctrl-C's `interrupted` above all, propagates.
    private static func nanIfSingular(_ body: () throws -> Double) throws -> Double {
        do { return try body() } catch GeoError.numerical { return .nan }
    }

    private static func chunked(_ n: Int, _ progress: ProgressHandler?, _ body: (Range<Int>) throws -> [Double]) throws -> [Double] {
        var out = [Double](); out.reserveCapacity(n)
        var start = 0
        while start < n {
            try Cancellation.check()
            let range = start..<min(n, start + chunkSize)
            out += try body(range)
            start = range.upperBound
            progress?(ProgressReport(completed: start, total: n))
        }
        return out
    }
}
