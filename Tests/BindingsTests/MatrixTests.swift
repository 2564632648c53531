import XCTest
@testable import Bindings

final class MatrixTests: LuaTestCase {
    func testMatrixBasics() {
        lua.run("m = geo.matrix{{1, 2}, {3, 4}, {5, 6}}")
        XCTAssertEqual(eval("m:rows(), m:cols(), m:get(3, 2)"), ["3", "2", "6.0"])
        XCTAssertEqual(value("m * geo.vec{1, 1}"), "geo.vec{3, 7, 11}")
        XCTAssertEqual(value("(m:t() * m):get(1, 1)"), "35.0")
        XCTAssertEqual(value("(2 * m):get(2, 1)"), "6.0")
        XCTAssertEqual(value("(m * 2 - m):get(2, 2)"), "4.0")
        XCTAssertEqual(value("(m + m):get(1, 2)"), "4.0")
        XCTAssertEqual(value("(-m):get(1, 1)"), "-1.0")
        XCTAssertEqual(value("m == geo.matrix{{1, 2}, {3, 4}, {5, 6}}"), "true")
        XCTAssertEqual(value("m:totable()[3][1]"), "5.0")
        XCTAssertEqual(value("tostring(geo.matrix{{1, 2}})"), "geo.Matrix 1x2\n  1  2")
    }

    func testMatrixErrors() {
        lua.run("m = geo.matrix{{1, 2}, {3, 4}, {5, 6}}")
        assertError("m:get(4, 1)", "bad argument #1 to 'get' (row 4 is out of range (1 to 3))")
        assertError("m:get(1, 0)", "bad argument #2 to 'get' (column 0 is out of range (1 to 2))")
        assertError("m:get(1)", "bad argument #2 to 'get' (number expected, got no value)")
        assertError("m:get(2^63, 1)", "bad argument #1 to 'get' (number has no integer representation)")
        assertError("m:get(0/0, 1)", "bad argument #1 to 'get' (number has no integer representation)")
        assertError("m.rows(geo.vec{1})", "bad argument #1 to 'rows' (geo.Matrix expected, got geo.Vector)")
        assertError("return m * geo.vec{1}", "dimension mismatch: cannot multiply a 3x2 matrix by a vector of length 1")
        assertError("return m * m", "dimension mismatch: cannot multiply a 3x2 matrix and a 3x2 matrix")
        assertError("return m + m:t()", "dimension mismatch: cannot add a 3x2 matrix and a 2x3 matrix")
        assertError("return m * 'x'", "attempt to multiply a geo.Matrix and a string")
        assertError("geo.matrix{{1, 2}, {3}}", "bad argument #1 to 'matrix' (rows of a matrix must have equal lengths)")
        assertError("geo.matrix{{1, 'a'}}", "bad argument #1 to 'matrix' (entry 2 is a string, number expected)")
        assertError("geo.matrix{1}", "bad argument #1 to 'matrix' (entry 1 is a number, table expected)")
    }
}
