/// Every message text the Lua bindings produce, in one place. Wording follows lauxlib
/// (luaL_argerror, luaL_typeerror) so that errors from geo read like errors from Lua itself.
enum Messages {
    // lauxlib's argument errors.
    static func badArgument(_ position: Int32, _ function: String, _ message: String) -> String {
        "bad argument #\(position) to '\(function)' (\(message))"
    }
    static func badSelf(_ function: String, _ message: String) -> String {
        "calling '\(function)' on bad self (\(message))"
    }
    static func typeExpected(_ expected: String, got: String) -> String { "\(expected) expected, got \(got)" }
    static let noIntegerRepresentation = "number has no integer representation"

    // Tables and options.
    static func entryType(_ index: Int, _ expected: String, got: String) -> String {
        "entry \(index) is a \(got), \(expected) expected"
    }
    static func unknownOption(_ key: String, allowed: [String]) -> String {
        allowed.isEmpty ? "unknown option '\(untrusted: key)' (this function takes no options)"
            : "unknown option '\(untrusted: key)' (expected one of: \(allowed.joined(separator: ", ")))"
    }
    static func optionType(_ key: String, _ expected: String, got: String) -> String {
        "option '\(key)' must be \(expected), got \(got)"
    }
    static func optionRange(_ key: String, _ requirement: String, got: String) -> String {
        "option '\(key)' must be \(requirement), got \(got)"
    }
    static func settingRange(_ name: String, _ requirement: String, got: String) -> String {
        "\(name) must be \(requirement), got \(got)"
    }
    static let pathWithNul = "file name contains a NUL byte"
    static let pathNotUTF8 = "file name is not valid UTF-8"
    static let optionKeyNotString = "option names must be strings"
    static func optionChoice(_ key: String, _ choices: [String], got: String) -> String {
        "option '\(key)' must be one of " + choices.map { "\"\($0)\"" }.joined(separator: ", ") + ", got \"\(untrusted: got)\""
    }

    // Sizes and indices.
    static func indexOutOfRange(_ what: String, _ i: Int, _ count: Int) -> String {
        "\(what) \(i) is out of range (1 to \(count))"
    }
    static func lengthMismatch(_ op: String, _ a: Int, _ b: Int) -> String {
        "dimension mismatch: cannot \(op) vectors of length \(a) and \(b)"
    }
    static func matrixShapeMismatch(_ op: String, _ a: (Int, Int), _ b: (Int, Int)) -> String {
        "dimension mismatch: cannot \(op) a \(a.0)x\(a.1) matrix and a \(b.0)x\(b.1) matrix"
    }
    static func matrixVectorMismatch(_ rows: Int, _ cols: Int, _ n: Int) -> String {
        "dimension mismatch: cannot multiply a \(rows)x\(cols) matrix by a vector of length \(n)"
    }
    static func arithmetic(_ op: String, _ a: String, _ b: String) -> String {
        "attempt to \(op) a \(a) and a \(b)"
    }
    static let multiplyVectors = "attempt to multiply two geo.Vector values (use v:dot(w) for the inner product)"
    static let zeroVector = "cannot normalize a zero vector"
    static let raggedMatrix = "rows of a matrix must have equal lengths"
    static let sweepTooFewPoints = "option 'points' must hold at least 1 point (2 for measure \"ratio\")"
    static func samplerResult(got: String) -> String { "sampler must return a geo.Vector, got \(got)" }
    static let noImages = "no images to save"
    static func freed(_ type: String) -> String { "attempt to use a freed \(type)" }

    // Training.
    static func optionRequired(_ key: String, _ expected: String) -> String {
        "option '\(key)' is required (\(expected))"
    }
    static let sigmaNeedsGaussian = "option 'sigma' needs likelihood = \"gaussian\""
    static func outFile(_ reason: String) -> String { optionInvalid("out", reason) }
    /// An option whose value the engine rejects for a reason of its own.
    static func optionInvalid(_ key: String, _ reason: String) -> String { "option '\(key)': \(reason)" }
    static func notSaved(_ reason: String) -> String {
        "the model was trained but not saved (\(reason)); it is returned with info.saved = false: save it with geo.save(m, path)"
    }
    static func internalError(_ what: String) -> String { "internal error: \(what)" }
    static let alteredBinding = "bad geo function (its upvalue was altered)"
}
