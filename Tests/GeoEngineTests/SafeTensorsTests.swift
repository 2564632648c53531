import XCTest
import Foundation
@testable import GeoEngine

/// A safetensors file from a header text and a data buffer (the header length is computed).
func safetensorsBytes(_ header: String, _ data: [UInt8] = []) -> Data {
    let h = Array(header.utf8)
    var out: [UInt8] = []
    for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: UInt64(h.count) >> UInt64(8 * k))) }
    return Data(out + h + data)
}

/// The message of the error `body` throws, or "no error".
func errorMessage(_ body: () throws -> Any) -> String {
    do { _ = try body(); return "no error" } catch { return "\(error)" }
}

final class SafeTensorsTests: XCTestCase {
    func testHalfKnownBitPatterns() {
        let cases: [(UInt16, Double)] = [
            (0x0000, 0), (0x3C00, 1), (0xC000, -2), (0x3555, 0.333251953125), (0x7BFF, 65504),
            (0x0400, 0x1p-14), (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24), (0x8001, -0x1p-24),
            (0x7C00, .infinity), (0xFC00, -.infinity), (0x3BFF, 1 - 0x1p-11),
        ]
        for (bits, value) in cases {
            XCTAssertEqual(HalfPrecision.halfToDouble(bits), value, "F16 \(String(bits, radix: 16))")
            XCTAssertEqual(HalfPrecision.doubleToHalf(value), bits, "F16 encode \(value)")
        }
        XCTAssertTrue(HalfPrecision.halfToDouble(0x7E00).isNaN)
        XCTAssertTrue(HalfPrecision.halfToDouble(0xFC01).isNaN)
        XCTAssertEqual(HalfPrecision.halfToDouble(0x8000).sign, .minus)
        XCTAssertEqual(HalfPrecision.doubleToHalf(-0.0), 0x8000)
        XCTAssertEqual(HalfPrecision.doubleToHalf(.nan) & 0x7E00, 0x7E00)
        // Rounding: ties to even, overflow to infinity, underflow to zero or the smallest subnormal.
        XCTAssertEqual(HalfPrecision.doubleToHalf(1 + 0x1p-11), 0x3C00)
        XCTAssertEqual(HalfPrecision.doubleToHalf(1 + 3 * 0x1p-11), 0x3C02)
        XCTAssertEqual(HalfPrecision.doubleToHalf(1 + 0x1p-11 + 0x1p-40), 0x3C01)
        XCTAssertEqual(HalfPrecision.doubleToHalf(65519.99), 0x7BFF)
        XCTAssertEqual(HalfPrecision.doubleToHalf(65520), 0x7C00)
        XCTAssertEqual(HalfPrecision.doubleToHalf(1e300), 0x7C00)
        XCTAssertEqual(HalfPrecision.doubleToHalf(0x1p-25), 0x0000)            // tie -> even (0)
        XCTAssertEqual(HalfPrecision.doubleToHalf(0x1p-25 * 1.0000001), 0x0001)
        XCTAssertEqual(HalfPrecision.doubleToHalf(0x1p-14 - 0x1p-26), 0x0400)  // rounds up to the smallest normal
    }

    func testBFloat16KnownBitPatterns() {
        let cases: [(UInt16, Double)] = [
            (0x0000, 0), (0x3F80, 1), (0x4049, 3.140625), (0xC000, -2), (0x0080, 0x1p-126),
            (0x0001, 0x1p-133), (0x007F, 127 * 0x1p-133), (0x7F7F, 0x1.FEp127), (0xFF7F, -0x1.FEp127),
            (0x7F80, .infinity), (0xFF80, -.infinity),
        ]
        for (bits, value) in cases {
            XCTAssertEqual(HalfPrecision.bfloat16ToDouble(bits), value, "BF16 \(String(bits, radix: 16))")
            XCTAssertEqual(HalfPrecision.doubleToBFloat16(value), bits, "BF16 encode \(value)")
        }
        XCTAssertTrue(HalfPrecision.bfloat16ToDouble(0x7FC0).isNaN)
        XCTAssertEqual(HalfPrecision.doubleToBFloat16(1 + 0x1p-8), 0x3F80)      // tie -> even
        XCTAssertEqual(HalfPrecision.doubleToBFloat16(1 + 3 * 0x1p-8), 0x3F82)
        XCTAssertEqual(HalfPrecision.doubleToBFloat16(0x1.FFp127), 0x7F80)      // the overflow tie
        // Double rounding through Float would give 0x3F81 here; the direct rounding gives 0x3F80.
        XCTAssertEqual(HalfPrecision.doubleToBFloat16(1 + 0x1p-8 - 0x1p-40), 0x3F80)
    }

