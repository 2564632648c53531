import CLua
import GeoEngine

/// geo.Dataset and pictures.
///     ds = geo.dataset("fashion-mnist" [, {split="train"|"test"}])
///     ds[i] (a geo.Vector of 784 values in [0,1])  #ds  ds:label(i) (0..9)  ds:class(i)
///     ds.name  ds.split  ds.data_shape  ds.classes
///     geo.save_png(file, images [, {cols=, shape=, scale=, separator=}])
///     geo.latent_map(m, file [, {paths={...}, points={...}, range=3, resolution=128, width=512,
///                    log=true, colormap="viridis"|"magma"|"gray"}])
/// latent_map draws sqrt det M(z) over [-range, range]^2 of a 2-d latent space (log colour
/// scale by default) with the given points (2-d geo.Vectors, e.g. encoded images: small white
/// dots) and paths (geo.Path or tables of geo.Vector) on top.
/// `images` is a geo.Vector, a table of them (e.g. p:decode()), or a geo.Path (decoded on its
/// manifold). The image shape comes from `shape`, else the path's manifold, else a square.
enum DataLua {
    static let datasetType: UserType<FashionMNIST> = UserType(
        name: "geo.Dataset",
        methods: [
            Binding("label") { call in
                let ds = try call.value(1, datasetType)
                return call.push(try ds.label(try index(call, 2, ds)))
            },
            Binding("class") { call in
                let ds = try call.value(1, datasetType)
                return call.push(try ds.className(try index(call, 2, ds)))
            },
        ],
        metamethods: [
            ("__len", Binding("__len") { call in call.push(try call.value(1, datasetType).count) }),
            ("__tostring", Binding("__tostring") { call in
                let ds = try call.value(1, datasetType)
                return call.push("geo.Dataset(fashion-mnist, \(ds.split == .train ? "train" : "test"), \(ds.count) images of 1x\(ds.height)x\(ds.width))")
            }),
        ],
        fields: ["name", "split", "data_shape", "classes"],
        index: Binding("__index") { call in
            let L = call.L
            let ds = try call.value(1, datasetType)
            if let index = call.sequenceIndex(2, count: ds.count) {
                return try index.map { call.push(try ds.image($0), as: VectorLua.type) } ?? call.pushNil()
            }
            guard lua_type(L, 2) == LUA_TSTRING, let k = geo_tostring(L, 2) else { return call.pushNil() }
            switch String(cString: k) {
            case "name": return call.push("fashion-mnist")
            case "split": return call.push(ds.split == .train ? "train" : "test")
            case "data_shape": return call.push(numbers: ds.dataShape.map(Double.init), integers: true)
            case "classes":
                lua_createtable(L, Int32(FashionMNIST.classNames.count), 0)
                for (i, n) in FashionMNIST.classNames.enumerated() {
                    lua_pushstring(L, n); lua_rawseti(L, -2, lua_Integer(i))   // indexed by label 0..9
                }
                return 1
            default: return pushMethod(L, 1, 2)
            }
        })

    /// A 1-based image index argument, converted to 0-based.
    static func index(_ call: LuaCall, _ i: Int32, _ ds: FashionMNIST) throws -> Int {
        let k = try call.integer(i)
        guard k >= 1, k <= ds.count else { throw call.argumentError(i, Messages.indexOutOfRange("index", k, ds.count)) }
        return k - 1
    }

    /// The images argument of save_png: vectors and, when known, their data shape.
    static func images(_ call: LuaCall, _ i: Int32) throws -> ([Vector], [Int]?) {
        if let v = VectorLua.type.value(call.L, i) { return ([v], nil) }
        if let p = PathLua.type.value(call.L, i) {
            let x = try p.path.decode(on: p.manifold.decoder)
            return ((0..<x.rows).map { x.row($0) }, p.manifold.dataShape)
        }
        guard lua_type(call.L, i) == LUA_TTABLE else { throw call.typeError(i, "geo.Vector, table or geo.Path") }
        let vs = try call.sequence(i) { k -> Vector in
            guard let v = VectorLua.type.value(call.L, -1) else {
                throw call.argumentError(i, Messages.entryType(k, "geo.Vector", got: call.typeName(-1)))
            }
            return v
        }
        return (vs, nil)
    }

