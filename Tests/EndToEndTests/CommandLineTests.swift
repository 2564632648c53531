import Foundation
import XCTest

/// End-to-end tests of the georepl binary: the command line of SPEC and lua(1)'s conventions.
final class CommandLineTests: XCTestCase {
    func testPipedExpressionPrintsItsValue() throws {
        let r = try GeoreplRunner.run([], stdin: "geo.vec{1,2} + geo.vec{3,4}\n")
        XCTAssertEqual(r.stdout, "geo.vec{4, 6}\n")
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.status, 0)
    }

    func testPipedSessionSurvivesErrorsAndKeepsState() throws {
        let input = """
            v = geo.vec{3, 4}
            v:norm()
            v:dot(nil)
            v + geo.vec{1, 1}
            for i = 1, 2 do
              print(i)
            end
            """
        let r = try GeoreplRunner.run([], stdin: input + "\n")
        XCTAssertEqual(r.stdout, "5.0\ngeo.vec{4, 5}\n1\n2\n")
        XCTAssertTrue(r.stderr.hasPrefix("bad argument #1 to 'dot' (geo.Vector expected, got nil)\nstack traceback:"), r.stderr)
        XCTAssertEqual(r.status, 1, "a piped session with an error exits 1")
        XCTAssertFalse(r.stdout.contains(">"), "no prompts on stdout when stdin is not a terminal")
    }

    func testDashERunsCodeInOrder() throws {
        let r = try GeoreplRunner.run(["-e", "x = 2", "-e", "print(x * geo.vec{1, 2})"])
        XCTAssertEqual(r.stdout, "geo.vec{2, 4}\n")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(try GeoreplRunner.run(["-eprint(1)"]).stdout, "1\n")
    }

    func testScriptFileWithArguments() throws {
        let path = NSTemporaryDirectory() + "/georepl-e2e-\(getpid()).lua"
        try "print(#arg, arg[0] == ..., arg[1], arg[2], select('#', ...), arg[-1] ~= nil)\nprint(require('geo') == geo)\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try GeoreplRunner.run([path, "alpha", "beta"])
        XCTAssertEqual(r.stdout, "2\tfalse\talpha\tbeta\t2\ttrue\ntrue\n")
        XCTAssertEqual(r.status, 0)
    }

    func testScriptFromStandardInput() throws {
        let r = try GeoreplRunner.run(["-", "x"], stdin: "local a = ...\nprint(a, #geo.zeros(3))\n")
        XCTAssertEqual(r.stdout, "x\t3\n")
        XCTAssertEqual(r.status, 0)
    }

    func testExitStatuses() throws {
        let err = try GeoreplRunner.run(["-e", "geo.vec(1)"])
        XCTAssertEqual(err.status, 1)
        XCTAssertTrue(err.stderr.hasPrefix("georepl: bad argument #1 to 'vec' (table expected, got number)\nstack traceback:"), err.stderr)
        let syntax = try GeoreplRunner.run(["-e", "x ="])
        XCTAssertEqual(syntax.status, 1)
        XCTAssertTrue(syntax.stderr.contains("<eof>"), syntax.stderr)
        let missing = try GeoreplRunner.run(["/nonexistent/file.lua"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("cannot open /nonexistent/file.lua"), missing.stderr)
        let bad = try GeoreplRunner.run(["-x"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.hasPrefix("georepl: unrecognized option '-x'\nusage: georepl"), bad.stderr)
        let noArg = try GeoreplRunner.run(["-e"])
        XCTAssertEqual(noArg.status, 2)
        XCTAssertTrue(noArg.stderr.hasPrefix("georepl: '-e' needs an argument"), noArg.stderr)
        XCTAssertEqual(try GeoreplRunner.run(["-e", "os.exit(3)"]).status, 3)
    }

    func testHelpAndVersion() throws {
        let h = try GeoreplRunner.run(["--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.stdout.hasPrefix("usage: georepl [options] [script [args]]"))
        let v = try GeoreplRunner.run(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertTrue(v.stdout.hasPrefix("georepl 0."), v.stdout)
    }

    func testInteractiveFlagAfterDashE() throws {
        let r = try GeoreplRunner.run(["-e", "x = 41", "-i"], stdin: "x + 1\n")
        XCTAssertEqual(r.stdout, "42\n")
        XCTAssertEqual(r.status, 0)
    }
}
