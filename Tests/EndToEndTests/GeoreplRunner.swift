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

/// A georepl process that runs while the test talks to it: waits for a line of its output,
/// sends it signals, and waits for it to end, every wait bounded.
final class RunningGeorepl: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var stdoutText = "", stderrText = ""
    private let done = DispatchGroup()

    /// Starts `executable` (default: georepl) with `arguments`; `shell` runs the command line
    /// through `sh -c` instead (for `ulimit`), with "$GEOREPL" naming the binary.
    init(_ arguments: [String], environment: [String: String] = [:], shell: String? = nil) throws {
        if let command = shell {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
        } else {
            process.executableURL = GeoreplRunner.executable
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env["GEOREPL_HISTORY"] = NSTemporaryDirectory() + "/georepl-test-history-\(getpid())"
        env["GEOREPL"] = GeoreplRunner.executable.path
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out; process.standardError = err
        process.standardInput = FileHandle.nullDevice
        for (pipe, isOut) in [(out, true), (err, false)] {
            done.enter()
            let handle = pipe.fileHandleForReading
            DispatchQueue.global().async { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    lock.lock()
                    if isOut { stdoutText += String(decoding: chunk, as: UTF8.self) } else { stderrText += String(decoding: chunk, as: UTF8.self) }
                    lock.unlock()
                }
                done.leave()
            }
        }
        try process.run()
    }

    var stdout: String { lock.lock(); defer { lock.unlock() }; return stdoutText }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return stderrText }

    /// Waits until standard output contains `text`; false after `timeout` seconds.
    func waitForOutput(_ text: String, timeout: Double = 60) -> Bool {
        waitUntil(timeout: timeout) { stdout.contains(text) }
    }

    func signal(_ s: Int32) { kill(process.processIdentifier, s) }

    /// Whether the process catches `signal` with a handler now (the SigCgt mask of
    /// /proc/PID/status); nil when that cannot be read (the process has ended).
    func catches(_ signal: Int32) -> Bool? {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
              let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
        return mask & (1 << UInt64(signal - 1)) != 0
    }

    /// Waits until `condition` holds; false after `timeout` seconds or when the process ended
    /// without it.
    func waitUntil(timeout: Double = 60, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition() { return true }
            if !process.isRunning { return condition() }
            usleep(20_000)
        }
        return false
    }

    /// Waits for the process to end (killing it after `timeout` seconds); returns whether it
    /// ended by itself.
    func wait(timeout: Double = 60) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { usleep(20_000) }
        let byItself = !process.isRunning
        if !byItself { process.terminate(); kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        _ = done.wait(timeout: .now() + 10)
        return byItself
    }
}
