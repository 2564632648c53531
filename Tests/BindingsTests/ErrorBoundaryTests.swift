import XCTest
import CLua
@testable import Bindings
import GeoEngine

/// The error boundary: Swift errors become Lua errors after the Swift frames are gone, and
/// nothing a binding owned leaks.
final class ErrorBoundaryTests: LuaTestCase {
    final class Tracked: LuaObject {}

    func testObjectOwnedByThrowingBindingIsFreed() {
        let before = LuaObject.liveCount
        let binding = Binding("explode") { call in
            let owned = Tracked()
            XCTAssertEqual(LuaObject.liveCount, before + 1)
            _ = owned
            throw call.runtimeError("exploded on purpose")
        }
        binding.push(lua.L)
        lua_setglobal(lua.L, "explode")
        for _ in 0..<100 { assertError("explode()", "exploded on purpose") }
        XCTAssertEqual(LuaObject.liveCount, before, "objects owned by the throwing binding were freed")
        // pcall sees the message as a plain string.
        XCTAssertEqual(eval("pcall(explode)"), ["false", "exploded on purpose"])
    }

    func testGarbageCollectorFreesUserdata() {
        let before = LuaObject.liveCount
        lua.run("t = {} for i = 1, 500 do t[i] = geo.vec{i, i} + geo.zeros(2) end")
        XCTAssertGreaterThanOrEqual(LuaObject.liveCount, before + 500)
        lua.run("t = nil collectgarbage() collectgarbage()")
        XCTAssertEqual(LuaObject.liveCount, before)
    }

    func testClosingTheStateFreesEverything() throws {
        let before = LuaObject.liveCount
        var s: LuaSession? = try LuaSession()
        s?.run("keep = {geo.vec{1}, geo.matrix{{1}}, geo.randn(5, 1)}")
        XCTAssertGreaterThan(LuaObject.liveCount, before)
        s = nil
        XCTAssertEqual(LuaObject.liveCount, before)
    }

    func testErrorsInsideCallbacksAndPcall() {
        XCTAssertEqual(eval("select('#', pcall(geo.vec))"), ["2"])
        XCTAssertEqual(eval("pcall(geo.vec)"), ["false", "bad argument #1 to 'vec' (table expected, got no value)"])
        // An error object that is not a string.
        XCTAssertEqual(lua.run("error({})", chunkName: "=t")?.description.hasPrefix("(error object is a table value)"), true)
    }

    func testResurrectedUserdataReadsAsFreed() {
        // A __gc of a table resurrects a vector whose own __gc already ran in the same cycle.
        lua.run("""
            do
              local v = geo.vec{1, 2}
              setmetatable({}, {__gc = function() saved = v end})
            end
            collectgarbage() collectgarbage()
            """)
        // Either the vector's finaliser ran first (freed) or not (still valid); never a crash.
        let r = lua.evaluate("pcall(function() return saved:norm() end)")
        XCTAssertNotNil(try? r.get())
    }

}
