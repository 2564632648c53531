import XCTest
import CLua
import GeoEngine
@testable import Bindings

/// Regression tests of the hardening issue at the Lua boundary: userdata discipline, callback
/// error values, untrusted text, deterministic interrupts.
final class BindingsHardeningTests: LuaTestCase {
    /// Every type's __gc, given anything: an io file, another geo type, nothing, twice.
    func testGCTakesOnlyItsOwnType() {
        lua.run("""
            objects = {geo.vec{1}, geo.matrix{{1}}, geo.sphere{}, geo.line(geo.sphere{}, geo.vec{1, 0}, geo.vec{1, 1})}
            others = {io.stdout, io.stdin, coroutine.create(print), 1, 'x', {}, print}
            for _, o in ipairs(objects) do for _, x in ipairs(objects) do others[#others + 1] = x end end
            """)
        XCTAssertNil(lua.run("""
            for _, o in ipairs(objects) do
              local gc = getmetatable(o).__gc
              for _, x in ipairs(others) do if getmetatable(x) ~= getmetatable(o) then gc(x) end end
              gc()
            end
            """))
        // Nothing above freed anything: every object still works.
        XCTAssertEqual(value("objects[1]:norm() + objects[2]:get(1, 1) + objects[3].latent_dim + #objects[4]"), "68.0")
        XCTAssertEqual(value("io.stdout:write('') == io.stdout"), "true", "io.stdout survived")
        // __gc twice on its own type: the second call finds nothing; a later use is an error.
        lua.run("v = geo.vec{1, 2} gc = getmetatable(v).__gc gc(v) gc(v)")
        assertError("return v:norm()", "bad argument #1 to 'index' (attempt to use a freed geo.Vector)")
        assertError("return #v", "bad argument #1 to 'len' (attempt to use a freed geo.Vector)")
    }

    /// The trampoline calls the dispatcher by symbol: an altered upvalue cannot redirect it.
    func testAlteredUpvaluesAreErrorsNotCalls() {
        lua.run("debug.setupvalue(geo.vec, 1, 'not an id')")
        assertError("geo.vec{1}", "bad geo function (its upvalue was altered)")
        lua.run("debug.setupvalue(geo.zeros, 1, 1e300)")
        assertError("geo.zeros(2)", "bad geo function (its upvalue was altered)")
        lua.run("debug.setupvalue(geo.randn, 1, -1)")
        assertError("geo.randn(2)", "bad geo function (its upvalue was altered)")
        // Another valid id calls another binding, which checks its own arguments.
        lua.run("debug.setupvalue(geo.sphere, 1, 0)")
        XCTAssertNotNil(lua.run("geo.sphere{}", chunkName: "=t"))
    }

    /// A userdata given a geo metatable by debug.setmetatable is not read as a geo object.
    func testForeignUserdataWithAGeoMetatableIsRejected() {
        lua.run("f = io.tmpfile() debug.setmetatable(f, getmetatable(geo.vec{1}))")
        assertError("return geo.vec{1}:dot(f)", "bad argument #1 to 'dot' (geo.Vector expected, got geo.Vector)")
        assertError("return f:norm()", "bad argument #1 to 'index' (geo.Vector expected, got geo.Vector)")
        XCTAssertEqual(value("pcall(getmetatable(f).__gc, f)"), "true")
    }

    /// Error values raised in callbacks reach the caller's pcall unchanged.
    func testCallbackErrorValuesAreKept() {
        lua.run("s = geo.sphere{} e = {code = 1}")
        XCTAssertEqual(eval("select(2, pcall(geo.sweep, s, {samples = 2, sampler = function() error(e) end})) == e"), ["true"])
        XCTAssertEqual(eval("select(2, pcall(geo.sweep, s, {samples = 2, sampler = function() error() end}))"), ["nil"])
        XCTAssertEqual(eval("select(2, pcall(geo.sweep, s, {samples = 2, sampler = function() error(42, 0) end}))"), ["42"])
        XCTAssertEqual(eval("select(2, pcall(geo.sweep, s, {samples = 2, sampler = function() error('plain', 0) end}))"), ["plain"])
        // The registry does not keep them.
        XCTAssertEqual(value("collectgarbage('count') > 0"), "true")
        XCTAssertEqual(eval("pcall(geo.sweep, s, {samples = 2, sampler = function() return 1 end})"),
                       ["false", "sampler must return a geo.Vector, got number"])
    }

