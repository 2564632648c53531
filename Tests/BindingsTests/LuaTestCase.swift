import XCTest
import Foundation
import CLua
import GeoEngine
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
    /// Loads Debian's Fashion-MNIST test split into the global `ds`; without the package the test
    /// fails (the quick start installs it; CI must not pass by skipping).
    func requireFashionMNIST(file: StaticString = #filePath, line: UInt = #line) throws {
        if let e = lua.run("ds = geo.dataset('fashion-mnist', {split = 'test'})", chunkName: "=test") {
            XCTFail("Debian's dataset-fashion-mnist is needed (apt-get install dataset-fashion-mnist; ./quickstart test installs it): \(e)",
                    file: file, line: line)
            throw e
        }
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

/// A generator that behaves as `base` and calls `LuaSession.interrupt()` (what the REPL's SIGINT
/// handler calls) from inside its `count`-th forward-mode call: an interrupt that arrives while
/// an engine loop runs, deterministically (no sleeping thread that could fire before the loop
/// starts or after it ends).
final class InterruptingGenerator: Generator {
    let base: Generator
    let count: Int
    private(set) var calls = 0
    init(_ base: Generator, interruptAtCall count: Int) { self.base = base; self.count = count }
    var latentDim: Int { base.latentDim }
    var dataShape: [Int] { base.dataShape }
    private func tick() {
        calls += 1
        if calls == count { LuaSession.interrupt() }
    }
    func forward(_ z: Matrix) throws -> Matrix { tick(); return try base.forward(z) }
    func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        tick(); return try base.jvp(z, tangents: tangents)
    }
    func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        tick(); return try base.vjp(z, cotangents: cotangents)
    }
    func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        tick(); return try base.secondOrder(z, u: u, v: v)
    }
}

final class ByteBox: @unchecked Sendable { var data = [UInt8]() }

/// Runs `body` with file descriptor 2 (standard error) redirected to a pipe; `onOutput` is
/// called once, on a reader thread, when the first bytes arrive (e.g. a progress bar drawn
/// from inside an engine loop). Returns body's result and everything written to stderr.
func observingStandardError<T>(onFirstOutput: @escaping @Sendable () -> Void, _ body: () throws -> T) rethrows -> (T, String) {
    fflush(stderr)
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0, "pipe failed")
    let saved = dup(2)
    dup2(fds[1], 2)
    close(fds[1])
    let box = ByteBox()
    let done = DispatchSemaphore(value: 0)
    let reader = fds[0]
    Thread {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var first = true
        while true {
            let n = read(reader, &buffer, buffer.count)
            if n <= 0 { break }
            box.data.append(contentsOf: buffer[0..<Int(n)])
            if first { first = false; onFirstOutput() }
        }
        close(reader)
        done.signal()
    }.start()
    defer {
        fflush(stderr)
        dup2(saved, 2)
        close(saved)
    }
    let result = try body()
    fflush(stderr)
    dup2(saved, 2)
    done.wait()
    return (result, String(decoding: box.data, as: UTF8.self))
}
