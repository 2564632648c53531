import Foundation

/// Builders of ONNX's ops that move, select and combine entries: Transpose, Concat, Split,
/// Slice, Gather, Expand, Pad (`EntryMap`), Resize and Upsample (`ResizeOp`), the Reduce ops
/// (`ReduceOp`), the comparisons and logical ops (`ComparisonOp`) and Where (`WhereOp`), and
/// the constant-only Range, ConstantOfShape, Mod and Size.
///
/// ReduceMax and ReduceMin of a computed value are differentiable: the derivative of the first
/// maximal (minimal) entry, exact wherever the extremum is unique (see `ReduceOp`). Comparisons
/// carry no derivative; Where's derivatives are those of the selected branch.
///
/// Every index map is computed here, once, from the node's attributes and constant inputs; a
/// node whose inputs are all constants is evaluated at load and keeps its element type (the
/// shape arithmetic torch writes: Gather/Slice/Concat of Shape's int64 results). Indices,
/// shapes, pads, scales and sizes must be constants; a computed one is an error that says so.
enum ONNXShapes {
    // MARK: Helpers

    /// The element type of input i when it is a constant with a known type (float otherwise).
    static func elementType(_ n: ONNXNode, _ i: Int) -> ONNXFile.ElementType {
        guard n.has(i), case .constant(_, let type)? = n.importer.sources[n.proto.input[i]] else { return .float }
        return type
    }

    /// Emits `op` on inputs `indices` and binds its outputs; when every input is a constant the
    /// op is evaluated now and its outputs are constants of element type `type`.
    static func apply(_ n: ONNXNode, _ op: Op, _ indices: [Int], type: ONNXFile.ElementType) throws {
        if indices.allSatisfy({ n.isConstant($0) }) {
            try ONNXImporter.checkOutputs(op)
            var states = try indices.map { i -> Matrix in
                let t = try n.constant(i, "input \(i + 1)")
                return Matrix(rows: 1, cols: t.count, unchecked: t.scalars)
            }
            let outs = try op.forward(&states, ForwardModeLayout(points: 1, order: .value))
            for (j, (m, shape)) in zip(outs, op.outputShapes).enumerated() {
                try n.setOutput(j, constant: Tensor(shape: shape, unchecked: m.scalars), type: type)
            }
            return
        }
        let outs = try n.emit(op, try indices.map { try n.value($0) })
        for (j, v) in outs.enumerated() { try n.setOutput(j, v) }
    }

    /// The integers of constant input i; INT64's extremes (which a Double does not hold
    /// exactly: torch writes 9223372036854775807 for "to the end") become Int.max and Int.min.
    static func integers(_ n: ONNXNode, _ i: Int, _ what: String) throws -> [Int] {
        try n.constant(i, what).scalars.map { x in
            if x >= 9.2e18 { return Int.max }
            if x <= -9.2e18 { return Int.min }
            guard x == x.rounded(), let v = Int(exactly: x) else {
                throw n.error("\(what) (input \(i + 1)) holds \(formatNumber(x)), not an integer")
            }
            return v
        }
    }

