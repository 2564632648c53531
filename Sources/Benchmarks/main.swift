import Foundation
import GeoEngine

/// georepl-bench [--quick] [SECTION...]
/// Runs the benchmark sections (all by default) and prints one table each; times are medians
/// over repeats, and rates are compared with OpenBLAS dgemm timed alongside (see
/// `BenchmarkContext`). Build with `swift build -c release --product georepl-bench`.
/// New sections: a type conforming to `BenchmarkSection` in its own file, listed here.
let allSections: [BenchmarkSection] = [GemmSection(), NeuralSection(), ONNXSection(), GeometrySection(), ConvergenceSection(), JAXSection()]

var args = Array(CommandLine.arguments.dropFirst())
let quick = args.contains("--quick")
args.removeAll { $0 == "--quick" }
if args.contains("--help") || args.contains("-h") {
    print("usage: georepl-bench [--quick] [\(allSections.map { $0.name }.joined(separator: "|"))...]")
    exit(0)
}
// Flags that take a value: `--write DIR` (onnx section), those of the jax section.
for flag in ["--write"] + JAXSection.flags {
    if let i = args.firstIndex(of: flag) { args.removeSubrange(i...min(i + 1, args.count - 1)) }
}
let unknown = args.filter { a in !allSections.contains { $0.name == a } }
if !unknown.isEmpty {
    FileHandle.standardError.write("georepl-bench: unknown section \(unknown.joined(separator: ", "))\n".data(using: .utf8) ?? Data())
    exit(2)
}
let context = BenchmarkContext(repeats: quick ? 3 : 7, secondsPerRepeat: quick ? 0.05 : 0.2)
print("georepl-bench: medians of \(context.repeats) repeats, \(ProcessInfo.processInfo.activeProcessorCount) cores\n")
do {
    // The jax section needs Python and JAX: it runs only when named.
    for s in allSections where args.isEmpty ? s.name != "jax" : args.contains(s.name) {
        try s.run(context)
    }
} catch {
    FileHandle.standardError.write("georepl-bench: \(error)\n".data(using: .utf8) ?? Data())
    exit(1)
}
