import Foundation

/// Element types of safetensors files. F64, F32, F16 and BF16 are the model dtypes (and the
/// ones written); the integer types (e.g. a torch state dict's I64 `num_batches_tracked`) are
/// read too, converted to Double.
public enum SafeTensorsDType: String, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
}

/// The contents of a safetensors file: tensors (converted to Double), their stored dtypes, and
/// the `__metadata__` string map.
public struct SafeTensorsFile {
    /// Tensor names in header order.
    public var names: [String]
    public var tensors: [String: Tensor]
    public var dtypes: [String: SafeTensorsDType]
    public var metadata: [String: String]
}

/// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors):
/// an 8-byte little-endian u64 header length N, N bytes of JSON header — an object mapping each
/// tensor name to {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, plus an optional
/// "__metadata__" object of string values — then the data buffer; offsets are byte positions in
/// that buffer and tensor bytes are little-endian, row-major.
public enum SafeTensors {
    /// Reads a file; `GeoError.io` if it cannot be read, `GeoError.format` if it is malformed.
    public static func read(path: String) throws -> SafeTensorsFile {
        try read(data: try readFile(path))
    }

    /// Parses safetensors bytes. Every malformation is a `GeoError.format` naming the problem
    /// and, where there is one, the tensor: truncated file, header length past the end, header
    /// not JSON or not an object, an unknown dtype, a shape that does not match the offsets,
    /// offsets out of range or overlapping, non-string metadata.
    public static func read(data: Data) throws -> SafeTensorsFile {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else {
            throw GeoError.format("safetensors file is truncated: \(bytes.count) bytes, too short for the 8-byte header length")
        }
        var headerLength: UInt64 = 0
        for k in 0..<8 { headerLength |= UInt64(bytes[k]) << UInt64(8 * k) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw GeoError.format("safetensors header length \(headerLength) runs past the end of the file (\(bytes.count - 8) bytes follow it)")
        }
        let headerEnd = 8 + Int(headerLength)
        let header: JSONValue
        do {
            header = try JSONValue.parse(bytes[8..<headerEnd])
        } catch let e as GeoError {
            throw GeoError.format("safetensors header is not valid JSON: \(e.description)")
        }
        guard case .object(let entries) = header else {
            throw GeoError.format("safetensors header is \(header.kindName), expected a JSON object")
        }
        let bufferSize = bytes.count - headerEnd
        var file = SafeTensorsFile(names: [], tensors: [:], dtypes: [:], metadata: [:])
        var ranges: [(range: Range<Int>, name: String)] = []
        var entriesOfTensors: [(name: String, dtype: SafeTensorsDType, shape: [Int], range: Range<Int>)] = []
        for (name, value) in entries {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw GeoError.format("safetensors __metadata__ is \(value.kindName), expected an object of strings")
                }
                for (k, v) in pairs {
                    guard let s = v.stringValue else {
                        throw GeoError.format("safetensors __metadata__ value of '\(untrusted: k)' is \(v.kindName), expected a string")
                    }
                    file.metadata[k] = s
                }
                continue
            }
            guard case .object = value else {
                throw GeoError.format("tensor '\(untrusted: name)': header entry is \(value.kindName), expected an object")
            }
            guard let dtypeName = value["dtype"]?.stringValue else {
                throw GeoError.format("tensor '\(untrusted: name)': missing or non-string dtype")
            }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                throw GeoError.format("tensor '\(untrusted: name)': unsupported dtype '\(untrusted: dtypeName)' (expected F32, F64, F16, BF16 or an integer type)")
            }
            guard let shapeValues = value["shape"]?.arrayValue else {
                throw GeoError.format("tensor '\(untrusted: name)': missing shape (an array of sizes)")
            }
            var shape: [Int] = []
            for s in shapeValues {
                guard let n = s.intValue, n >= 0 else {
                    throw GeoError.format("tensor '\(untrusted: name)': shape entries must be non-negative integers")
                }
                shape.append(n)
            }
            guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = offsets[0].intValue, let end = offsets[1].intValue, begin >= 0, end >= begin else {
                throw GeoError.format("tensor '\(untrusted: name)': data_offsets must be [begin, end] with 0 <= begin <= end")
            }
            guard end <= bufferSize else {
                throw GeoError.format("tensor '\(untrusted: name)': data_offsets [\(begin), \(end)] run past the end of the data (\(bufferSize) bytes)")
            }
            let needed = Tensor.elementCount(shape).flatMap { c -> Int? in
                let (b, overflow) = c.multipliedReportingOverflow(by: dtype.size)
                return overflow ? nil : b
            }
            guard needed == end - begin else {
                throw GeoError.format("tensor '\(untrusted: name)': shape \(shapeString(shape)) of \(dtype.rawValue) needs \(needed.map(String.init) ?? "too many") bytes, data_offsets [\(begin), \(end)] hold \(end - begin)")
            }
            ranges.append((begin..<end, name))
            entriesOfTensors.append((name, dtype, shape, begin..<end))
        }
        // Overlaps: sort the non-empty ranges and compare neighbours.
        let sorted = ranges.filter { !$0.range.isEmpty }.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.range.lowerBound < a.range.upperBound {
            throw GeoError.format("tensors '\(untrusted: a.name)' and '\(untrusted: b.name)' overlap: data_offsets [\(a.range.lowerBound), \(a.range.upperBound)] and [\(b.range.lowerBound), \(b.range.upperBound)]")
        }
        // Every element becomes a Double (F16 and 8-bit types grow 4 and 8 times): check the
        // whole before converting any of it.
        let elements = entriesOfTensors.reduce(0) { $0 &+ $1.range.count / $1.dtype.size }
        try MemoryBudget.doubles(elements, for: "the \(entriesOfTensors.count) tensors of the file (\(elements) values as Doubles)")
        for e in entriesOfTensors {
            let values = convert(bytes, from: headerEnd + e.range.lowerBound, count: e.range.count / e.dtype.size, dtype: e.dtype)
            file.names.append(e.name)
            file.tensors[e.name] = Tensor(shape: e.shape, unchecked: values)
            file.dtypes[e.name] = e.dtype
        }
        return file
    }

    /// Little-endian elements of `dtype` starting at byte `start`, as Doubles.
    static func convert(_ bytes: [UInt8], from start: Int, count: Int, dtype: SafeTensorsDType) -> [Double] {
        var out = [Double](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { o in
                func load<T: FixedWidthInteger>(_: T.Type, _ k: Int) -> T {
                    T(littleEndian: raw.loadUnaligned(fromByteOffset: start + k * MemoryLayout<T>.size, as: T.self))
                }
                switch dtype {
                case .f64: for k in 0..<count { o[k] = Double(bitPattern: load(UInt64.self, k)) }
                case .f32: for k in 0..<count { o[k] = Double(Float(bitPattern: load(UInt32.self, k))) }
                case .f16: for k in 0..<count { o[k] = HalfPrecision.halfToDouble(load(UInt16.self, k)) }
                case .bf16: for k in 0..<count { o[k] = HalfPrecision.bfloat16ToDouble(load(UInt16.self, k)) }
                case .i64: for k in 0..<count { o[k] = Double(load(Int64.self, k)) }
                case .i32: for k in 0..<count { o[k] = Double(load(Int32.self, k)) }
                case .i16: for k in 0..<count { o[k] = Double(load(Int16.self, k)) }
                case .i8: for k in 0..<count { o[k] = Double(load(Int8.self, k)) }
                case .u64: for k in 0..<count { o[k] = Double(load(UInt64.self, k)) }
                case .u32: for k in 0..<count { o[k] = Double(load(UInt32.self, k)) }
                case .u16: for k in 0..<count { o[k] = Double(load(UInt16.self, k)) }
                case .u8: for k in 0..<count { o[k] = Double(load(UInt8.self, k)) }
                case .bool: for k in 0..<count { o[k] = load(UInt8.self, k) != 0 ? 1 : 0 }
                }
            }
        }
        return out
    }

    /// Encodes tensors (in the given order, contiguous in the data buffer) and metadata as a
    /// safetensors file, every tensor stored as `dtype` (rounded to nearest even for F32, F16
    /// and BF16). The header is padded with spaces to a multiple of 8 bytes. Only the floating
    /// dtypes can be written; names must be unique and not "__metadata__".
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                              dtype: SafeTensorsDType = .f32) throws -> Data {
        guard [.f64, .f32, .f16, .bf16].contains(dtype) else {
            throw GeoError.invalidArgument("cannot write dtype \(dtype.rawValue); use F64, F32, F16 or BF16")
        }
        var entries: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            entries.append(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        var seen = Set<String>()
        var offset = 0
        for (name, t) in tensors {
            guard name != "__metadata__", seen.insert(name).inserted else {
                throw GeoError.invalidArgument("tensor name '\(untrusted: name)' is reserved or used twice")
            }
            let size = t.count * dtype.size
            entries.append((name, .object([("dtype", .string(dtype.rawValue)),
                                           ("shape", .array(t.shape.map { JSONValue.int($0) })),
                                           ("data_offsets", .array([.int(offset), .int(offset + size)]))])))
            offset += size
        }
        var header = Array(try JSONValue.object(entries).serialized().utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + offset)
        let n = UInt64(header.count)
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> UInt64(8 * k))) }
        out.append(contentsOf: header)
        for (_, t) in tensors {
            for x in t.scalars {
                switch dtype {
                case .f64: appendLittleEndian(x.bitPattern, to: &out)
                case .f16: appendLittleEndian(HalfPrecision.doubleToHalf(x), to: &out)
                case .bf16: appendLittleEndian(HalfPrecision.doubleToBFloat16(x), to: &out)
                default: appendLittleEndian(Float(x).bitPattern, to: &out)
                }
            }
        }
        return Data(out)
    }

    /// Writes `encode(...)` to a file; `GeoError.io` on failure.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             dtype: SafeTensorsDType = .f32, to path: String) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata, dtype: dtype), to: path)
    }
}

@inline(__always) private func appendLittleEndian<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
    var x = v.littleEndian
    withUnsafeBytes(of: &x) { out.append(contentsOf: $0) }
}

/// The bytes of a file, or `GeoError.io` naming it and the operating system's reason.
func readFile(_ path: String) throws -> Data {
    Data(try FileBytes.read(path))
}
