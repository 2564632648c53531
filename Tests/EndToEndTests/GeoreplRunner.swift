import Foundation
import XCTest

/// Runs the built georepl binary (found beside the test bundle, as swift-argument-parser's
/// end-to-end tests find theirs) and captures its output.
final class DataBox: @unchecked Sendable { var data = Data() }

struct GeoreplRunner {
    struct Output { var stdout: String; var stderr: String; var status: Int32 }

    static var executable: URL {
        let dir = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }?.bundleURL.deletingLastPathComponent()
            ?? Bundle.main.bundleURL
        return dir.appendingPathComponent("georepl")
    }

    /// Runs georepl (or `executable`, e.g. a wrapper that starts it) with `arguments`.
    static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
                    executable: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Output {
        let p = Process()
        p.executableURL = executable.map { URL(fileURLWithPath: $0) } ?? Self.executable
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["GEOREPL_HISTORY"] = NSTemporaryDirectory() + "/georepl-test-history-\(getpid())"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = inp
        try p.run()
        if let s = stdin { inp.fileHandleForWriting.write(s.data(using: .utf8)!) }
        try inp.fileHandleForWriting.close()
        // Read both pipes fully before waiting, so a large output cannot block the child.
        let errBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        p.waitUntilExit()
        return Output(stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
                      status: p.terminationStatus)
    }
}