    func testEveryBitPatternMatchesReferenceAndRoundTrips() {
        for b in 0...UInt16.max {
            let bf = HalfPrecision.bfloat16ToDouble(b)
            let ref = Double(Float(bitPattern: UInt32(b) << 16))
            if ref.isNaN { XCTAssertTrue(bf.isNaN) } else {
                XCTAssertEqual(bf, ref, "BF16 \(b)")
                XCTAssertEqual(HalfPrecision.doubleToBFloat16(bf), b, "BF16 round trip \(b)")
            }
            let h = HalfPrecision.halfToDouble(b)
            #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
            let hr = Double(Float16(bitPattern: b))
            if hr.isNaN { XCTAssertTrue(h.isNaN) } else { XCTAssertEqual(h, hr, "F16 \(b)") }
            #endif
            if !h.isNaN { XCTAssertEqual(HalfPrecision.doubleToHalf(h), b, "F16 round trip \(b)") }
        }
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        var rng = SeededRandom(seed: 21)
        for _ in 0..<20000 {
            let x = rng.normal() * Double(sign: .plus, exponent: Int(rng.next() % 40) - 28, significand: 1)
            XCTAssertEqual(HalfPrecision.doubleToHalf(x), Float16(x).bitPattern, "F16 encode \(x)")
        }
        #endif
    }

    func testRoundTripOfEveryWritableDType() throws {
        var rng = SeededRandom(seed: 1)
        let a = randomTensor([2, 3], &rng), b = randomTensor([4], &rng), s = try Tensor(shape: [], scalars: [2.5])
        let empty = try Tensor(shape: [0, 3], scalars: [])
        let meta = ["georepl.name": "x \"quoted\" \u{e9}\n", "k": "v"]
        for dtype in [SafeTensorsDType.f64, .f32, .f16, .bf16] {
            let data = try SafeTensors.encode([("a", a), ("b.bias", b), ("s", s), ("e", empty)], metadata: meta, dtype: dtype)
            let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            XCTAssertEqual(headerLength % 8, 0, "header padded to 8 bytes")
            let f = try SafeTensors.read(data: data)
            XCTAssertEqual(f.names, ["a", "b.bias", "s", "e"])
            XCTAssertEqual(f.metadata, meta)
            XCTAssertEqual(f.dtypes["a"], dtype)
            XCTAssertEqual(f.tensors["s"]?.shape, [])
            XCTAssertEqual(f.tensors["e"]?.shape, [0, 3])
            for (name, t) in [("a", a), ("b.bias", b), ("s", s)] {
                let got = try XCTUnwrap(f.tensors[name])
                XCTAssertEqual(got.shape, t.shape)
                let expected: [Double]
                switch dtype {
                case .f64: expected = t.scalars
                case .f32: expected = t.scalars.map { Double(Float($0)) }
                case .f16: expected = t.scalars.map { HalfPrecision.halfToDouble(HalfPrecision.doubleToHalf($0)) }
                default: expected = t.scalars.map { HalfPrecision.bfloat16ToDouble(HalfPrecision.doubleToBFloat16($0)) }
                }
                XCTAssertEqual(got.scalars, expected, "\(name) as \(dtype)")
            }
        }
        XCTAssertThrowsError(try SafeTensors.encode([("a", a)], dtype: .i64))
        XCTAssertThrowsError(try SafeTensors.encode([("a", a), ("a", b)]))
    }

