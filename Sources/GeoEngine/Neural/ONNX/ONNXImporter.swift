import Foundation
import ONNXProto

/// Turns an ONNX graph into a georepl `Graph` whose input is the latent point (or, for an
/// encoder, the data) and whose output is the graph's output, with every op exact in every
/// mode.
///
/// 1. The nodes the output needs are taken in topological order (a cycle is an error).
/// 2. Initializers and Constant nodes are constants. A node whose inputs are all constants is
///    evaluated at load (constant folding: the shape arithmetic torch writes, Shape, Gather,
///    Slice, Concat, Unsqueeze, Cast, Range, ConstantOfShape, Expand, ... on constants), so the
///    graph that remains is numeric.
/// 3. Every other node is built by its op's builder (`ONNXOps`), which checks its attributes
///    and its inputs' shapes and emits one or a few ops; an op, attribute value or input that
///    georepl does not support is an error naming the node, the op and what is supported.
///
/// Shapes: a value's per-point shape is its ONNX shape (a decoder's batch dimension, 1, stays a
/// dimension of size 1), so axis attributes mean what they say. The graph input may have a
/// symbolic first dimension (the batch), read as 1. The data shape is the output's shape without
/// a leading 1.
final class ONNXImporter {
    /// Where a name's value comes from.
    enum Source {
        /// A constant: an initializer, a Constant node, or folded.
        case constant(Tensor, ONNXFile.ElementType)
        /// A value of the graph (id).
        case value(Int)
    }

    let file: ONNXFile
    /// The opset version of the default domain.
    let opset: Int
    var sources: [String: Source] = [:]
    /// Per-point shapes of the graph values, and which carry derivatives.
    var shapes: [[Int]] = []
    var differentiable: [Bool] = []
    /// Graph values that hold constants and have no producing node yet.
    var pendingConstants: [Int: Tensor] = [:]
    var nodes: [Graph.Node] = []
    /// Ops evaluated at load (for reports and tests).
    private(set) var foldedNodes = 0

    /// The oldest opset georepl reads. SPEC promises 13 and up (what torch.onnx.export writes);
    /// older models, ONNX's own test cases among them, load where their ops mean the same (the
    /// builders read the attributes that later became inputs).
    static let minimumOpset = 1

    init(_ file: ONNXFile) throws {
        self.file = file
        var version: Int?
        for o in file.model.opsetImport where o.domain == "" || o.domain == "ai.onnx" { version = Int(o.version) }
        guard let v = version else { throw GeoError.format("the ONNX model imports no version of the default operator set") }
        guard v >= ONNXImporter.minimumOpset else {
            throw GeoError.format("the ONNX model uses opset \(v); georepl reads opset \(ONNXImporter.minimumOpset) and up")
        }
        opset = v
    }

    // MARK: Values

    func newValue(_ shape: [Int], differentiable diff: Bool) -> Int {
        shapes.append(shape); differentiable.append(diff)
        return shapes.count - 1
    }

    /// A graph value holding constant `t` (its producing ConstantOp is added when a node that
    /// is kept reads it).
    func constantValue(_ t: Tensor) -> Int {
        let id = newValue(t.shape, differentiable: false)
        pendingConstants[id] = t
        return id
    }

    /// The rule for shapes (`Tensor.checkedCount`) on the outputs of `op`, before it is
    /// evaluated or added. With the graph's input and the file's tensors checked as they are
    /// read (`staticShape`, `ONNXFile.tensor`), and the constants a builder computes checked
    /// when they are bound (`ONNXNode.setOutput`), every shape a builder reads passes the rule:
    /// its products and per-axis tables cannot overflow.
    static func checkOutputs(_ op: Op) throws {
        for (j, shape) in op.outputShapes.enumerated() { try Tensor.checkedCount(shape, "output \(j + 1)") }
    }

