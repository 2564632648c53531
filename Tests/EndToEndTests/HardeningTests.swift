import Foundation
import XCTest

/// The hardening issue's reproductions, run on the real binary: none of them may crash it.
final class EndToEndHardeningTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "/georepl-e2e-hard-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// Runs a shell command line ("$GEOREPL" is the binary) with a bound on its time.
    func shell(_ command: String, environment: [String: String] = [:], timeout: Double = 120,
               file: StaticString = #filePath, line: UInt = #line) throws -> RunningGeorepl {
        let p = try RunningGeorepl([], environment: environment, shell: command)
        XCTAssertTrue(p.wait(timeout: timeout), "did not finish within \(timeout) s: \(command)", file: file, line: line)
        return p
    }

    func testForeignUserdataAndAlteredUpvaluesDoNotCrash() throws {
        for code in ["getmetatable(geo.vec{1}).__gc(io.stdout) print('alive')",
                     "debug.setupvalue(geo.vec, 1, 0) print(pcall(geo.vec, {1})) print('alive')",
                     "debug.setupvalue(geo.vec, 1, 'x') print(pcall(geo.vec, {1})) print('alive')"] {
            let r = try GeoreplRunner.run(["-e", code])
            XCTAssertEqual(r.status, 0, code + "\n" + r.stderr)
            XCTAssertTrue(r.stdout.hasSuffix("alive\n"), r.stdout)
        }
    }

    /// Sizes beyond the address space are errors under pcall, not aborts.
    func testAllocationsBeyondTheAddressSpaceAreErrors() throws {
        let p = try shell("ulimit -v 1000000; exec \"$GEOREPL\" -e 'print(pcall(geo.zeros, 1e8))'")
        XCTAssertEqual(p.process.terminationStatus, 0, p.stderr)
        XCTAssertTrue(p.stdout.hasPrefix("false\tnot enough memory: a vector of 100000000 entries needs 763 MB, the memory budget is "),
                      p.stdout)
    }

    /// The issue's conv model of 13 weights with an output of [1, 2700, 15004], written here by
    /// Lua itself (string.pack): it loads under a 1 GB budget, and its Jacobian is an error.
    func testModelWithAHugeOutput() throws {
        let dir = try temporaryDirectory()
        let write = """
            local decoder = '[{"op":"linear","weight":"w1"},{"op":"reshape","shape":[1,2,2]},' ..
              '{"op":"conv_transpose2d","weight":"w2","stride":[2699,15003]}]'
            local header = '{"w1":{"dtype":"F32","shape":[4,2],"data_offsets":[0,32]},' ..
              '"w2":{"dtype":"F32","shape":[1,1,1,1],"data_offsets":[32,36]},' ..
              '"__metadata__":{"georepl.format":"1","georepl.latent_dim":"2","georepl.data_shape":"[1,2700,15004]",' ..
              '"georepl.decoder":"' .. decoder:gsub('"', '\\\\"') .. '"}}'
            local data = string.pack('<ffffffff', 0, .1, .2, .3, .4, .5, .6, .7) .. string.pack('<f', 1)
            local f = assert(io.open(arg[1], 'wb'))
            f:write(string.pack('<I8', #header), header, data) f:close()
            """
        try write.write(toFile: dir + "/write.lua", atomically: true, encoding: .utf8)
        let model = dir + "/huge.safetensors"
        XCTAssertEqual(try GeoreplRunner.run([dir + "/write.lua", model]).status, 0)
        let use = "m = geo.load(arg[1]) print(m.data_dim) print(pcall(m.jacobian, m, geo.vec{0.3, -0.2}))"
        let r = try GeoreplRunner.run(["-e", "arg = {'\(model)'}", "-e", use], environment: ["GEOREPL_MEMORY_LIMIT": "1G"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "40510800\nfalse\tnot enough memory: a 40510800x2 Jacobian needs 1.21 GB, the memory budget is 1 GB (set GEOREPL_MEMORY_LIMIT to change it)\n")
        let small = try GeoreplRunner.run(["-e", "print(pcall(geo.load, '\(model)'))"], environment: ["GEOREPL_MEMORY_LIMIT": "256M"])
        XCTAssertEqual(small.stdout, "false\tnot enough memory: decoder layer 2 (conv_transpose2d) decoding one point needs 927 MB, the memory budget is 256 MB (set GEOREPL_MEMORY_LIMIT to change it)\n")
    }

    /// Under an address-space limit too small for OpenBLAS's work buffers, a product is an
    /// error (OpenBLAS 0.3.21 would spin for ever), and Ctrl-C is not needed to get out.
    func testOpenBLASUnderAnAddressSpaceLimitIsAnErrorNotAHang() throws {
        // The address space georepl uses with its BLAS buffers made, then 120 MB less.
        let probe = try GeoreplRunner.run(["-e", "for l in io.lines('/proc/self/status') do local k = l:match('^VmSize:%s*(%d+)') if k then print(k) end end"])
        let vm = try XCTUnwrap(Int(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let limit = vm - 120 * 1024
        let p = try shell("ulimit -v \(limit); exec \"$GEOREPL\" -e 'm = geo.model(\"fashion-vae-2d\") print(pcall(m.decode, m, geo.vec{0, 0}))'",
                          timeout: 60)
        XCTAssertEqual(p.process.terminationStatus, 0, p.stderr)
        XCTAssertTrue(p.stdout.hasPrefix("false\tnot enough memory: OpenBLAS's work buffers"), p.stdout)
    }

    /// Writers: a failed write (ulimit -f) leaves the old file intact; bad targets fail first.
    func testFailedWritesKeepTheOldFile() throws {
        let dir = try temporaryDirectory()
        let good = try GeoreplRunner.run(["-e", "geo.save_png('\(dir)/a.png', geo.vec{0, 0.5, 1, 0.25})",
                                          "-e", "geo.latent_map(geo.model('fashion-vae-2d'), '\(dir)/m.png', {resolution = 8, width = 64})"])
        XCTAssertEqual(good.status, 0, good.stderr)
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.png"))
        let map = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.png"))
        let p = try shell("ulimit -f 1; exec \"$GEOREPL\" -e \"io.stderr:write(select(2, pcall(geo.save_png, '\(dir)/a.png', geo.randn(10000))), '\\n')\" -e \"io.stderr:write(select(2, pcall(geo.latent_map, geo.model('fashion-vae-2d'), '\(dir)/m.png', {resolution = 64, width = 1024})), '\\n')\"")
        XCTAssertEqual(p.stderr, "cannot write '\(dir)/a.png': File too large\ncannot write '\(dir)/m.png': File too large\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/a.png")), before)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/m.png")), map)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["a.png", "m.png"], "no temporary files left")
    }

    /// train_vae checks its output before training and never loses the trained model.
    func testTrainVAEOutput() throws {
        let dir = try temporaryDirectory()
        let train = "geo.train_vae{data = geo.dataset('fashion-mnist', {split = 'test'}), subset = 16, epochs = 1, batch = 8, hidden = {8}, latent = 2, out = %@}"
        func attempt(_ out: String) throws -> String {
            let r = try GeoreplRunner.run(["-e", "print(select(2, pcall(function() return \(String(format: train, out)) end)))"])
            return r.stdout.trimmingCharacters(in: .newlines)
        }
        let f = "bad argument #1 to 'train_vae' (option 'out': "
        XCTAssertEqual(try attempt("'\(dir)'"), f + "cannot write '\(dir)': is a directory)")
        XCTAssertEqual(try attempt("''"), f + "cannot write '': no file name)")
        XCTAssertEqual(try attempt("'/proc/x'"), f + "cannot write '/proc/x': No such file or directory)")
        XCTAssertEqual(try attempt("'/dev/null'"), f + "cannot write '/dev/null': not a regular file)")
        // A symlink is followed: its target is replaced and the link stays.
        FileManager.default.createFile(atPath: dir + "/real.safetensors", contents: Data("old".utf8))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.safetensors", withDestinationPath: "real.safetensors")
        let ok = try GeoreplRunner.run(["-e", "m, info = \(String(format: train, "'\(dir)/link.safetensors'")) print(info.saved, geo.load('\(dir)/real.safetensors').latent_dim)"])
        XCTAssertEqual(ok.stdout, "true\t2\n", ok.stderr)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link.safetensors"), "real.safetensors")
        // The final write fails (ulimit -f): the model is returned with info.saved = false.
        let p = try shell("ulimit -f 2; exec \"$GEOREPL\" -e \"m, info = \(String(format: train, "'\(dir)/full.safetensors'")) print(info.saved, info.save_error, m.latent_dim, #m:decode(geo.vec{0, 0}))\"")
        XCTAssertEqual(p.stdout, "false\tcannot write '\(dir)/full.safetensors': File too large\t2\t784\n")
        XCTAssertTrue(p.stderr.contains("train_vae: the model was trained but not saved (cannot write"), p.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/full.safetensors"))
    }

    /// A real SIGINT stops a long engine call with "interrupted"; the script ends with status 1.
    func testSIGINTStopsAnEngineLoop() throws {
        let p = try RunningGeorepl(["-e", "print('ready') io.stdout:flush() geo.sweep(geo.model(), {samples = 1000000})"])
        XCTAssertTrue(p.waitForOutput("ready"), p.stderr)
        p.signal(SIGINT)
        XCTAssertTrue(p.wait(timeout: 60))
        XCTAssertEqual(p.process.terminationReason, .exit)
        XCTAssertEqual(p.process.terminationStatus, 1)
        XCTAssertTrue(p.stderr.hasPrefix("georepl: ") && p.stderr.contains("interrupted"), p.stderr)
    }

    /// A second Ctrl-C terminates the process when the first cannot be honoured (here a C
    /// function, Lua's pattern matcher, that runs without returning to the interpreter), as
    /// lua(1) does: the first restores SIGINT's default action while the chunk runs. The chunk
    /// repeats the match under pcall, so that a first Ctrl-C that lands between two matches
    /// (where the interpreter honours it with an "interrupted" error) leaves it running too;
    /// the test waits for the default action to be back (/proc/PID/status), not for a time.
    func testSecondSIGINTTerminates() throws {
        let p = try RunningGeorepl(["-e", "print('ready') io.stdout:flush() while true do pcall(string.match, string.rep('a', 80), string.rep('(.-)', 12) .. 'b') end"])
        XCTAssertTrue(p.waitForOutput("ready"), p.stderr)
        XCTAssertEqual(p.catches(SIGINT), true, "georepl's handler is installed while the chunk runs")
        p.signal(SIGINT)
        XCTAssertTrue(p.waitUntil { p.catches(SIGINT) == false }, "the first Ctrl-C restores the default action")
        XCTAssertTrue(p.process.isRunning, "one Ctrl-C cannot stop a C function")
        p.signal(SIGINT)
        XCTAssertTrue(p.wait(timeout: 30))
        XCTAssertEqual(p.process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(p.process.terminationStatus, SIGINT)
    }
}
