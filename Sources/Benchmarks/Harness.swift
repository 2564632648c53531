import Foundation
import GeoEngine

/// A group of benchmarks. Add new ones (geodesics, curvature, ...) in their own file and list
/// them in `allSections` in main.swift.
protocol BenchmarkSection {
    /// The name used on the command line to select the section.
    var name: String { get }
    /// Runs the benchmarks and prints their table.
    func run(_ context: BenchmarkContext) throws
}

/// Settings of one run, the timer, and the reference workload: OpenBLAS dgemm on 512 x 512
/// matrices, timed next to every measurement so that "% of dgemm" compares rates taken under
/// the same machine load (the machine may be shared).
final class BenchmarkContext {
    /// Repeats per measurement (medians are reported).
    let repeats: Int
    /// Seconds of work per repeat (iterations are calibrated to about this).
    let secondsPerRepeat: Double
    private var a: Matrix, b: Matrix, c: Matrix
    /// Flops of one reference dgemm: 2 * 512^3.
    let referenceFlops = 2 * 512.0 * 512.0 * 512.0

    init(repeats: Int, secondsPerRepeat: Double) {
        self.repeats = repeats; self.secondsPerRepeat = secondsPerRepeat
        var rng = SeededRandom(seed: 1)
        a = Matrix(rows: 512, cols: 512); b = Matrix(rows: 512, cols: 512); c = Matrix(rows: 512, cols: 512)
        for i in a.scalars.indices { a.scalars[i] = rng.normal(); b.scalars[i] = rng.normal() }
    }

    /// One reference dgemm.
    func reference() throws { try Matrix.gemm(a, b, into: &c) }

    /// The result of `measure`.
    struct Measurement {
        /// Median seconds per call.
        var seconds: Double
        /// flops / seconds, in GFLOP/s.
        var gflops: Double
        /// Median over repeats of the rate divided by the reference dgemm rate of the same repeat.
        var fractionOfReference: Double
        /// Median reference dgemm GFLOP/s.
        var referenceGFLOPS: Double
    }

    /// Times `body` (`flops` per call) and the reference dgemm alternately, `repeats` times.
    func measure(flops: Double, _ body: () throws -> Void) throws -> Measurement {
        let bodyIterations = try calibrate(body)
        let refIterations = try calibrate { try self.reference() }
        var times: [Double] = [], refTimes: [Double] = [], ratios: [Double] = []
        for _ in 0..<repeats {
            let tr = try seconds { for _ in 0..<refIterations { try self.reference() } } / Double(refIterations)
            let t = try seconds { for _ in 0..<bodyIterations { try body() } } / Double(bodyIterations)
            times.append(t); refTimes.append(tr)
            ratios.append((flops / t) / (referenceFlops / tr))
        }
        let t = median(times)
        return Measurement(seconds: t, gflops: flops / t / 1e9, fractionOfReference: median(ratios),
                           referenceGFLOPS: referenceFlops / median(refTimes) / 1e9)
    }

    /// The median time in seconds of one call of `body`.
    func medianSeconds(_ body: () throws -> Void) throws -> Double {
        let n = try calibrate(body)
        var times: [Double] = []
        for _ in 0..<repeats { times.append(try seconds { for _ in 0..<n { try body() } } / Double(n)) }
        return median(times)
    }

    /// Calls per repeat so that a repeat takes about `secondsPerRepeat` (after a warm-up call).
    private func calibrate(_ body: () throws -> Void) throws -> Int {
        try body()
        var iterations = 1
        while true {
            let t = try seconds { for _ in 0..<iterations { try body() } }
            if t >= secondsPerRepeat / 4 || iterations >= 1 << 20 {
                return max(1, Int(Double(iterations) * secondsPerRepeat / max(t, 1e-9)))
            }
            iterations *= 4
        }
    }

    private func seconds(_ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        let d = clock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    if s.isEmpty { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// A fixed-width text table.
struct Table {
    let columns: [String]
    var rows: [[String]] = []

    init(_ columns: [String]) { self.columns = columns }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        let widths = columns.indices.map { c in max(columns[c].count, rows.map { $0[c].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, s in
                i == 0 ? s.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[i] - s.count) + s
            }.joined(separator: "  ")
        }
        return ([line(columns), String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))]
                + rows.map(line)).joined(separator: "\n")
    }
}

func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
