/// The validation of settings that users choose (option values such as `tol`, `points`,
/// `steps`, sizes such as a plane's `dim`): every rule lives here or in the type that owns the
/// setting, and fails with `GeoError.invalidSetting`, which names the setting, so the Lua
/// bindings can phrase it as a bad argument (`bad argument #4 to 'geodesic' (option 'tol' must
/// be a finite number >= 0, got -1)`) without checking anything themselves.
public enum Setting {
    /// `value` if it lies in `range`.
    @discardableResult
    public static func integer(_ name: String, _ value: Int, in range: ClosedRange<Int>) throws -> Int {
        guard range.contains(value) else {
            let requirement = range.upperBound == Int.max ? "an integer >= \(range.lowerBound)"
                : "an integer from \(range.lowerBound) to \(range.upperBound)"
            throw GeoError.invalidSetting(name: name, requirement: requirement, got: String(value))
        }
        return value
    }

    /// Entry `entry` (1-based) of a list setting such as `hidden`: "hidden entry 2 must be ...".
    @discardableResult
    public static func integer(_ name: String, _ value: Int, in range: ClosedRange<Int>, entry: Int) throws -> Int {
        do { return try integer(name, value, in: range) } catch GeoError.invalidSetting(_, let requirement, let got) {
            throw GeoError.invalidSetting(name: name, requirement: "a list of \(requirement.replacingOccurrences(of: "an integer", with: "integers")) (entry \(entry))", got: got)
        }
    }

    /// `value` if it is finite and > 0.
    @discardableResult
    public static func positive(_ name: String, _ value: Double) throws -> Double {
        guard value > 0, value.isFinite else {
            throw GeoError.invalidSetting(name: name, requirement: "a positive number", got: formatNumber(value))
        }
        return value
    }

    /// `value` if it is finite and >= 0.
    @discardableResult
    public static func nonNegative(_ name: String, _ value: Double) throws -> Double {
        guard value >= 0, value.isFinite else {
            throw GeoError.invalidSetting(name: name, requirement: "a finite number >= 0", got: formatNumber(value))
        }
        return value
    }

    /// `value` if it is finite.
    @discardableResult
    public static func finite(_ name: String, _ value: Double) throws -> Double {
        guard value.isFinite else {
            throw GeoError.invalidSetting(name: name, requirement: "a finite number", got: formatNumber(value))
        }
        return value
    }

    /// `value` if `ok`, else the error with the given requirement.
    public static func require(_ name: String, _ ok: Bool, _ requirement: String, got: String) throws {
        guard ok else { throw GeoError.invalidSetting(name: name, requirement: requirement, got: got) }
    }
}
