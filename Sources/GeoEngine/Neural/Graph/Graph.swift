/// A network as a directed acyclic graph of `Op`s over values (tensors of fixed per-point
/// shapes), and a `Generator` from its input value (the latent point) to its output value (the
/// decoded data): the one evaluator of georepl's networks, for the chains of SPEC's model files
/// (`NeuralNetwork`) and for ONNX graphs alike.
///
/// Nodes are kept in topological order; a pass runs them in that order on states (see `Op`),
/// one per value, freeing each value after its last reader unless the pass saves it for a
/// reverse sweep. Points travel together: a batch of n points with their k tangent rows each is
/// one state per value, so every affine op does one GEMM for all of them. Big batches are cut
/// into groups of points, and when one point with all its tangents does not fit the memory
/// budget, into slices of tangents (`MemoryBudget`).
///
/// Modes: `forward`, `jvp` (k tangents per point), `vjp` (k cotangents per point),
/// `secondOrder` (k pairs (u, v) per point) and `hvp`, the Hessian of a contracted output
/// Hess<c, g>(z) u (forward over reverse: the tangents of the reverse sweep's cotangents).
open class Graph: Generator {
    /// One node: an op reading values `inputs` and writing values `outputs` (value ids).
    public struct Node {
        /// The node's name (ONNX node name, or "layer i" in a chain), for messages.
        public let name: String
        public let op: Op
        public let inputs: [Int]
        public let outputs: [Int]
        public init(name: String, op: Op, inputs: [Int], outputs: [Int]) {
            self.name = name; self.op = op; self.inputs = inputs; self.outputs = outputs
        }
    }

    /// The nodes in topological order.
    public let nodes: [Node]
    /// The per-point shape of every value.
    public let valueShapes: [[Int]]
    /// Whether each value carries derivatives (false for comparison results and what is
    /// computed from them alone).
    public let differentiable: [Bool]
    /// The value ids of the graph's input (the latent point) and output.
    public let input: Int, output: Int
    /// The shape of one input point ([d] for a decoder, the data shape for an encoder).
    public let inputShape: [Int]
    /// d = product of inputShape.
    public let latentDim: Int
    /// The shape of one output point.
    public let dataShape: [Int]
    /// For each value, the index of the last node that reads it (nodes.count for the output).
    let lastUse: [Int]
    /// Doubles per state row at the busiest moment of a pass: the live values, the running
    /// node's outputs and its scratch.
    let peakDoublesPerRow: Int
    /// Doubles per state row of all values together (what a pass saved for reverse mode holds).
    let allDoublesPerRow: Int

