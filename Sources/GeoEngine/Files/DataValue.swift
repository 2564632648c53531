import Foundation

/// A plain data value, what JSON holds: the currency between georepl's results (matrices,
/// distance slices, tables) and the JSON and CSV files other tools read (NumPy, pandas).
public indirect enum DataValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([DataValue])
    case object([String: DataValue])

    /// The deepest nesting accepted (a guard against cycles and runaway recursion).
    public static let maxDepth = 200

    /// The value's JSON text (UTF-8), keys sorted. Numbers are written in their shortest form
    /// that reads back to the same Double (17 significant digits at most): they round-trip
    /// exactly. JSON has no NaN or infinity: such a number is `GeoError.invalidArgument` naming
    /// where it is ("NaN at [3][2]").
    public func json() throws -> Data {
        try JSONSerialization.data(withJSONObject: try foundation(at: ""), options: [.sortedKeys, .fragmentsAllowed])
    }

    private func foundation(at place: String, depth: Int = 0) throws -> Any {
        guard depth <= DataValue.maxDepth else { throw GeoError.invalidArgument("nested deeper than \(DataValue.maxDepth) levels at \(place.isEmpty ? "the top" : place)") }
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let x):
            guard x.isFinite else {
                throw GeoError.invalidArgument("JSON cannot hold \(x.isNaN ? "NaN" : formatNumber(x)) (at \(place.isEmpty ? "the top" : place)): JSON numbers are finite")
            }
            if x == x.rounded(), abs(x) < 9.007199254740992e15 { return Int(x) }
            return x
        case .string(let s): return s
        case .array(let a): return try a.enumerated().map { try $1.foundation(at: "\(place)[\($0 + 1)]", depth: depth + 1) }
        case .object(let o):
            var out: [String: Any] = [:]
            for (k, v) in o { out[k] = try v.foundation(at: "\(place).\(k)", depth: depth + 1) }
            return out
        }
    }

    /// Parses JSON text with Foundation's JSONDecoder, whose numbers are exact (JSONSerialization's
    /// parser on Linux rounds about a third of 17-digit decimals to a neighbouring Double).
    /// Errors: `GeoError.format` with the decoder's reason.
    public static func parse(json data: Data) throws -> DataValue {
        do { return try JSONDecoder().decode(DataValue.self, from: data) } catch let e as GeoError { throw e } catch {
            let reason: String
            switch error {
            case DecodingError.dataCorrupted(let c): reason = c.underlyingError.map { "\($0)" } ?? c.debugDescription
            default: reason = "\(error)"
            }
            throw GeoError.format("not valid JSON: \(reason)")
        }
    }

    /// The number, or nil.
    public var number: Double? { if case .number(let x) = self { return x }; return nil }
    /// The array, or nil.
    public var array: [DataValue]? { if case .array(let a) = self { return a }; return nil }
    /// The object's value for `key`, or nil.
    public subscript(key: String) -> DataValue? { if case .object(let o) = self { return o[key] }; return nil }
}

/// JSON files: written through `AtomicFile`, read through `FileBytes` (size checked against the
/// memory budget first).
public enum JSONFile {
    public static func write(_ value: DataValue, to path: String) throws {
        let file = try AtomicFile(path: path)
        try file.write(try value.json())
        try file.write("\n")
        try file.commit()
    }

    public static func read(_ path: String) throws -> DataValue {
        let size = try FileBytes.size(path)
        try MemoryBudget.check(bytes: MemoryBudget.product([size, 16]) ?? Int.max, for: "reading the \(size)-byte JSON file '\(untrusted: path)'")
        do { return try DataValue.parse(json: Data(try FileBytes.read(path))) } catch GeoError.format(let m) {
            throw GeoError.format("'\(untrusted: path)': \(m)")
        }
    }
}

extension DataValue: Decodable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        guard decoder.codingPath.count <= DataValue.maxDepth else {
            throw GeoError.format("JSON nested deeper than \(DataValue.maxDepth) levels")
        }
        if var list = try? decoder.unkeyedContainer() {
            var out: [DataValue] = []
            while !list.isAtEnd { out.append(try list.decode(DataValue.self)) }
            self = .array(out)
        } else if let keyed = try? decoder.container(keyedBy: Key.self) {
            var out: [String: DataValue] = [:]
            for k in keyed.allKeys { out[k.stringValue] = try keyed.decode(DataValue.self, forKey: k) }
            self = .object(out)
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let x = try? c.decode(Double.self) { self = .number(x) }
            else { self = .string(try c.decode(String.self)) }
        }
    }
}
