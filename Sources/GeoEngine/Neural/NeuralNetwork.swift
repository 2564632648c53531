/// A feed-forward network: a sequence of layers from points of `inputShape` to points of
/// `dataShape`, and a `Generator` (latentDim = product of inputShape) with exact forward-mode
/// (first and second order) and reverse-mode derivatives. Build it from layer descriptions,
///
///     let g = try NeuralNetwork(latentDim: 2, layers: [
///         .linear(weight: w1, bias: b1), .activation(.tanh), .linear(weight: w2, bias: b2)])
///
/// with shapes inferred layer by layer; a tensor that does not fit is a `GeoError.format` naming
/// the layer index and op. Forward mode pushes one stacked state [values; tangents] (or
/// [values; u; v; w]) through the layers, so every affine layer does one GEMM for all rows.
public final class NeuralNetwork: Generator {
    /// The layers, first to last.
    public let layers: [Layer]
    /// The shape of one input point ([d] for a decoder, the data shape for an encoder).
    public let inputShape: [Int]
    /// d = product of inputShape.
    public let latentDim: Int
    /// The shape of one output point.
    public let dataShape: [Int]

    /// Builds the layers from `specs` for points of `inputShape`. `outputShape` relabels the
    /// last layer's output shape (same number of features), e.g. [1, 28, 28] after a linear
    /// layer with 784 outputs. `tensorNames[i]` optionally names layer i's tensors for messages.
    public init(inputShape: [Int], layers specs: [LayerSpec], outputShape: [Int]? = nil,
                tensorNames: [[String: String]] = []) throws {
        MemoryTuning.configure()
        try NeuralNetwork.checkShape(inputShape, "input shape")
        var shape = inputShape
        var built: [Layer] = []
        for (i, spec) in specs.enumerated() {
            do {
                let layer = try spec.build(inputShape: shape, names: i < tensorNames.count ? tensorNames[i] : [:])
                guard let features = Tensor.elementCount(layer.outputShape), features <= maxFeaturesPerPoint else {
                    throw GeoError.format("output shape \(shapeString(layer.outputShape)) has more than \(maxFeaturesPerPoint) features")
                }
                built.append(layer)
                shape = layer.outputShape
            } catch let e as GeoError {
                throw GeoError.format("layer \(i) (\(spec.op)): \(e.description)")
            }
        }
        self.layers = built
        self.inputShape = inputShape
        latentDim = inputShape.reduce(1, *)
        dataShape = try NeuralNetwork.relabel(shape, outputShape)
        try checkSinglePointFits()
    }

    /// A network for flat inputs of size `latentDim`.
    public convenience init(latentDim: Int, layers specs: [LayerSpec], outputShape: [Int]? = nil) throws {
        try self.init(inputShape: [latentDim], layers: specs, outputShape: outputShape)
    }

    /// A network of already built layers; each layer's input shape must equal the previous
    /// layer's output shape (the first: `inputShape`).
    public init(inputShape: [Int], builtLayers: [Layer], outputShape: [Int]? = nil) throws {
        MemoryTuning.configure()
        try NeuralNetwork.checkShape(inputShape, "input shape")
        var shape = inputShape
        for (i, layer) in builtLayers.enumerated() {
            guard layer.inputShape == shape else {
                throw GeoError.format("layer \(i) (\(layer.op)): takes points of shape \(shapeString(layer.inputShape)), but receives \(shapeString(shape))")
            }
            shape = layer.outputShape
        }
        self.layers = builtLayers
        self.inputShape = inputShape
        latentDim = inputShape.reduce(1, *)
        dataShape = try NeuralNetwork.relabel(shape, outputShape)
        try checkSinglePointFits()
    }

