/// Analogies on the manifold, a : b :: c : d (Shao, Kumar & Fletcher 2018): "d is to c what b
/// is to a", with the flat-space answer c + (b - a) replaced by its Riemannian counterpart:
///
///     v = log_a(b)                                  (`LogMap.compute`: discrete geodesic a -> b,
///                                                    then shooting on the RK4 exp)
///     w = transport of v along the geodesic a -> c  (`Geodesic.solve`, then `ParallelTransport`)
///     d = exp_c(w)                                  (`ExponentialMap`, .rk4)
///
/// On a flat manifold whose latent coordinates are Euclidean (the plane, the Swiss roll) this
/// is exactly d = c + (b - a), up to the tolerances of the steps.
///
/// Defaults: discrete geodesics with `GeodesicOptions()` (64 points, GEORCE), exp with 100 RK4
/// steps, log residual 1e-9, transport `.polar`: the second-order variant of the paper's
/// projection transport (the paper's `.projection` is O(1/T) and with 64 points would limit
/// d to about 1e-3 relative accuracy even on a flat roll; `.polar` is exact there).
///
/// Errors: those of the parts (wrong dimension, NaN, a log that does not converge, a singular
/// metric along a geodesic, interruption).
public enum Analogy {
    /// Options of `Analogy.solve`.
    public struct Options {
        /// The discrete geodesics a -> b (for the log) and a -> c (for the transport).
        public var geodesic: GeodesicOptions
        /// RK4 steps of every exponential map (default 100).
        public var steps: Int
        /// The log map's residual tolerance (default 1e-9).
        public var tolerance: Double
        /// The log map's Broyden iterations per target (default 50).
        public var maxIterations: Int
        /// The transport along a -> c (default `.polar`).
        public var transport: ParallelTransport.Method

        public init(geodesic: GeodesicOptions = GeodesicOptions(), steps: Int = ExponentialMap.defaultSteps,
                    tolerance: Double = LogMap.defaultTolerance, maxIterations: Int = LogMap.defaultMaxIterations,
                    transport: ParallelTransport.Method = .polar) {
            self.geodesic = geodesic; self.steps = steps; self.tolerance = tolerance
            self.maxIterations = maxIterations; self.transport = transport
        }

        /// The options of the log map inside the analogy.
        public var log: LogMap.Options {
            LogMap.Options(geodesic: geodesic, steps: steps, tolerance: tolerance, maxIterations: maxIterations)
        }
    }

    /// The answer and every intermediate result.
    public struct Result {
        /// d = exp_c(w).
        public var point: Vector
        /// v = log_a(b), at a.
        public var logVector: Vector
        /// w, v transported to c.
        public var transported: Vector
        /// The discrete geodesic a -> b.
        public var abPath: Path
        /// The discrete geodesic a -> c along which v is transported.
        public var acPath: Path
        /// The geodesic c -> d, exp_c(t w) for t in [0, 1].
        public var cdPath: Path
        /// The log map's details (residual, iterations, shot geodesic a -> b).
        public var log: LogMap.Result
    }

    /// Solves a : b :: c : d (see the type's documentation).
    public static func solve(on g: Generator, _ a: Vector, _ b: Vector, _ c: Vector, options: Options = Options(),
                             progress: ProgressHandler? = nil) throws -> Result {
        try g.checkPoint(a, "a")
        try g.checkPoint(b, "b")
        try g.checkPoint(c, "c")
        try LogMap.checkSettings(steps: options.steps, tolerance: options.tolerance, maxIterations: options.maxIterations)
        let log = try LogMap.compute(on: g, from: a, to: b, options: options.log, progress: progress)
        try Cancellation.check()
        let ac = try Geodesic.solve(g, from: a, to: c, options: options.geodesic, progress: progress)
        let w = try ParallelTransport.transport(log.vector, along: ac, on: g, method: options.transport,
                                                progress: progress).vector
        let cd = try ExponentialMap.shoot(from: c, velocity: w, on: g, steps: options.steps, progress: progress)
        return Result(point: cd.point, logVector: log.vector, transported: w, abPath: log.geodesic,
                      acPath: ac, cdPath: cd.path, log: log)
    }
}
