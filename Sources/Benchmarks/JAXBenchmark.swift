import Foundation
import GeoEngine

/// georepl against a jit-compiled JAX float64 implementation of the same mathematics, on the
/// same weights, in one run (issue 11's table):
///
///     georepl-bench jax [--python PATH] [--jax-script PATH] [--jax-threads N] [--mlp 16,512,512,784]
///
/// 1. scripts/jax_reference.py writes a random MLP decoder (PyTorch's default initialisation,
///    ELU, ELU, sigmoid; seed 1) as a georepl model file;
/// 2. this section draws the endpoint pairs (`geodesicBenchmarkPairs`) and 64 curvature points
///    with random planes, writes them as JSON, and runs the script on that file (JAX: GEORCE as
///    published and exact Newton on each pair, 32 points, tol 1e-6; GEORCE a second time
///    with georepl's stopping rule, `--georce-stop rho`; sectional and scalar
///    curvature vmapped over the 64 points). The script's cold time includes tracing and XLA
///    compilation, its warm time is the median of 5 further calls;
/// 3. georepl then solves the same pairs (newton, georce) and evaluates the same
///    curvatures (medians of the context's repeats), checks that the curvature values agree
///    with JAX's, and prints the times and ratios.
///
/// JAX is optional: without a Python that imports jax the section says so and stops. The
/// two never run at the same time; both may use every core (`--jax-threads 1` pins JAX to one).
struct JAXSection: BenchmarkSection {
    var name: String { "jax" }

    /// Value of `--flag VALUE` on the command line, if any.
    static func option(_ flag: String) -> String? {
        let a = CommandLine.arguments
        guard let i = a.firstIndex(of: flag), i + 1 < a.count else { return nil }
        return a[i + 1]
    }

    /// The flags this section reads (main.swift removes them and their values before it checks
    /// section names).
    static let flags = ["--python", "--jax-script", "--jax-threads", "--mlp"]

