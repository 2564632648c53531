import CLua
import Synchronization

/// Base class of every Swift object that Lua owns through a userdata. Counts live instances so
/// tests can prove that objects are freed (by `__gc`, and when a binding throws).
public class LuaObject {
    private static let live = Atomic<Int>(0)
    /// How many LuaObjects exist right now.
    public static var liveCount: Int { live.load(ordering: .relaxed) }
    public init() { _ = LuaObject.live.add(1, ordering: .relaxed) }
    deinit { _ = LuaObject.live.subtract(1, ordering: .relaxed) }
}

/// A Swift value held by a userdata.
final class Box<T>: LuaObject {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A Lua userdata type for Swift values of type T: one metatable named `name` (so type errors
/// read "geo.Vector expected, got nil"), methods and metamethods in separate tables. The userdata
/// holds one retained pointer to a `Box<T>`; `__gc` releases it and clears the slot.
public final class UserType<T> {
    public let name: String
    let methods: [Binding]
    let metamethods: [(String, Binding)]
    /// Field names shown by tab completion after `value.` (besides the methods).
    let fields: [String]
    /// A custom `__index` (for `v[i]` or fields); when nil, `__index` is the methods table.
    let index: Binding?

    public init(name: String, methods: [Binding], metamethods: [(String, Binding)],
                fields: [String] = [], index: Binding? = nil) {
        self.name = name; self.methods = methods; self.metamethods = metamethods
        self.fields = fields; self.index = index
    }

    /// Creates the metatable in the registry of L (once per state).
    func install(_ L: OpaquePointer) {
        guard geo_newmetatable(L, name) != 0 else { geo_pop(L, 1); return }
        let mt = lua_gettop(L)
        lua_createtable(L, 0, Int32(methods.count))
        for m in methods { m.push(L); lua_setfield(L, -2, m.name) }
        lua_pushvalue(L, -1)
        lua_setfield(L, mt, "__methods")
        if let index = index { geo_pop(L, 1); index.push(L) }
        lua_setfield(L, mt, "__index")
        for (key, b) in metamethods { b.push(L); lua_setfield(L, mt, key) }
        UserType.gc.push(L); lua_setfield(L, mt, "__gc")
        geo_pop(L, 1)
    }

    /// Pushes a new userdata holding `value`.
    func push(_ L: OpaquePointer, _ value: T) {
        // lua_newuserdatauv never returns NULL (it raises on memory exhaustion).
        guard let slot = geo_newuserdata(L, MemoryLayout<UnsafeMutableRawPointer?>.size) else { return }
        slot.storeBytes(of: Unmanaged.passRetained(Box(value) as LuaObject).toOpaque(),
                        as: UnsafeMutableRawPointer?.self)
        geo_setmetatable_named(L, name)
    }

    /// The value at index i, or nil when it is not a live userdata of this type.
    func value(_ L: OpaquePointer, _ i: Int32) -> T? {
        guard let slot = geo_testudata(L, i, name),
              let p = slot.load(as: UnsafeMutableRawPointer?.self) else { return nil }
        return (Unmanaged<LuaObject>.fromOpaque(p).takeUnretainedValue() as? Box<T>)?.value
    }
    /// Whether index i is a userdata of this type whose value `__gc` has already released.
    func isFreed(_ L: OpaquePointer, _ i: Int32) -> Bool {
        guard let slot = geo_testudata(L, i, name) else { return false }
        return slot.load(as: UnsafeMutableRawPointer?.self) == nil
    }

    /// `__gc` for every type: releases the Swift object and clears the slot, so a resurrected
    /// userdata reads as freed instead of dangling.
    static var gc: Binding { sharedGC }
}

private let sharedGC = Binding("__gc") { call in
    if lua_type(call.L, 1) == LUA_TUSERDATA, let slot = lua_touserdata(call.L, 1),
       let p = slot.load(as: UnsafeMutableRawPointer?.self) {
        slot.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
        Unmanaged<LuaObject>.fromOpaque(p).release()
    }
    return 0
}
