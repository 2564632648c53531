import CLua
import GeoEngine

/// geo.Manifold: a generator (and optional encoder) seen as a Riemannian manifold.
///     geo.sphere{radius=1}  geo.torus{R=2, r=1}  geo.plane{dim=2}  geo.saddle{}
///     geo.swissroll{a=1, theta0=2*pi}  geo.load(path)  geo.model([name])
///     geo.save(m, path [, {dtype="F32"|"F64", encoder=true}])   writes a neural model as a model file
///                                              (encoder = false: the decoder only)
///     geo.regularized(m, lambda)   m with the metric J^T J + lambda I (decode unchanged)
///     m.name  m.description  m.latent_dim  m.data_dim  m.data_shape  m.has_encoder
///     m:decode(z)  m:encode(x)  m:jacobian(z)  m:metric(z)  m:volume(z)  m:singular_values(z)
enum ManifoldLua {
    static let type: UserType<Manifold> = UserType(
        name: "geo.Manifold",
        methods: [
            Binding("decode") { call in
                let m = try call.value(1, type)
                return call.push(try m.decoder.decode(try call.value(2, VectorLua.type)), as: VectorLua.type)
            },
            Binding("encode") { call in
                let m = try call.value(1, type)
                return call.push(try m.encode(try call.value(2, VectorLua.type)), as: VectorLua.type)
            },
            Binding("jacobian") { call in
                let m = try call.value(1, type)
                return call.push(try m.generator.jacobian(try call.value(2, VectorLua.type)), as: MatrixLua.type)
            },
            Binding("metric") { call in
                let m = try call.value(1, type)
                return call.push(try m.generator.metric(try call.value(2, VectorLua.type)), as: MatrixLua.type)
            },
            Binding("volume") { call in
                let m = try call.value(1, type)
                return call.push(try m.generator.volume(try call.value(2, VectorLua.type)))
            },
            Binding("singular_values") { call in
                let m = try call.value(1, type)
                return call.push(try m.generator.singularValues(try call.value(2, VectorLua.type)), as: VectorLua.type)
            },
        ],
        metamethods: [
            ("__tostring", Binding("__tostring") { call in
                let m = try call.value(1, type)
                return call.push("geo.Manifold(\(untrusted: m.name): latent_dim \(m.latentDim), data_dim \(m.dataDim))")
            }),
            ("__eq", Binding("__eq") { call in
                guard let a = type.value(call.L, 1), let b = type.value(call.L, 2) else { return call.push(false) }
                return call.push(a === b)
            }),
        ],
        fields: ["name", "description", "latent_dim", "data_dim", "data_shape", "has_encoder"],
        index: Binding("__index") { call in
            let m = try call.value(1, type)
            guard lua_type(call.L, 2) == LUA_TSTRING, let k = geo_tostring(call.L, 2) else { return call.pushNil() }
            switch String(cString: k) {
            case "name": return call.push(m.name)
            case "description": return call.push(m.description)
            case "latent_dim": return call.push(m.latentDim)
            case "data_dim": return call.push(m.dataDim)
            case "data_shape": return call.push(numbers: m.dataShape.map(Double.init), integers: true)
            case "has_encoder": return call.push(m.encoder != nil)
            default: return pushMethod(call.L, 1, 2)
            }
        })

    /// Wraps an analytic surface as a manifold named after it.
    static func surface(_ g: Generator & CustomStringConvertible, _ name: String) -> Manifold {
        Manifold(name: name, description: g.description, generator: g)
    }

    static let modelsToString = Binding("__tostring") { call in
        let width = ModelCatalog.entries.map(\.name.count).max() ?? 0
        return call.push(ModelCatalog.entries.map { "\($0.name.padding(toLength: width, withPad: " ", startingAt: 0)) \($0.summary)" }
            .joined(separator: "\n"))
    }

