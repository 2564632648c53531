import Bindings
import Foundation

// georepl: the REPL and script runner. Thin: parses the command line, wires standard input or
// readline to Bindings' REPL, and maps outcomes to exit statuses (0 ok, 1 Lua error, 2 usage).

// Under an address-space limit (ulimit -v) OpenBLAS must not start worker threads: each takes a
// 128 MB buffer when it starts, and OpenBLAS 0.3.21 spins for ever (and hangs exit) when that
// allocation fails. Its threads start when the library is loaded, before main, so georepl runs
// itself again with OPENBLAS_NUM_THREADS=1, which an exec applies from the start.
singleThreadedBLASUnderAnAddressSpaceLimit()

setvbuf(stdout, nil, _IOLBF, 0)
let argv = CommandLine.arguments

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(("georepl: " + message + "\n").data(using: .utf8)!)
    exit(1)
}

let invocation: Invocation
do { invocation = try Invocation(argv) } catch let e as Invocation.UsageError {
    FileHandle.standardError.write("georepl: \(e.message)\n\(Invocation.usage)\n".data(using: .utf8)!)
    exit(2)
} catch { exit(2) }

switch invocation.action {
case .help: print(Invocation.usage); exit(0)
case .version: print("georepl \(GeoModule.version) (\(luaVersion()))"); exit(0)
case .run: break
}

let session: LuaSession
do { session = try LuaSession() } catch { fail("\(error)") }
LuaSession.installInterruptHandler()
session.setArguments(argv, scriptIndex: invocation.scriptIndex)

for chunk in invocation.chunks {
    if let e = session.run(chunk) { fail(e.description) }
}
if let script = invocation.script {
    if let e = session.runFile(script, args: invocation.scriptArgs) { fail(e.description) }
}

let wantsREPL = invocation.interactive || (invocation.script == nil && invocation.chunks.isEmpty)
guard wantsREPL else { exit(0) }

let isTerminal = isatty(STDIN_FILENO) != 0
let repl = REPL(session: session, readLine: { _ in Swift.readLine(strippingNewline: true) },
                reportError: { message in
                    fflush(stdout)
                    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
                })
if isTerminal {
    print("georepl \(GeoModule.version) — Riemannian geometry of generative models. Try: s = geo.sphere{}  (Ctrl-D exits)")
    LineEditor.start(session)
    repl.readLine = LineEditor.readLine
    repl.addHistory = LineEditor.addHistory
    repl.inputCancelled = { LineEditor.cancelled }
}
repl.run()
if isTerminal { print() }
exit(!isTerminal && repl.errorCount > 0 ? 1 : 0)
