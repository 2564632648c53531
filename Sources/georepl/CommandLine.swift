import Foundation
/// georepl's command line, parsed as lua(1) parses its own:
///     georepl [options] [script [args]]
/// Options: -e CODE (may repeat), -i, -, --, --help (-h), --version (-v).
struct Invocation {
    enum Action { case run, help, version }
    var action = Action.run
    /// The -e chunks, in order.
    var chunks: [String] = []
    /// -i: enter the REPL after running chunks and script.
    var interactive = false
    /// The script (or "-" for standard input) and its arguments.
    var script: String?
    var scriptArgs: [String] = []
    /// The index in argv of the script (0, the program, when there is none), for `arg`.
    var scriptIndex = 0

    struct UsageError: Error { let message: String }

    init(_ argv: [String]) throws {
        var i = 1
        while i < argv.count {
            let a = argv[i]
            switch a {
            case "--help", "-h": action = .help; return
            case "--version", "-v": action = .version; return
            case "-i": interactive = true
            case "--":
                i += 1
                if i < argv.count { script = argv[i]; scriptIndex = i; scriptArgs = Array(argv[(i + 1)...]) }
                return
            case "-":
                script = "-"; scriptIndex = i; scriptArgs = Array(argv[(i + 1)...])
                return
            case "-e":
                i += 1
                guard i < argv.count else { throw UsageError(message: "'-e' needs an argument") }
                chunks.append(argv[i])
            default:
                if a.hasPrefix("-e") { chunks.append(String(a.dropFirst(2))) }
                else if a.hasPrefix("-") { throw UsageError(message: "unrecognized option '\(a)'") }
                else {
                    script = a; scriptIndex = i; scriptArgs = Array(argv[(i + 1)...])
                    return
                }
            }
            i += 1
        }
    }

    static let usage = """
        usage: georepl [options] [script [args]]
        Available options are:
          -e CODE    execute string 'CODE' (may be repeated)
          -i         enter interactive mode after executing 'script' and -e chunks
          -          execute standard input as a script and stop handling options
          --         stop handling options
          -h, --help     show this help
          -v, --version  show version information
        With no script and no -e, georepl starts the REPL (reading standard input line by line
        when it is not a terminal). The `geo` module is a preloaded global; `require "geo"` works.
        History: $GEOREPL_HISTORY (default ~/.georepl_history).
        """
}

/// Re-executes georepl with OPENBLAS_NUM_THREADS=1 when RLIMIT_AS is below what OpenBLAS's
/// threads comfortably take (256 MB per core plus 1 GB) and the variable is unset (see
/// main.swift); returns when nothing is to be done or the exec fails.
func singleThreadedBLASUnderAnAddressSpaceLimit() {
    var limit = rlimit()
    let cores = UInt64(max(1, ProcessInfo.processInfo.activeProcessorCount))
    guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max,
          UInt64(limit.rlim_cur) < cores * (256 << 20) + (1 << 30),
          getenv("OPENBLAS_NUM_THREADS") == nil else { return }
    setenv("OPENBLAS_NUM_THREADS", "1", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
}