    func testReadsIntegerAndHandWrittenFiles() throws {
        // An I64 tensor (like torch's num_batches_tracked), an F16 pair, and header padding.
        var data: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]   // -1 as I64
        data += [0x00, 0x3C, 0x00, 0xC0]                                      // 1, -2 as F16
        let header = #"{"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"h":{"dtype":"F16","shape":[2],"data_offsets":[8,12]}}   "#
        let f = try SafeTensors.read(data: safetensorsBytes(header, data))
        XCTAssertEqual(f.tensors["n"]?.scalars, [-1])
        XCTAssertEqual(f.tensors["h"]?.scalars, [1, -2])
        XCTAssertEqual(f.metadata, [:])
    }

    /// Every integer dtype and BOOL, written byte by byte (little-endian, as the format says)
    /// with their extreme values, read back as exact Doubles; the dtypes are recorded.
    func testEveryIntegerAndBoolDType() throws {
        func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
            values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        }
        // (name, dtype, shape, bytes, expected values)
        let cases: [(String, String, [Int], [UInt8], [Double])] = [
            ("i64", "I64", [2, 2], le([Int64.min, -1, 0, Int64.max]),
             [-0x1p63, -1, 0, 0x1p63]),                       // 2^63 - 1 rounds to 2^63
            ("i32", "I32", [3], le([Int32.min, -7, Int32.max]), [-2147483648, -7, 2147483647]),
            ("i16", "I16", [3], le([Int16.min, 300, Int16.max]), [-32768, 300, 32767]),
            ("i8", "I8", [4], le([Int8.min, -1, 0, Int8.max]), [-128, -1, 0, 127]),
            ("u64", "U64", [3], le([UInt64(0), 1 << 53 + 1, UInt64.max]),
             [0, 0x1p53, 0x1p64]),                            // 2^53 + 1 rounds to even, 2^64 - 1 up
            ("u32", "U32", [2], le([UInt32(5), UInt32.max]), [5, 4294967295]),
            ("u16", "U16", [2, 1], le([UInt16(258), UInt16.max]), [258, 65535]),
            ("u8", "U8", [3], [0, 128, 255], [0, 128, 255]),
            ("bool", "BOOL", [2, 2], [0, 1, 0, 255], [0, 1, 0, 1]),   // any nonzero byte is true
            ("scalar", "I16", [], le([Int16(-2)]), [-2]),
        ]
        var entries: [String] = [], data: [UInt8] = []
        for (name, dtype, shape, bytes, _) in cases {
            entries.append(#""\#(name)":{"dtype":"\#(dtype)","shape":[\#(shape.map(String.init).joined(separator: ","))],"data_offsets":[\#(data.count),\#(data.count + bytes.count)]}"#)
            data += bytes
        }
        let f = try SafeTensors.read(data: safetensorsBytes("{" + entries.joined(separator: ",") + "}", data))
        XCTAssertEqual(f.names, cases.map(\.0))
        for (name, dtype, shape, _, expected) in cases {
            let t = try XCTUnwrap(f.tensors[name], name)
            XCTAssertEqual(t.shape, shape, name)
            XCTAssertEqual(t.scalars, expected, name)
            XCTAssertEqual(f.dtypes[name]?.rawValue, dtype, name)
        }
        // Sizes per element: a shape that needs other byte counts is refused.
        XCTAssertEqual(errorMessage { try SafeTensors.read(data: safetensorsBytes(#"{"t":{"dtype":"I32","shape":[3],"data_offsets":[0,8]}}"#, [UInt8](repeating: 0, count: 8))) },
                       "tensor 't': shape [3] of I32 needs 12 bytes, data_offsets [0, 8] hold 8")
        XCTAssertEqual(errorMessage { try SafeTensors.read(data: safetensorsBytes(#"{"t":{"dtype":"BOOL","shape":[3],"data_offsets":[0,2]}}"#, [1, 0])) },
                       "tensor 't': shape [3] of BOOL needs 3 bytes, data_offsets [0, 2] hold 2")
    }

    func testMalformedFilesGiveClearErrors() {
        func msg(_ d: Data) -> String { errorMessage { try SafeTensors.read(data: d) } }
        let ok = #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let eight = [UInt8](repeating: 0, count: 8)
        XCTAssertEqual(msg(safetensorsBytes(ok, eight)), "no error")
        XCTAssertEqual(msg(Data([1, 2, 3])),
                       "safetensors file is truncated: 3 bytes, too short for the 8-byte header length")
        var long = safetensorsBytes(ok, eight)
        long[0] = 0xFF; long[1] = 0xFF
        XCTAssertEqual(msg(long), "safetensors header length 65535 runs past the end of the file (62 bytes follow it)")
        XCTAssertEqual(msg(safetensorsBytes(ok, [0, 0, 0])),
                       "tensor 't': data_offsets [0, 8] run past the end of the data (3 bytes)")
        XCTAssertTrue(msg(safetensorsBytes("{\"t\": ", eight)).hasPrefix("safetensors header is not valid JSON: invalid JSON at byte"))
        XCTAssertEqual(msg(safetensorsBytes("\u{1}\u{2}", eight)),
                       "safetensors header is not valid JSON: invalid JSON at byte 0: unexpected character '\u{1}'")
        XCTAssertEqual(msg(safetensorsBytes("[1,2]", eight)), "safetensors header is an array, expected a JSON object")
        XCTAssertEqual(msg(safetensorsBytes(#"{"t":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#, [0, 0])),
                       "tensor 't': unsupported dtype 'F8_E4M3' (expected F32, F64, F16, BF16 or an integer type)")
        XCTAssertEqual(msg(safetensorsBytes(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, eight)),
                       "tensor 't': shape [3] of F32 needs 12 bytes, data_offsets [0, 8] hold 8")
        XCTAssertEqual(msg(safetensorsBytes(#"{"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, eight)),
                       "tensor 't': shape [4611686018427387904,4] of F32 needs too many bytes, data_offsets [0, 8] hold 8")
        XCTAssertEqual(msg(safetensorsBytes(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, eight)),
                       "tensor 't': data_offsets must be [begin, end] with 0 <= begin <= end")
        XCTAssertEqual(msg(safetensorsBytes(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, eight)),
                       "tensor 't': data_offsets must be [begin, end] with 0 <= begin <= end")
        XCTAssertEqual(msg(safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, eight)),
                       "tensors 'a' and 'b' overlap: data_offsets [0, 8] and [4, 8]")
        XCTAssertEqual(msg(safetensorsBytes(#"{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, eight)),
                       "tensor 't': shape entries must be non-negative integers")
        XCTAssertEqual(msg(safetensorsBytes(#"{"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, eight)),
                       "tensor 't': shape entries must be non-negative integers")
        XCTAssertEqual(msg(safetensorsBytes(#"{"t":{"shape":[2],"data_offsets":[0,8]}}"#, eight)),
                       "tensor 't': missing or non-string dtype")
        XCTAssertEqual(msg(safetensorsBytes(#"{"t":{"dtype":"F32","data_offsets":[0,8]}}"#, eight)),
                       "tensor 't': missing shape (an array of sizes)")
        XCTAssertEqual(msg(safetensorsBytes(#"{"t":[1]}"#, eight)), "tensor 't': header entry is an array, expected an object")
        XCTAssertEqual(msg(safetensorsBytes(#"{"__metadata__":{"georepl.latent_dim":16}}"#)),
                       "safetensors __metadata__ value of 'georepl.latent_dim' is a number, expected a string")
        XCTAssertEqual(msg(safetensorsBytes(#"{"__metadata__":"x"}"#)),
                       "safetensors __metadata__ is a string, expected an object of strings")
        XCTAssertEqual(msg(safetensorsBytes(#"{"a":1,"a":2}"#)),
                       "safetensors header is not valid JSON: invalid JSON at byte 10: duplicate key 'a'")
        // Deep nesting is an error, not a stack overflow.
        let deep = String(repeating: "[", count: 100_000)
        XCTAssertTrue(msg(safetensorsBytes(deep)).contains("nesting deeper than 256"))
    }

    func testJSONParserEdgeCases() throws {
        XCTAssertEqual(try JSONValue.parse(#" {"a": [1, -2.5e3, true, null, "\u00e9\ud83d\ude00\n"]} "#),
                       .object([("a", .array([.number(1, text: "1"), .number(-2500, text: "-2.5e3"), .bool(true), .null,
                                              .string("\u{e9}\u{1F600}\n")]))]))
        for bad in ["", "01", "1.", "[1,]", "{\"a\"}", "\"\\ud800\"", "\"\u{1}\"", "tru", "[1] 2", "\"\\x\"", "-", "1e"] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad)
        }
        let v = try JSONValue.parse(#"{"s":"a\"b","n":[9007199254740993,1e-5]}"#)
        XCTAssertEqual(v["n"]?.arrayValue?.first?.intValue, 9_007_199_254_740_993)
        XCTAssertEqual(try JSONValue.parse(try v.serialized()), v)
    }
}
