#ifndef GEOREPL_CLUA_SHIM_H
#define GEOREPL_CLUA_SHIM_H
/*
 * The system's Lua 5.4 (Debian: liblua5.4-dev) and the static inline shims Swift needs.
 *
 * 1. Re-declarations of the C API's function-like macros, which Swift cannot import
 *    (lua_pop, lua_pcall, lua_tostring, lua_upvalueindex, LUA_REGISTRYINDEX, ...).
 * 2. The error boundary. Lua raises errors with longjmp, which must never cross a live Swift
 *    frame. Every function that Lua calls is `geo_trampoline`, a C closure whose one upvalue
 *    is the binding's id. It calls the Swift dispatcher `geo_dispatch` directly (by symbol),
 *    which runs the binding, catches every Swift error, pushes the error value and returns -1;
 *    only then, with all Swift frames gone, does the trampoline call lua_error. This is the one
 *    place in the program that raises a Lua error from native code.
 * 3. lua.c's helpers that run under lua_pcall in C: the traceback message handler, the REPL's
 *    printer of results, and the interrupt hook that Ctrl-C installs.
 */
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

/* ---- 1. macros re-declared as functions ---- */
static inline int geo_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int geo_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline void geo_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void geo_newtable(lua_State *L) { lua_newtable(L); }
static inline int geo_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}
static inline const char *geo_tostring(lua_State *L, int i) { return lua_tolstring(L, i, NULL); }
static inline int geo_isnoneornil(lua_State *L, int i) { return lua_type(L, i) <= 0; }
static inline void geo_insert(lua_State *L, int i) { lua_rotate(L, i, 1); }
static inline void geo_remove(lua_State *L, int i) { lua_rotate(L, i, -1); lua_pop(L, 1); }
static inline void *geo_newuserdata(lua_State *L, size_t size) { return lua_newuserdatauv(L, size, 0); }
static inline int geo_loadbuffer(lua_State *L, const char *buf, size_t size, const char *name) {
    return luaL_loadbufferx(L, buf, size, name, NULL);
}
/* luaL_testudata never raises: it compares metatables with raw operations. */
static inline void *geo_testudata(lua_State *L, int i, const char *tname) { return luaL_testudata(L, i, tname); }
static inline int geo_getmetafield(lua_State *L, int obj, const char *e) { return luaL_getmetafield(L, obj, e); }
static inline int geo_newmetatable(lua_State *L, const char *tname) { return luaL_newmetatable(L, tname); }
static inline void geo_setmetatable_named(lua_State *L, const char *tname) { luaL_setmetatable(L, tname); }
static inline int geo_getmetatable_named(lua_State *L, const char *tname) {
    return lua_getfield(L, LUA_REGISTRYINDEX, tname);  /* the registry has no metatable: raw */
}

/* ---- 2. the error boundary ---- */

/* The Swift dispatcher (Bindings, `@_cdecl("geo_dispatch")`): runs the binding whose id is
 * upvalue 1 of the running closure, catches every Swift error, pushes the error value and
 * returns -1, or returns the number of results it pushed. It is linked by name, not reached
 * through a value Lua code could replace (`debug.setupvalue` can overwrite any upvalue). */
extern int geo_dispatch(lua_State *L);

/* Calls the Swift dispatcher; raises the pushed error value when it returns a negative count. */
static int geo_trampoline(lua_State *L) {
    int n = geo_dispatch(L);
    if (n < 0) return lua_error(L);  /* no Swift frame is live here */
    return n;
}

/* Pushes a Lua function that runs Swift binding `id` (its only upvalue). */
static inline void geo_pushbinding(lua_State *L, lua_Integer id) {
    lua_pushinteger(L, id);
    lua_pushcclosure(L, geo_trampoline, 1);
}

/* ---- 3. lua.c's helpers ---- */

/* Message handler: adds a traceback to string messages (lua.c's msghandler). */
static int geo_msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}
static inline void geo_pushmsghandler(lua_State *L) { lua_pushcfunction(L, geo_msghandler); }

/* Prints all its arguments with the global `print` (lua.c's l_print); run under lua_pcall. */
static int geo_printresults(lua_State *L) {
    int n = lua_gettop(L);
    if (n == 0) return 0;
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    lua_call(L, n, 0);
    return 0;
}
static inline void geo_pushprintresults(lua_State *L) { lua_pushcfunction(L, geo_printresults); }

/* Converts any value to a string with __tostring / __name (luaL_tolstring); run under lua_pcall. */
static int geo_tostringall(lua_State *L) {
    luaL_tolstring(L, 1, NULL);
    return 1;
}
static inline void geo_pushtostring(lua_State *L) { lua_pushcfunction(L, geo_tostringall); }

/* Bindings (`@_cdecl`): clears the engine's pending interrupt once the hook has delivered it,
 * so that one Ctrl-C is one error. Returns before the hook raises. */
extern void geo_interrupt_delivered(void);

/* The Ctrl-C hook (lua.c's lstop): clears itself and raises "interrupted". */
static void geo_interrupthook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    geo_interrupt_delivered();
    luaL_error(L, "interrupted");
}
/* Installs the hook; lua_sethook is safe to call from a signal handler (lua.c's laction). */
static inline void geo_interrupt(lua_State *L) {
    lua_sethook(L, geo_interrupthook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}
static inline void geo_clearhook(lua_State *L) { lua_sethook(L, NULL, 0, 0); }

#endif