    /// Builds and checks a graph: `nodes` must be in topological order (every input produced
    /// before it is read, every value produced once), each op's input shapes must match its
    /// inputs' shapes, and the output must depend on the input through derivatives.
    /// `outputShape` relabels the output's shape (same number of features).
    public init(inputShape: [Int], valueShapes: [[Int]], nodes: [Node], input: Int, output: Int,
                outputShape: [Int]? = nil) throws {
        MemoryTuning.configure()
        try Graph.checkShape(inputShape, "input shape")
        let count = valueShapes.count
        guard (0..<count).contains(input), (0..<count).contains(output) else {
            throw GeoError.format("the graph's input or output is not one of its \(count) values")
        }
        guard valueShapes[input] == inputShape else {
            throw GeoError.format("the input value has shape \(shapeString(valueShapes[input])), expected \(shapeString(inputShape))")
        }
        var produced = [Bool](repeating: false, count: count), diff = [Bool](repeating: false, count: count)
        var last = [Int](repeating: -1, count: count)
        produced[input] = true; diff[input] = true
        for (i, node) in nodes.enumerated() {
            let op = node.op
            guard node.inputs.count == op.inputShapes.count, node.outputs.count == op.outputShapes.count else {
                throw GeoError.format("node '\(untrusted: node.name)' (\(op.op)): \(node.inputs.count) inputs and \(node.outputs.count) outputs for an op of \(op.inputShapes.count) and \(op.outputShapes.count)")
            }
            for (j, v) in node.inputs.enumerated() {
                guard (0..<count).contains(v), produced[v] else {
                    throw GeoError.format("node '\(untrusted: node.name)' (\(op.op)) reads a value that no earlier node produces (the graph is not in topological order or has a cycle)")
                }
                guard valueShapes[v] == op.inputShapes[j] else {
                    throw GeoError.format("node '\(untrusted: node.name)' (\(op.op)): input \(j + 1) has shape \(shapeString(valueShapes[v])), the op expects \(shapeString(op.inputShapes[j]))")
                }
                last[v] = i
            }
            let anyDiff = node.inputs.contains { diff[$0] }
            for (j, v) in node.outputs.enumerated() {
                guard (0..<count).contains(v), !produced[v] else {
                    throw GeoError.format("node '\(untrusted: node.name)' (\(op.op)) writes a value that is already produced")
                }
                guard valueShapes[v] == op.outputShapes[j] else {
                    throw GeoError.format("node '\(untrusted: node.name)' (\(op.op)): output \(j + 1) has shape \(shapeString(op.outputShapes[j])), the graph says \(shapeString(valueShapes[v]))")
                }
                produced[v] = true
                diff[v] = anyDiff && (j < op.differentiableOutputs.count ? op.differentiableOutputs[j] : true)
            }
        }
        guard produced[output] else { throw GeoError.format("no node produces the graph's output") }
        guard diff[output] else {
            throw GeoError.format("the graph's output does not depend on its input through differentiable ops")
        }
        last[output] = nodes.count
        for (v, shape) in valueShapes.enumerated() where produced[v] {
            guard let n = Tensor.elementCount(shape), n <= maxFeaturesPerPoint else {
                throw GeoError.format("value \(v) has shape \(shapeString(shape)), more than \(maxFeaturesPerPoint) features")
            }
        }
        self.nodes = nodes
        self.valueShapes = valueShapes
        differentiable = diff
        self.input = input; self.output = output
        self.inputShape = inputShape
        latentDim = inputShape.reduce(1, *)
        dataShape = try Graph.relabel(valueShapes[output], outputShape)
        lastUse = last
        (peakDoublesPerRow, allDoublesPerRow) = Graph.memoryProfile(nodes, valueShapes, last, input)
        try checkSinglePointFits()
    }

