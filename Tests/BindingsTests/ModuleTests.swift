import XCTest
@testable import Bindings

final class ModuleTests: LuaTestCase {
    func testGeoIsPreloadedAndRequirable() {
        XCTAssertEqual(value("require('geo') == geo"), "true")
        XCTAssertEqual(value("geo._VERSION"), "georepl \(GeoModule.version)")
        XCTAssertEqual(value("getmetatable(geo.vec{1}).__name"), "geo.Vector")
    }

    /// geo.clock() is wall time in seconds: a float that counts a sleep (which uses no CPU,
    /// so os.clock would not).
    func testClockMeasuresWallTime() {
        XCTAssertEqual(value("math.type(geo.clock())"), "float")
        // Wall time passes during a sleep whatever the load (os.clock, CPU time summed over
        // threads, may not); no upper bound: a loaded machine may sleep longer.
        lua.run("t0 = geo.clock() os.execute('sleep 0.2') t1 = geo.clock()")
        XCTAssertEqual(value("t1 - t0 >= 0.19"), "true")
        XCTAssertEqual(value("geo.clock() >= t1"), "true", "monotonic")
    }

    func testCompletion() {
        XCTAssertEqual(lua.completions(for: "geo.ze"), ["geo.zeros"])
        XCTAssertTrue(lua.completions(for: "geo.").contains("geo.randn"))
        lua.run("v = geo.vec{1, 2} m = geo.matrix{{1}} s = 'abc'")
        XCTAssertEqual(lua.completions(for: "v:no"), ["v:norm", "v:normalized"])
        XCTAssertEqual(lua.completions(for: "m:r"), ["m:rows"])
        XCTAssertEqual(lua.completions(for: "s:up"), ["s:upper"])
        XCTAssertEqual(lua.completions(for: "ge"), ["geo", "getmetatable"])
        XCTAssertEqual(lua.completions(for: "whi"), ["while"])
        XCTAssertEqual(lua.completions(for: "nosuch.x"), [])
        XCTAssertEqual(lua.completions(for: "geo..x"), [])
        XCTAssertEqual(lua.completions(for: "string.forma"), ["string.format"])
    }

    func testREPLEvaluatesLinesLikeLua() {
        var lines = ["x = 1 + 1", "x * 10", "for i = 1, 2 do", "  x = x + i", "end", "x", "=x + 1",
                     "geo.vec(nil)", "x", "local y =", "", "1 +", "+", "function f()"]
        var history: [String] = [], errors: [String] = []
        var printed: [String] = []
        lua.run("print = function(...) local t = {} for i = 1, select('#', ...) do t[i] = tostring((select(i, ...))) end captured[#captured + 1] = table.concat(t, '\\t') end captured = {}")
        let repl = REPL(session: lua, readLine: { _ in lines.isEmpty ? nil : lines.removeFirst() },
                        reportError: { errors.append($0) })
        repl.addHistory = { history.append($0) }
        repl.run()
        let r = lua.evaluate("table.concat(captured, '|')")
        printed = (try? r.get()) ?? []
        XCTAssertEqual(printed, ["20|5|6|5"])
        XCTAssertEqual(history, ["x = 1 + 1", "x * 10", "for i = 1, 2 do\n  x = x + i\nend", "x", "=x + 1",
                                 "geo.vec(nil)", "x", "local y =\n\n1 +\n+", "function f()"])
        XCTAssertEqual(errors.count, 3)
        XCTAssertTrue(errors[0].hasPrefix("bad argument #1 to 'vec' (table expected, got nil)"))
        XCTAssertTrue(errors[1].hasPrefix("stdin:4: unexpected symbol near '+'"), errors[1])
        XCTAssertTrue(errors[2].hasSuffix("<eof>"), errors[2])
        XCTAssertEqual(repl.errorCount, 3)
    }

    func testCancelledInputDropsTheHalfTypedChunk() {
        // The second line was typed after Ctrl-C: the unfinished `for` chunk is dropped.
        var lines: [(String, Bool)] = [("for i = 1, 3 do", false), ("y = 7", true), ("y", false)]
        var cancelled = false, errors: [String] = []
        let repl = REPL(session: lua, readLine: { _ in
            guard !lines.isEmpty else { return nil }
            let (l, c) = lines.removeFirst(); cancelled = c; return l
        }, reportError: { errors.append($0) })
        repl.inputCancelled = { cancelled }
        repl.run()
        XCTAssertEqual(errors, [])
        XCTAssertEqual(value("y"), "7")
    }
}
