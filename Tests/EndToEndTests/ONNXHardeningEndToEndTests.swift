import Foundation
import XCTest

/// What the ONNX-file fuzzer found, on the real binary under the fuzzer's limits
/// (GEOREPL_MEMORY_LIMIT=512M, `ulimit -v` 2 GB): errors, not aborts.
extension EndToEndHardeningTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A chain of constants folded at load, each of 2^25 entries (256 MB, within the 512 MB
    /// that GEOREPL_MEMORY_LIMIT allows each allocation), 2 GB together: the budget also counts
    /// what `ulimit -v` leaves, so the chain is an error where it no longer fits, not an abort.
    func testFoldedConstantsThatAddUpPastTheAddressSpace() throws {
        let dir = try temporaryDirectory()
        let write = """
            local P = dofile(arg[1] .. '/scripts/fuzz/onnxproto.lua')
            local function vi(name) return {name = name, type = {tensor_type = {elem_type = P.FLOAT,
              shape = {dim = {{dim_value = 1}, {dim_value = 2}}}}}} end
            local nodes = {{op_type = 'ConstantOfShape', input = {'s'}, output = {'c0'}}}
            for i = 1, 8 do nodes[#nodes + 1] = {op_type = 'Neg', input = {'c' .. (i - 1)}, output = {'c' .. i}} end
            nodes[#nodes + 1] = {op_type = 'ReduceSum', input = {'c8'}, output = {'r'}}
            nodes[#nodes + 1] = {op_type = 'Add', input = {'z', 'r'}, output = {'y'}}
            local s = {name = 's', dims = {1}, data_type = P.INT64, int64_data = {1 << 25}}
            local model = {ir_version = 8, opset_import = {{domain = '', version = 13}},
              graph = {name = 'g', node = nodes, initializer = {s}, input = {vi('z')}, output = {vi('y')}}}
            local f = assert(io.open(arg[2], 'wb'))
            f:write(P.encode(model, 'Model')) f:close()
            """
        try write.write(toFile: dir + "/write.lua", atomically: true, encoding: .utf8)
        let model = dir + "/chain.onnx"
        let w = try GeoreplRunner.run([dir + "/write.lua", Self.root.path, model])
        XCTAssertEqual(w.status, 0, w.stderr)
        let p = try shell("ulimit -v 2097152; exec \"$GEOREPL\" -e \"print(pcall(geo.load, '\(model)'))\"",
                          environment: ["GEOREPL_MEMORY_LIMIT": "512M"], timeout: 300)
        XCTAssertEqual(p.process.terminationStatus, 0, p.stderr)
        XCTAssertTrue(p.stdout.hasPrefix("false\tnot enough memory: node 'c"), p.stdout)
        XCTAssertTrue(p.stdout.contains("(Neg): output 1 (shape [33554432]) needs 256 MB, the memory budget is "), p.stdout)
    }
}
