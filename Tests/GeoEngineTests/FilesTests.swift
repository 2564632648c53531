import XCTest
@testable import GeoEngine

/// CSV and JSON: exact round trips (17 significant digits), the values the formats cannot hold,
/// big tables, malformed files.
final class FilesTests: XCTestCase {
    var dir: String { NSTemporaryDirectory() + "/georepl-files-\(getpid())" }
    override func setUpWithError() throws { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Doubles of every scale, including the extremes.
    func doubles(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRandom(seed: seed)
        let special: [Double] = [0, -0.0, 1, -1, 0.1, 1.0 / 3, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                 .leastNormalMagnitude, 9007199254740993, 1e15, 123456789012345678, 2.5e-308]
        return special + (0..<n).map { _ in rng.normal() * pow(10, Double(Int(rng.uniform() * 40) - 20)) }
    }

    func testJSONRoundTripsNumbersExactly() throws {
        let xs = doubles(5000, seed: 1)
        let value = DataValue.object(["values": .array(xs.map(DataValue.number)), "name": .string("a \"quoted\" é"),
                                      "flag": .bool(true), "none": .null, "nested": .array([.array([.number(1)]), .object([:])])])
        let path = dir + "/v.json"
        try JSONFile.write(value, to: path)
        let back = try JSONFile.read(path)
        XCTAssertEqual(back, value)
        // Python's json module and NumPy read the same text: a plain JSON document.
        let text = try XCTUnwrap(String(data: try Data(contentsOf: URL(fileURLWithPath: path)), encoding: .utf8))
        XCTAssertTrue(text.hasPrefix("{\"flag\":true,\"name\":"), String(text.prefix(40)))
    }

    func testJSONRefusesWhatItCannotHold() throws {
        for x in [Double.nan, .infinity, -.infinity] {
            XCTAssertThrowsError(try DataValue.array([.number(1), .array([.number(x)])]).json()) { e in
                XCTAssertTrue("\(e)".contains("JSON cannot hold") && "\(e)".contains("at [2][1]"), "\(e)")
            }
        }
        var deep = DataValue.number(1)
        for _ in 0...DataValue.maxDepth { deep = .array([deep]) }
        XCTAssertThrowsError(try deep.json())
        for bad in ["{", "nan", "{\"a\": 1", "", "[1 2]"] {
            XCTAssertThrowsError(try DataValue.parse(json: Data(bad.utf8)), bad) { e in XCTAssertTrue("\(e)".contains("not valid JSON"), "\(e)") }
        }
        let nested = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        XCTAssertThrowsError(try DataValue.parse(json: Data(nested.utf8)))
        XCTAssertThrowsError(try JSONFile.read(dir + "/missing.json")) { e in XCTAssertTrue("\(e)".contains("No such file"), "\(e)") }
    }

    func testCSVRoundTripsNumbersNaNAndInfinity() throws {
        let xs = doubles(3000, seed: 2) + [.nan, .infinity, -.infinity]
        let rows = stride(from: 0, to: xs.count, by: 3).map { i in (i..<min(i + 3, xs.count)).map { DataValue.number(xs[$0]) } }
        let path = dir + "/m.csv"
        try CSVFile.write(rows: rows, header: ["a", "b,c", "d\"e"], to: path)
        let back = try CSVFile.read(path)
        XCTAssertEqual(back.header, ["a", "b,c", "d\"e"])
        XCTAssertEqual(back.rows.count, rows.count)
        for (r, row) in rows.enumerated() {
            for (c, cell) in row.enumerated() {
                let x = try XCTUnwrap(cell.number), y = try XCTUnwrap(back.rows[r][c].number)
                XCTAssertTrue(x == y || (x.isNaN && y.isNaN), "row \(r) column \(c): \(x) -> \(y)")
                if x == 0 { XCTAssertEqual(x.sign, y.sign) }
            }
        }
        XCTAssertEqual(CSVFile.number(.nan), "nan"); XCTAssertEqual(CSVFile.number(-.infinity), "-inf"); XCTAssertEqual(CSVFile.number(3), "3")
        // Strings with separators, quotes and line breaks survive; tables in cells do not.
        let text = try CSVFile.text(rows: [[.string("x,y"), .string("say \"hi\""), .string("two\nlines"), .number(1)]])
        let parsed = try CSVFile.parse(text, header: false)
        XCTAssertEqual(parsed.rows, [[.string("x,y"), .string("say \"hi\""), .string("two\nlines"), .number(1)]])
        XCTAssertThrowsError(try CSVFile.text(rows: [[.array([])]])) { e in XCTAssertTrue("\(e)".contains("row 1, column 1"), "\(e)") }
    }

    /// A table of 200,000 rows (a 1000 x 1000 distance matrix has 1000 of 1000 cells) writes and
    /// reads back.
    func testHugeTables() throws {
        let n = 200_000
        let rows = (0..<n).map { i in [DataValue.number(Double(i)), .number(Double(i) / 7)] }
        let path = dir + "/big.csv"
        try CSVFile.write(rows: rows, to: path)
        let back = try CSVFile.read(path, header: false)
        XCTAssertEqual(back.rows.count, n)
        XCTAssertEqual(back.rows[n - 1], rows[n - 1])
        let json = dir + "/big.json"
        try JSONFile.write(.array(rows.map { .array($0) }), to: json)
        XCTAssertEqual(try JSONFile.read(json).array?.count, n)
    }
}