    static func checkShape(_ shape: [Int], _ what: String) throws {
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), let n = Tensor.elementCount(shape), n <= maxFeaturesPerPoint else {
            throw GeoError.format("\(what) \(shapeString(shape)) must be a non-empty list of positive sizes, at most \(maxFeaturesPerPoint) features")
        }
    }

    static func relabel(_ last: [Int], _ requested: [Int]?) throws -> [Int] {
        guard let req = requested else { return last }
        try checkShape(req, "output shape")
        let have = last.reduce(1, *)
        guard Tensor.elementCount(req) == have else {
            throw GeoError.format("the last layer has \(have) outputs (shape \(shapeString(last))), output shape \(shapeString(req)) has \(req.reduce(1, *))")
        }
        return req
    }

    /// (peak, all): the most doubles per row alive at once during a pass that frees values after
    /// their last use, with the running node's outputs and scratch; and all values together.
    static func memoryProfile(_ nodes: [Node], _ shapes: [[Int]], _ last: [Int], _ input: Int) -> (Int, Int) {
        let features = shapes.map { Tensor.elementCount($0) ?? Int.max }
        var live = features[input], peak = live, all = live
        for (i, node) in nodes.enumerated() {
            let out = node.outputs.reduce(0) { $0 &+ features[$1] }
            peak = max(peak, live &+ out &+ node.op.scratchPerRow)
            live = live &+ out
            all = all &+ out
            for v in Set(node.inputs) where last[v] == i { live -= features[v] }
        }
        return (peak, all)
    }

    // MARK: Generator

    public func forward(_ z: Matrix) throws -> Matrix {
        _ = try checkBatch(z)
        let plan = try memoryPlan(points: z.rows, tangents: 0, rowsPerTangent: 0, outputRowsPerPoint: 1, what: "decoding")
        return try grouped(z, [], rowsPerPoint: 1, maxPoints: plan.pointsPerGroup) { zg, _ in
            [try run(zg, ForwardModeLayout(points: zg.rows, order: .value)).output]
        }[0]
    }

    public func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        let k = try checkBatch(z, tangents: tangents)
        let plan = try memoryPlan(points: z.rows, tangents: k, rowsPerTangent: 1, outputRowsPerPoint: 1 + k, what: "a JVP")
        let out = try sliced(z, [tangents], k: k, plan: plan, valueOutputs: 1) { zg, t in
            let kg = t[0].rows / max(1, zg.rows)
            let state = try run(try stackRows([zg, t[0]], cols: latentDim),
                                ForwardModeLayout(points: zg.rows, tangentsPerPoint: kg, order: .first)).output
            return splitRows(state, [zg.rows, t[0].rows])
        }
        return (out[0], out[1])
    }

    public func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        let k = try checkBatch(z, tangents: cotangents, tangentCols: dataDim)
        let plan = try memoryPlan(points: z.rows, tangents: k, rowsPerTangent: 1, outputRowsPerPoint: 1 + k,
                                  savedPerPoint: allDoublesPerRow, what: "a VJP")
        let out = try sliced(z, [cotangents], k: k, plan: plan, valueOutputs: 1) { zg, c in
            let kg = c[0].rows / max(1, zg.rows)
            let r = try reverse(zg, tangents: nil, layout: ReverseLayout(points: zg.rows, cotangentsPerPoint: kg)) { _, _ in c[0] }
            return [r.value, r.cotangents]
        }
        return (out[0], out[1])
    }

    public func secondOrder(_ z: Matrix, u: Matrix, v: Matrix) throws -> SecondOrderResult {
        let k = try checkBatch(z, tangents: u)
        _ = try checkBatch(z, tangents: v)
        guard u.rows == v.rows else {
            throw GeoError.dimensionMismatch("u has \(u.rows) rows, v has \(v.rows)")
        }
        let plan = try memoryPlan(points: z.rows, tangents: k, rowsPerTangent: 3, outputRowsPerPoint: 1 + 3 * k,
                                  what: "a second-order pass")
        let out = try sliced(z, [u, v], k: k, plan: plan, valueOutputs: 1) { zg, uv in
            let kg = uv[0].rows / max(1, zg.rows)
            let w = Matrix(rows: uv[0].rows, cols: latentDim)
            let state = try run(try stackRows([zg, uv[0], uv[1], w], cols: latentDim),
                                ForwardModeLayout(points: zg.rows, tangentsPerPoint: kg, order: .second)).output
            return splitRows(state, [zg.rows, w.rows, w.rows, w.rows])
        }
        return SecondOrderResult(value: out[0], ju: out[1], jv: out[2], d2: out[3])
    }

    /// Forward over reverse (see `Generator.hessianVectorProducts`): one forward pass with the
    /// k tangents per point, saving every value and its tangents; the cotangents from the
    /// output's values; one reverse pass that carries the tangents of its cotangents. Tangents
    /// are sliced to fit the memory budget; the cotangents go with every slice.
    public func hessianVectorProducts(_ z: Matrix, tangents: Matrix, cotangents: (Matrix, Matrix?) throws -> Matrix) throws
        -> HessianVectorProducts {
        let k = try checkBatch(z, tangents: tangents)
        let n = z.rows, dd = dataDim
        // The cotangents depend on the values of every point: one value pass first when the
        // points are processed in groups (otherwise the pass below gives them).
        let plan = try memoryPlan(points: n, tangents: k, rowsPerTangent: 2, outputRowsPerPoint: 3 + 2 * k,
                                  savedPerPoint: allDoublesPerRow, savedPerTangent: allDoublesPerRow,
                                  what: "a Hessian-vector product")
        var c: Matrix?
        if plan.tangentsPerSlice < k || plan.pointsPerGroup < n || pointsPerGroup(rowsPerPoint: 1 + k) < n {
            let v = try forward(z)
            c = try cotangents(v, nil)
            try checkCotangents(c, n)
        }
        var given = c
        let out = try sliced(z, [tangents], k: k, plan: plan, valueOutputs: 2, alongside: given.map { [$0] } ?? []) { zg, parts in
            let t = parts[0]
            let kg = t.rows / max(1, zg.rows)
            let layout = ReverseLayout(points: zg.rows, cotangentsPerPoint: 1, tangentsPerPoint: kg)
            var cg: Matrix?
            let r = try reverse(zg, tangents: t, layout: layout) { value, jvp in
                let cc = try parts.count > 1 ? parts[1] : cotangents(value, jvp)
                try checkCotangents(cc, zg.rows)
                cg = cc
                return try stackRows([cc, Matrix(rows: t.rows, cols: dd)], cols: dd)
            }
            if given == nil { given = cg }
            let split = splitRows(r.cotangents, [zg.rows, t.rows])
            return [r.value, split[0], r.tangents, split[1]]
        }
        return HessianVectorProducts(value: out[0], jvp: out[2], gradient: out[1], hvp: out[3])
    }

    private func checkCotangents(_ c: Matrix?, _ n: Int) throws {
        guard let c = c, c.rows == n, c.cols == dataDim else {
            throw GeoError.dimensionMismatch("cotangents must be \(n)x\(dataDim)")
        }
    }

    // MARK: Passes

    /// Pushes a forward-mode state of the input through every node; returns the output's state
    /// and, with `save`, every value's state (for a reverse sweep). Checks `Cancellation`
    /// before each node, so that Ctrl-C stops even one long batched call after at most one op.
    func run(_ inputState: Matrix, _ layout: ForwardModeLayout, save: Bool = false) throws
        -> (output: Matrix, states: [Matrix?]) {
        var states = [Matrix?](repeating: nil, count: valueShapes.count)
        states[input] = inputState
        for (i, node) in nodes.enumerated() {
            try Cancellation.check()
            var inputs: [Matrix] = []
            inputs.reserveCapacity(node.inputs.count)
            for v in node.inputs {
                guard let s = states[v] else { throw GeoError.dimensionMismatch("node '\(untrusted: node.name)': a value was freed early") }
                inputs.append(s)
            }
            // The last reader gets the storage: an op that works in place then copies nothing.
            if !save { for v in node.inputs where lastUse[v] == i { states[v] = nil } }
            let outs = try node.op.forward(&inputs, layout)
            guard outs.count == node.outputs.count else {
                throw GeoError.dimensionMismatch("node '\(untrusted: node.name)' (\(node.op.op)) returned \(outs.count) outputs, expected \(node.outputs.count)")
            }
            for (j, v) in node.outputs.enumerated() {
                let rows = differentiable[v] ? layout.rows : layout.points
                guard outs[j].rows == rows, outs[j].cols == (Tensor.elementCount(valueShapes[v]) ?? -1) else {
                    throw GeoError.dimensionMismatch("node '\(untrusted: node.name)' (\(node.op.op)) returned a \(outs[j].rows)x\(outs[j].cols) state for output \(j + 1), expected \(rows)x\(valueShapes[v].reduce(1, *))")
                }
                states[v] = outs[j]
            }
        }
        guard let out = states[output] else { throw GeoError.dimensionMismatch("the graph produced no output") }
        return (out, save ? states : [])
    }

    /// A forward pass that saves every value (with `tangents` when given), then a reverse sweep
    /// from the output's cotangent state (layout `layout`), which `cotangents` makes from the
    /// output's values; returns the output's values and tangents and the input's cotangent state.
    func reverse(_ z: Matrix, tangents: Matrix?, layout: ReverseLayout, cotangents: (Matrix, Matrix?) throws -> Matrix) throws
        -> (value: Matrix, tangents: Matrix, cotangents: Matrix) {
        let n = z.rows
        let saved = layout.saved
        let start = try tangents.map { try stackRows([z, $0], cols: latentDim) } ?? z
        let states = try run(start, saved, save: true).states
        guard let outState = states[output] else { throw GeoError.dimensionMismatch("the graph produced no output") }
        let parts = saved.order == .value ? [outState, Matrix(rows: 0, cols: outState.cols)] : splitRows(outState, [n, outState.rows - n])
        let value = parts[0]
        var ct = [Matrix?](repeating: nil, count: valueShapes.count)
        ct[output] = try cotangents(value, saved.order == .value ? nil : parts[1])
        for i in stride(from: nodes.count - 1, through: 0, by: -1) {
            try Cancellation.check()
            let node = nodes[i]
            guard node.outputs.contains(where: { ct[$0] != nil }) else { continue }
            let outCts = node.outputs.map { v -> Matrix in
                if let c = ct[v] { return c }
                return differentiable[v] ? Matrix(rows: layout.rows, cols: valueShapes[v].reduce(1, *)) : Matrix(rows: 0, cols: 0)
            }
            for v in node.outputs { ct[v] = nil }
            let ins = try node.inputs.map { v -> Matrix in
                guard let s = states[v] else { throw GeoError.dimensionMismatch("node '\(untrusted: node.name)': a saved value is missing") }
                return s
            }
            let outs = try node.outputs.map { v -> Matrix in
                guard let s = states[v] else { throw GeoError.dimensionMismatch("node '\(untrusted: node.name)': a saved value is missing") }
                return s
            }
            let inCts = try node.op.backward(inputs: ins, outputs: outs, cotangents: outCts, layout)
            guard inCts.count == node.inputs.count else {
                throw GeoError.dimensionMismatch("node '\(untrusted: node.name)' (\(node.op.op)) returned \(inCts.count) input cotangents, expected \(node.inputs.count)")
            }
            for (j, v) in node.inputs.enumerated() where differentiable[v] {
                let c = inCts[j]
                guard c.rows == layout.rows, c.cols == valueShapes[v].reduce(1, *) else {
                    throw GeoError.dimensionMismatch("node '\(untrusted: node.name)' (\(node.op.op)) returned a \(c.rows)x\(c.cols) cotangent for input \(j + 1)")
                }
                if var acc = ct[v] {
                    ct[v] = nil
                    acc.scalars.withUnsafeMutableBufferPointer { pa in
                        c.scalars.withUnsafeBufferPointer { pc in
                            for q in 0..<pa.count { pa[q] += pc[q] }
                        }
                    }
                    ct[v] = acc
                } else {
                    ct[v] = c
                }
            }
        }
        return (value, parts[1], ct[input] ?? Matrix(rows: layout.rows, cols: latentDim))
    }

    // MARK: Groups of points

    /// The most doubles a group's widest state may hold (16 MB): big batches of points are
    /// processed in groups so that intermediate arrays stay cache- and allocator-friendly
    /// (below glibc's 32 MB mmap limit, see `MemoryTuning`).
    static let groupBudget = 1 << 21

    /// Points per group for a pass that carries `rowsPerPoint` rows per point.
    func pointsPerGroup(rowsPerPoint: Int) -> Int {
        let widest = valueShapes.reduce(latentDim) { max($0, Tensor.elementCount($1) ?? 0) }
        return max(1, Graph.groupBudget / max(1, rowsPerPoint * widest))
    }

    /// Runs `pass` on groups of consecutive points (at most `maxPoints` each) and concatenates its
    /// outputs. `pass` gets the group's points and its rows of each matrix in `perPoint` (rows
    /// divided evenly among the points) and returns matrices whose row counts are multiples of
    /// the group's point count; the result holds the outputs for all points in order. One
    /// group: `pass` runs on the inputs as given.
    func grouped(_ z: Matrix, _ perPoint: [Matrix], rowsPerPoint: Int, maxPoints: Int = Int.max,
                 _ pass: (Matrix, [Matrix]) throws -> [Matrix]) throws -> [Matrix] {
        let n = z.rows, group = max(1, min(maxPoints, pointsPerGroup(rowsPerPoint: rowsPerPoint)))
        if n <= group { return try pass(z, perPoint) }
        var outputs: [[Double]] = [], outputCols: [Int] = [], outputRowsPerPoint: [Int] = []
        var p0 = 0
        while p0 < n {
            let p1 = min(n, p0 + group)
            let zg = rowBlock(z, p0, p1, perPoint: 1)
            let parts = perPoint.map { m in rowBlock(m, p0, p1, perPoint: m.rows / n) }
            let out = try pass(zg, parts)
            if outputs.isEmpty {
                outputCols = out.map { $0.cols }
                outputRowsPerPoint = out.map { $0.rows / max(1, p1 - p0) }
                outputs = zip(outputCols, outputRowsPerPoint).map { c, r in
                    var a = [Double](); a.reserveCapacity(n * r * c); return a
                }
            }
            for (i, m) in out.enumerated() where i < outputs.count { outputs[i].append(contentsOf: m.scalars) }
            p0 = p1
        }
        return outputs.indices.map { i in
            Matrix(rows: n * outputRowsPerPoint[i], cols: outputCols[i], unchecked: outputs[i])
        }
    }

    // MARK: Memory

    /// How a batched pass is cut to fit the memory budget: points per group, and tangent rows
    /// per point in one slice (k when the tangents need no slicing).
    struct MemoryPlan {
        let pointsPerGroup: Int
        let tangentsPerSlice: Int
    }

    /// Plans a pass over `points` points with `tangents` tangent rows per point, each pushing
    /// `rowsPerTangent` state rows (1 for a JVP or VJP, 3 for second order), besides one value
    /// row per point, `savedPerPoint` doubles of saved values per point and `savedPerTangent`
    /// per tangent. The output (`outputRowsPerPoint` rows of D per point) must fit as a whole;
    /// the rest is cut into groups of points and, when one point with all its tangents does not
    /// fit, slices of tangents. Throws `GeoError.outOfMemory` when one point with one tangent
    /// does not fit.
    func memoryPlan(points n: Int, tangents k: Int, rowsPerTangent: Int, outputRowsPerPoint: Int,
                    savedPerPoint: Int = 0, savedPerTangent: Int = 0, what: String) throws -> MemoryPlan {
        let d = max(dataDim, 1), perRow = peakDoublesPerRow
        let outputRows = MemoryBudget.product([n, outputRowsPerPoint]) ?? Int.max
        let output = try MemoryBudget.doubles(outputRows, d, for: "the result of \(what) (\(outputRows) rows of \(d) values)")
        let available = max(0, MemoryBudget.bytes / MemoryLayout<Double>.size - output)
        // One point: its value row, its saved values and the derivative scratch of the
        // elementwise ops (two values per feature).
        let fixed = perRow &+ savedPerPoint &+ 2 &* perRow
        let perTangent = rowsPerTangent &* perRow &+ savedPerTangent
        let onePoint = MemoryBudget.product([k, perTangent]).map { fixed &+ $0 } ?? Int.max
        if onePoint <= available {
            return MemoryPlan(pointsPerGroup: max(1, available / max(1, onePoint)), tangentsPerSlice: k)
        }
        let slice = perTangent > 0 ? (available - fixed) / perTangent : 0
        guard slice >= 1 else {
            let need = MemoryBudget.product([output &+ fixed &+ perTangent, MemoryLayout<Double>.size]) ?? Int.max
            throw GeoError.outOfMemory(what: "\(what) (its result, and the work of one point at \(busiestNodeLabel))",
                                       needed: need, budget: MemoryBudget.bytes)
        }
        return MemoryPlan(pointsPerGroup: 1, tangentsPerSlice: min(k, slice))
    }

    /// "node 3 (conv2d)": the node whose inputs, outputs and scratch need the most memory.
    var busiestNodeLabel: String {
        var best = -1, index = -1
        for (i, node) in nodes.enumerated() {
            let need = node.inputs.reduce(0) { $0 &+ (Tensor.elementCount(valueShapes[$1]) ?? 0) }
                &+ node.outputs.reduce(0) { $0 &+ (Tensor.elementCount(valueShapes[$1]) ?? 0) } &+ node.op.scratchPerRow
            if need > best { best = need; index = i }
        }
        return index < 0 ? "the input" : nodeLabel(index)
    }

    /// How messages name node i: "layer i (op)" in a chain, "node 'name' (op)" in a graph.
    open func nodeLabel(_ i: Int) -> String { "node '\(untrusted: nodes[i].name)' (\(nodes[i].op.op))" }

    /// Throws `GeoError.outOfMemory` naming the node when decoding a single point would not fit
    /// the budget: such a model is rejected when it is built, not when it is first used.
    func checkSinglePointFits() throws {
        let features = valueShapes.map { Tensor.elementCount($0) ?? Int.max }
        for (i, node) in nodes.enumerated() {
            let need = node.inputs.reduce(0) { $0 &+ features[$1] } &+ 3 &* node.outputs.reduce(0) { $0 &+ features[$1] }
                &+ node.op.scratchPerRow
            try MemoryBudget.doubles(need, for: "\(nodeLabel(i)) decoding one point")
        }
    }

    /// Runs `pass` as `grouped` does when `plan` keeps all tangents of a point together;
    /// otherwise point by point and slice by slice of the k tangent rows of each matrix in
    /// `perPoint`, with the rows of each matrix in `alongside` (a fixed number per point) given
    /// whole to every slice. `pass` gets the points and the matrices of `perPoint` then
    /// `alongside`, and returns `valueOutputs` matrices of a fixed number of rows per point
    /// followed by matrices of one row per tangent row; the slices' rows are put back in order.
    func sliced(_ z: Matrix, _ perPoint: [Matrix], k: Int, plan: MemoryPlan, valueOutputs: Int,
                alongside: [Matrix] = [], _ pass: (Matrix, [Matrix]) throws -> [Matrix]) throws -> [Matrix] {
        let rowsPerPoint = 1 + perPoint.count * k
        if plan.tangentsPerSlice >= k {
            return try grouped(z, perPoint + alongside, rowsPerPoint: rowsPerPoint, maxPoints: plan.pointsPerGroup, pass)
        }
        let n = z.rows, s = max(1, plan.tangentsPerSlice)
        var outputs: [[Double]] = [], cols: [Int] = []
        for p in 0..<n {
            let zp = rowBlock(z, p, p + 1, perPoint: 1)
            let fixed = alongside.map { m in rowBlock(m, p, p + 1, perPoint: m.rows / max(1, n)) }
            var t0 = 0
            while t0 < k {
                try Cancellation.check()
                let t1 = min(k, t0 + s)
                let parts = perPoint.map { m in
                    Matrix(rows: t1 - t0, cols: m.cols, unchecked: Array(m.scalars[((p * k + t0) * m.cols)..<((p * k + t1) * m.cols)]))
                }
                let out = try pass(zp, parts + fixed)
                if outputs.isEmpty {
                    cols = out.map { $0.cols }
                    outputs = cols.map { _ in [] }
                }
                for (i, m) in out.enumerated() where i < outputs.count && (i >= valueOutputs || t0 == 0) {
                    outputs[i].append(contentsOf: m.scalars)
                }
                t0 = t1
            }
        }
        return outputs.indices.map { i in
            Matrix(rows: outputs[i].count / max(1, cols[i]), cols: cols[i], unchecked: outputs[i])
        }
    }
}

/// Rows p0*perPoint ..< p1*perPoint of m.
func rowBlock(_ m: Matrix, _ p0: Int, _ p1: Int, perPoint: Int) -> Matrix {
    let s = p0 * perPoint * m.cols, e = p1 * perPoint * m.cols
    return Matrix(rows: (p1 - p0) * perPoint, cols: m.cols, unchecked: Array(m.scalars[s..<e]))
}
