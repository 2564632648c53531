import Foundation
import SwiftCSV

/// CSV files (RFC 4180: comma-separated, a field with a comma, a quote or a line break quoted,
/// quotes doubled), written through `AtomicFile` and parsed by SwiftCSV.
///
/// Cells are numbers or strings. A number is written in its shortest form that reads back to
/// the same Double (at most 17 significant digits; integers without a decimal point), NaN as
/// `nan` and infinities as `inf` / `-inf`, which pandas.read_csv and numpy.loadtxt read as the
/// same floats. Reading turns every cell that parses as a number (those forms included) into a
/// number, an empty cell into NaN (a missing value, as pandas reads it) and keeps the others as
/// strings.
public enum CSVFile {
    /// The text of a table: an optional header line, then one line per row.
    public static func text(rows: [[DataValue]], header: [String]? = nil) throws -> String {
        var out = ""
        if let header { out += header.map(field).joined(separator: ",") + "\n" }
        for (r, row) in rows.enumerated() {
            if r % 1024 == 0 { try Cancellation.check() }
            out += try row.enumerated().map { c, cell -> String in
                switch cell {
                case .number(let x): return number(x)
                case .string(let s): return field(s)
                case .bool(let b): return b ? "true" : "false"
                case .null: return ""
                case .array, .object:
                    throw GeoError.invalidArgument("row \(r + 1), column \(c + 1): a CSV cell holds a number or a string, not a table")
                }
            }.joined(separator: ",") + "\n"
        }
        return out
    }

    /// The shortest round-trip form of x: "3", "0.1", "1e-300", "nan", "inf", "-inf".
    public static func number(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        if x == 0, x.sign == .minus { return "-0.0" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return "\(x)"
    }

    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || s.first == " " || s.last == " " else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func write(rows: [[DataValue]], header: [String]? = nil, to path: String) throws {
        let file = try AtomicFile(path: path)
        try file.write(try text(rows: rows, header: header))
        try file.commit()
    }

    /// Parses CSV text; with `header` the first line is the header (returned apart), else it is
    /// a row like the others.
    public static func parse(_ text: String, header: Bool = true) throws -> (header: [String]?, rows: [[DataValue]]) {
        guard !text.isEmpty else { return (header ? [] : nil, []) }
        let csv: EnumeratedCSV
        do { csv = try EnumeratedCSV(string: text, delimiter: .comma, loadColumns: false) } catch {
            throw GeoError.format("not valid CSV: \(error)")
        }
        func cell(_ s: String) -> DataValue {
            if s.isEmpty { return .number(.nan) }
            if let x = Double(s.trimmingCharacters(in: .whitespaces)) { return .number(x) }
            return .string(s)
        }
        var rows = csv.rows.map { $0.map(cell) }
        if header { return (csv.header, rows) }
        rows.insert(csv.header.map(cell), at: 0)
        return (nil, rows)
    }

    public static func read(_ path: String, header: Bool = true) throws -> (header: [String]?, rows: [[DataValue]]) {
        let size = try FileBytes.size(path)
        try MemoryBudget.check(bytes: MemoryBudget.product([size, 32]) ?? Int.max, for: "reading the \(size)-byte CSV file '\(untrusted: path)'")
        guard let text = String(bytes: try FileBytes.read(path), encoding: .utf8) else {
            throw GeoError.format("'\(untrusted: path)' is not UTF-8 text")
        }
        do { return try parse(text, header: header) } catch GeoError.format(let m) { throw GeoError.format("'\(untrusted: path)': \(m)") }
    }
}
