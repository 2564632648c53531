import Foundation
import XCTest

/// A short seeded pass of the fuzzers (scripts/fuzz/run, README "Fuzzing") with the binary the
/// tests use: 3,000 API calls, 500 model files and 500 ONNX files, no crash and no hang. Pass
/// or fail does not depend on timing beyond the generous hang timeout (a call that makes no
/// progress for 120 s and then ignores Ctrl-C for 10 s); slow calls are interrupted and
/// counted, not failures.
final class FuzzTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let driver = root.appendingPathComponent("scripts/fuzz/run").path

    /// Runs the driver; returns its combined output and exit status.
    func fuzz(_ kind: String, _ arguments: [String]) throws -> (output: String, status: Int32) {
        let out = NSTemporaryDirectory() + "/georepl-fuzz-test-\(getpid())-\(kind)"
        try? FileManager.default.removeItem(atPath: out)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Self.driver, kind, "--binary", GeoreplRunner.executable.path, "--out", out,
                       "--jobs", "2", "--timeout", "120", "--max-time", "1800"] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        if p.terminationStatus == 0 { try? FileManager.default.removeItem(atPath: out) }
        return (output, p.terminationStatus)
    }

    /// The number after `key` in the line starting with `prefix` ("api totals: calls 3000, ...").
    func total(_ output: String, _ prefix: String, _ key: String) -> Int? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }),
              let r = line.range(of: key + " ") else { return nil }
        return Int(line[r.upperBound...].prefix { $0.isNumber })
    }

    func testAPIFuzzerFindsNoCrashOrHang() throws {
        let r = try fuzz("api", ["--seed", "1", "--calls", "3000", "--batch", "1500"])
        XCTAssertEqual(total(r.output, "api totals:", "calls"), 3000, r.output)
        XCTAssertEqual(total(r.output, "api totals:", "crash incidents"), 0, r.output)
        XCTAssertEqual(total(r.output, "api totals:", "hang incidents"), 0, r.output)
        XCTAssertTrue(r.output.contains("fuzz: 2 passed, 0 failed"), r.output)
        XCTAssertEqual(r.status, 0, r.output)
        // The pass reached the engine: many calls succeeded, many failed cleanly.
        XCTAssertGreaterThan(total(r.output, "api totals:", "ok") ?? 0, 600, r.output)
        XCTAssertGreaterThan(total(r.output, "api totals:", "clean errors") ?? 0, 600, r.output)
    }

    /// A pass of a fuzzer of files (model, onnx): 500 files in 2 batches, no crash or hang
    /// while loading a file or while using a loaded model; some files load (the unmutated and
    /// the harmlessly mutated ones), most are rejected.
    func assertFileFuzzerIsClean(_ kind: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try fuzz(kind, ["--seed", "1", "--files", "500", "--batch", "250"])
        let totals = "\(kind) totals:"
        XCTAssertEqual(total(r.output, totals, "files"), 500, r.output, file: file, line: line)
        XCTAssertEqual(total(r.output, totals, "crash incidents"), 0, r.output, file: file, line: line)
        XCTAssertEqual(total(r.output, totals, "hang incidents"), 0, r.output, file: file, line: line)
        XCTAssertTrue(r.output.contains("fuzz: 2 passed, 0 failed"), r.output, file: file, line: line)
        XCTAssertEqual(r.status, 0, r.output, file: file, line: line)
        XCTAssertGreaterThan(total(r.output, totals, "loaded") ?? 0, 25, r.output, file: file, line: line)
        XCTAssertGreaterThan(total(r.output, totals, "errors") ?? 0, 250, r.output, file: file, line: line)
    }

    func testModelFuzzerFindsNoCrashOrHang() throws { try assertFileFuzzerIsClean("model") }

    func testONNXFuzzerFindsNoCrashOrHang() throws { try assertFileFuzzerIsClean("onnx") }
}
