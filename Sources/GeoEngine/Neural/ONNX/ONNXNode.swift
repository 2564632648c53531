import Foundation
import ONNXProto

/// One ONNX node as its op's builder sees it: its inputs (constants or graph values, with their
/// per-point shapes), its attributes (typed, with defaults, every bad value an error that names
/// the attribute), and the means to emit ops and bind its outputs.
struct ONNXNode {
    let proto: Onnx_NodeProto
    let importer: ONNXImporter

    init(_ proto: Onnx_NodeProto, importer: ONNXImporter) { self.proto = proto; self.importer = importer }

    /// The node's name, or its first output's when it has none.
    var name: String { proto.name.isEmpty ? (proto.output.first ?? proto.opType) : proto.name }
    var opType: String { proto.opType }
    /// The opset version of the model.
    var opset: Int { importer.opset }

    // MARK: Inputs

    /// The number of input slots (trailing optional inputs may be absent or named "").
    var inputCount: Int { proto.input.count }
    /// Whether input i is given.
    func has(_ i: Int) -> Bool { i < proto.input.count && !proto.input[i].isEmpty }

    private func source(_ i: Int) throws -> ONNXImporter.Source {
        guard has(i) else { throw error("input \(i + 1) is missing") }
        guard let s = importer.sources[proto.input[i]] else { throw error("input '\(untrusted: proto.input[i])' has no value") }
        return s
    }

    /// Whether input i is a constant (an initializer, a Constant, or folded).
    func isConstant(_ i: Int) -> Bool {
        guard has(i), let s = importer.sources[proto.input[i]] else { return false }
        if case .constant = s { return true }
        if case .value(let v) = s { return importer.pendingConstants[v] != nil }
        return false
    }

    /// Whether input i is a constant of an integer or bool element type.
    func isIntegerConstant(_ i: Int) -> Bool {
        guard has(i), case .constant(_, let type)? = importer.sources[proto.input[i]] else { return false }
        return !type.isFloatingPoint
    }

    /// The constant at input i; an error saying that georepl needs it constant otherwise.
    func constant(_ i: Int, _ what: String) throws -> Tensor {
        switch try source(i) {
        case .constant(let t, _): return t
        case .value(let v):
            if let t = importer.pendingConstants[v] { return t }
            throw error("\(what) (input \(i + 1)) must be a constant, but it is computed from the graph's input")
        }
    }

    /// The constant at input i as integers (shapes, axes, indices).
    func integers(_ i: Int, _ what: String) throws -> [Int] {
        try constant(i, what).scalars.map { x in
            guard let n = Int(exactly: x.rounded()), abs(x - x.rounded()) == 0 else {
                throw error("\(what) (input \(i + 1)) holds \(formatNumber(x)), not an integer")
            }
            return n
        }
    }

    /// The graph value at input i (a constant becomes a value that carries no derivative).
    func value(_ i: Int) throws -> Int { importer.value(of: try source(i)) }

    /// The per-point shape of input i.
    func shape(_ i: Int) throws -> [Int] {
        switch try source(i) {
        case .constant(let t, _): return t.shape
        case .value(let v): return importer.shapes[v]
        }
    }

    /// Whether input i carries derivatives (it depends on the graph's input).
    func isDifferentiable(_ i: Int) -> Bool {
        guard has(i), case .value(let v)? = importer.sources[proto.input[i]] else { return false }
        return importer.differentiable[v]
    }

    // MARK: Outputs

    /// Binds output j to graph value `v`.
    func setOutput(_ j: Int, _ v: Int) throws {
        guard j < proto.output.count else { throw error("has no output \(j + 1)") }
        if !proto.output[j].isEmpty { importer.sources[proto.output[j]] = .value(v) }
    }

    /// Binds output j to a constant; its shape must pass the rule for shapes
    /// (`Tensor.checkedCount`), as every shape the builders read does.
    func setOutput(_ j: Int, constant t: Tensor, type: ONNXFile.ElementType = .float) throws {
        guard j < proto.output.count else { throw error("has no output \(j + 1)") }
        try Tensor.checkedCount(t.shape, copies: 0, "output \(j + 1)")
        if !proto.output[j].isEmpty { importer.sources[proto.output[j]] = .constant(t, type) }
    }

    /// Adds `op` on the given values; returns its outputs.
    func emit(_ op: Op, _ inputs: [Int]) throws -> [Int] { try importer.emit(op, inputs, name: name) }

    /// Adds a one-output op and returns its output.
    func emit1(_ op: Op, _ inputs: [Int]) throws -> Int {
        guard let v = try emit(op, inputs).first else { throw error("internal: the op has no output") }
        return v
    }

    // MARK: Attributes

    private func attribute(_ key: String) -> Onnx_AttributeProto? { proto.attribute.first { $0.name == key } }

    /// Whether the attribute is set.
    func hasAttribute(_ key: String) -> Bool { attribute(key) != nil }

    func int(_ key: String, default value: Int) throws -> Int {
        guard let a = attribute(key) else { return value }
        guard a.type == .int || (a.type == .undefined && a.hasI), let i = Int(exactly: a.i) else {
            throw error("attribute '\(key)' must be an integer")
        }
        return i
    }
    func ints(_ key: String) throws -> [Int]? {
        guard let a = attribute(key) else { return nil }
        guard a.type == .ints || a.type == .undefined else { throw error("attribute '\(key)' must be a list of integers") }
        return try a.ints.map { v in
            guard let i = Int(exactly: v) else { throw error("attribute '\(key)' has an out-of-range entry") }
            return i
        }
    }
    func float(_ key: String, default value: Double) throws -> Double {
        guard let a = attribute(key) else { return value }
        guard a.type == .float || (a.type == .undefined && a.hasF) else { throw error("attribute '\(key)' must be a float") }
        return Double(a.f)
    }
    func floats(_ key: String) throws -> [Double]? {
        guard let a = attribute(key) else { return nil }
        guard a.type == .floats || a.type == .undefined else { throw error("attribute '\(key)' must be a list of floats") }
        return a.floats.map(Double.init)
    }
    func string(_ key: String, default value: String) throws -> String {
        guard let a = attribute(key) else { return value }
        guard a.type == .string || (a.type == .undefined && a.hasS) else { throw error("attribute '\(key)' must be a string") }
        return String(decoding: a.s, as: UTF8.self)
    }
    /// A string attribute that must be one of `choices`.
    func choice(_ key: String, default value: String, _ choices: [String]) throws -> String {
        let s = try string(key, default: value)
        guard choices.contains(s) else {
            throw error("attribute \(key) = '\(untrusted: s)' is not supported (supported: \(choices.joined(separator: ", ")))")
        }
        return s
    }
    func tensor(_ key: String) throws -> Tensor? {
        guard let a = attribute(key) else { return nil }
        guard a.type == .tensor || (a.type == .undefined && a.hasT) else { throw error("attribute '\(key)' must be a tensor") }
        return try importer.file.tensor(a.t, "attribute '\(key)' of node '\(untrusted: name)'").tensor
    }

    /// Requires attribute `key` to be absent or equal to `expected` (a feature georepl lacks).
    func require(_ key: String, equals expected: Int, _ feature: String) throws {
        let v = try int(key, default: expected)
        guard v == expected else { throw error("attribute \(key) = \(v) (\(feature)) is not supported") }
    }

    // MARK: Errors

    /// A format error that names the node and its op.
    func error(_ message: String) -> GeoError {
        .format("node '\(untrusted: name)' (\(untrusted: opType)): \(message)")
    }
}
