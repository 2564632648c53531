import Foundation
import XCTest

/// georepl on a pseudo-terminal that the test types into while it runs: script(1) gives georepl
/// a terminal and forwards the bytes written to its standard input to the terminal, where the
/// line discipline turns a typed Ctrl-C (the byte 0x03) into SIGINT for georepl, as a user's
/// terminal does. Every wait is bounded.
final class TerminalSession: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let lock = NSLock()
    private var output = ""
    private let done = DispatchGroup()

    init(history: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let script = "/usr/bin/script"
        guard FileManager.default.isExecutableFile(atPath: script) else {
            XCTFail("script(1) (Debian package bsdutils) is needed for the terminal tests", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        process.executableURL = URL(fileURLWithPath: script)
        // A shell between script and georepl prints georepl's own exit status on the terminal
        // (`exitLine`), so that tests read it from georepl rather than from script's relay. The
        // shell catches SIGINT (which the terminal sends to its whole process group) with a
        // trap that does nothing, so that it outlives a Ctrl-C meant for georepl; georepl starts
        // with the default action, as a caught signal's is reset by exec.
        let quoted = "'" + GeoreplRunner.executable.path.replacingOccurrences(of: "'", with: "'\\''") + "'"
        process.arguments = ["-qec", "trap : INT; \(quoted); echo \"[georepl exited with status $?]\"", "/dev/null"]
        var env = ProcessInfo.processInfo.environment
        env["GEOREPL_HISTORY"] = history
        env["TERM"] = "dumb"
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = input
        done.enter()
        let handle = out.fileHandleForReading
        DispatchQueue.global().async { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock(); output += String(decoding: chunk, as: UTF8.self); lock.unlock()
            }
            done.leave()
        }
        try process.run()
    }

    /// The line the shell prints when georepl has exited with `status`.
    static func exitLine(_ status: Int32) -> String { "[georepl exited with status \(status)]" }

    /// Everything the terminal showed so far.
    var shown: String { lock.lock(); defer { lock.unlock() }; return output }

    /// Types `keys` (bytes, as a user would at the keyboard).
    func type(_ keys: String) { input.fileHandleForWriting.write(Data(keys.utf8)) }

    /// Waits until the terminal has shown `text` `count` times after position `from`; false
    /// after `timeout` seconds or when the process ended without showing it.
    func waitFor(_ text: String, after from: String.Index? = nil, timeout: Double = 120) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            let s = shown
            let tail = from.map { s[min($0, s.endIndex)...] } ?? s[...]
            if tail.contains(text) { return true }
            if !process.isRunning { return false }
            usleep(20_000)
        }
        return false
    }

    /// Ends the input (Ctrl-D at the prompt) and waits for georepl to exit; kills it after
    /// `timeout` seconds. Returns whether it exited by itself.
    func finish(timeout: Double = 60) -> Bool {
        try? input.fileHandleForWriting.close()
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { usleep(20_000) }
        let byItself = !process.isRunning
        if !byItself { process.terminate(); kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        _ = done.wait(timeout: .now() + 10)
        return byItself
    }
}

