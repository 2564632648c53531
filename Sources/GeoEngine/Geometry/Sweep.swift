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

    /// Sectional curvatures at `points` for random planes drawn from `rng` (a plane for every
    /// point, so the planes do not depend on the shard), at the points of `shard`'s slice.
    public static func sectional(on g: Generator, at points: [Vector], rng: inout SeededRandom, shard: Shard = .all,
                                 progress: ProgressHandler? = nil) throws -> [Double] {
        let d = g.latentDim
        guard d >= 2 else { throw GeoError.invalidArgument("sectional curvature needs latent_dim >= 2, got \(d)") }
        let planes = points.map { _ in (rng.normalVector(d), rng.normalVector(d)) }
        let mine = Array(shard.items(points.count))
        return try chunked(mine.count, progress) { range in
            let at = range.map { mine[$0] }
            let z = try Matrix(rowVectors: at.map { points[$0] })
            let u = try Matrix(rowVectors: at.map { planes[$0].0 }), v = try Matrix(rowVectors: at.map { planes[$0].1 })
            do { return try Curvature.sectional(on: g, at: z, u: u, v: v) } catch GeoError.numerical {
                return try at.map { i in
                    try nanIfSingular { try Curvature.sectional(on: g, at: points[i], planes[i].0, planes[i].1) }
                }
            }
        }
    }

    /// Scalar curvatures at the points of `shard`'s slice of `points`.
    public static func scalar(on g: Generator, at points: [Vector], shard: Shard = .all, progress: ProgressHandler? = nil) throws -> [Double] {
        let mine = Array(shard.items(points.count))
        return try chunked(mine.count, progress) { range in
            let at = range.map { mine[$0] }
            do { return try Curvature.scalar(on: g, at: try Matrix(rowVectors: at.map { points[$0] })) } catch GeoError.numerical {
                return try at.map { i in try nanIfSingular { try Curvature.scalar(on: g, at: points[i]) } }
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

extension Sweep {
    /// A shard's slice of a sweep as plain data (for geo.write_json and geo.merge):
    ///     {"georepl": "sweep", "measure": ..., "shard": i, "shards": n, "count": N, "values": [...]}
    /// with a NaN value (a point where the measure is undefined) written as the string "nan".
    public static func sliceData(measure: String, shard: Shard, count: Int, values: [Double]) -> DataValue {
        .object(["georepl": .string("sweep"), "measure": .string(measure), "shard": .number(Double(shard.index)),
                 "shards": .number(Double(shard.count)), "count": .number(Double(count)),
                 "values": .array(values.map { $0.isNaN ? .string("nan") : .number($0) })])
    }

    /// (measure, count, shard, values) of `sliceData`'s form; `GeoError.format` names what is wrong.
    public static func slice(data v: DataValue) throws -> (measure: String, count: Int, shard: Shard, values: [Double]) {
        guard case .string("sweep") = v["georepl"], case .string(let measure) = v["measure"] else { throw GeoError.format("not a sweep slice") }
        guard let i = v["shard"]?.number, let n = v["shards"]?.number, let c = v["count"]?.number,
              i == i.rounded(), n == n.rounded(), c == c.rounded(), c >= 0, c <= Double(sampleRange.upperBound), abs(i) < 1e9, abs(n) < 1e9 else {
            throw GeoError.format("a sweep slice needs integers 'shard', 'shards' and 'count'")
        }
        let shard: Shard
        do { shard = try Shard(index: Int(i), count: Int(n)) } catch { throw GeoError.format("a sweep slice's shard \(Int(i)) of \(Int(n)) is out of range") }
        guard let list = v["values"]?.array else { throw GeoError.format("a sweep slice needs 'values'") }
        let values = try list.map { x -> Double in
            if let d = x.number { return d }
            if case .string("nan") = x { return .nan }
            throw GeoError.format("a sweep slice's values are numbers or \"nan\"")
        }
        return (measure, Int(c), shard, values)
    }
}