    /// Adds `op` reading values `inputs`; returns its output values. When every input is a
    /// constant the op is evaluated now and its outputs are constants (no node is added).
    func emit(_ op: Op, _ inputs: [Int], name: String) throws -> [Int] {
        guard inputs.count == op.inputShapes.count else {
            throw GeoError.format("node '\(untrusted: name)' (\(op.op)): internal: \(inputs.count) inputs for an op of \(op.inputShapes.count)")
        }
        try ONNXImporter.checkOutputs(op)
        for (j, v) in inputs.enumerated() where shapes[v] != op.inputShapes[j] {
            throw GeoError.format("node '\(untrusted: name)' (\(op.op)): input \(j + 1) has shape \(shapeString(shapes[v])), the op expects \(shapeString(op.inputShapes[j]))")
        }
        if inputs.allSatisfy({ pendingConstants[$0] != nil }) {
            var states = inputs.map { v -> Matrix in
                let t = pendingConstants[v] ?? Tensor(shape: [0], unchecked: [])
                return Matrix(rows: 1, cols: t.count, unchecked: t.scalars)
            }
            let outs = try op.forward(&states, ForwardModeLayout(points: 1, order: .value))
            foldedNodes += 1
            return zip(outs, op.outputShapes).map { m, shape in constantValue(Tensor(shape: shape, unchecked: m.scalars)) }
        }
        for v in inputs {
            if let t = pendingConstants.removeValue(forKey: v) {
                nodes.append(Graph.Node(name: "constant", op: ConstantOp(t), inputs: [], outputs: [v]))
            }
        }
        let anyDiff = inputs.contains { differentiable[$0] }
        let outs = op.outputShapes.enumerated().map { j, shape in
            newValue(shape, differentiable: anyDiff && (j < op.differentiableOutputs.count ? op.differentiableOutputs[j] : true))
        }
        nodes.append(Graph.Node(name: name, op: op, inputs: inputs, outputs: outs))
        return outs
    }

    /// The value id of a source, making a constant a value.
    func value(of source: Source) -> Int {
        switch source {
        case .value(let v): return v
        case .constant(let t, _): return constantValue(t)
        }
    }

    // MARK: Building

    /// The graph for `inputName` (the latent point, or the data for an encoder; nil: the one
    /// graph input that is not an initializer) and `outputName` (nil: the only output).
    /// `constants` binds other graph inputs to values (for ONNX's own test cases).
    func build(inputName: String? = nil, outputName: String? = nil, constants: [String: Tensor] = [:]) throws -> Graph {
        try build(inputNames: inputName.map { [$0] }, outputName: outputName, constants: constants)
    }

    /// The element types of constants bound to graph inputs (default float).
    var constantTypes: [String: ONNXFile.ElementType] = [:]