    func run(_ context: BenchmarkContext) throws {
        let python = JAXSection.option("--python") ?? ProcessInfo.processInfo.environment["GEOREPL_PYTHON"] ?? "python3"
        let script = JAXSection.option("--jax-script") ?? "scripts/jax_reference.py"
        let threads = JAXSection.option("--jax-threads") ?? "0"
        let arch = JAXSection.option("--mlp") ?? "16,512,512,784"
        guard FileManager.default.fileExists(atPath: script) else {
            print("jax: \(script) not found (run from the repository, or pass --jax-script PATH)\n")
            return
        }
        let probe = try JAXSection.runProcess(python, ["-c", "import jax, safetensors, numpy"])
        guard probe.status == 0 else {
            print("jax: skipped, \(python) cannot import jax, safetensors and numpy (pip install jax safetensors numpy; or --python PATH)\n")
            return
        }
        let dir = NSTemporaryDirectory() + "/georepl-bench-jax-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let modelPath = dir + "/mlp.safetensors"
        let write = try JAXSection.runProcess(python, [script, "--write-random-mlp", modelPath, "--arch", arch,
                                                        "--acts", "elu,elu,sigmoid", "--seed", "1"])
        guard write.status == 0 else { throw BenchmarkError.failed("jax_reference.py --write-random-mlp: \(write.stderr)") }
        let g = try ModelFile.load(path: modelPath).generator
        let d = g.latentDim

        let points = 32, tolerance = 1e-6, curvaturePoints = 64
        let pairs = geodesicBenchmarkPairs(latentDim: d, count: 2)
        var rng = SeededRandom(seed: 64)
        let z = (0..<curvaturePoints).map { _ in rng.normalVector(d) }
        let u = (0..<curvaturePoints).map { _ in rng.normalVector(d) }
        let v = (0..<curvaturePoints).map { _ in rng.normalVector(d) }
        let input: [String: Any] = [
            "pairs": pairs.map { [$0.0.scalars, $0.1.scalars] },
            "z": z.map(\.scalars), "u": u.map(\.scalars), "v": v.map(\.scalars),
        ]
        let inputPath = dir + "/input.json"
        try JSONSerialization.data(withJSONObject: input).write(to: URL(fileURLWithPath: inputPath))

        print("jax: MLP \(arch) (elu, elu, sigmoid), \(points)-point geodesics, tol \(tolerance), \(curvaturePoints) curvature points")
        let jax = try JAXSection.runProcess(python, [script, modelPath, "--input", inputPath, "--points", "\(points)",
                                                      "--tol", "\(tolerance)", "--repeats", "5", "--threads", threads,
                                                      "--measure", "georce,newton,sectional,scalar"])
        guard jax.status == 0 else { throw BenchmarkError.failed("jax_reference.py: \(jax.stderr)") }
        // GEORCE once more, stopping on georepl's rule applied to its objective (as georepl's
        // georce does) instead of the authors' absolute |grad E_G| <= tol.
        let jaxRho = try JAXSection.runProcess(python, [script, modelPath, "--input", inputPath, "--points", "\(points)",
                                                         "--tol", "\(tolerance)", "--repeats", "5", "--threads", threads,
                                                         "--measure", "georce", "--georce-stop", "rho"])
        guard jaxRho.status == 0 else { throw BenchmarkError.failed("jax_reference.py --georce-stop rho: \(jaxRho.stderr)") }
        let records = (jax.stdout + "\n" + jaxRho.stdout).split(separator: "\n").compactMap { line -> [String: Any]? in
            guard let data = line.data(using: .utf8) else { return nil }
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        }
        func record(_ name: String, pair: Int? = nil, stop: String = "grad") -> [String: Any]? {
            records.first {
                ($0["name"] as? String) == name && (pair == nil || ($0["pair"] as? Int) == pair)
                    && (name != "georce" || ($0["georce_stop"] as? String) == stop)
            }
        }
        let header = jax.stderr.split(separator: "\n").first { $0.hasPrefix("model ") }.map(String.init) ?? ""
        print("JAX: \(header)")

        // Geodesics.
        // residual: georepl's rule on georepl's energy E (newton) or on GEORCE's E_G (georce).
        var table = Table(["geodesic (pair)", "solver", "time s", "iterations", "residual", "energy E",
                           "JAX GEORCE / this", "JAX GEORCE (rho) / this", "JAX Newton / this"])
        for (k, (a, b)) in pairs.enumerated() {
            let jg = record("georce", pair: k), jr = record("georce", pair: k, stop: "rho"), jn = record("newton", pair: k)
            for solver in [GeodesicSolver.newton, .georce] {
                let options = GeodesicOptions(points: points, solver: solver, tolerance: tolerance)
                var path: Path?
                let seconds = try context.medianSeconds { path = try Geodesic.solve(g, from: a, to: b, options: options) }
                guard let p = path else { continue }
                let rho = p.residuals.last ?? .nan
                func ratio(_ r: [String: Any]?) -> String { (r?["warm_median_s"] as? Double).map { fmt($0 / seconds, 2) } ?? "-" }
                table.add(["pair \(k + 1)", solver.rawValue, fmt(seconds, 4), "\(p.iterations)", String(format: "%.1e", rho),
                           String(format: "%.8f", try p.energy(on: g)), ratio(jg), ratio(jr), ratio(jn)])
            }
            for (label, r) in [("JAX georce", jg), ("JAX georce (rho)", jr), ("JAX newton", jn)] {
                guard let r else { continue }
                let warm = r["warm_median_s"] as? Double ?? .nan, cold = r["cold_s"] as? Double ?? .nan
                let rho = (label == "JAX newton" ? r["rho"] : r["georce_rho"]) as? Double ?? .nan
                table.add(["pair \(k + 1)", label, fmt(warm, 4) + " (cold \(fmt(cold, 2)))", "\(r["iterations"] as? Int ?? -1)",
                           String(format: "%.1e", rho), String(format: "%.8f", r["energy"] as? Double ?? .nan), "", "", ""])
            }
        }
        print(table.render())

        // Curvature.
        var zm = Matrix(rows: curvaturePoints, cols: d), um = zm, vm = zm
        for i in 0..<curvaturePoints {
            for j in 0..<d { zm[i, j] = z[i][j]; um[i, j] = u[i][j]; vm[i, j] = v[i][j] }
        }
        var curvature = Table(["curvature, \(curvaturePoints) points", "georepl /s", "JAX warm /s", "JAX cold s", "georepl / JAX", "max |difference| / max |value|"])
        for name in ["sectional", "scalar"] {
            var values: [Double] = []
            let seconds = try context.medianSeconds {
                values = name == "sectional" ? try Curvature.sectional(on: g, at: zm, u: um, v: vm) : try Curvature.scalar(on: g, at: zm)
            }
            let rate = Double(curvaturePoints) / seconds
            let r = record(name)
            let jaxRate = r?["rate_per_s"] as? Double ?? .nan
            let jaxValues = r?["values"] as? [Double] ?? []
            var agreement = "-"
            if jaxValues.count == values.count, let scale = values.map(abs).max(), scale > 0 {
                let worst = zip(values, jaxValues).map { abs($0 - $1) }.max() ?? .nan
                agreement = String(format: "%.1e", worst / scale)
            }
            curvature.add([name, fmt(rate, 0), fmt(jaxRate, 0), fmt(r?["cold_s"] as? Double ?? .nan, 2), fmt(rate / jaxRate, 2), agreement])
        }
        print(curvature.render())
        print("(JAX threads: \(threads == "0" ? "XLA default, all cores" : threads); georepl: OpenBLAS threads, all cores)\n")
    }

    /// Runs a program and returns its exit status, stdout and stderr (stderr goes through a
    /// temporary file, so that neither pipe can fill up while the other is read).
    static func runProcess(_ program: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + arguments
        let errPath = NSTemporaryDirectory() + "/georepl-bench-stderr-\(getpid())-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: errPath, contents: nil),
              let errFile = FileHandle(forWritingAtPath: errPath) else {
            throw BenchmarkError.failed("cannot create \(errPath)")
        }
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let out = Pipe()
        p.standardOutput = out; p.standardError = errFile
        try p.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try errFile.close()
        let errData = FileManager.default.contents(atPath: errPath) ?? Data()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

/// A benchmark that could not run.
enum BenchmarkError: Error, CustomStringConvertible {
    case failed(String)
    var description: String { switch self { case .failed(let s): return s } }
}
