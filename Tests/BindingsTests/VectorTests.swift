import XCTest
import Foundation
import GeoEngine
@testable import Bindings

final class VectorTests: LuaTestCase {
    func testConstructionAndIndexing() {
        XCTAssertEqual(value("geo.vec{1, 2.5, -3}"), "geo.vec{1, 2.5, -3}")
        XCTAssertEqual(eval("#geo.vec{1, 2, 3}, #geo.zeros(0), #geo.zeros(7)"), ["3", "0", "7"])
        XCTAssertEqual(eval("geo.vec{4, 5}[1], geo.vec{4, 5}[2], geo.vec{4, 5}[3], geo.vec{4, 5}[0]"), ["4.0", "5.0", "nil", "nil"])
        XCTAssertEqual(eval("geo.vec{4, 5}[1.5], geo.vec{4, 5}[0/0], geo.vec{4, 5}[2^63], geo.vec{4, 5}[-2^63]"), ["nil", "nil", "nil", "nil"])
        XCTAssertEqual(value("geo.vec{4, 5}[2.0]"), "5.0")
        XCTAssertEqual(value("geo.vec{4, 5}.nosuch"), "nil")
        XCTAssertEqual(value("(function() local s = 0 for i, x in ipairs(geo.vec{1, 2, 3}) do s = s + i * x end return s end)()"), "14.0")
        XCTAssertEqual(value("geo.vec(geo.vec{1, 2})"), "geo.vec{1, 2}")
        XCTAssertEqual(value("geo.vec{}"), "geo.vec{}")
        XCTAssertEqual(value("geo.zeros(12)"), "geo.vec{0, 0, 0, 0, 0, 0, 0, 0, ..., 0} (12 entries)")
        XCTAssertEqual(value("type(geo.vec{1})"), "userdata")
    }

    func testArithmetic() {
        XCTAssertEqual(value("geo.vec{1, 2} + geo.vec{3, 4}"), "geo.vec{4, 6}")
        XCTAssertEqual(value("geo.vec{1, 2} - geo.vec{3, 5}"), "geo.vec{-2, -3}")
        XCTAssertEqual(value("2 * geo.vec{1, 2}"), "geo.vec{2, 4}")
        XCTAssertEqual(value("geo.vec{1, 2} * 3"), "geo.vec{3, 6}")
        XCTAssertEqual(value("geo.vec{1, 2} / 4"), "geo.vec{0.25, 0.5}")
        XCTAssertEqual(value("-geo.vec{1, -2}"), "geo.vec{-1, 2}")
        XCTAssertEqual(eval("geo.vec{1, 2} == geo.vec{1, 2}, geo.vec{1, 2} == geo.vec{1, 3}, geo.vec{1} == geo.vec{1, 0}"), ["true", "false", "false"])
        XCTAssertEqual(value("geo.vec{1, 2} == {1, 2}"), "false")
        XCTAssertEqual(value("geo.vec{3, 4}:norm()"), "5.0")
        XCTAssertEqual(value("geo.vec{1, 2}:dot(geo.vec{3, 4})"), "11.0")
        XCTAssertEqual(value("geo.vec{3, 4}:normalized()"), "geo.vec{0.6, 0.8}")
        XCTAssertEqual(value("table.concat(geo.vec{1, 2.5}:totable(), ',')"), "1.0,2.5")
        XCTAssertEqual(value("geo.vec{1/0, 0/0}[1]"), "inf")
    }

    /// geo.randn(n, seed) is the engine's SeededRandom(seed) normal stream (itself checked
    /// against the reference xoshiro256** and Box-Muller in GeoEngineTests' CoreTests), to the
    /// last bit; negative seeds are their two's complement; without a seed the draws differ from
    /// call to call; and the values are standard normal: a Kolmogorov-Smirnov distance to Phi
    /// below its 1% critical value 1.63/sqrt(n) (achieved 0.0053 for n = 20000, critical 0.0115),
    /// mean and variance within 4 standard errors.
    func testRandn() throws {
        func draws(_ code: String) -> [Double] {
            eval("(function() local v = \(code) local t = {} for i = 1, #v do t[i] = string.format('%.17g', v[i]) end return table.unpack(t) end)()")
                .map { Double($0) ?? .nan }
        }
        var r42 = SeededRandom(seed: 42)
        XCTAssertEqual(draws("geo.randn(5, 42)"), r42.normalVector(5).scalars)
        var rMinus1 = SeededRandom(seed: UInt64.max)
        XCTAssertEqual(draws("geo.randn(3, -1)"), rMinus1.normalVector(3).scalars)
        XCTAssertNotEqual(draws("geo.randn(5, 42)"), draws("geo.randn(5, 43)"))
        XCTAssertNotEqual(draws("geo.randn(4)"), draws("geo.randn(4)"), "unseeded draws differ")
        XCTAssertEqual(value("#geo.randn(9)"), "9")
        lua.run("big = geo.randn(20000, 7)")
        let x = draws("big").sorted()
        let n = Double(x.count)
        XCTAssertEqual(x.count, 20000)
        var ks = 0.0
        for (i, v) in x.enumerated() {
            let phi = 0.5 * erfc(-v / 2.0.squareRoot())
            ks = max(ks, abs(phi - Double(i) / n), abs(Double(i + 1) / n - phi))
        }
        XCTAssertLessThan(ks, 1.63 / n.squareRoot(), "Kolmogorov-Smirnov distance \(ks)")
        let mean = x.reduce(0, +) / n
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        XCTAssertEqual(mean, 0, accuracy: 4 / n.squareRoot())
        XCTAssertEqual(variance, 1, accuracy: 4 * (2 / n).squareRoot())
    }