    /// `build` with several graph inputs that vary together: the graph's input is their
    /// concatenation (flattened, in the given order), each cut out of it by a `SelectRange`.
    func build(inputNames: [String]?, outputName: String? = nil, constants: [String: Tensor] = [:]) throws -> Graph {
        let graph = file.model.graph
        for t in graph.initializer {
            let (tensor, type) = try file.tensor(t, "initializer '\(untrusted: t.name)'")
            sources[t.name] = .constant(tensor, type)
        }
        for (name, t) in constants { sources[name] = .constant(t, constantTypes[name] ?? .float) }
        let free = graph.input.filter { sources[$0.name] == nil }
        var inputs: [Onnx_ValueInfoProto] = []
        if let wanted = inputNames {
            for w in wanted {
                guard let i = free.first(where: { $0.name == w }) else {
                    throw GeoError.format("the ONNX graph has no input '\(untrusted: w)' (its inputs: \(UntrustedText.names(free.map(\.name))))")
                }
                inputs.append(i)
            }
        } else {
            guard free.count == 1, let i = free.first else {
                throw GeoError.format("the ONNX graph has \(free.count) inputs that are not initializers (\(UntrustedText.names(free.map(\.name)))); a decoder takes one, the latent point")
            }
            inputs = [i]
        }
        for other in free where !inputs.contains(where: { $0.name == other.name }) {
            throw GeoError.format("the ONNX graph's input '\(untrusted: other.name)' has no value (only one input, the latent point, may vary)")
        }
        var inputShapes: [[Int]] = []
        for input in inputs {
            inputShapes.append(try ONNXImporter.staticShape(input, batchDimension: true))
            let type = try ONNXFile.elementType(input.type.tensorType.elemType, "graph input '\(untrusted: input.name)'")
            guard type.isFloatingPoint else {
                throw GeoError.format("graph input '\(untrusted: input.name)' has an integer type; the latent point must be floating-point")
            }
        }
        let inputShape: [Int], inputValue: Int
        if inputs.count == 1 {
            inputShape = inputShapes[0]
            inputValue = newValue(inputShape, differentiable: true)
            sources[inputs[0].name] = .value(inputValue)
        } else {
            inputShape = [inputShapes.reduce(0) { $0 + $1.reduce(1, *) }]
            inputValue = newValue(inputShape, differentiable: true)
            var offset = 0
            for (input, shape) in zip(inputs, inputShapes) {
                let v = try emit(try SelectRange(inputShape: inputShape, offset: offset, shape: shape), [inputValue], name: input.name)
                sources[input.name] = .value(v[0])
                offset += shape.reduce(1, *)
            }
        }

        let outputInfo: Onnx_ValueInfoProto
        if let wanted = outputName {
            guard let o = graph.output.first(where: { $0.name == wanted }) else {
                throw GeoError.format("the ONNX graph has no output '\(untrusted: wanted)' (its outputs: \(UntrustedText.names(graph.output.map(\.name))))")
            }
            outputInfo = o
        } else {
            guard graph.output.count == 1, let o = graph.output.first else {
                throw GeoError.format("the ONNX graph has \(graph.output.count) outputs (\(UntrustedText.names(graph.output.map(\.name)))); name the one to use")
            }
            outputInfo = o
        }

        for proto in try ONNXImporter.neededNodes(graph, output: outputInfo.name, known: Set(sources.keys)) {
            let node = ONNXNode(proto, importer: self)
            guard proto.domain == "" || proto.domain == "ai.onnx" else {
                throw GeoError.format("node '\(untrusted: node.name)' uses op '\(untrusted: proto.opType)' of domain '\(untrusted: proto.domain)'; georepl supports the default ONNX domain only")
            }
            guard let builder = ONNXOps.builders[proto.opType] else {
                // The list of what is supported is long: the names are cut short to keep the
                // message readable.
                throw GeoError.format("node '\(untrusted: node.name, limit: 48)': op '\(untrusted: proto.opType, limit: 48)' is not supported (supported: \(ONNXOps.supported.joined(separator: ", ")))")
            }
            do {
                try builder(node)
            } catch let e as GeoError {
                let prefix = "node '\(untrusted: node.name)' (\(untrusted: proto.opType))"
                switch e {
                case .format(let m) where m.hasPrefix("node '"): throw e
                case .outOfMemory(let what, let needed, let budget):
                    throw what.hasPrefix("node '") ? e : GeoError.outOfMemory(what: "\(prefix): \(what)", needed: needed, budget: budget)
                default: throw GeoError.format("\(prefix): \(e.description)")
                }
            }
            for name in proto.output where !name.isEmpty && sources[name] == nil {
                throw GeoError.format("node '\(untrusted: node.name)' (\(untrusted: proto.opType)): output '\(untrusted: name)' is not produced (optional outputs are not supported)")
            }
        }
        guard let out = sources[outputInfo.name] else {
            throw GeoError.format("no node produces the graph output '\(untrusted: outputInfo.name)'")
        }
        guard case .value(let outputValue) = out, differentiable[outputValue] else {
            throw GeoError.format("the graph output '\(untrusted: outputInfo.name)' does not depend on the graph's input")
        }
        if let declared = try? ONNXImporter.staticShape(outputInfo, batchDimension: true),
           Tensor.elementCount(declared) != Tensor.elementCount(shapes[outputValue]) {
            throw GeoError.format("the graph output '\(untrusted: outputInfo.name)' is declared \(shapeString(declared)), but the graph computes \(shapeString(shapes[outputValue]))")
        }
        let outShape = shapes[outputValue]
        let dataShape = outShape.count > 1 && outShape[0] == 1 ? Array(outShape.dropFirst()) : outShape
        return try Graph(inputShape: inputShape, valueShapes: shapes, nodes: nodes, input: inputValue, output: outputValue,
                         outputShape: dataShape)
    }