    /// Untrusted text from a model file is cut and its control characters are escaped.
    func testModelFileTextIsSanitised() throws {
        let name = "\u{1b}]0;PWNED\u{07}\u{1b}[2J" + String(repeating: "A", count: 10_000)
        let layers = "[{\"op\":\"\(name.replacingOccurrences(of: "\u{1b}", with: "\\u001b").replacingOccurrences(of: "\u{07}", with: "\\u0007"))\"}]"
        let data = try SafeTensors.encode([], metadata: ["georepl.format": "1", "georepl.latent_dim": "2",
                                                         "georepl.data_shape": "[2]", "georepl.decoder": layers])
        let path = NSTemporaryDirectory() + "/georepl-evil-\(getpid()).safetensors"
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let message = eval("select(2, pcall(geo.load, '\(path)'))").first ?? ""
        XCTAssertTrue(message.hasPrefix("decoder layer 0 (\\27]0;PWNED\\7\\27[2JAAAA"), message)
        XCTAssertFalse(message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }, "no control characters")
        XCTAssertLessThan(message.count, 1000)
        XCTAssertTrue(message.contains("...(9814 more characters)"), message)
    }

    /// Interrupting from inside the running chunk (no sleeping thread that might fire before
    /// the chunk starts): the hook raises "interrupted" and the state survives.
    func testInterruptStopsRunningLuaCodeDeterministically() {
        let interrupt = Binding("interrupt_me") { _ in LuaSession.interrupt(); return 0 }
        interrupt.push(lua.L)
        lua_setglobal(lua.L, "interrupt_me")
        let e = lua.run("n = 0 while true do n = n + 1 if n == 1000 then interrupt_me() end end", chunkName: "=loop")
        XCTAssertEqual(e?.description.components(separatedBy: "\n").first, "loop:1: interrupted")
        XCTAssertEqual(value("n >= 1000"), "true")
        XCTAssertEqual(value("1 + 2"), "3", "the state survives an interrupt")
        XCTAssertFalse(Cancellation.isRequested)
        // An interrupt inside an engine loop (a sampler asks for it): the sweep stops.
        let e2 = lua.run("geo.sweep(geo.sphere{}, {samples = 100000, sampler = function(k) if k == 3 then interrupt_me() end return geo.vec{1, 1} end})",
                         chunkName: "=sweep")
        XCTAssertEqual(e2?.description.components(separatedBy: "\n").first, "sweep:1: interrupted")
    }

    /// File names with a NUL byte or invalid UTF-8 would name another file: errors instead.
    func testFileNamesMustBeWhatTheyLookLike() {
        assertError("geo.save_png('/tmp/x.png\\0.txt', geo.vec{0.5})", "bad argument #1 to 'save_png' (file name contains a NUL byte)")
        assertError("geo.load('/tmp/\\255.onnx')", "bad argument #1 to 'load' (file name is not valid UTF-8)")
        assertError("geo.load{decoder = 'a\\0b.onnx'}", "bad argument #1 to 'load' (option 'decoder': file name contains a NUL byte)")
    }

    /// Option names and values from the user are cut in messages like any untrusted text.
    func testHugeOptionNamesAndValuesAreCut() {
        let long = eval("select(2, pcall(geo.sweep, geo.sphere{}, {measure = string.rep('x', 100000)}))").first ?? ""
        XCTAssertLessThan(long.count, 600, long)
        XCTAssertTrue(long.hasSuffix("...(99800 more characters)\")"), String(long.suffix(80)))
        let key = eval("select(2, pcall(geo.sphere, {[string.rep('k', 100000)] = 1}))").first ?? ""
        XCTAssertLessThan(key.count, 600)
    }

    /// One Ctrl-C is one error: an interrupt the engine delivered inside pcall is not raised
    /// again by the hook after pcall returns, and one the hook delivered does not stop the
    /// next engine call.
    func testOneInterruptIsOneError() {
        let interrupt = Binding("interrupt_me") { _ in LuaSession.interrupt(); return 0 }
        interrupt.push(lua.L)
        lua_setglobal(lua.L, "interrupt_me")
        let e = lua.run("""
            local sampler = function(k) if k == 2 then interrupt_me() end return geo.vec{1, 1} end
            ok, err = pcall(geo.sweep, geo.sphere{}, {samples = 100, sampler = sampler})
            for i = 1, 1000 do local x = i * 2 end
            after = geo.sweep(geo.sphere{}, {samples = 3}).count
            """, chunkName: "=once")
        XCTAssertNil(e, "\(String(describing: e))")
        XCTAssertEqual(eval("ok, err, after"), ["false", "once:1: interrupted", "3"])
        // Delivered by the hook in Lua code under pcall: the next engine call runs.
        XCTAssertNil(lua.run("""
            ok2 = pcall(function() interrupt_me() for i = 1, 10 do end end)
            after2 = geo.sweep(geo.sphere{}, {samples = 3}).count
            """, chunkName: "=hook"))
        XCTAssertEqual(eval("ok2, after2"), ["false", "3"])
    }
}