    static let constructors: [Binding] = [
        Binding("sphere") { call in
            let o = try Options(call, 1, allowed: ["radius"])
            return call.push(surface(try Sphere(radius: try o.number("radius") ?? 1), "sphere"), as: type)
        },
        Binding("torus") { call in
            let o = try Options(call, 1, allowed: ["R", "r"])
            let R = try o.number("R") ?? 2, r = try o.number("r") ?? 1
            return call.push(surface(try Torus(R: R, r: r), "torus"), as: type)
        },
        Binding("plane") { call in
            let o = try Options(call, 1, allowed: ["dim"])
            return call.push(surface(try Plane(dim: try o.integer("dim") ?? 2), "plane"), as: type)
        },
        Binding("saddle") { call in
            _ = try Options(call, 1, allowed: [])
            return call.push(surface(Saddle(), "saddle"), as: type)
        },
        Binding("load") { call in
            // geo.load(path) for a model file or an ONNX file (by its ending), or
            // geo.load{decoder = "dec.onnx", encoder = "enc.onnx", name = , data_shape = }.
            if lua_type(call.L, 1) == LUA_TTABLE {
                let o = try Options(call, 1, allowed: ["decoder", "encoder", "name", "data_shape"])
                guard let decoder = try o.path("decoder") else {
                    throw call.argumentError(1, Messages.optionRequired("decoder", "the path of an ONNX file"))
                }
                var shape: [Int]?
                if o.pushRaw("data_shape") {
                    defer { geo_pop(call.L, 1) }
                    shape = try call.numbers(-1, reportAs: 1).map { x in
                        guard let n = Int(exactly: x) else { throw call.argumentError(1, Messages.optionType("data_shape", "a table of integers", got: formatNumber(x))) }
                        return n
                    }
                }
                return call.push(try ONNXModel.load(decoder: decoder, encoder: try o.path("encoder"), name: try o.string("name"),
                                                    dataShape: shape), as: type)
            }
            let path = try call.path(1)
            if path.lowercased().hasSuffix(".onnx") { return call.push(try ONNXModel.load(decoder: path), as: type) }
            return call.push(try ModelFile.load(path: path), as: type)
        },
        Binding("save") { call in
            let m = try call.value(1, type)
            let path = try call.path(2)
            let o = try Options(call, 3, allowed: ["dtype", "encoder"])
            let dtype = try o.choice("dtype", ["F32", "F64"]).flatMap(SafeTensorsDType.init(rawValue:)) ?? .f32
            try ModelFile.write(m, to: path, dtype: dtype, encoder: try o.boolean("encoder") ?? true)
            return 0
        },
        Binding("model") { call in
            let name = call.isNoneOrNil(1) ? nil : try call.string(1)
            return call.push(try ModelCatalog.load(name), as: type)
        },
        Binding("models") { call in
            lua_createtable(call.L, Int32(ModelCatalog.entries.count), 0)
            for (i, e) in ModelCatalog.entries.enumerated() {
                lua_createtable(call.L, 0, 2)
                call.setField("name") { call.push(e.name) }
                call.setField("summary") { call.push(e.summary) }
                lua_rawseti(call.L, -2, lua_Integer(i + 1))
            }
            // Printed (e.g. at the REPL) it lists the models one line each.
            lua_createtable(call.L, 0, 1)
            call.setField("__tostring") { modelsToString.push(call.L) }
            lua_setmetatable(call.L, -2)
            return 1
        },
        Binding("regularized") { call in
            let m = try call.value(1, type)
            let lambda = try call.number(2)
            call.argument(2, isSetting: "lambda")
            return call.push(try m.regularized(lambda: lambda), as: type)
        },
        Binding("swissroll") { call in
            let o = try Options(call, 1, allowed: ["a", "theta0"])
            let g = try SwissRoll(a: try o.number("a") ?? 1, theta0: try o.number("theta0") ?? 2 * Double.pi)
            return call.push(surface(g, "swissroll"), as: type)
        },
    ]
}
