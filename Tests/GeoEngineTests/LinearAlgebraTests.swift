import XCTest
@testable import GeoEngine

final class LinearAlgebraTests: XCTestCase {
    func randomMatrix(_ rows: Int, _ cols: Int, _ rng: inout SeededRandom) -> Matrix {
        Matrix(rows: rows, cols: cols, unchecked: (0..<(rows * cols)).map { _ in rng.normal() })
    }

    func assertClose(_ a: Vector, _ b: Vector, _ tol: Double, _ message: String = "",
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        XCTAssertLessThanOrEqual(try (a - b).norm, tol, "\(message): \(a) vs \(b)", file: file, line: line)
    }

    func assertClose(_ a: Matrix, _ b: Matrix, _ tol: Double, _ message: String = "",
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.rows, b.rows, message, file: file, line: line)
        XCTAssertEqual(a.cols, b.cols, message, file: file, line: line)
        XCTAssertLessThanOrEqual(relativeError(a.scalars, b.scalars, floor: 1), tol, message, file: file, line: line)
    }

    func assertNumericalError(_ body: @autoclosure () throws -> Any, contains text: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case .numerical(let message) = error as? GeoError else {
                return XCTFail("expected GeoError.numerical, got \(error)", file: file, line: line)
            }
            XCTAssertTrue(message.contains(text), "'\(message)' does not contain '\(text)'", file: file, line: line)
        }
    }

    // MARK: TangentSpace

    func testTangentSpaceHandChecked() throws {
        // J = [[1, 0], [0, 2], [0, 0]]: singular values 2, 1; tangent space = the xy-plane.
        let j = try Matrix(rows: 3, cols: 2, scalars: [1, 0, 0, 2, 0, 0])
        let ts = try TangentSpace(jacobian: j)
        XCTAssertEqual(ts.rank, 2)
        assertClose(ts.singularValues, Vector([2, 1]), 1e-15)
        XCTAssertEqual(ts.volume, 2, accuracy: 1e-15)
        XCTAssertEqual(ts.conditionNumber, 2, accuracy: 1e-15)
        let u = Vector([1, 2, 3])
        assertClose(try ts.pseudoInverse(u), Vector([1, 1]), 1e-15)
        assertClose(try ts.project(u), Vector([1, 2, 0]), 1e-15)
        assertClose(try ts.normalPart(u), Vector([0, 0, 3]), 1e-15)
        assertClose(try ts.solveMetric(Vector([3, 8])), Vector([3, 2]), 1e-15)
    }

    func testTangentSpaceRandomIdentities() throws {
        var rng = SeededRandom(seed: 11)
        for (dd, d) in [(7, 3), (50, 5), (4, 4), (784, 16)] {
            let j = randomMatrix(dd, d, &rng)
            let ts = try TangentSpace(jacobian: j)
            XCTAssertEqual(ts.rank, d)
            XCTAssertEqual(ts.basis.rows, dd); XCTAssertEqual(ts.basis.cols, d)
            // U^T U = I, and U S V^T = J.
            assertClose(try Matrix.product(ts.basis, transposeA: true, ts.basis), Matrix.identity(d), 1e-13, "U^T U")
            var us = ts.basis
            for r in 0..<dd { for c in 0..<d { us[r, c] *= ts.singularValues[c] } }
            assertClose(try Matrix.product(us, ts.rightSingularVectors), j, 1e-13, "U S V^T")
            // J^+ J = I.
            let pinvJ = try ts.pseudoInverse(rows: j.transposed)   // rows: J^+ (column a of J)
            assertClose(pinvJ, Matrix.identity(d), 1e-12, "J^+ J")
            // Projections on a batch of random vectors: idempotent, self-adjoint, J^T normal = 0.
            let b = randomMatrix(6, dd, &rng)
            let p = try ts.project(rows: b), nrm = try ts.normalPart(rows: b)
            assertClose(try ts.project(rows: p), p, 1e-13, "P P = P")
            assertClose(try p + nrm, b, 1e-14, "P + N = I")
            let jtn = try Matrix.product(nrm, j)   // rows: J^T n
            XCTAssertLessThan(jtn.scalars.reduce(0) { max($0, abs($1)) }, 1e-12 * Double(dd), "J^T (I - P) = 0")
            XCTAssertEqual(try p.row(0).dot(b.row(1)), try b.row(0).dot(p.row(1)), accuracy: 1e-12 * Double(dd), "P symmetric")
            // The pseudo-inverse is the least-squares solution: J^T (J x - u) = 0.
            let x = try ts.pseudoInverse(b.row(0))
            let residual = try j.apply(x) - b.row(0)
            XCTAssertLessThan((try j.applyTransposed(residual)).norm, 1e-12 * Double(dd))
            // solveMetric: (J^T J) x = c.
            let metric = try Matrix.product(j, transposeA: true, j)
            let c = rng.normalVector(d)
            let y = try ts.solveMetric(c)
            assertClose(try metric.apply(y), c, 1e-11 * c.norm, "M x = b")
            // volume^2 = det M, via the product of M's eigenvalues.
            let eig = try SymmetricMatrix(metric).eigenDecomposition()
            let det = eig.values.scalars.reduce(1, *)
            XCTAssertEqual(ts.volume * ts.volume / det, 1, accuracy: 1e-10)
            // Batched rows agree with single vectors.
            assertClose(try ts.normalPart(rows: b).row(3), try ts.normalPart(b.row(3)), 1e-14)
            assertClose(try ts.solveMetric(rows: Matrix(row: c)).row(0), y, 1e-14)
        }
    }

    func testTangentSpaceOfGenerator() throws {
        let ts = try TangentSpace(of: try Sphere(radius: 2), at: Vector([0.5, 1]))
        XCTAssertEqual(ts.volume, 4 * sin(0.5), accuracy: 1e-14)
        // The outward normal x/|x| is normal, tangent vectors are unchanged by projection.
        let x = try Sphere(radius: 2).decode(Vector([0.5, 1]))
        assertClose(try ts.project(x), Vector(zeros: 3), 1e-14)
        assertClose(try ts.normalPart(x), x, 1e-14)
    }

    func testTangentSpaceSingularAndInvalidInputsThrow() throws {
        // Dependent columns: rank 1 < 2.
        let dependent = try Matrix(rows: 3, cols: 2, scalars: [1, 2, 2, 4, 3, 6])
        assertNumericalError(try TangentSpace(jacobian: dependent), contains: "the metric is singular at this point (rank 1 < 2)")
        // The sphere's pole: the metric diag(1, sin^2 t) degenerates.
        assertNumericalError(try TangentSpace(of: try Sphere(), at: Vector([0, 0.3])), contains: "rank 1 < 2")
        // Nearly dependent below the relative threshold 1e-10, and fine above it.
        let eps = try Matrix(rows: 2, cols: 2, scalars: [1, 0, 0, 1e-12])
        assertNumericalError(try TangentSpace(jacobian: eps), contains: "rank 1 < 2")
        XCTAssertEqual(try TangentSpace(jacobian: eps, relativeTolerance: 1e-14).rank, 2)
        XCTAssertEqual(try TangentSpace(jacobian: try Matrix(rows: 2, cols: 2, scalars: [1, 0, 0, 1e-9])).rank, 2)
        // J = 0, and more latent than data dimensions.
        assertNumericalError(try TangentSpace(jacobian: Matrix(rows: 3, cols: 2)), contains: "rank 0 < 2")
        assertNumericalError(try TangentSpace(jacobian: try Matrix(rows: 1, cols: 2, scalars: [1, 1])), contains: "rank 1 < 2")
        assertNumericalError(try TangentSpace(jacobian: Matrix(rows: 0, cols: 2)), contains: "rank 0 < 2")
        // NaN and infinity.
        for bad in [Double.nan, .infinity] {
            let j = try Matrix(rows: 3, cols: 2, scalars: [1, 0, 0, 1, bad, 0])
            assertNumericalError(try TangentSpace(jacobian: j), contains: "NaN or infinite")
        }
        XCTAssertThrowsError(try TangentSpace(jacobian: Matrix(rows: 3, cols: 0)))
        XCTAssertThrowsError(try TangentSpace(jacobian: Matrix.identity(2), relativeTolerance: -1))
        // Wrong vector lengths.
        let ts = try TangentSpace(jacobian: try Matrix(rows: 3, cols: 2, scalars: [1, 0, 0, 1, 0, 0]))
        XCTAssertThrowsError(try ts.project(Vector([1, 2]))) { XCTAssertEqual($0 as? GeoError, .dimensionMismatch("project takes vectors of length 3, got 2")) }
        XCTAssertThrowsError(try ts.pseudoInverse(rows: Matrix(rows: 2, cols: 2)))
        XCTAssertThrowsError(try ts.normalPart(Vector([1])))
        XCTAssertThrowsError(try ts.solveMetric(Vector([1, 2, 3])))
    }

    func testRankDeficientTangentSpaceWhenAllowed() throws {
        // J = [[1, 1], [1, 1], [0, 0]] has rank 1: column space spanned by (1, 1, 0)/sqrt 2.
        let j = try Matrix(rows: 3, cols: 2, scalars: [1, 1, 1, 1, 0, 0])
        let ts = try TangentSpace(jacobian: j, requireFullRank: false)
        XCTAssertEqual(ts.rank, 1)
        XCTAssertEqual(ts.volume, 0, accuracy: 1e-15)
        XCTAssertEqual(ts.conditionNumber, .infinity)
        assertClose(try ts.project(Vector([1, 0, 5])), Vector([0.5, 0.5, 0]), 1e-15)
        // Moore-Penrose: J^+ = J^T / 4 here.
        assertClose(try ts.pseudoInverse(Vector([1, 0, 5])), Vector([0.25, 0.25]), 1e-15)
        assertNumericalError(try ts.solveMetric(Vector([1, 0])), contains: "rank 1 < 2")
    }

    // MARK: SymmetricMatrix

    func testCholeskySolveHandCheckedAndRandom() throws {
        let a = try SymmetricMatrix(try Matrix(rows: 2, cols: 2, scalars: [4, 2, 2, 3]))
        // [[4, 2], [2, 3]] (1, 2) = (8, 8).
        assertClose(try a.solvePositiveDefinite(Vector([8, 8])), Vector([1, 2]), 1e-15)
        var rng = SeededRandom(seed: 5)
        for n in [1, 3, 10, 40] {
            let b = randomMatrix(n + 3, n, &rng)
            let spd = try SymmetricMatrix(try Matrix.product(b, transposeA: true, b))
            let rhs = randomMatrix(4, n, &rng)
            let x = try spd.solvePositiveDefinite(rows: rhs)
            // Rows: A x_i = b_i  <=>  X A = B (A symmetric).
            assertClose(try Matrix.product(x, spd.matrix), rhs, 1e-11, "Cholesky residual n = \(n)")
            assertClose(try spd.solvePositiveDefinite(rhs.row(2)), x.row(2), 1e-13)
        }
    }

    func testCholeskyFailuresThrow() throws {
        let indefinite = try SymmetricMatrix(try Matrix(rows: 2, cols: 2, scalars: [1, 2, 2, 1]))
        assertNumericalError(try indefinite.solvePositiveDefinite(Vector([1, 1])), contains: "not positive definite")
        let semidefinite = try SymmetricMatrix(try Matrix(rows: 2, cols: 2, scalars: [1, 1, 1, 1]))
        XCTAssertThrowsError(try semidefinite.solvePositiveDefinite(Vector([1, 1])))
        let nearlySingular = try SymmetricMatrix(try Matrix(rows: 2, cols: 2, scalars: [1, 0, 0, 1e-17]))
        assertNumericalError(try nearlySingular.solvePositiveDefinite(Vector([1, 1])), contains: "numerically singular")
        XCTAssertThrowsError(try SymmetricMatrix(try Matrix(rows: 2, cols: 2, scalars: [1, 2, 3, 1]))) {
            XCTAssertEqual($0 as? GeoError, .invalidArgument("the matrix is not symmetric: entry (1,2) is 2 but (2,1) is 3"))
        }
        XCTAssertThrowsError(try SymmetricMatrix(Matrix(rows: 2, cols: 3)))
        XCTAssertThrowsError(try SymmetricMatrix(try Matrix(rows: 2, cols: 2, scalars: [1, .nan, .nan, 1])))
        let a = try SymmetricMatrix(Matrix.identity(2))
        XCTAssertThrowsError(try a.solvePositiveDefinite(Vector([1, .nan])))
        XCTAssertThrowsError(try a.solvePositiveDefinite(Vector([1, 2, 3])))
    }

    func testSymmetricEigenDecomposition() throws {
        let e = try SymmetricMatrix(try Matrix(rows: 2, cols: 2, scalars: [2, 1, 1, 2])).eigenDecomposition()
        assertClose(e.values, Vector([1, 3]), 1e-15)
        let v1 = try XCTUnwrap(e.vector(1))
        XCTAssertEqual(abs(v1[0]), 1 / 2.0.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(v1[0], v1[1], accuracy: 1e-15)
        XCTAssertNil(e.vector(2))
        var rng = SeededRandom(seed: 9)
        for n in [1, 5, 30] {
            let b = randomMatrix(n, n, &rng)
            let a = try SymmetricMatrix(try b + b.transposed)
            let eig = try a.eigenDecomposition()
            let q = eig.vectors
            assertClose(try Matrix.product(q, transposeA: true, q), Matrix.identity(n), 1e-13, "Q^T Q")
            var ql = q
            for r in 0..<n { for c in 0..<n { ql[r, c] *= eig.values[c] } }
            assertClose(try Matrix.product(a.matrix, q), ql, 1e-12, "A Q = Q Lambda")
            XCTAssertEqual(eig.values.scalars, eig.values.scalars.sorted())
        }
    }

    // MARK: General solve

    func testGeneralSolve() throws {
        let a = try Matrix(rows: 2, cols: 2, scalars: [0, 1, 2, 3])   // needs pivoting
        assertClose(try a.solve(Vector([2, 8])), Vector([1, 2]), 1e-15)
        var rng = SeededRandom(seed: 21)
        for n in [1, 4, 25] {
            let m = randomMatrix(n, n, &rng)
            let rhs = randomMatrix(3, n, &rng)
            let x = try m.solve(rows: rhs)
            // Rows: M x_i = b_i  <=>  X M^T = B.
            assertClose(try Matrix.product(x, m, transposeB: true), rhs, 1e-11, "LU residual n = \(n)")
        }
        assertNumericalError(try Matrix(rows: 2, cols: 2, scalars: [1, 2, 2, 4]).solve(Vector([1, 1])), contains: "singular")
        assertNumericalError(try Matrix(rows: 2, cols: 2, scalars: [1, 1, 1, 1 + 1e-17]).solve(Vector([1, 1])), contains: "singular")
        assertNumericalError(try Matrix(rows: 3, cols: 3, scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9]).solve(Vector([1, 1, 1])), contains: "singular")
        XCTAssertThrowsError(try Matrix(rows: 2, cols: 3).solve(Vector([1, 1])))
        XCTAssertThrowsError(try Matrix.identity(2).solve(Vector([1, 1, 1])))
        XCTAssertThrowsError(try Matrix.identity(2).solve(Vector([1, .infinity])))
        XCTAssertThrowsError(try Matrix(rows: 2, cols: 2, scalars: [1, .nan, 0, 1]).solve(Vector([1, 1])))
        XCTAssertEqual(try Matrix.identity(0).solve(Vector([])), Vector([]))
    }
}
