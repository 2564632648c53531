import XCTest
import CLua
@testable import Bindings

/// Shared helpers for tests that drive a Lua session.
class LuaTestCase: XCTestCase {
    var lua: LuaSession!

    override func setUpWithError() throws { lua = try LuaSession() }
    override func tearDown() { lua = nil }

    /// The values `code` evaluates to, as `tostring` renders them.
    func eval(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        switch lua.evaluate(code) {
        case .success(let v): return v
        case .failure(let e): XCTFail("unexpected error: \(e)", file: file, line: line); return []
        }
    }
    /// The single value `code` evaluates to.
    func value(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        eval(code, file: file, line: line).first ?? "<no value>"
    }
    /// Asserts that running `code` raises exactly `message` (the traceback is ignored).
    func assertError(_ code: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let e = lua.run(code, chunkName: "=test") else {
            return XCTFail("no error from: \(code)", file: file, line: line)
        }
        let first = e.description.components(separatedBy: "\nstack traceback:")[0]
        XCTAssertEqual(first, message, "from: \(code)", file: file, line: line)
        // The session survives: it still evaluates code afterwards.
        XCTAssertEqual(lua.evaluate("1 + 1").map { $0 }, .success(["2"]), file: file, line: line)
    }
}
