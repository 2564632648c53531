import XCTest
@testable import GeoEngine

/// Checks every mode of an `Op` against finite differences at given input values: forward mode
/// of first order (J t) and second order (J w + D2[u, v]), reverse mode (the adjoint identity
/// <c, J t> = <J^T c, t>) and reverse mode with tangents of cotangents (J^T c' + H[t]^T c against
/// differences of J^T c). Two points travel together (the second one's inputs perturbed) with
/// two tangents each, so the per-point and per-tangent indexing of the op is exercised.
/// `differentiable[i]` false makes input i a value without derivatives (values only).
/// `tolerance` is the relative error allowed against finite differences (h = 1e-5).
func assertOpDerivatives(_ op: Op, inputs: [Tensor], differentiable: [Bool]? = nil, tolerance: Double = 1e-6,
                         seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) throws {
    var rng = SeededRandom(seed: seed)
    let m = inputs.count
    let diff = differentiable ?? [Bool](repeating: true, count: m)
    let n = 2, k = 2, h = 1e-5
    XCTAssertEqual(op.inputShapes.count, m, "input count", file: file, line: line)
    for (i, t) in inputs.enumerated() { XCTAssertEqual(op.inputShapes[i], t.shape, "input \(i) shape", file: file, line: line) }
    let fin = op.inputShapes.map { $0.reduce(1, *) }, fout = op.outputShapes.map { $0.reduce(1, *) }
    let outDiff = op.differentiableOutputs
    // Values of the two points: the given ones and a perturbation (not for non-differentiable
    // inputs such as masks, whose small changes could flip them).
    let values: [[[Double]]] = inputs.enumerated().map { i, t in
        [t.scalars, diff[i] ? t.scalars.map { $0 + 0.01 * rng.normal() } : t.scalars]
    }
    func randomRows(_ count: Int, _ f: Int) -> [Double] { (0..<(count * f)).map { _ in rng.normal() } }
    // Tangents (k per point) of the differentiable inputs.
    let tangents: [[Double]] = (0..<m).map { i in diff[i] ? randomRows(n * k, fin[i]) : [] }

    /// f at the two points with inputs moved along per-input directions (n*... rows per point j).
    func evaluate(_ shift: (Int, Int) -> [Double]?) throws -> [[Double]] {
        var states = (0..<m).map { i -> Matrix in
            var rows: [Double] = []
            for p in 0..<n {
                var v = values[i][p]
                if let s = shift(i, p) { for q in v.indices { v[q] += s[q] } }
                rows += v
            }
            return Matrix(rows: n, cols: fin[i], unchecked: rows)
        }
        return try op.forward(&states, ForwardModeLayout(points: n, order: .value)).map { $0.scalars }
    }
    func row(_ a: [Double], _ r: Int, _ f: Int) -> [Double] { Array(a[(r * f)..<((r + 1) * f)]) }

    // MARK: first order
    var first = (0..<m).map { i -> Matrix in
        let vals = values[i].flatMap { $0 }
        return Matrix(rows: diff[i] ? n + n * k : n, cols: fin[i], unchecked: diff[i] ? vals + tangents[i] : vals)
    }
    let firstOut = try op.forward(&first, ForwardModeLayout(points: n, tangentsPerPoint: k, order: .first))
    for p in 0..<n {
        for j in 0..<k {
            let plus = try evaluate { i, q in diff[i] && q == p ? row(tangents[i], p * k + j, fin[i]).map { h * $0 } : nil }
            let minus = try evaluate { i, q in diff[i] && q == p ? row(tangents[i], p * k + j, fin[i]).map { -h * $0 } : nil }
            for o in fout.indices where outDiff[o] {
                let fd = zip(row(plus[o], p, fout[o]), row(minus[o], p, fout[o])).map { ($0 - $1) / (2 * h) }
                let jvp = row(firstOut[o].scalars, n + p * k + j, fout[o])
                XCTAssertLessThan(relativeError(jvp, fd), tolerance, "\(op.op): JVP output \(o), point \(p), tangent \(j)", file: file, line: line)
            }
            // Values are the same as a value pass.
            let values0 = try evaluate { _, _ in nil }
            for o in fout.indices {
                XCTAssertEqual(row(firstOut[o].scalars, p, fout[o]), row(values0[o], p, fout[o]), "\(op.op): values of a first-order pass", file: file, line: line)
            }
        }
    }

    // MARK: second order: w_y = J w + D2[u, v]
    let u = tangents, v = (0..<m).map { i in diff[i] ? randomRows(n * k, fin[i]) : [] }
    let w = (0..<m).map { i in diff[i] ? randomRows(n * k, fin[i]) : [] }
    var second = (0..<m).map { i -> Matrix in
        let vals = values[i].flatMap { $0 }
        return Matrix(rows: diff[i] ? n + 3 * n * k : n, cols: fin[i], unchecked: diff[i] ? vals + u[i] + v[i] + w[i] : vals)
    }
    let secondOut = try op.forward(&second, ForwardModeLayout(points: n, tangentsPerPoint: k, order: .second))
    /// J(x + s v) u per output, at point p, tangent j (first-order pass at shifted values).
    func jvpAt(_ p: Int, _ j: Int, _ s: Double, _ dir: [[Double]], along: [[Double]]) throws -> [[Double]] {
        var st = (0..<m).map { i -> Matrix in
            var rows: [Double] = []
            for q in 0..<n {
                var val = values[i][q]
                if diff[i] && q == p { let d = row(along[i], p * k + j, fin[i]); for t in val.indices { val[t] += s * d[t] } }
                rows += val
            }
            let tang = diff[i] ? (0..<n).flatMap { q in row(dir[i], q * k + j, fin[i]) } : []
            return Matrix(rows: diff[i] ? 2 * n : n, cols: fin[i], unchecked: rows + tang)
        }
        return try op.forward(&st, ForwardModeLayout(points: n, tangentsPerPoint: 1, order: .first)).map { $0.scalars }
    }
    for p in 0..<n {
        for j in 0..<k {
            let plus = try jvpAt(p, j, h, u, along: v), minus = try jvpAt(p, j, -h, u, along: v)
            let jw = try jvpAt(p, j, 0, w, along: v)
            for o in fout.indices where outDiff[o] {
                let d2 = zip(row(plus[o], n + p, fout[o]), row(minus[o], n + p, fout[o])).map { ($0 - $1) / (2 * h) }
                let expected = zip(d2, row(jw[o], n + p, fout[o])).map { $0 + $1 }
                let got = row(secondOut[o].scalars, n + 2 * n * k + p * k + j, fout[o])
                XCTAssertLessThan(relativeError(got, expected), tolerance, "\(op.op): second order output \(o), point \(p), tangent \(j)", file: file, line: line)
                XCTAssertEqual(row(secondOut[o].scalars, n + p * k + j, fout[o]), row(firstOut[o].scalars, n + p * k + j, fout[o]),
                               "\(op.op): u block of second order equals the JVP", file: file, line: line)
            }
        }
    }

    // MARK: reverse: <c, J t> = <J^T c, t>, with 2 cotangents per point
    let kc = 2
    let savedValues = (0..<m).map { i in Matrix(rows: n, cols: fin[i], unchecked: values[i].flatMap { $0 }) }
    var valueStates = savedValues
    let outValues = try op.forward(&valueStates, ForwardModeLayout(points: n, order: .value))
    let cot = fout.indices.map { o in outDiff[o] ? randomRows(n * kc, fout[o]) : [] }
    let back = try op.backward(inputs: savedValues, outputs: outValues,
                               cotangents: fout.indices.map { o in Matrix(rows: outDiff[o] ? n * kc : 0, cols: fout[o], unchecked: cot[o]) },
                               ReverseLayout(points: n, cotangentsPerPoint: kc))
    for p in 0..<n {
        for jc in 0..<kc {
            for j in 0..<k {
                var lhs = 0.0, rhs = 0.0
                for o in fout.indices where outDiff[o] {
                    let c = row(cot[o], p * kc + jc, fout[o]), jt = row(firstOut[o].scalars, n + p * k + j, fout[o])
                    lhs += zip(c, jt).reduce(0) { $0 + $1.0 * $1.1 }
                }
                for i in 0..<m where diff[i] {
                    let jtc = row(back[i].scalars, p * kc + jc, fin[i]), t = row(tangents[i], p * k + j, fin[i])
                    rhs += zip(jtc, t).reduce(0) { $0 + $1.0 * $1.1 }
                }
                XCTAssertEqual(lhs, rhs, accuracy: 1e-11 * max(1, abs(lhs)), "\(op.op): adjoint identity, point \(p)", file: file, line: line)
            }
        }
    }

    // MARK: reverse with tangents of cotangents: c'_x = J^T c' + H[t]^T c
    let c1 = fout.indices.map { o in outDiff[o] ? randomRows(n, fout[o]) : [] }
    let cdot = fout.indices.map { o in outDiff[o] ? randomRows(n * k, fout[o]) : [] }
    let savedTangent = (0..<m).map { i in
        Matrix(rows: diff[i] ? n + n * k : n, cols: fin[i], unchecked: values[i].flatMap { $0 } + tangents[i])
    }
    let hvpBack = try op.backward(inputs: savedTangent, outputs: firstOut,
                                  cotangents: fout.indices.map { o in Matrix(rows: outDiff[o] ? n + n * k : 0, cols: fout[o], unchecked: c1[o] + cdot[o]) },
                                  ReverseLayout(points: n, cotangentsPerPoint: 1, tangentsPerPoint: k))
    /// J(x + s t)^T c at point p (t the tangent j), from a VJP at shifted values.
    func vjpAt(_ p: Int, _ j: Int, _ s: Double, _ cs: [[Double]]) throws -> [Matrix] {
        let shifted = (0..<m).map { i -> Matrix in
            var rows: [Double] = []
            for q in 0..<n {
                var val = values[i][q]
                if diff[i] && q == p { let d = row(tangents[i], p * k + j, fin[i]); for t in val.indices { val[t] += s * d[t] } }
                rows += val
            }
            return Matrix(rows: n, cols: fin[i], unchecked: rows)
        }
        var st = shifted
        let outs = try op.forward(&st, ForwardModeLayout(points: n, order: .value))
        return try op.backward(inputs: shifted, outputs: outs,
                               cotangents: fout.indices.map { o in Matrix(rows: outDiff[o] ? n : 0, cols: fout[o], unchecked: cs[o]) },
                               ReverseLayout(points: n, cotangentsPerPoint: 1))
    }
    let cdotRows = (0..<n).map { p in (0..<k).map { j in fout.indices.map { o in outDiff[o] ? row(cdot[o], p * k + j, fout[o]) : [] } } }
    for p in 0..<n {
        for j in 0..<k {
            let plus = try vjpAt(p, j, h, c1), minus = try vjpAt(p, j, -h, c1)
            // J^T c' for this tangent's c' (the same at every point: rows of point p only matter).
            let cprime = fout.indices.map { o in outDiff[o] ? (0..<n).flatMap { _ in cdotRows[p][j][o] } : [] }
            let jtcp = try vjpAt(p, j, 0, cprime)
            for i in 0..<m where diff[i] {
                let fd = zip(row(plus[i].scalars, p, fin[i]), row(minus[i].scalars, p, fin[i])).map { ($0 - $1) / (2 * h) }
                let expected = zip(fd, row(jtcp[i].scalars, p, fin[i])).map { $0 + $1 }
                let got = row(hvpBack[i].scalars, n + p * k + j, fin[i])
                XCTAssertLessThan(relativeError(got, expected), tolerance, "\(op.op): tangent of cotangent, input \(i), point \(p), tangent \(j)", file: file, line: line)
                XCTAssertLessThan(relativeError(row(hvpBack[i].scalars, p, fin[i]), row(jtcp[i].scalars, p, fin[i]).isEmpty ? [] : row(try vjpAt(p, j, 0, c1)[i].scalars, p, fin[i])), 1e-12,
                                  "\(op.op): cotangent rows of a tangent pass equal the VJP", file: file, line: line)
            }
        }
    }
}
