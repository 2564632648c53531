import Foundation
import ONNXProto
import SwiftProtobuf

/// An ONNX model file read from disk: the parsed `ModelProto` (swift-protobuf, from the schema
/// of Debian's libonnx-dev) and access to its tensors as Doubles, with external data
/// (`data_location` EXTERNAL: a file named by `location`, relative to the model's folder, and a
/// byte range `offset`/`length`) read with every range checked. Element types FLOAT, DOUBLE,
/// FLOAT16, BFLOAT16, the integer types and BOOL are widened to Double exactly (INT64 and UINT64
/// beyond 2^53 are rounded, as they only ever hold shapes and indices).
public struct ONNXFile {
    /// The model.
    public let model: Onnx_ModelProto
    /// The path the model was read from ("" for one parsed from bytes).
    public let path: String
    /// The folder external data is resolved against.
    let directory: String

    /// Reads and parses the model file at `path` (`GeoError.io` when it cannot be read,
    /// `GeoError.format` when it is not a valid ONNX protobuf).
    public static func read(path: String) throws -> ONNXFile {
        let bytes = try FileBytes.read(path)
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(Data(bytes), name: path, directory: dir)
    }

    /// Parses model bytes; `directory` resolves external data.
    public static func parse(_ data: Data, name: String = "", directory: String = ".") throws -> ONNXFile {
        let model: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            model = try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw GeoError.format("\(name.isEmpty ? "" : "'\(untrusted: name)': ")not a valid ONNX model (protobuf: \(error))")
        }
        guard model.hasGraph else {
            throw GeoError.format("\(name.isEmpty ? "" : "'\(untrusted: name)': ")the ONNX model has no graph")
        }
        return ONNXFile(model: model, path: name, directory: directory)
    }

    /// The ONNX element types, by their numbers in onnx.proto.
    enum ElementType: Int32 {
        case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8, bool = 9
        case float16 = 10, double = 11, uint32 = 12, uint64 = 13, bfloat16 = 16

        /// Bytes per element in raw_data and external data.
        var size: Int {
            switch self {
            case .uint8, .int8, .bool: return 1
            case .uint16, .int16, .float16, .bfloat16: return 2
            case .float, .int32, .uint32: return 4
            case .double, .int64, .uint64: return 8
            case .string: return 0
            }
        }
        var isFloatingPoint: Bool { [.float, .double, .float16, .bfloat16].contains(self) }
        /// The same element type in safetensors' vocabulary (nil for strings).
        var stored: SafeTensorsDType? {
            switch self {
            case .float: return .f32
            case .double: return .f64
            case .float16: return .f16
            case .bfloat16: return .bf16
            case .int64: return .i64
            case .int32: return .i32
            case .int16: return .i16
            case .int8: return .i8
            case .uint64: return .u64
            case .uint32: return .u32
            case .uint16: return .u16
            case .uint8: return .u8
            case .bool: return .bool
            case .string: return nil
            }
        }
    }

    /// The element type of a tensor (or value info), or a format error naming it.
    static func elementType(_ code: Int32, _ what: @autoclosure () -> String) throws -> ElementType {
        guard let t = ElementType(rawValue: code), t != .string else {
            throw GeoError.format("\(what()) has element type \(code), which georepl does not read (it reads float, double, float16, bfloat16, integer and bool tensors)")
        }
        return t
    }

    /// The values of `t` as a Double tensor, and its element type. `what` names the tensor in
    /// messages ("initializer 'w'").
    func tensor(_ t: Onnx_TensorProto, _ what: String) throws -> (tensor: Tensor, type: ElementType) {
        let type = try ONNXFile.elementType(t.dataType, what)
        var shape: [Int] = []
        for d in t.dims {
            guard d >= 0, let i = Int(exactly: d) else { throw GeoError.format("\(what) has a negative dimension \(d)") }
            shape.append(i)
        }
        let count = try Tensor.checkedCount(shape, what)
        let values: [Double]
        if t.dataLocation == .external {
            values = try ONNXFile.decode(try externalBytes(t, count * type.size, what), type, count)
        } else if t.hasRawData {
            guard t.rawData.count == count * type.size else {
                throw GeoError.format("\(what): raw_data holds \(t.rawData.count) bytes, shape \(shapeString(shape)) of \(type) needs \(count * type.size)")
            }
            values = try ONNXFile.decode([UInt8](t.rawData), type, count)
        } else {
            values = try typedValues(t, type, count, what)
        }
        return (Tensor(shape: shape, unchecked: values), type)
    }

    /// The values of a tensor stored in the typed fields of TensorProto.
    private func typedValues(_ t: Onnx_TensorProto, _ type: ElementType, _ count: Int, _ what: String) throws -> [Double] {
        let values: [Double]
        switch type {
        case .float: values = t.floatData.map(Double.init)
        case .double: values = t.doubleData
        case .int64: values = t.int64Data.map { Double($0) }
        case .uint32, .uint64: values = t.uint64Data.map { Double($0) }
        case .int32, .int16, .int8, .uint16, .uint8, .bool: values = t.int32Data.map { Double($0) }
        case .float16: values = t.int32Data.map { HalfPrecision.halfToDouble(UInt16(truncatingIfNeeded: $0)) }
        case .bfloat16: values = t.int32Data.map { HalfPrecision.bfloat16ToDouble(UInt16(truncatingIfNeeded: $0)) }
        case .string: values = []
        }
        guard values.count == count else {
            throw GeoError.format("\(what) holds \(values.count) values, its shape needs \(count)")
        }
        return values
    }

    /// The bytes of an external tensor: `location` inside the model's folder, `offset` and
    /// `length` (default: from offset to the end) within the file and equal to what the shape
    /// needs.
    private func externalBytes(_ t: Onnx_TensorProto, _ needed: Int, _ what: String) throws -> [UInt8] {
        var location: String?, offset = 0, length: Int?
        for e in t.externalData {
            switch e.key {
            case "location": location = e.value
            case "offset":
                guard let o = Int(e.value), o >= 0 else { throw GeoError.format("\(what): external data offset '\(untrusted: e.value)' is not a byte offset") }
                offset = o
            case "length":
                guard let l = Int(e.value), l >= 0 else { throw GeoError.format("\(what): external data length '\(untrusted: e.value)' is not a byte count") }
                length = l
            default: break   // checksum and others are not needed to read the data
            }
        }
        guard let loc = location, !loc.isEmpty else { throw GeoError.format("\(what) is stored externally but names no location") }
        guard !loc.hasPrefix("/"), !loc.split(separator: "/").contains("..") else {
            throw GeoError.format("\(what): external data location '\(untrusted: loc)' must be a path inside the model's folder")
        }
        let file = directory + "/" + loc
        let size = try FileBytes.size(file)
        let count = length ?? max(0, size - offset)
        guard offset <= size, count <= size - offset else {
            throw GeoError.format("\(what): external data range [\(offset), \(offset &+ count)) runs past the end of '\(untrusted: loc)' (\(size) bytes)")
        }
        guard count == needed else {
            throw GeoError.format("\(what): external data holds \(count) bytes, its shape needs \(needed)")
        }
        return try FileBytes.read(file, offset: offset, count: count)
    }

    /// Little-endian elements of `type` as Doubles (the safetensors reader's decoder).
    static func decode(_ bytes: [UInt8], _ type: ElementType, _ count: Int) throws -> [Double] {
        guard bytes.count == count * type.size, let dtype = type.stored else {
            throw GeoError.format("tensor data holds \(bytes.count) bytes, expected \(count * type.size)")
        }
        return SafeTensors.convert(bytes, from: 0, count: count, dtype: dtype)
    }
}