    /// The entry count of `shape`, checked by the rule for shapes (`Tensor.checkedCount`) with
    /// room in the memory budget for the index maps of that many entries, before they are made.
    @discardableResult
    static func checkEntries(_ n: ONNXNode, _ shape: [Int], _ what: String) throws -> Int {
        try Tensor.checkedCount(shape, copies: 3, "the \(what)")
    }

    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        for a in stride(from: shape.count - 2, through: 0, by: -1) { s[a] = s[a + 1] * shape[a + 1] }
        return s
    }

    /// For every element of the cartesian product of `tables` (row-major), the sum of its
    /// entries, or -1 when one of them is -1 (no source).
    static func combine(_ tables: [[Int]]) -> [Int] {
        let count = tables.reduce(1) { $0 * $1.count }
        guard count > 0 else { return [] }
        let rank = tables.count
        var out = [Int](); out.reserveCapacity(count)
        var idx = [Int](repeating: 0, count: rank)
        for _ in 0..<count {
            var s = 0
            for a in 0..<rank {
                let v = tables[a][idx[a]]
                if v < 0 { s = -1; break }
                s += v
            }
            out.append(s)
            var a = rank - 1
            while a >= 0 {
                idx[a] += 1
                if idx[a] < tables[a].count { break }
                idx[a] = 0; a -= 1
            }
        }
        return out
    }

    /// An axis attribute or entry normalised for `rank` (negative counts from the end).
    static func axis(_ n: ONNXNode, _ a: Int, rank: Int) throws -> Int {
        guard rank > 0, let r = Broadcast.axis(a, rank: rank) else { throw n.error("axis \(a) is out of range for rank \(rank)") }
        return r
    }

    /// Distinct normalised axes.
    static func axes(_ n: ONNXNode, _ raw: [Int], rank: Int) throws -> [Int] {
        let ax = try raw.map { try axis(n, $0, rank: rank) }
        guard Set(ax).count == ax.count else { throw n.error("axes \(untrusted: raw) repeat an axis") }
        return ax
    }

    /// Output 0 is input 0 (a map that turns out to be the identity).
    static func alias(_ n: ONNXNode) throws {
        if n.isConstant(0) { try n.setOutput(0, constant: try n.constant(0, "input"), type: elementType(n, 0)) }
        else { try n.setOutput(0, try n.value(0)) }
    }

    /// Emits an `EntryMap` of input 0 alone (the identity is an alias).
    static func select(_ n: ONNXNode, _ input: [Int], _ outputs: [[Int]], _ sources: [[Int]], fill: Double = 0) throws {
        if outputs.count == 1, outputs[0] == input, sources[0] == Array(0..<sources[0].count), !sources[0].contains(-1) {
            try alias(n)
            return
        }
        let op = try EntryMap(n.opType, inputShapes: [input], outputShapes: outputs, sources: sources, fill: fill)
        try apply(n, op, [0], type: elementType(n, 0))
    }

    // MARK: Moving entries

    static func transpose(_ n: ONNXNode) throws {
        let s = try n.shape(0), rank = s.count
        let perm = try n.ints("perm") ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else {
            throw n.error("perm \(untrusted: perm) is not a permutation of the \(rank) axes")
        }
        let out = perm.map { s[$0] }
        try checkEntries(n, out, "output")
        let st = strides(s)
        try select(n, s, [out], [combine(perm.map { a in (0..<s[a]).map { $0 * st[a] } })])
    }

    static func concat(_ n: ONNXNode) throws {
        let count = n.inputCount
        guard count >= 1 else { throw n.error("needs at least one input") }
        let shapes = try (0..<count).map { try n.shape($0) }
        let rank = shapes[0].count
        guard n.opset < 4 || n.hasAttribute("axis") else { throw n.error("attribute axis is required") }
        let ax = try axis(n, try n.int("axis", default: 1), rank: rank)
        for (j, s) in shapes.enumerated() where s.count != rank || s.indices.contains(where: { $0 != ax && s[$0] != shapes[0][$0] }) {
            throw n.error("cannot concatenate input \(j + 1) of shape \(shapeString(s)) with input 1 of shape \(shapeString(shapes[0])) along axis \(ax)")
        }
        var out = shapes[0]
        out[ax] = shapes.reduce(0) { $0 + $1[ax] }
        try checkEntries(n, out, "output")
        // Inputs without entries contribute nothing.
        let used = (0..<count).filter { (Tensor.elementCount(shapes[$0]) ?? 0) > 0 }
        guard let first = used.first else {
            try n.setOutput(0, constant: Tensor(shape: out, unchecked: []), type: elementType(n, 0))
            return
        }
        if used.count == 1 { try (n.isConstant(first) ? n.setOutput(0, constant: try n.constant(first, "input"), type: elementType(n, first))
                                                      : n.setOutput(0, try n.value(first))); return }
        let outer = out[..<ax].reduce(1, *), inner = out[(ax + 1)...].reduce(1, *)
        var offsets: [Int] = [], total = 0
        for j in used { offsets.append(total); total += shapes[j].reduce(1, *) }
        var src = [Int](); src.reserveCapacity(out.reduce(1, *))
        for o in 0..<outer {
            for (q, j) in used.enumerated() {
                let d = shapes[j][ax]
                let base = offsets[q] + o * d * inner
                for t in 0..<(d * inner) { src.append(base + t) }
            }
        }
        let op = try EntryMap("Concat", inputShapes: used.map { shapes[$0] }, outputShapes: [out], sources: [src])
        try apply(n, op, used, type: elementType(n, first))
    }

    static func split(_ n: ONNXNode) throws {
        let s = try n.shape(0), rank = s.count
        let ax = try axis(n, try n.int("axis", default: 0), rank: rank)
        let outputs = n.proto.output.count, d = s[ax]
        var parts: [Int]
        if n.has(1) {
            parts = try integers(n, 1, "split")
        } else if n.opset < 13, let p = try n.ints("split") {
            parts = p
        } else {
            var count = outputs
            if n.opset >= 18 && n.hasAttribute("num_outputs") {
                count = try n.int("num_outputs", default: outputs)
                guard count == outputs else { throw n.error("num_outputs = \(count) but the node has \(outputs) outputs") }
            }
            guard count >= 1 else { throw n.error("has no outputs") }
            // Equal parts; when they do not divide, parts of ceil(d / count) and a smaller last.
            let size = (d + count - 1) / count
            parts = [Int](repeating: size, count: count)
            parts[count - 1] = d - size * (count - 1)
        }
        guard parts.count == outputs, parts.allSatisfy({ $0 >= 0 && $0 <= d }), parts.reduce(0, +) == d else {
            throw n.error("split \(untrusted: parts) does not divide axis \(ax) of size \(d) among \(outputs) outputs")
        }
        try checkEntries(n, s, "input")
        let st = strides(s)
        var shapes: [[Int]] = [], sources: [[Int]] = [], start = 0
        for p in parts {
            var out = s
            out[ax] = p
            var tables = (0..<rank).map { a in (0..<s[a]).map { $0 * st[a] } }
            tables[ax] = (start..<(start + p)).map { $0 * st[ax] }
            shapes.append(out); sources.append(combine(tables))
            start += p
        }
        try select(n, s, shapes, sources)
    }

    static func slice(_ n: ONNXNode) throws {
        let s = try n.shape(0), rank = s.count
        var starts: [Int], ends: [Int], rawAxes: [Int]?, steps: [Int]?
        if n.opset < 10 {
            guard let a = try n.ints("starts"), let b = try n.ints("ends") else { throw n.error("attributes starts and ends are required") }
            starts = a; ends = b; rawAxes = try n.ints("axes")
        } else {
            starts = try integers(n, 1, "starts"); ends = try integers(n, 2, "ends")
            rawAxes = n.has(3) ? try integers(n, 3, "axes") : nil
            steps = n.has(4) ? try integers(n, 4, "steps") : nil
        }
        let ax = try axes(n, rawAxes ?? Array(0..<starts.count), rank: rank)
        let st = steps ?? [Int](repeating: 1, count: starts.count)
        guard ends.count == starts.count, ax.count == starts.count, st.count == starts.count else {
            throw n.error("starts, ends, axes and steps have \(starts.count), \(ends.count), \(ax.count) and \(st.count) entries")
        }
        let strideOf = strides(s)
        var out = s
        var tables = (0..<rank).map { a in (0..<s[a]).map { $0 * strideOf[a] } }
        for (q, a) in ax.enumerated() {
            let d = s[a], step = max(st[q], -Int.max)
            guard step != 0 else { throw n.error("step 0 on axis \(a)") }
            var b = starts[q] < 0 ? starts[q] &+ d : starts[q], e = ends[q] < 0 ? ends[q] &+ d : ends[q]
            let count: Int
            if step > 0 {
                b = min(max(b, 0), d); e = min(max(e, 0), d)
                count = e > b ? 1 + (e - b - 1) / step : 0
            } else {
                b = min(max(b, 0), d - 1); e = min(max(e, -1), d - 1)
                count = b > e ? 1 + (b - e - 1) / (-step) : 0
            }
            out[a] = count
            tables[a] = (0..<count).map { (b + $0 * step) * strideOf[a] }
        }
        try checkEntries(n, out, "output")
        try select(n, s, [out], [combine(tables)])
    }

    static func gather(_ n: ONNXNode) throws {
        let s = try n.shape(0), rank = s.count
        let ax = try axis(n, try n.int("axis", default: 0), rank: rank)
        guard n.isConstant(1) else {
            throw n.error("the indices (input 2) are computed from the graph's input: only constant indices are supported")
        }
        let t = try n.constant(1, "indices")
        let d = s[ax]
        let idx = try integers(n, 1, "indices").map { i -> Int in
            guard i >= -d && i < d else { throw n.error("index \(i) is out of range for axis \(ax) of size \(d)") }
            return i < 0 ? i + d : i
        }
        let out = Array(s[..<ax]) + t.shape + Array(s[(ax + 1)...])
        try checkEntries(n, out, "output")
        let strideOf = strides(s)
        // The output's row-major order is that of [outer axes, the indices flattened, inner axes].
        let tables = (0..<ax).map { a in (0..<s[a]).map { $0 * strideOf[a] } } + [idx.map { $0 * strideOf[ax] }]
            + ((ax + 1)..<rank).map { a in (0..<s[a]).map { $0 * strideOf[a] } }
        try select(n, s, [out], [combine(tables)])
    }

    static func expand(_ n: ONNXNode) throws {
        let s = try n.shape(0)
        let target = try n.integers(1, "shape")
        guard target.allSatisfy({ $0 >= 0 }), let out = try Broadcast.shape([s, target]) else {
            throw n.error("cannot expand \(shapeString(s)) to \(untrusted: target)")
        }
        try checkEntries(n, out, "output")
        try select(n, s, [out], [Broadcast.map(from: s, to: out) ?? Array(0..<out.reduce(1, *))])
    }

    static func pad(_ n: ONNXNode) throws {
        let s = try n.shape(0), rank = s.count
        let mode = try n.choice("mode", default: "constant", n.opset >= 19 ? ["constant", "reflect", "edge", "wrap"] : ["constant", "reflect", "edge"])
        var pads: [Int], value = 0.0, ax = Array(0..<rank)
        if n.opset < 11 {
            guard let p = try n.ints(n.opset < 2 ? "paddings" : "pads") else { throw n.error("attribute pads is required") }
            pads = p
            value = try n.float("value", default: 0)
        } else {
            pads = try integers(n, 1, "pads")
            if n.has(2) {
                let v = try n.constant(2, "constant_value")
                guard v.count <= 1 else { throw n.error("constant_value must be a scalar, got shape \(shapeString(v.shape))") }
                value = v.scalars.first ?? 0
            }
            if n.opset >= 18, n.has(3) { ax = try axes(n, try integers(n, 3, "axes"), rank: rank) }
        }
        guard pads.count == 2 * ax.count else { throw n.error("pads \(untrusted: pads) must have \(2 * ax.count) entries") }
        // Beyond the largest size a value may have, a pad makes an axis too large or negative.
        guard pads.allSatisfy({ (-maxFeaturesPerPoint...maxFeaturesPerPoint).contains($0) }) else {
            throw n.error("pads \(untrusted: pads) must have entries between -\(maxFeaturesPerPoint) and \(maxFeaturesPerPoint)")
        }
        var before = [Int](repeating: 0, count: rank), after = before
        for (q, a) in ax.enumerated() { before[a] = pads[q]; after[a] = pads[q + ax.count] }
        var out = s
        for a in 0..<rank {
            let (size, o1) = s[a].addingReportingOverflow(before[a])
            let (total, o2) = size.addingReportingOverflow(after[a])
            guard !o1, !o2, total >= 0 else { throw n.error("pads \(untrusted: pads) give axis \(a) a negative or overflowing size") }
            out[a] = total
        }
        try checkEntries(n, out, "output")
        let strideOf = strides(s)
        var tables: [[Int]] = []
        for a in 0..<rank {
            let d = s[a]
            if out[a] > 0 && d == 0 && mode != "constant" { throw n.error("cannot pad an empty axis in mode \(mode)") }
            tables.append((0..<out[a]).map { o in
                var i = o - before[a]
                if i < 0 || i >= d {
                    switch mode {
                    case "edge": i = min(max(i, 0), d - 1)
                    case "wrap": i = ((i % d) + d) % d
                    case "reflect":
                        // Mirror without repeating the edge: period 2(d - 1).
                        if d == 1 { i = 0 } else {
                            let period = 2 * (d - 1)
                            i = ((i % period) + period) % period
                            if i >= d { i = period - i }
                        }
                    default: return -1
                    }
                }
                return i * strideOf[a]
            })
        }
        try select(n, s, [out], [combine(tables)], fill: mode == "constant" ? value : 0)
    }

    // MARK: Reductions

    /// ReduceSum/Mean/Max/Min: axes an attribute before `axesInput`, then an input.
    static func reduce(_ n: ONNXNode, _ kind: ReduceOp.Kind, axesInput: Int) throws {
        let s = try n.shape(0), rank = s.count
        let keep = try n.int("keepdims", default: 1) != 0
        let noop = try n.opset >= axesInput && n.int("noop_with_empty_axes", default: 0) != 0
        let raw = n.opset >= axesInput ? (n.has(1) ? try n.integers(1, "axes") : nil) : try n.ints("axes")
        var ax: [Int]
        if let r = raw, !r.isEmpty {
            ax = try axes(n, r, rank: rank)
        } else {
            if noop { try alias(n); return }
            ax = Array(0..<rank)
        }
        ax.sort()
        try checkEntries(n, s, "input")
        let op = try ReduceOp(n.opType, kind, inputShape: s, axes: ax, keepDims: keep)
        try apply(n, op, [0], type: elementType(n, 0))
    }

    // MARK: Resize

    /// Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9) as a `ResizeOp`, following
    /// onnx.reference: output sizes floor(scale * size) (or `sizes`, with
    /// keep_aspect_ratio_policy), sample coordinates by coordinate_transformation_mode with the
    /// length scale * size, nearest rounding by nearest_mode, linear weights (1 - r, r) on the
    /// two neighbours, indices clamped to the edge (which is also what exclude_outside gives for
    /// these two modes), tf_crop_and_resize's samples outside the roi set to
    /// extrapolation_value. Cubic mode and antialias = 1 are errors.
    ///
    /// Upsample and Resize-10 have none of Resize-11's attributes; they mean what onnxruntime
    /// and the exporters of that time meant (torch warns that they do not match its
    /// interpolation): asymmetric coordinates x / scale, and for nearest the floor when
    /// enlarging, the ceiling when shrinking. (ONNX's version converter maps Resize-10 to
    /// Resize-11's defaults, half_pixel, instead; for nearest with integer scales, what
    /// exporters wrote, both agree.)
    static func resize(_ n: ONNXNode, upsample: Bool) throws {
        let s = try n.shape(0), rank = s.count
        let legacy = upsample || n.opset < 11
        let mode = try n.string("mode", default: "nearest")
        guard mode == "nearest" || mode == "linear" || (upsample && mode == "bilinear") else {
            throw n.error("mode '\(untrusted: mode)' is not supported (supported: nearest, linear)")
        }
        var scales: [Double]?, sizes: [Int]?
        var ctm = "asymmetric", nearestMode = "floor", policy = "stretch", extrapolation = 0.0
        var ax = Array(0..<rank)
        if upsample {
            if n.opset < 9 {
                guard let v = try n.floats("scales") else { throw n.error("attribute scales is required") }
                scales = v
            } else {
                scales = try n.constant(1, "scales").scalars
            }
        } else if legacy {
            scales = try n.constant(1, "scales").scalars
        } else {
            if n.has(2) { let t = try n.constant(2, "scales"); if t.count > 0 { scales = t.scalars } }
            if n.has(3) { let t = try integers(n, 3, "sizes"); if !t.isEmpty { sizes = t } }
            guard (scales == nil) != (sizes == nil) else { throw n.error("exactly one of scales and sizes must be given") }
            ctm = try n.choice("coordinate_transformation_mode", default: "half_pixel",
                               ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"]
                               + (n.opset < 13 ? ["tf_half_pixel_for_nn"] : []) + (n.opset >= 19 ? ["half_pixel_symmetric"] : []))
            nearestMode = try n.choice("nearest_mode", default: "round_prefer_floor", ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"])
            extrapolation = try n.float("extrapolation_value", default: 0)
            // exclude_outside renormalises the weights of samples inside the input: for nearest
            // and linear that is what clamping to the edge already gives.
            _ = try n.int("exclude_outside", default: 0)
            if n.opset >= 18 {
                try n.require("antialias", equals: 0, "antialiasing")
                policy = try n.choice("keep_aspect_ratio_policy", default: "stretch", ["stretch", "not_larger", "not_smaller"])
                if let a = try n.ints("axes") { ax = try axes(n, a, rank: rank) }
            }
        }
        // Per axis: scale, output size, and the roi of tf_crop_and_resize.
        var scale = [Double](repeating: 1, count: rank), out = s
        if let sc = scales {
            guard sc.count == ax.count else { throw n.error("scales has \(sc.count) entries for \(ax.count) axes") }
            for (q, a) in ax.enumerated() {
                guard sc[q] > 0, sc[q].isFinite, Double(s[a]) * sc[q] < Double(maxFeaturesPerPoint) else {
                    throw n.error("scale \(formatNumber(sc[q])) for axis \(a) is not a positive size factor")
                }
                if upsample && sc[q] < 1 { throw n.error("Upsample scales must be at least 1, got \(formatNumber(sc[q]))") }
                scale[a] = sc[q]
                out[a] = Int((sc[q] * Double(s[a])).rounded(.down))
            }
        } else if let sz = sizes {
            guard sz.count == ax.count else { throw n.error("sizes has \(sz.count) entries for \(ax.count) axes") }
            for (q, a) in ax.enumerated() {
                guard sz[q] >= 0, sz[q] <= maxFeaturesPerPoint, s[a] > 0 else { throw n.error("size \(sz[q]) for axis \(a) is not valid") }
                scale[a] = Double(sz[q]) / Double(s[a])
                out[a] = sz[q]
            }
            if policy != "stretch" {
                let chosen = ax.map { scale[$0] }
                let c = policy == "not_larger" ? (chosen.min() ?? 1) : (chosen.max() ?? 1)
                for a in ax { scale[a] = c; out[a] = Int(c * Double(s[a]) + 0.5) }
            }
        }
        var roiStart = [Double](repeating: 0, count: rank), roiEnd = [Double](repeating: 1, count: rank)
        if ctm == "tf_crop_and_resize" {
            guard n.has(1) else { throw n.error("coordinate_transformation_mode tf_crop_and_resize needs roi (input 2)") }
            let roi = try n.constant(1, "roi").scalars
            guard roi.count == 2 * ax.count else { throw n.error("roi has \(roi.count) entries, expected \(2 * ax.count)") }
            for (q, a) in ax.enumerated() { roiStart[a] = roi[q]; roiEnd[a] = roi[q + ax.count] }
        }
        try checkEntries(n, out, "output")
        // The sample lists, one small array (about 80 bytes) per coordinate of each axis: as
        // many as the sizes add up to, which an output without entries does not bound.
        try MemoryBudget.doubles(10, out.reduce(0, +), for: "the list of samples of the output (shape \(shapeString(out)))")
        var terms: [[ResizeOp.AxisTerms]] = []
        for a in 0..<rank {
            let d = s[a], sc = scale[a], size = out[a]
            // An axis kept as it is (onnx.reference skips it the same way).
            if abs(sc - 1) <= 1e-9 && size == d && (ctm != "tf_crop_and_resize" || (abs(roiStart[a]) <= 1e-9 && abs(roiEnd[a] - 1) <= 1e-9)) {
                terms.append((0..<d).map { [($0, 1.0)] })
                continue
            }
            guard d > 0 else { throw n.error("cannot resize the empty axis \(a)") }
            let length = sc * Double(d)
            var list: [ResizeOp.AxisTerms] = []
            for c in 0..<size {
                let x = Double(c)
                var xo: Double
                switch ctm {
                case "half_pixel": xo = (x + 0.5) / sc - 0.5
                case "pytorch_half_pixel": xo = length == 1 ? -0.5 : (x + 0.5) / sc - 0.5
                case "align_corners": xo = length == 1 ? 0 : x * Double(d - 1) / (length - 1)
                case "tf_half_pixel_for_nn": xo = (x + 0.5) / sc
                case "half_pixel_symmetric":
                    let adjustment = Double(size) / length, center = Double(d) / 2
                    xo = center * (1 - adjustment) + (x + 0.5) / sc - 0.5
                case "tf_crop_and_resize":
                    let (b, e) = (roiStart[a], roiEnd[a])
                    xo = length == 1 ? (e - b) * Double(d - 1) / 2 : x * (e - b) * Double(d - 1) / (length - 1)
                    xo += b * Double(d - 1)
                    if xo < 0 || xo > Double(d - 1) { list.append(nil); continue }
                default: xo = x / sc
                }
                guard xo.isFinite else { throw n.error("the sample coordinate for output \(c) of axis \(a) is not finite") }
                let f = xo.rounded(.down), r = xo - f
                func clamp(_ i: Double) -> Int { Int(min(max(i, 0), Double(d - 1))) }
                if mode == "nearest" {
                    var i = f
                    if r != 0 {
                        if legacy {
                            i = sc < 1 ? f + 1 : f
                        } else {
                            switch nearestMode {
                            case "round_prefer_ceil": i = r < 0.5 ? f : f + 1
                            case "floor": i = f
                            case "ceil": i = f + 1
                            default: i = r <= 0.5 ? f : f + 1
                            }
                        }
                    }
                    list.append([(clamp(i), 1)])
                } else {
                    let i0 = clamp(f), i1 = clamp(f + 1)
                    list.append(i0 == i1 || r == 0 ? [(i0, 1)] : [(i0, 1 - r), (i1, r)])
                }
            }
            terms.append(list)
        }
        if terms.enumerated().allSatisfy({ a, list in list.count == s[a] && list.enumerated().allSatisfy { c, t in t.map { $0.count == 1 && $0[0] == (c, 1.0) } ?? false } }) {
            try alias(n)
            return
        }
        let op = try ResizeOp.separable(n.opType, inputShape: s, axes: terms, extrapolation: extrapolation)
        try apply(n, op, [0], type: .float)
    }

    // MARK: Comparisons

    static func compare(_ n: ONNXNode, _ kind: ComparisonOp.Kind) throws {
        if n.opset < 7 && n.hasAttribute("axis") {
            throw n.error("the legacy broadcasting along attribute axis (opset < 7) is not supported")
        }
        let count = kind == .not ? 1 : 2
        let op = try ComparisonOp(kind, inputShapes: try (0..<count).map { try n.shape($0) })
        try apply(n, op, Array(0..<count), type: .bool)
    }

    // MARK: Constants

    static func requireConstant(_ n: ONNXNode, _ count: Int) throws {
        for i in 0..<count where n.has(i) && !n.isConstant(i) {
            throw n.error("input \(i + 1) is computed from the graph's input: \(untrusted: n.opType) is supported on constants only (shape arithmetic)")
        }
    }

    /// A scalar constant input.
    static func scalar(_ n: ONNXNode, _ i: Int, _ what: String) throws -> Double {
        let t = try n.constant(i, what)
        guard t.count == 1 else { throw n.error("\(what) (input \(i + 1)) must be a scalar, got shape \(shapeString(t.shape))") }
        return t.scalars[0]
    }

    /// Values of element type `type` as stored (float rounds to single precision).
    static func stored(_ v: [Double], _ type: ONNXFile.ElementType) -> [Double] {
        switch type {
        case .float: return v.map { Double(Float($0)) }
        case .double: return v
        case .float16: return v.map { HalfPrecision.halfToDouble(HalfPrecision.doubleToHalf($0)) }
        case .bfloat16: return v.map { HalfPrecision.bfloat16ToDouble(HalfPrecision.doubleToBFloat16($0)) }
        default: return v
        }
    }

    static func range(_ n: ONNXNode) throws {
        try requireConstant(n, 3)
        let start = try scalar(n, 0, "start"), limit = try scalar(n, 1, "limit"), delta = try scalar(n, 2, "delta")
        let type = elementType(n, 0)
        guard delta != 0, start.isFinite, limit.isFinite, delta.isFinite else {
            throw n.error("Range(\(formatNumber(start)), \(formatNumber(limit)), \(formatNumber(delta))) is not a finite range")
        }
        // ceil((limit - start) / delta) entries, none when it is negative; the difference of
        // two finite numbers may be infinite (1e308 - -1e308).
        let q = ((limit - start) / delta).rounded(.up)
        guard q < Double(maxFeaturesPerPoint) else {
            throw n.error("Range(\(formatNumber(start)), \(formatNumber(limit)), \(formatNumber(delta))) has more than \(maxFeaturesPerPoint) entries")
        }
        let count = q > 0 ? Int(q) : 0
        try Tensor.checkedCount([count], "the output")
        let values = (0..<count).map { start + Double($0) * delta }
        try n.setOutput(0, constant: Tensor(shape: [count], unchecked: stored(values, type)), type: type)
    }

    static func constantOfShape(_ n: ONNXNode) throws {
        try requireConstant(n, 1)
        let shape = try integers(n, 0, "shape")
        try Tensor.checkedCount(shape, "the output")
        var value = 0.0, type = ONNXFile.ElementType.float
        if let a = n.proto.attribute.first(where: { $0.name == "value" }) {
            guard a.type == .tensor || (a.type == .undefined && a.hasT) else { throw n.error("attribute 'value' must be a tensor") }
            let (t, ty) = try n.importer.file.tensor(a.t, "attribute 'value' of node '\(untrusted: n.name)'")
            guard t.count == 1 else { throw n.error("attribute value must hold one element, got \(t.count)") }
            value = t.scalars[0]; type = ty
        }
        try n.setOutput(0, constant: Tensor(shape: shape, repeating: value), type: type)
    }

    static func mod(_ n: ONNXNode) throws {
        try requireConstant(n, 2)
        let a = try n.constant(0, "A"), b = try n.constant(1, "B")
        guard let out = try Broadcast.shape([a.shape, b.shape], copies: 4) else {
            throw n.error("shapes \(shapeString(a.shape)) and \(shapeString(b.shape)) do not broadcast")
        }
        let fmodFlag = try n.int("fmod", default: 0) != 0
        let type = elementType(n, 0)
        let x = Broadcast.expand(a.scalars, from: a.shape, to: out), y = Broadcast.expand(b.scalars, from: b.shape, to: out)
        let values = try zip(x, y).map { p, q -> Double in
            if !type.isFloatingPoint && q == 0 { throw n.error("integer Mod by zero") }
            let r = fmod(p, q)
            // fmod = 0: the sign of the divisor (Python's %).
            return !fmodFlag && r != 0 && (r < 0) != (q < 0) ? r + q : r
        }
        try n.setOutput(0, constant: Tensor(shape: out, unchecked: stored(values, type)), type: type)
    }

    // MARK: Registry

    static let builders: [String: ONNXOps.Builder] = {
        var b: [String: ONNXOps.Builder] = [
            "Transpose": transpose,
            "Concat": concat,
            "Split": split,
            "Slice": slice,
            "Gather": gather,
            "Expand": expand,
            "Pad": pad,
            "ReduceSum": { try reduce($0, .sum, axesInput: 13) },
            "ReduceMean": { try reduce($0, .mean, axesInput: 18) },
            "ReduceMax": { try reduce($0, .max, axesInput: 18) },
            "ReduceMin": { try reduce($0, .min, axesInput: 18) },
            "Resize": { try resize($0, upsample: false) },
            "Upsample": { try resize($0, upsample: true) },
            "Where": { n in
                let op = try WhereOp(condition: try n.shape(0), x: try n.shape(1), y: try n.shape(2))
                try apply(n, op, [0, 1, 2], type: elementType(n, 1))
            },
            "Range": range,
            "ConstantOfShape": constantOfShape,
            "Mod": mod,
            "Size": { n in
                let count = Tensor.elementCount(try n.shape(0)) ?? 0
                try n.setOutput(0, constant: Tensor(shape: [], unchecked: [Double(count)]), type: .int64)
            },
        ]
        for kind in ComparisonOp.Kind.allCases { b[kind.rawValue] = { try compare($0, kind) } }
        return b
    }()
}