    private static func checkShape(_ shape: [Int], _ what: String) throws {
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), let n = Tensor.elementCount(shape), n <= maxFeaturesPerPoint else {
            throw GeoError.format("\(what) \(shapeString(shape)) must be a non-empty list of positive sizes, at most \(maxFeaturesPerPoint) features")
        }
    }

    private static func relabel(_ last: [Int], _ requested: [Int]?) throws -> [Int] {
        guard let req = requested else { return last }
        try checkShape(req, "output shape")
        let have = last.reduce(1, *)
        guard Tensor.elementCount(req) == have else {
            throw GeoError.format("the last layer has \(have) outputs (shape \(shapeString(last))), output shape \(shapeString(req)) has \(req.reduce(1, *))")
        }
        return req
    }

    /// The layer descriptions, for writing the network back out.
    public var specs: [LayerSpec] { layers.map { $0.spec } }

    // MARK: Generator

    public func forward(_ z: Matrix) throws -> Matrix {
        _ = try checkBatch(z)
        let plan = try memoryPlan(points: z.rows, tangents: 0, rowsPerTangent: 0, outputRowsPerPoint: 1, what: "decoding")
        return try grouped(z, [], rowsPerPoint: 1, maxPoints: plan.pointsPerGroup) { zg, _ in
            [try run(zg, ForwardModeLayout(points: zg.rows, order: .value))]
        }[0]
    }

    public func jvp(_ z: Matrix, tangents: Matrix) throws -> (value: Matrix, tangents: Matrix) {
        let k = try checkBatch(z, tangents: tangents)
        let plan = try memoryPlan(points: z.rows, tangents: k, rowsPerTangent: 1, outputRowsPerPoint: 1 + k, what: "a JVP")
        let out = try sliced(z, [tangents], k: k, plan: plan, valueOutputs: 1) { zg, t in
            let kg = t[0].rows / max(1, zg.rows)
            let state = try run(try stackRows([zg, t[0]], cols: latentDim),
                                ForwardModeLayout(points: zg.rows, tangentsPerPoint: kg, order: .first))
            return splitRows(state, [zg.rows, t[0].rows])
        }
        return (out[0], out[1])
    }

    public func vjp(_ z: Matrix, cotangents: Matrix) throws -> (value: Matrix, cotangents: Matrix) {
        let k = try checkBatch(z, tangents: cotangents, tangentCols: dataDim)
        let plan = try memoryPlan(points: z.rows, tangents: k, rowsPerTangent: 1, outputRowsPerPoint: 1 + k,
                                  savedPerPoint: savedDoublesPerPoint, what: "a VJP")
        let out = try sliced(z, [cotangents], k: k, plan: plan, valueOutputs: 1) { zg, c in
            let pass = try forwardPass(zg)
            return [pass.output, try backward(pass, cotangents: c[0], parameterGradients: false).input]
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
                                ForwardModeLayout(points: zg.rows, tangentsPerPoint: kg, order: .second))
            return splitRows(state, [zg.rows, w.rows, w.rows, w.rows])
        }
        return SecondOrderResult(value: out[0], ju: out[1], jv: out[2], d2: out[3])
    }

    /// Pushes a forward-mode state through all layers. Checks `Cancellation` before each
    /// layer, so that Ctrl-C stops even one long batched call (a DCGAN JVP with 100 tangents
    /// per point takes seconds) after at most one layer.
    func run(_ state: Matrix, _ layout: ForwardModeLayout) throws -> Matrix {
        var s = state
        for layer in layers {
            try Cancellation.check()
            try layer.forwardMode(inPlace: &s, layout: layout)
        }
        return s
    }

    /// The most doubles a group's widest state may hold (16 MB): big batches of points are
    /// processed in groups so that intermediate arrays stay cache- and allocator-friendly
    /// (below glibc's 32 MB mmap limit, see `MemoryTuning`).
    static let groupBudget = 1 << 21

    /// Points per group for a pass that carries `rowsPerPoint` rows per point.
    func pointsPerGroup(rowsPerPoint: Int) -> Int {
        let widest = layers.reduce(latentDim) { max($0, $1.outputFeatures) }
        return max(1, NeuralNetwork.groupBudget / max(1, rowsPerPoint * widest))
    }

    /// Runs `pass` on groups of consecutive points (at most `maxPoints` each) and concatenates its
    /// outputs. `pass` gets the group's points and its rows of each matrix in `perPoint` (k rows
    /// per point each) and returns matrices whose row counts are multiples of the group's point
    /// count; the result holds the outputs for all points in order. One group: `pass` runs on
    /// the inputs as given.
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

    /// Doubles one state row needs at the most demanding layer: its input and output rows (an
    /// affine layer writes a new state while the old one is alive) and its scratch.
    var doublesPerStateRow: Int {
        layers.reduce(latentDim) { m, l in
            max(m, MemoryBudget.product([1, l.inputFeatures]).map { $0 + l.outputFeatures + l.scratchPerRow } ?? Int.max)
        }
    }

    /// Doubles a saved forward pass (reverse mode) holds per point: every layer's input and the
    /// output.
    var savedDoublesPerPoint: Int {
        layers.reduce(latentDim) { $0 + $1.outputFeatures }
    }

    /// Plans a pass over `points` points with `tangents` tangent rows per point, each pushing
    /// `rowsPerTangent` state rows (1 for a JVP or VJP, 3 for second order), besides one value
    /// row per point and `savedPerPoint` doubles of saved activations per point. The output
    /// (`outputRowsPerPoint` rows of D per point) must fit as a whole; the rest is cut into
    /// groups of points and, when one point with all its tangents does not fit, slices of
    /// tangents. Throws `GeoError.outOfMemory` when one point with one tangent does not fit.
    func memoryPlan(points n: Int, tangents k: Int, rowsPerTangent: Int, outputRowsPerPoint: Int,
                    savedPerPoint: Int = 0, what: String) throws -> MemoryPlan {
        let d = max(dataDim, 1), perRow = doublesPerStateRow
        let outputRows = MemoryBudget.product([n, outputRowsPerPoint]) ?? Int.max
        let output = try MemoryBudget.doubles(outputRows, d, for: "the result of \(what) (\(outputRows) rows of \(d) values)")
        let available = max(0, MemoryBudget.bytes / MemoryLayout<Double>.size - output)
        // One point: its value row, its saved activations and the derivative scratch of the
        // elementwise layers (two values per feature).
        let fixed = perRow + savedPerPoint + 2 * perRow
        let perTangent = rowsPerTangent * perRow
        let onePoint = MemoryBudget.product([k, perTangent]).map { fixed + $0 } ?? Int.max
        if onePoint <= available {
            return MemoryPlan(pointsPerGroup: max(1, available / max(1, onePoint)), tangentsPerSlice: k)
        }
        let slice = perTangent > 0 ? (available - fixed) / perTangent : 0
        guard slice >= 1 else {
            let need = MemoryBudget.product([output + fixed + perTangent, MemoryLayout<Double>.size]) ?? Int.max
            throw GeoError.outOfMemory(what: "\(what) (its result, and the work of one point at layer \(widestLayerLabel))",
                                       needed: need, budget: MemoryBudget.bytes)
        }
        return MemoryPlan(pointsPerGroup: 1, tangentsPerSlice: min(k, slice))
    }

    /// "3 (conv2d)": the layer whose rows need the most memory.
    var widestLayerLabel: String {
        var best = -1, index = 0
        for (i, l) in layers.enumerated() {
            let need = l.inputFeatures + l.outputFeatures + l.scratchPerRow
            if need > best { best = need; index = i }
        }
        return layers.isEmpty ? "input" : "\(index) (\(layers[index].op))"
    }

    /// Throws `GeoError.outOfMemory` naming the layer when decoding a single point would not fit
    /// the budget: such a model is rejected when it is built, not when it is first used.
    func checkSinglePointFits() throws {
        for (i, l) in layers.enumerated() {
            let need = MemoryBudget.product([1, l.inputFeatures]).map { $0 + 3 * l.outputFeatures + l.scratchPerRow } ?? Int.max
            try MemoryBudget.doubles(need, for: "layer \(i) (\(l.op)) decoding one point")
        }
    }

    /// Runs `pass` as `grouped` does when `plan` keeps all tangents of a point together;
    /// otherwise point by point and slice by slice of the k tangent rows of each matrix in
    /// `perPoint`. `pass` returns `valueOutputs` matrices of one row per point followed by
    /// matrices of one row per tangent row; the slices' rows are put back in order.
    func sliced(_ z: Matrix, _ perPoint: [Matrix], k: Int, plan: MemoryPlan, valueOutputs: Int,
                _ pass: (Matrix, [Matrix]) throws -> [Matrix]) throws -> [Matrix] {
        let rowsPerPoint = 1 + perPoint.count * k
        if plan.tangentsPerSlice >= k {
            return try grouped(z, perPoint, rowsPerPoint: rowsPerPoint, maxPoints: plan.pointsPerGroup, pass)
        }
        let n = z.rows, s = max(1, plan.tangentsPerSlice)
        var outputs: [[Double]] = [], cols: [Int] = []
        for p in 0..<n {
            let zp = rowBlock(z, p, p + 1, perPoint: 1)
            var t0 = 0
            while t0 < k {
                try Cancellation.check()
                let t1 = min(k, t0 + s)
                let parts = perPoint.map { m in
                    Matrix(rows: t1 - t0, cols: m.cols, unchecked: Array(m.scalars[((p * k + t0) * m.cols)..<((p * k + t1) * m.cols)]))
                }
                let out = try pass(zp, parts)
                if outputs.isEmpty {
                    cols = out.map { $0.cols }
                    outputs = cols.enumerated().map { i, c in
                        var a = [Double](); a.reserveCapacity((i < valueOutputs ? n : n * k) * c); return a
                    }
                }
                for (i, m) in out.enumerated() where i < outputs.count && (i >= valueOutputs || t0 == 0) {
                    outputs[i].append(contentsOf: m.scalars)
                }
                t0 = t1
            }
        }
        return outputs.indices.map { i in
            Matrix(rows: i < valueOutputs ? n : n * k, cols: cols[i], unchecked: outputs[i])
        }
    }
}

/// Rows p0*perPoint ..< p1*perPoint of m.
private func rowBlock(_ m: Matrix, _ p0: Int, _ p1: Int, perPoint: Int) -> Matrix {
    let s = p0 * perPoint * m.cols, e = p1 * perPoint * m.cols
    return Matrix(rows: (p1 - p0) * perPoint, cols: m.cols, unchecked: Array(m.scalars[s..<e]))
}
