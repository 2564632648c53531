import XCTest
@testable import GeoEngine

/// Shared test helpers: finite-difference checks of a Generator's exact derivatives.

/// max_i |a_i - b_i| / max(max_i |b_i|, floor): a relative error that stays meaningful near 0.
func relativeError(_ a: [Double], _ b: [Double], floor: Double = 1e-8) -> Double {
    precondition(a.count == b.count, "relativeError: counts differ")
    let scale = max(b.reduce(0) { max($0, abs($1)) }, floor)
    var worst = 0.0
    for i in a.indices { worst = max(worst, abs(a[i] - b[i])) }
    return worst / scale
}

/// g(z) for one point, as a plain array.
func eval(_ g: Generator, _ z: Vector) throws -> [Double] {
    try g.forward(Matrix(row: z)).scalars
}

/// Central difference of g at z along t: (g(z + h t) - g(z - h t)) / 2h.
func finiteDifferenceJVP(_ g: Generator, _ z: Vector, _ t: Vector, h: Double = 1e-5) throws -> [Double] {
    let p = try eval(g, z.adding(t, scaledBy: h)), m = try eval(g, z.adding(t, scaledBy: -h))
    return zip(p, m).map { ($0 - $1) / (2 * h) }
}

/// Central difference of the exact JVP along v: (J(z + h v) u - J(z - h v) u) / 2h ~ D2g(z)[u, v].
func finiteDifferenceD2(_ g: Generator, _ z: Vector, _ u: Vector, _ v: Vector, h: Double = 1e-5) throws -> [Double] {
    let tu = Matrix(row: u)
    let p = try g.jvp(Matrix(row: z.adding(v, scaledBy: h)), tangents: tu).tangents.scalars
    let m = try g.jvp(Matrix(row: z.adding(v, scaledBy: -h)), tangents: tu).tangents.scalars
    return zip(p, m).map { ($0 - $1) / (2 * h) }
}

/// Checks JVP, VJP and the second derivative of `g` at `z` against finite differences, the
/// adjoint identity <c, J t> = <J^T c, t>, and that batched calls agree with single ones.
/// `tolerance` is the relative error allowed against finite differences.
func assertDerivativesMatchFiniteDifferences(_ g: Generator, at z: Vector, seed: UInt64 = 1,
                                             tolerance: Double = 1e-6, h: Double = 1e-5,
                                             file: StaticString = #filePath, line: UInt = #line) throws {
    var rng = SeededRandom(seed: seed)
    let d = g.latentDim, dd = g.dataDim
    let u = rng.normalVector(d), v = rng.normalVector(d), c = rng.normalVector(dd)

    // JVP against central differences, with two tangents per point in one batch.
    let (value, jt) = try g.jvp(Matrix(row: z), tangents: try Matrix(rowVectors: [u, v]))
    XCTAssertEqual(value.rows, 1, file: file, line: line)
    XCTAssertEqual(value.scalars.count, dd, file: file, line: line)
    let e1 = relativeError(jt.row(0).scalars, try finiteDifferenceJVP(g, z, u, h: h))
    let e2 = relativeError(jt.row(1).scalars, try finiteDifferenceJVP(g, z, v, h: h))
    XCTAssertLessThan(max(e1, e2), tolerance, "JVP vs finite differences", file: file, line: line)
    XCTAssertLessThan(relativeError(value.scalars, try eval(g, z)), 1e-14, "jvp value vs forward", file: file, line: line)

    // VJP: the adjoint identity to 1e-12 relative.
    let (vv, jtc) = try g.vjp(Matrix(row: z), cotangents: Matrix(row: c))
    XCTAssertLessThan(relativeError(vv.scalars, value.scalars), 1e-14, "vjp value vs forward", file: file, line: line)
    let lhs = try c.dot(jt.row(0)), rhs = try Vector(jtc.scalars).dot(u)
    XCTAssertEqual(lhs, rhs, accuracy: 1e-12 * max(1, abs(lhs)), "adjoint identity", file: file, line: line)

    // Second order against central differences of the exact JVP.
    let so = try g.secondOrder(Matrix(row: z), u: Matrix(row: u), v: Matrix(row: v))
    XCTAssertLessThan(relativeError(so.ju.scalars, jt.row(0).scalars), 1e-12, "secondOrder ju", file: file, line: line)
    XCTAssertLessThan(relativeError(so.jv.scalars, jt.row(1).scalars), 1e-12, "secondOrder jv", file: file, line: line)
    let fd2 = try finiteDifferenceD2(g, z, u, v, h: h)
    XCTAssertLessThan(relativeError(so.d2.scalars, fd2, floor: 1e-6), tolerance, "D2g vs finite differences", file: file, line: line)
    // Symmetry of the second derivative.
    let sw = try g.secondOrder(Matrix(row: z), u: Matrix(row: v), v: Matrix(row: u))
    XCTAssertLessThan(relativeError(sw.d2.scalars, so.d2.scalars, floor: 1e-6), 1e-10, "D2g symmetry", file: file, line: line)

    // A batch of two points gives the same rows as two single calls.
    let z2 = try z.adding(rng.normalVector(d), scaledBy: 0.1)
    let batch = try g.jvp(try Matrix(rowVectors: [z, z2]), tangents: try Matrix(rowVectors: [u, v]))
    let single2 = try g.jvp(Matrix(row: z2), tangents: Matrix(row: v))
    XCTAssertLessThan(relativeError(batch.tangents.row(0).scalars, jt.row(0).scalars), 1e-12, "batched jvp row 0", file: file, line: line)
    XCTAssertLessThan(relativeError(batch.tangents.row(1).scalars, single2.tangents.scalars), 1e-12, "batched jvp row 1", file: file, line: line)
}

