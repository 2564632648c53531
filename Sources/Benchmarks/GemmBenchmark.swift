import GeoEngine

/// OpenBLAS dgemm on square matrices: the reference rate for the dense work elsewhere.
struct GemmSection: BenchmarkSection {
    var name: String { "dgemm" }

    func run(_ context: BenchmarkContext) throws {
        var rng = SeededRandom(seed: 1)
        var table = Table(["dgemm (row-major, no transpose)", "ms", "GFLOP/s"])
        for n in [256, 512, 1024] {
            let a = try Matrix(rows: n, cols: n, scalars: (0..<(n * n)).map { _ in rng.normal() })
            let b = try Matrix(rows: n, cols: n, scalars: (0..<(n * n)).map { _ in rng.normal() })
            var c = Matrix(rows: n, cols: n)
            let t = try context.medianSeconds { try Matrix.gemm(a, b, into: &c) }
            table.add(["\(n) x \(n) x \(n)", fmt(t * 1e3, 2), fmt(2 * Double(n * n * n) / t / 1e9)])
        }
        print(table.render())
        print("(512^3 is the reference, re-timed next to every measurement below)\n")
    }
}
