/// Summary statistics of a sample, as geo.sweep reports them.
///
/// mean and std (the sample standard deviation, divisor n - 1; 0 for n = 1), min, max, and the
/// quantiles median, q05, q95 by linear interpolation between order statistics (the "type 7"
/// definition of R and NumPy's default): q(p) = x_(k) + (h - k)(x_(k+1) - x_(k)), h = (n-1)p.
/// Non-finite values are dropped and counted in `dropped`.
public struct SampleStatistics: Equatable {
    public var count: Int
    public var dropped: Int
    public var mean, std, min, max, median, q05, q95: Double
    /// The finite values, in the order they were given.
    public var values: [Double]

    public init(_ sample: [Double]) throws {
        let v = sample.filter { $0.isFinite }
        guard !v.isEmpty else {
            throw GeoError.numerical("no finite values to summarise (\(sample.count) given)")
        }
        values = v; count = v.count; dropped = sample.count - v.count
        let n = Double(v.count)
        mean = v.reduce(0, +) / n
        let m = mean
        std = v.count > 1 ? (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)).squareRoot() : 0
        let sorted = v.sorted()
        min = sorted[0]; max = sorted[sorted.count - 1]
        func quantile(_ p: Double) -> Double {
            let h = Double(sorted.count - 1) * p
            let k = Int(h.rounded(.down))
            guard k + 1 < sorted.count else { return sorted[sorted.count - 1] }
            return sorted[k] + (h - Double(k)) * (sorted[k + 1] - sorted[k])
        }
        median = quantile(0.5); q05 = quantile(0.05); q95 = quantile(0.95)
    }
}