/// `Generator.hessianVectorProducts` at `points` (2 random tangents and a random cotangent per
/// point) against central differences of VJPs (1e-7) and the contraction of second-order forward
/// mode (1e-12); its values, J u and gradient against forward, jvp and vjp.
func assertHessianVectorProductsMatch(_ g: Generator, points: [[Double]], fdTolerance: Double = 1e-7,
                                      file: StaticString = #filePath, line: UInt = #line) throws {
    var rng = SeededRandom(seed: 17)
    let n = points.count, d = g.latentDim, k = 2
    let z = try Matrix(rowVectors: points.map { Vector($0) })
    let c = try Matrix(rows: n, cols: g.dataDim, scalars: (0..<(n * g.dataDim)).map { _ in rng.normal() })
    let u = try Matrix(rows: n * k, cols: d, scalars: (0..<(n * k * d)).map { _ in rng.normal() })
    var seen: Matrix?
    let r = try g.hessianVectorProducts(z, tangents: u) { values, _ in seen = values; return c }
    XCTAssertEqual(seen, try g.forward(z), "the cotangent closure sees g(z)", file: file, line: line)
    XCTAssertLessThan(relativeError(r.value.scalars, try g.forward(z).scalars), 1e-15, file: file, line: line)
    XCTAssertLessThan(relativeError(r.jvp.scalars, try g.jvp(z, tangents: u).tangents.scalars), 1e-14, file: file, line: line)
    XCTAssertLessThan(relativeError(r.gradient.scalars, try g.vjp(z, cotangents: c).cotangents.scalars), 1e-14, file: file, line: line)
    let h = 1e-5
    for p in 0..<n {
        let cp = Matrix(row: c.row(p))
        for j in 0..<k {
            let t = u.row(p * k + j)
            let plus = try g.vjp(Matrix(row: try z.row(p).adding(t, scaledBy: h)), cotangents: cp).cotangents.scalars
            let minus = try g.vjp(Matrix(row: try z.row(p).adding(t, scaledBy: -h)), cotangents: cp).cotangents.scalars
            let fd = zip(plus, minus).map { ($0 - $1) / (2 * h) }
            XCTAssertLessThan(relativeError(r.hvp.row(p * k + j).scalars, fd, floor: 1e-8), fdTolerance,
                              "point \(p), tangent \(j): HVP vs differences of VJPs", file: file, line: line)
            let tt = try Matrix(rowVectors: [Vector](repeating: t, count: d))
            let so = try g.secondOrder(Matrix(row: z.row(p)), u: Matrix.identity(d), v: tt)
            let contracted = (0..<d).map { a in (0..<g.dataDim).reduce(0.0) { $0 + cp.scalars[$1] * so.d2[a, $1] } }
            XCTAssertLessThan(relativeError(r.hvp.row(p * k + j).scalars, contracted, floor: 1e-12), 1e-12,
                              "point \(p), tangent \(j): HVP vs contracted second order", file: file, line: line)
        }
    }
}

/// Central differences (step h) of `loss` with respect to every scalar of `parameters`, in
/// order, each perturbation installed with `set`; the parameters are restored at the end.
func centralDifferences(_ parameters: [Tensor], h: Double = 1e-5, set: ([Tensor]) throws -> Void,
                        loss: () throws -> Double) throws -> [Double] {
    var numeric: [Double] = []
    for i in parameters.indices {
        for j in parameters[i].scalars.indices {
            var p = parameters
            p[i].scalars[j] += h
            try set(p)
            let up = try loss()
            p[i].scalars[j] -= 2 * h
            try set(p)
            numeric.append((up - (try loss())) / (2 * h))
        }
    }
    try set(parameters)
    return numeric
}

/// A long run stops with `GeoError.interrupted` when cancellation was requested before it, and
/// when it is requested from its progress handler at the 3rd report (as Ctrl-C would arrive
/// between steps; no timing involved), after that step; no request is left behind.
/// `run(nil)` and `run(handler)` start the run.
func assertInterruptible(file: StaticString = #filePath, line: UInt = #line, _ run: (ProgressHandler?) throws -> Void) {
    Cancellation.request()
    XCTAssertThrowsError(try run(nil), file: file, line: line) { e in
        XCTAssertEqual(e as? GeoError, .interrupted, file: file, line: line)
    }
    XCTAssertFalse(Cancellation.isRequested, file: file, line: line)
    var completed: [Int] = []
    XCTAssertThrowsError(try run({ report in
        completed.append(report.completed)
        if report.completed == 3 { Cancellation.request() }
    }), file: file, line: line) { e in
        XCTAssertEqual(e as? GeoError, .interrupted, file: file, line: line)
    }
    XCTAssertEqual(completed, [1, 2, 3], file: file, line: line)
    XCTAssertFalse(Cancellation.isRequested, file: file, line: line)
}