final class TerminalTests: XCTestCase {
    func history() -> String {
        let path = NSTemporaryDirectory() + "/georepl-terminal-history-\(getpid())-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Ctrl-C typed while a long engine loop runs: the call stops with "interrupted", the prompt
    /// comes back, the session's variables survive, and the next line runs. The byte is typed
    /// only once the geodesic's progress bar (drawn on the terminal from inside the solver's
    /// loop) has appeared, so it arrives while the loop runs, and that loop could not end by
    /// itself first (10^8 iterations towards tol 1e-300).
    func testCtrlCTypedIntoTheTerminalInterruptsALongCall() throws {
        let t = try TerminalSession(history: history())
        XCTAssertTrue(t.waitFor("> "), "the prompt: \(t.shown)")
        t.type("x = 40\n")
        let start = t.shown.endIndex
        t.type("p = geo.geodesic(geo.sphere{}, geo.vec{1, 0.2}, geo.vec{2, 2.5}, {solver = 'descent', points = 2000, tol = 1e-300, max_iter = 100000000})\n")
        XCTAssertTrue(t.waitFor("geodesic [", after: start), "the solver runs: \(t.shown)")
        let typed = t.shown.endIndex
        t.type("\u{03}")
        XCTAssertTrue(t.waitFor("interrupted\r\nstack traceback:", after: typed), "Ctrl-C stopped the call: \(t.shown)")
        XCTAssertTrue(t.waitFor("> ", after: typed), "the prompt is back: \(t.shown)")
        let report = String(t.shown[typed...])
        XCTAssertTrue(report.contains("\r\u{1B}[Kinterrupted"), "the bar was erased first: \(report.debugDescription)")
        XCTAssertTrue(report.contains("in function 'geo.geodesic'"), "stopped inside the engine call: \(report)")
        let next = t.shown.endIndex
        t.type("print(x + 2, p)\n")
        XCTAssertTrue(t.waitFor("42\tnil", after: next), "the session goes on with its variables: \(t.shown)")
        XCTAssertTrue(t.finish(), "georepl exits at the end of input: \(t.shown)")
        XCTAssertTrue(t.shown.contains(TerminalSession.exitLine(0)),
                      "georepl's exit status is 0 (script(1): \(t.process.terminationReason == .exit ? "exit" : "signal") \(t.process.terminationStatus)): \(t.shown.debugDescription)")
    }

    /// On a terminal, long calls draw a progress bar on stderr and erase it when they end
    /// (progress = false turns it off).
    func testProgressBarOnATerminal() throws {
        let t = try TerminalSession(history: history())
        XCTAssertTrue(t.waitFor("> "), t.shown)
        let start = t.shown.endIndex
        t.type("z = geo.exp(geo.sphere{}, geo.vec{1, 0.2}, geo.vec{0.3, 0.4}, {steps = 100}) print('shot ' .. #z)\n")
        XCTAssertTrue(t.waitFor("shot 2", after: start), t.shown)
        let first = String(t.shown[start...])
        XCTAssertTrue(first.contains("\r\u{1B}[Kexp [....................] 1/100  exp (rk4)  0:0"), first.debugDescription)
        XCTAssertTrue(first.contains("\r\u{1B}[Kexp [####################] 100/100  exp (rk4)  "), first.debugDescription)
        XCTAssertTrue(first.contains("\r\u{1B}[Kshot 2"), "erased before the next output: \(first.debugDescription)")
        let second = t.shown.endIndex
        t.type("z = geo.exp(geo.sphere{}, geo.vec{1, 0.2}, geo.vec{0.3, 0.4}, {steps = 100, progress = false}) print('quiet ' .. #z)\n")
        XCTAssertTrue(t.waitFor("quiet 2", after: second), t.shown)
        XCTAssertFalse(t.shown[second...].contains("exp ["), t.shown[second...].debugDescription)
        XCTAssertTrue(t.finish(), t.shown)
        XCTAssertTrue(t.shown.contains(TerminalSession.exitLine(0)), t.shown.debugDescription)
    }

    /// progress = true forces the bar on stderr that is not a terminal. Each drawing is
    /// "\r ESC[K" + "label [bar] done/total  detail  m:ss" with floor(20 done/total) '#' of 20;
    /// the first report (1 of 100 steps) and the last (100/100) are always drawn (others at most
    /// 10 times a second), and the bar is erased at the end, also when the call fails.
    func testProgressBarIsDrawnAndErased() throws {
        let pattern = try NSRegularExpression(pattern: #"^exp \[([#.]{20})\] (\d+)/100  exp \(rk4\)  \d+:\d\d$"#)
        func draws(_ stderr: String, file: StaticString = #filePath, line: UInt = #line) -> [Int] {
            XCTAssertTrue(stderr.hasPrefix("\r\u{1B}[K") && stderr.hasSuffix("\r\u{1B}[K"), stderr.debugDescription, file: file, line: line)
            let parts = stderr.components(separatedBy: "\r\u{1B}[K").dropFirst().dropLast()
            return parts.compactMap { part -> Int? in
                guard let m = pattern.firstMatch(in: part, range: NSRange(part.startIndex..., in: part)) else {
                    XCTFail("not a bar: \(part.debugDescription)", file: file, line: line); return nil
                }
                let bar = String(part[Range(m.range(at: 1), in: part)!]), done = Int(part[Range(m.range(at: 2), in: part)!])!
                XCTAssertEqual(bar, String(repeating: "#", count: 20 * done / 100) + String(repeating: ".", count: 20 - 20 * done / 100),
                               file: file, line: line)
                return done
            }
        }
        let call = "geo.exp(geo.sphere{}, geo.vec{1, 0.2}, geo.vec{0.3, 0.4}, {steps = 100, progress = true})"
        let r = try GeoreplRunner.run(["-e", "z = \(call) print(#z)"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "2\n")
        let done = draws(r.stderr)
        XCTAssertEqual(done.first, 1)
        XCTAssertEqual(done.last, 100)
        XCTAssertEqual(done, done.sorted())
        // Not a terminal and not requested: no bar.
        let quiet = try GeoreplRunner.run(["-e", "z = geo.exp(geo.sphere{}, geo.vec{1, 0.2}, geo.vec{0.3, 0.4}, {steps = 100}) print(#z)"])
        XCTAssertEqual(quiet.stderr, "")
        // A call that fails half-way (the geodesic reaches the pole, where the chart is singular,
        // at step 50) erases its bar.
        let failing = try GeoreplRunner.run(["-e", "print(pcall(geo.exp, geo.sphere{}, geo.vec{0.5, 0}, geo.vec{-1, 0}, {steps = 100, progress = true}))"])
        XCTAssertEqual(failing.status, 0, failing.stderr)
        XCTAssertTrue(failing.stdout.hasPrefix("false\t") && failing.stdout.contains("singular"), failing.stdout)
        let partial = draws(failing.stderr)
        XCTAssertEqual(partial.first, 1)
        XCTAssertLessThan(partial.last ?? 100, 100)
    }
}
