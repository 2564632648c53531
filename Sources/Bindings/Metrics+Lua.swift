import CLua
import GeoEngine

/// Metrics, each a geo.Manifold realised as an immersion (GeoEngine's Metrics/):
///     geo.uncertainty(m [, {data=, centers=64, seed=1, bandwidth=1, floor=1e-3, samples=10000,
///                          iterations=500, background_centers=0, background_bandwidth=4,
///                          background_weight=0.01, progress=}])
///         J_mu^T J_mu + J_sigma^T J_sigma with sigma an RBF precision network fitted to `data`
///         (a geo.Dataset or a table of geo.Vector data vectors, encoded with m's encoder);
///         background_centers > 0 adds a wide second layer scaled by background_weight, so that
///         sigma rises in the gaps between codes and keeps rising far from them;
///         without data, the network the model file carries (the shipped models have one).
///         geo.save writes the decoder, encoder and the fitted network.
///     geo.fisher_rao(m)    Bernoulli-mean decoders: the pull-back of 2 arcsin(sqrt(p))
///     geo.ensemble{m1, m2, ...}   the mean of the decoders' metrics (pictures: the mean decoding)
enum MetricsLua {
    static let uncertaintyKeys = ["data", "centers", "seed", "bandwidth", "floor", "samples", "iterations",
                                  "background_centers", "background_bandwidth", "background_weight", "progress"]

    static let constructors: [Binding] = [
        Binding("uncertainty") { call in
            let m = try call.value(1, ManifoldLua.type)
            let o = try Options(call, 2, allowed: uncertaintyKeys)
            var options = UncertaintyMetric.Options()
            options.centers = try o.integer("centers") ?? options.centers
            if let s = try o.integer("seed") { options.seed = UInt64(bitPattern: Int64(s)) }
            options.bandwidth = try o.number("bandwidth") ?? options.bandwidth
            options.floor = try o.number("floor") ?? options.floor
            options.samples = try o.integer("samples") ?? options.samples
            options.iterations = try o.integer("iterations") ?? options.iterations
            options.backgroundCenters = try o.integer("background_centers") ?? options.backgroundCenters
            options.backgroundBandwidth = try o.number("background_bandwidth") ?? options.backgroundBandwidth
            options.backgroundWeight = try o.number("background_weight") ?? options.backgroundWeight
            guard o.pushRaw("data") else {
                if uncertaintyKeys.contains(where: { $0 != "data" && $0 != "seed" && $0 != "progress" && o.has($0) }) {
                    throw call.argumentError(2, Messages.optionRequired("data", "a geo.Dataset or a table of geo.Vector to fit sigma to"))
                }
                return call.push(try m.uncertainty(), as: ManifoldLua.type)
            }
            let x: Matrix
            do {
                defer { geo_pop(call.L, 1) }
                x = try dataMatrix(call, m, options)
            }
            let bar = ProgressBar("uncertainty", requested: try o.boolean("progress"))
            defer { bar.finish() }
            var fitted = options
            fitted.samples = max(1, x.rows)
            let sigma = try UncertaintyMetric.fit(m, data: x, options: fitted, progress: bar.handler)
            return call.push(try m.uncertainty(sigma), as: ManifoldLua.type)
        },
        Binding("fisher_rao") { call in
            let m = try call.value(1, ManifoldLua.type)
            return call.push(try m.fisherRao(), as: ManifoldLua.type)
        },
        Binding("ensemble") { call in
            try call.table(1)
            let members = try call.sequence(1) { k -> Manifold in
                guard let m = ManifoldLua.type.value(call.L, -1) else {
                    throw call.argumentError(1, Messages.entryType(k, "geo.Manifold", got: call.typeName(-1)))
                }
                return m
            }
            guard !members.isEmpty else { throw call.argumentError(1, "an ensemble needs at least one geo.Manifold") }
            return call.push(try Manifold.ensemble(members), as: ManifoldLua.type)
        },
    ]

    /// The data option at the top of the stack as rows of a matrix: a geo.Dataset (a seeded
    /// subset of at most `samples` images) or a table of geo.Vector of length data_dim.
    static func dataMatrix(_ call: LuaCall, _ m: Manifold, _ options: UncertaintyMetric.Options) throws -> Matrix {
        if let ds = DataLua.datasetType.value(call.L, -1) {
            guard ds.imageSize == m.dataDim else {
                throw call.argumentError(2, "data: the data set's images have \(ds.imageSize) pixels, the model's data_dim is \(m.dataDim)")
            }
            try Setting.integer("samples", options.samples, in: UncertaintyMetric.sampleRange)
            return try ds.batch(UncertaintyMetric.sampleIndices(count: ds.count, options: options))
        }
        guard lua_type(call.L, -1) == LUA_TTABLE else {
            throw call.argumentError(2, Messages.optionType("data", "a geo.Dataset or a table of geo.Vector", got: call.typeName(-1)))
        }
        let rows = try call.sequence(-1) { k -> Vector in
            guard let v = VectorLua.type.value(call.L, -1) else {
                throw call.argumentError(2, Messages.entryType(k, "geo.Vector", got: call.typeName(-1)))
            }
            guard v.count == m.dataDim else {
                throw call.argumentError(2, "data: vector \(k) has \(v.count) entries, the model's data_dim is \(m.dataDim)")
            }
            return v
        }
        guard !rows.isEmpty else { throw call.argumentError(2, "data: the table is empty") }
        return try Matrix(rowVectors: rows)
    }
}