    /// The `paths` option of latent_map: a table of geo.Path (or of tables of 2-d geo.Vectors).
    static func latentPaths(_ call: LuaCall, _ o: Options, _ position: Int32) throws -> [[SIMD2<Double>]] {
        guard o.pushRaw("paths") else { return [] }
        defer { geo_pop(call.L, 1) }
        guard lua_type(call.L, -1) == LUA_TTABLE else {
            throw call.argumentError(position, Messages.optionType("paths", "a table of geo.Path", got: call.typeName(-1)))
        }
        return try call.sequence(-1) { k -> [SIMD2<Double>] in
            if let p = PathLua.type.value(call.L, -1) { return try latentPoints(p.path.points, "path \(k)") }
            guard lua_type(call.L, -1) == LUA_TTABLE else {
                throw call.argumentError(position, Messages.entryType(k, "geo.Path", got: call.typeName(-1)))
            }
            return try latentVectors(call, position, "path \(k)")
        }
    }

    /// The `points` option of latent_map: a table of 2-d geo.Vectors (markers).
    static func latentMarkers(_ call: LuaCall, _ o: Options, _ position: Int32) throws -> [SIMD2<Double>] {
        guard o.pushRaw("points") else { return [] }
        defer { geo_pop(call.L, 1) }
        guard lua_type(call.L, -1) == LUA_TTABLE else {
            throw call.argumentError(position, Messages.optionType("points", "a table of geo.Vector", got: call.typeName(-1)))
        }
        return try latentVectors(call, position, "option 'points'")
    }

    /// The table on top of the stack as a list of 2-d geo.Vectors (`what` names it in errors).
    static func latentVectors(_ call: LuaCall, _ position: Int32, _ what: String) throws -> [SIMD2<Double>] {
        let vectors = try call.sequence(-1) { j -> Vector in
            guard let v = VectorLua.type.value(call.L, -1) else {
                throw call.argumentError(position, Messages.entryType(j, "geo.Vector", got: call.typeName(-1)))
            }
            return v
        }
        return try latentPoints(vectors, what)
    }

    static func latentPoints(_ vectors: [Vector], _ what: String) throws -> [SIMD2<Double>] {
        try vectors.map { v in
            guard v.count == 2 else { throw GeoError.dimensionMismatch("latent_dim is 2, \(what) has points of \(v.count)") }
            return SIMD2(v[0], v[1])
        }
    }

    static let constructors: [Binding] = [
        Binding("dataset") { call in
            let name = try call.string(1)
            let o = try Options(call, 2, allowed: ["split"])
            let split = try o.choice("split", ["train", "test"]) ?? "train"
            return call.push(try DatasetCatalog.load(name, split: split), as: datasetType)
        },
        Binding("latent_map") { call in
            let m = try call.value(1, ManifoldLua.type)
            let path = try call.path(2)
            let o = try Options(call, 3, allowed: ["paths", "points", "range", "resolution", "width", "log", "colormap", "progress"])
            let box = try LatentBox(range: try o.number("range") ?? 3)
            let n = try o.integer("resolution") ?? 128
            var options = HeatMapOptions(width: try o.integer("width") ?? 512, logScale: try o.boolean("log") ?? true)
            if let cm = try o.choice("colormap", ColorMap.builtIn.map(\.name)) { options.colorMap = try ColorMap.named(cm) }
            let paths = try latentPaths(call, o, 3), points = try latentMarkers(call, o, 3)
            let file = try AtomicFile(path: path)   // a bad target fails before the work
            let bar = ProgressBar("latent map", requested: try o.boolean("progress"))
            defer { bar.finish() }
            let values = try LatentMap.volumes(on: m.generator, box: box, rows: n, cols: n, progress: bar.handler)
            try HeatMap(values: values, box: box, paths: paths, points: points).write(to: file, options: options)
            return 0
        },
        Binding("save_png") { call in
            let file = try AtomicFile(path: try call.path(1))   // a bad target fails before the work
            var (vs, shape) = try images(call, 2)
            let o = try Options(call, 3, allowed: ["cols", "shape", "scale", "separator"])
            if o.pushRaw("shape") {
                shape = try call.numbers(-1, reportAs: 3).map { x -> Int in
                    guard let n = Int(exactly: x), n > 0 else { throw call.argumentError(3, Messages.optionType("shape", "a table of positive integers", got: formatNumber(x))) }
                    return n
                }
                geo_pop(call.L, 1)
            }
            guard !vs.isEmpty else { throw call.argumentError(2, Messages.noImages) }
            let options = ImageGridOptions(cols: try o.integer("cols"), separator: try o.integer("separator") ?? 1,
                                           scale: try o.integer("scale") ?? 1)
            try ImageGrid.write(vs, dataShape: shape, options: options, to: file)
            return 0
        },
    ]
}
