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
///
/// As in liolib, every entry point checks the type of the userdata it is given against this
/// metatable (`luaL_testudata`), `__gc` included: Lua code can reach any metamethod with
/// `getmetatable(v).__gc(x)` and pass it any value, an io file or another geo type, and `__gc`
/// can run more than once on a resurrected object. Both are harmless here.
public final class UserType<T> {
    public let name: String
    let methods: [Binding]
    let metamethods: [(String, Binding)]
    /// Field names shown by tab completion after `value.` (besides the methods).
    let fields: [String]
    /// A custom `__index` (for `v[i]` or fields); when nil, `__index` is the methods table.
    let index: Binding?
    /// This type's `__gc`.
    let gc: Binding

    public init(name: String, methods: [Binding], metamethods: [(String, Binding)],
                fields: [String] = [], index: Binding? = nil) {
        self.name = name; self.methods = methods; self.metamethods = metamethods
        self.fields = fields; self.index = index
        gc = UserType.makeGC(name)
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
        gc.push(L); lua_setfield(L, mt, "__gc")
        geo_pop(L, 1)
    }

    /// Pushes a new userdata holding `value`: the process's tag, then the retained pointer.
    func push(_ L: OpaquePointer, _ value: T) {
        // lua_newuserdatauv never returns NULL (it raises on memory exhaustion).
        guard let block = geo_newuserdata(L, UserdataLayout.size) else { return }
        block.storeBytes(of: UserdataLayout.tag, as: UInt64.self)
        (block + UserdataLayout.pointerOffset).storeBytes(of: Unmanaged.passRetained(Box(value) as LuaObject).toOpaque(),
                                                          as: UnsafeMutableRawPointer?.self)
        geo_setmetatable_named(L, name)
    }

    /// The address of the pointer slot of the userdata at index i, or nil when i is not a
    /// userdata made by `push` with this type's metatable. Besides the metatable (which
    /// `debug.setmetatable` can give to any userdata, an io file say), the block's size and the
    /// process's tag must match, so a foreign block is never read as a pointer.
    private func slot(_ L: OpaquePointer, _ i: Int32) -> UnsafeMutableRawPointer? { UserType.slot(L, i, name) }

    private static func slot(_ L: OpaquePointer, _ i: Int32, _ name: String) -> UnsafeMutableRawPointer? {
        guard let block = geo_testudata(L, i, name), lua_rawlen(L, i) == UserdataLayout.size,
              block.load(as: UInt64.self) == UserdataLayout.tag else { return nil }
        return block + UserdataLayout.pointerOffset
    }

    /// The value at index i, or nil when it is not a live userdata of this type.
    func value(_ L: OpaquePointer, _ i: Int32) -> T? {
        guard let p = slot(L, i)?.load(as: UnsafeMutableRawPointer?.self) else { return nil }
        return (Unmanaged<LuaObject>.fromOpaque(p).takeUnretainedValue() as? Box<T>)?.value
    }
    /// Whether index i is a userdata of this type whose value `__gc` has already released.
    func isFreed(_ L: OpaquePointer, _ i: Int32) -> Bool {
        guard let s = slot(L, i) else { return false }
        return s.load(as: UnsafeMutableRawPointer?.self) == nil
    }

    /// `__gc` for this type: releases the Swift object and clears the slot, so that a second
    /// call (a resurrected userdata) finds nothing to release and a later use reads as freed
    /// instead of dangling. Anything that is not a userdata of this type is left alone.
    private static func makeGC(_ name: String) -> Binding {
        Binding("__gc") { call in
            guard let slot = slot(call.L, 1, name), let p = slot.load(as: UnsafeMutableRawPointer?.self) else { return 0 }
            slot.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
            Unmanaged<LuaObject>.fromOpaque(p).release()
            return 0
        }
    }
}

/// The memory of a geo userdata: an 8-byte tag, then the retained pointer to the Swift object.
enum UserdataLayout {
    static let pointerOffset = 8
    static let size = pointerOffset + MemoryLayout<UnsafeMutableRawPointer?>.size
    /// Chosen at random once per process, so that no other userdata's bytes match it by design.
    static let tag: UInt64 = UInt64.random(in: 1...UInt64.max)
}

