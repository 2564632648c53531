import CLua
import GeoEngine

/// The `geo` module: installs every userdata type's metatable and the `geo` table into a Lua
/// state, as a global and as `package.loaded.geo` (so `require "geo"` returns it).
public enum GeoModule {
    /// georepl's version.
    public static let version = "0.1.0"

    /// Every userdata type of the module.
    static var types: [(install: (OpaquePointer) -> Void, name: String, methods: [String], fields: [String])] {
        [describe(VectorLua.type), describe(MatrixLua.type), describe(ManifoldLua.type), describe(PathLua.type), describe(DataLua.datasetType),
         describe(PointSetsLua.graphType)]
    }
    private static func describe<T>(_ t: UserType<T>) -> ((OpaquePointer) -> Void, String, [String], [String]) {
        ({ t.install($0) }, t.name, t.methods.map(\.name), t.fields)
    }

    /// Every function of the geo table.
    static var functions: [Binding] { allFunctions }
    private static let allFunctions: [Binding] = VectorLua.constructors + MatrixLua.constructors + ManifoldLua.constructors + PathLua.constructors
        + DataLua.constructors + GeometryLua.functions + TrainLua.constructors + ClockLua.functions + MetricsLua.constructors
        + PointSetsLua.functions + FilesLua.functions

    /// Installs the module into L; leaves the stack as it was.
    public static func install(_ L: OpaquePointer) {
        for t in types { t.install(L) }
        lua_createtable(L, 0, Int32(functions.count + 2))
        for f in functions { f.push(L); lua_setfield(L, -2, f.name) }
        lua_pushstring(L, "georepl \(version)")
        lua_setfield(L, -2, "_VERSION")
        lua_pushvalue(L, -1)
        lua_setglobal(L, "geo")
        _ = lua_getfield(L, geo_registryindex(), LUA_LOADED_TABLE)
        lua_pushvalue(L, -2)
        lua_setfield(L, -2, "geo")
        geo_pop(L, 2)
    }

    /// Names of methods for completion of `value:` given its metatable's `__name`.
    static func methodNames(ofType name: String) -> [String] {
        types.first { $0.name == name }.map { $0.methods } ?? []
    }
    static func fieldNames(ofType name: String) -> [String] {
        types.first { $0.name == name }.map { $0.fields } ?? []
    }
}

/// The version of the Lua library georepl runs on, e.g. "Lua 5.4".
public func luaVersion() -> String { LUA_VERSION_MAJOR.isEmpty ? "Lua" : "Lua \(LUA_VERSION_MAJOR).\(LUA_VERSION_MINOR)" }
