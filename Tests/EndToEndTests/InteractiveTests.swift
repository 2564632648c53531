import Foundation
import XCTest

/// The REPL on a terminal: georepl runs under script(1), which gives it a pseudo-terminal, so
/// readline edits the lines and keeps the history file as a user would see it.
final class InteractiveTests: XCTestCase {
    /// Types `keys` into georepl on a pseudo-terminal; returns what the terminal showed.
    func session(_ keys: String, history: String) throws -> String {
        let script = "/usr/bin/script"
        guard FileManager.default.isExecutableFile(atPath: script) else {
            // A failure, not a skip: bsdutils is essential on Debian, and CI must not pass without it.
            XCTFail("script(1) (Debian package bsdutils) is needed for the terminal tests")
            throw CocoaError(.fileNoSuchFile)
        }
        let r = try GeoreplRunner.run(["-qec", GeoreplRunner.executable.path, "/dev/null"], stdin: keys,
                                      environment: ["GEOREPL_HISTORY": history, "TERM": "dumb"], executable: script)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        return r.stdout
    }

    /// A multi-line chunk is one history entry, and stays one in the next session: the up
    /// arrow recalls the whole function definition at once.
    func testMultiLineChunksAreOneHistoryEntryAcrossSessions() throws {
        let history = NSTemporaryDirectory() + "/georepl-history-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: history) }
        let first = try session("x = 1\nfunction f()\n  return 2\nend\nprint(f() + x)\n", history: history)
        XCTAssertTrue(first.contains("3"), first)
        let file = try String(contentsOfFile: history, encoding: .utf8)
        let entries = file.split(separator: "\n")
            .split { $0.first == "#" && $0.dropFirst().allSatisfy(\.isNumber) && $0.count > 1 }
            .map { $0.joined(separator: "\n") }.filter { !$0.isEmpty }
        XCTAssertEqual(entries, ["x = 1", "function f()\n  return 2\nend", "print(f() + x)"])
        // Up twice: the definition (not its last line "end"); then redefine and call.
        let second = try session("\u{1b}[A\u{1b}[A\nprint(f() + 40)\n", history: history)
        XCTAssertTrue(second.contains("42"), second)
        XCTAssertFalse(second.contains("error"), second)
    }
}