    func testBadArguments() {
        assertError("geo.vec()", "bad argument #1 to 'vec' (table expected, got no value)")
        assertError("geo.vec(nil)", "bad argument #1 to 'vec' (table expected, got nil)")
        assertError("geo.vec(3)", "bad argument #1 to 'vec' (table expected, got number)")
        assertError("geo.vec{1, 'x'}", "bad argument #1 to 'vec' (entry 2 is a string, number expected)")
        assertError("geo.vec{1, geo.vec{1}}", "bad argument #1 to 'vec' (entry 2 is a geo.Vector, number expected)")
        assertError("geo.zeros()", "bad argument #1 to 'zeros' (number expected, got no value)")
        assertError("geo.zeros('a')", "bad argument #1 to 'zeros' (number expected, got string)")
        assertError("geo.zeros(1.5)", "bad argument #1 to 'zeros' (number has no integer representation)")
        assertError("geo.zeros(0/0)", "bad argument #1 to 'zeros' (number has no integer representation)")
        assertError("geo.zeros(-1)", "bad argument #1 to 'zeros' (size must be an integer from 0 to 100000000, got -1)")
        assertError("geo.zeros(2^62)", "bad argument #1 to 'zeros' (size must be an integer from 0 to 100000000, got 4611686018427387904)")
        assertError("geo.zeros(1e300)", "bad argument #1 to 'zeros' (number has no integer representation)")
        assertError("geo.randn(3, 'x')", "bad argument #2 to 'randn' (number expected, got string)")
        assertError("geo.randn(3, 0.5)", "bad argument #2 to 'randn' (number has no integer representation)")
        assertError("local v = geo.vec{1} v:dot(nil)", "bad argument #1 to 'dot' (geo.Vector expected, got nil)")
        assertError("local v = geo.vec{1} v.dot(v, nil)", "bad argument #2 to 'dot' (geo.Vector expected, got nil)")
        assertError("local v = geo.vec{1} v.dot(nil, v)", "bad argument #1 to 'dot' (geo.Vector expected, got nil)")
        assertError("local v = geo.vec{1} v.norm({})", "bad argument #1 to 'norm' (table expected, got table)".replacingOccurrences(of: "table expected", with: "geo.Vector expected"))
        assertError("local v = geo.vec{1} v.norm(geo.matrix{{1}})", "bad argument #1 to 'norm' (geo.Vector expected, got geo.Matrix)")
        assertError("local v, w = geo.vec{1}, geo.vec{1, 2} v:dot(w)", "dimension mismatch: cannot dot vectors of length 1 and 2")
        assertError("local v, w = geo.vec{1}, geo.vec{1, 2} return v + w", "dimension mismatch: cannot add vectors of length 1 and 2")
        assertError("return geo.vec{1} - geo.vec{}", "dimension mismatch: cannot subtract vectors of length 1 and 0")
        assertError("return geo.vec{1} * geo.vec{1}", "attempt to multiply two geo.Vector values (use v:dot(w) for the inner product)")
        assertError("return geo.vec{1} + 1", "attempt to add a geo.Vector and a number")
        assertError("return 'a' * geo.vec{1}", "attempt to multiply a string and a geo.Vector")
        assertError("return 2 / geo.vec{1}", "attempt to divide a number and a geo.Vector")
        assertError("return geo.zeros(3):normalized()", "cannot normalize a zero vector")
        // Methods called on a wrong self (lauxlib's wording).
        assertError("local v = geo.vec{1} local f = v.norm return f(3)", "bad argument #1 to 'f' (geo.Vector expected, got number)")
        assertError("local v = geo.vec{1} local t = {norm = v.norm} return t:norm()", "calling 'norm' on bad self (geo.Vector expected, got table)")
    }
}