    /// The value of a graph output that does not depend on any graph input (every input bound
    /// in `constants`): the importer folds the whole graph.
    func constantOutput(_ outputName: String, constants: [String: Tensor]) throws -> Tensor {
        let graph = file.model.graph
        for t in graph.initializer {
            let (tensor, type) = try file.tensor(t, "initializer '\(untrusted: t.name)'")
            sources[t.name] = .constant(tensor, type)
        }
        for (name, t) in constants { sources[name] = .constant(t, constantTypes[name] ?? .float) }
        for proto in try ONNXImporter.neededNodes(graph, output: outputName, known: Set(sources.keys)) {
            let node = ONNXNode(proto, importer: self)
            guard let builder = ONNXOps.builders[proto.opType] else {
                throw GeoError.format("node '\(untrusted: node.name)': op '\(untrusted: proto.opType)' is not supported")
            }
            try builder(node)
        }
        switch sources[outputName] {
        case .constant(let t, _)?: return t
        case .value(let v)?:
            if let t = pendingConstants[v] { return t }
            throw GeoError.format("output '\(untrusted: outputName)' is not a constant")
        case nil: throw GeoError.format("no node produces '\(untrusted: outputName)'")
        }
    }

    /// A value info's shape; a symbolic first dimension (the batch) is 1 when `batchDimension`.
    static func staticShape(_ info: Onnx_ValueInfoProto, batchDimension: Bool) throws -> [Int] {
        guard case .tensorType(let t)? = info.type.value, t.hasShape else {
            throw GeoError.format("'\(untrusted: info.name)' has no tensor shape")
        }
        var shape: [Int] = []
        for (k, d) in t.shape.dim.enumerated() {
            if case .dimValue(let v)? = d.value, v > 0, let size = Int(exactly: v) {
                shape.append(size)
            } else if k == 0 && batchDimension && !(d.value.map { if case .dimValue = $0 { return true } else { return false } } ?? false) {
                shape.append(1)
            } else {
                throw GeoError.format("'\(untrusted: info.name)' has dimension \(k + 1) unknown or not positive: georepl needs static shapes (a symbolic batch dimension first is read as 1)")
            }
        }
        try Tensor.checkedCount(shape, "'\(untrusted: info.name)'")
        return shape
    }

    /// The nodes the output depends on, in topological order (Kahn's algorithm); a cycle or a
    /// missing input is an error.
    static func neededNodes(_ graph: Onnx_GraphProto, output: String, known: Set<String>) throws -> [Onnx_NodeProto] {
        var producer: [String: Int] = [:]
        for (i, n) in graph.node.enumerated() {
            for o in n.output where !o.isEmpty {
                guard producer[o] == nil, !known.contains(o) else {
                    throw GeoError.format("value '\(untrusted: o)' is produced twice in the ONNX graph")
                }
                producer[o] = i
            }
        }
        // Backward reachability from the output.
        var needed = Set<Int>(), stack = [output]
        var seen = Set<String>()
        while let name = stack.popLast() {
            guard seen.insert(name).inserted, let p = producer[name] else { continue }
            if needed.insert(p).inserted { stack.append(contentsOf: graph.node[p].input.filter { !$0.isEmpty }) }
        }
        // Kahn's order over the needed nodes.
        var indegree: [Int: Int] = [:], consumers: [Int: [Int]] = [:]
        for i in needed {
            var deps = Set<Int>()
            for name in graph.node[i].input where !name.isEmpty {
                if let p = producer[name] { deps.insert(p) }
                else if !known.contains(name) {
                    throw GeoError.format("node '\(untrusted: graph.node[i].name)' reads '\(untrusted: name)', which is neither an input, an initializer nor a node's output")
                }
            }
            indegree[i] = deps.count
            for d in deps { consumers[d, default: []].append(i) }
        }
        var ready = needed.filter { indegree[$0] == 0 }.sorted(), order: [Int] = []
        while !ready.isEmpty {
            let i = ready.removeFirst()
            order.append(i)
            for c in (consumers[i] ?? []).sorted() {
                indegree[c, default: 0] -= 1
                if indegree[c] == 0 { ready.append(c); ready.sort() }
            }
        }
        guard order.count == needed.count else { throw GeoError.format("the ONNX graph has a cycle") }
        return order.map { graph.node[$0] }
    }
}
