-- The Lua API fuzzer of georepl.
--
--     georepl scripts/fuzz/api.lua SEED COUNT [LOGFILE [FIRST]]
--
-- Finds every function of `geo` and every method and metamethod of every geo type (through the
-- metatables of sample objects: __index / __methods tables and every __* field, __gc included)
-- and calls them, COUNT calls in all (calls FIRST..COUNT), with 0-5 arguments: awkward values
-- (NaN, huge numbers and sizes, long and binary strings, special paths, cyclic, sparse and
-- trapping tables, erroring and yielding functions, coroutines, io files, freed objects, objects
-- of the other geo types) and, most of the time, "almost valid" argument lists (right types and
-- dimensions with one bad value) that reach deeper code. Call k draws from its own generator
-- seeded from (SEED, k): the same seed gives the same calls, and `api.lua SEED k LOG k` replays
-- call k alone.
--
-- Before each call its description is appended to LOGFILE (flushed), its outcome after it:
--     SEED K TARGET ARGS... => ok|error|unclear|interrupted TIME [message]
-- so a crash leaves the crashing call as the last, unfinished line.
--
-- Outcomes: ok; clean error (a string: not empty, no "(null)", no raw control characters, under
-- 1000 bytes; or exactly the value a fuzzer callback raised); unclear (anything else, logged
-- with UNCLEAR); interrupted (Ctrl-C: the run stops after the call and the summary says where
-- to resume, because a second Ctrl-C during a script terminates georepl, as lua.c does).
--
-- Environment: GEOREPL_FUZZ_DIR (a scratch folder for files; default /tmp/georepl-fuzz-SEED),
-- GEOREPL_FUZZ_SKIP (comma-separated names to leave out: functions as "load" or "geo.load",
-- methods as "jacobian" or "Manifold.jacobian", operators as "op:index", value labels such as
-- "devzero" or "fifo"; empty by default), GEOREPL_FUZZ_ONLY (the same kind of names: call only
-- these targets, e.g. "op:rebind,geo.load", to focus a run; empty by default).
--
-- Last line on stdout:
--     api: seed S calls N ok A errors E unclear U interrupted I slow W next K
-- (calls done in this process; `next K` is the next call to run, COUNT+1 when done).

local here = (arg and arg[0] and arg[0]:match("^(.*)/[^/]*$")) or "."
local lib = dofile(here .. "/lib.lua")

local SEED = math.tointeger(tonumber(arg[1] or "")) 
local COUNT = math.tointeger(tonumber(arg[2] or ""))
if not SEED or not COUNT then
  io.stderr:write("usage: georepl scripts/fuzz/api.lua SEED COUNT [LOGFILE [FIRST]]\n")
  os.exit(2)
end
local LOGFILE = arg[3]
local FIRST = math.tointeger(tonumber(arg[4] or "1")) or 1
local SKIP = lib.skip_set()
local DIR = os.getenv("GEOREPL_FUZZ_DIR") or ("/tmp/georepl-fuzz-" .. SEED)
lib.mkdir(DIR)
local log = lib.log(LOGFILE, SEED)
local clock = geo.clock or os.clock

------------------------------------------------------------------------------------------------
-- The current call's generator and its callback bookkeeping.

local rng = lib.rng(SEED, 0)
local raised = {}      -- values a fuzzer callback or trap raised during the current call
local raised_nil = false

--- Raises v (a fuzzer callback or metamethod trap) and remembers it.
local function raise(v)
  if v == nil then raised_nil = true else raised[#raised + 1] = v end
  error(v, 0)
end

local function skipped(name) return SKIP[name] == true end

------------------------------------------------------------------------------------------------
-- Sample objects, made once. Failures are reported on stderr and leave the sample out.

local S = {}           -- name -> object
local function sample(name, f)
  local ok, v = pcall(f)
  if ok and v ~= nil then S[name] = v
  else io.stderr:write("api.lua: setup: " .. name .. ": " .. tostring(v) .. "\n") end
  return S[name]
end

sample("ds", function() return geo.dataset("fashion-mnist", {split = "test"}) end)
local MODEL_NAMES = {"fashion-vae", "fashion-vae-2d", "fashion-vae-conv"}

-- Manifolds: {name, object, cost} (cost 1 cheap surfaces and tiny nets, 2 the 2-d VAE, 3 the
-- 16-d VAEs).
local MANIFOLDS = {}
local function manifold(name, cost, f)
  local m = sample("man:" .. name, f)
  if m then MANIFOLDS[#MANIFOLDS + 1] = {name = name, m = m, cost = cost} end
end
manifold("sphere", 1, function() return geo.sphere{} end)
manifold("sphere2", 1, function() return geo.sphere{radius = 2} end)
manifold("torus", 1, function() return geo.torus{R = 2, r = 1} end)
manifold("plane", 1, function() return geo.plane{} end)
manifold("plane5", 1, function() return geo.plane{dim = 5} end)
manifold("saddle", 1, function() return geo.saddle{} end)
manifold("swissroll", 1, function() return geo.swissroll{} end)
manifold("vae2d", 2, function() return geo.model("fashion-vae-2d") end)
manifold("reg2d", 2, function() return geo.regularized(geo.model("fashion-vae-2d"), 0.1) end)
manifold("vae", 3, function() return geo.model("fashion-vae") end)
manifold("conv", 3, function() return geo.model("fashion-vae-conv") end)
manifold("reg16", 3, function() return geo.regularized(geo.model("fashion-vae"), 0.1) end)
-- Tiny random networks from model files written here (one MLP with an encoder, one conv net).
do
  local function tiny(name, build, seed)
    manifold(name, 1, function()
      local r = lib.rng(seed, 1)
      local m
      repeat m = build(r) until name ~= "file-mlp" or m.encoder
      local path = DIR .. "/" .. name .. ".safetensors"
      assert(lib.write_file(path, lib.model_bytes(m)))
      S["path:" .. name] = path
      return geo.load(path)
    end)
  end
  tiny("file-mlp", lib.build_mlp, 11)
  tiny("file-conv", lib.build_conv, 12)
end

local function mdim(m) return m.latent_dim end

sample("vec0", function() return geo.zeros(0) end)
sample("vec1", function() return geo.vec{1} end)
sample("vec2", function() return geo.vec{1, 2} end)
sample("vec3", function() return geo.vec{1, -2, 0.5} end)
sample("vec16", function() return geo.randn(16, 1) end)
sample("vec784", function() return S.ds[1] end)
sample("vecnan", function() return geo.vec{0 / 0, math.huge, -math.huge} end)
sample("mat22", function() return geo.matrix{{1, 2}, {3, 4}} end)
sample("mat32", function() return S["man:sphere"]:jacobian(geo.vec{1, 1}) end)
sample("mat1", function() return geo.matrix{{5}} end)
sample("path:line-sphere", function() return geo.line(S["man:sphere"], geo.vec{1, 0.2}, geo.vec{2, 2.5}, {points = 8}) end)
sample("path:geo-sphere", function() return geo.geodesic(S["man:sphere"], geo.vec{1, 0.2}, geo.vec{2, 2.5}, {points = 8}) end)
sample("path:loop-sphere", function() return geo.line(S["man:sphere"], geo.vec{1, 0}, geo.vec{1, 2 * math.pi}, {points = 64}) end)
sample("path:line-vae2d", function() return geo.line(S["man:vae2d"], geo.vec{0, 0}, geo.vec{1, 1}, {points = 5}) end)
sample("path:exp-torus", function() local _, p = geo.exp(S["man:torus"], geo.vec{0.5, 0.5}, geo.vec{0.3, 0.2}, {steps = 5}) return p end)
sample("models", function() return geo.models() end)

-- The geo types, by metatable name, with their sample objects.
local TYPES = {}           -- tname -> {names of samples}
local TYPE_NAMES = {}
do
  local names = {}
  for k in pairs(S) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    local mt = getmetatable(S[k])
    local tname = type(mt) == "table" and rawget(mt, "__name")
    if type(tname) == "string" then
      if not TYPES[tname] then TYPES[tname] = {}; TYPE_NAMES[#TYPE_NAMES + 1] = tname end
      table.insert(TYPES[tname], k)
    end
  end
  table.sort(TYPE_NAMES)
end
-- geo.models() returns a plain table with a metatable (its __tostring lists the models).
if S.models then TYPES["geo.models"] = {"models"} end
local function short_type(tname) return (tname:gsub("^geo%.", "")) end

-- Fresh objects of a type (for __gc and use-after-free), made on demand.
local FRESH = {
  ["geo.Vector"] = function() return geo.vec{1, 2} end,
  ["geo.Matrix"] = function() return geo.matrix{{1, 2}, {3, 4}} end,
  ["geo.Manifold"] = function() return geo.sphere{} end,
  ["geo.Path"] = function() return geo.line(S["man:sphere"], geo.vec{1, 0.2}, geo.vec{2, 2.5}, {points = 4}) end,
  ["geo.Dataset"] = function() return geo.dataset("fashion-mnist", {split = "test"}) end,
}
local function fresh(tname)
  local f = FRESH[tname]
  if f then local ok, v = pcall(f) if ok then return v end end
  return nil
end

-- Freed objects: __gc called on them (twice), kept alive.
local FREED = {}
for _, tname in ipairs(TYPE_NAMES) do
  local o = fresh(tname)
  if o then
    local gc = getmetatable(o).__gc
    pcall(gc, o); pcall(gc, o)
    FREED[#FREED + 1] = {o, "freed:" .. short_type(tname)}
  end
end

------------------------------------------------------------------------------------------------
-- Awkward values. Each generator returns value, description.

local LONG = string.rep("x", 100 * 1024)
local BINARY = "a\0b\1\2\27[2J\27[31mred\27]0;title\7\8\13\255\254\192\128 end"
local FIFO = DIR .. "/fifo"
os.execute("rm -f " .. lib.shell_quote(FIFO) .. "; mkfifo " .. lib.shell_quote(FIFO) .. " 2>/dev/null")
local TEXTFILE = DIR .. "/text.txt"
lib.write_file(TEXTFILE, "not a model\n")
local TRUNC = DIR .. "/truncated.safetensors"
if S["path:file-mlp"] then
  local f = io.open(S["path:file-mlp"], "rb")
  if f then local b = f:read("a"); f:close(); lib.write_file(TRUNC, b:sub(1, #b // 2)) end
end

local NUMBERS = {
  {0, "0"}, {-0.0, "-0.0"}, {-1, "-1"}, {1, "1"}, {2, "2"}, {0.5, "0.5"}, {1e308, "1e308"}, {-1e308, "-1e308"},
  {math.huge, "inf"}, {-math.huge, "-inf"}, {0 / 0, "nan"}, {math.maxinteger, "maxinteger"},
  {math.mininteger, "mininteger"}, {2^53, "2^53"}, {2^63, "2^63"}, {1e8, "1e8"}, {1e9, "1e9"},
  {2^31, "2^31"}, {2^40, "2^40"}, {3, "3"}, {16, "16"}, {784, "784"}, {1e-320, "1e-320"},
  {9007199254740993, "2^53+1"}, {-2^63, "-2^63"}, {2^31 - 1, "2^31-1"}, {2^32, "2^32"}, {1.5, "1.5"},
  {100000, "100000"}, {100001, "100001"}, {-1e-300, "-1e-300"},
}

local function str_values()
  local t = {
    {"", '""'}, {"x", '"x"'}, {LONG, "long100k"}, {BINARY, "binary"}, {"fashion-mnist", '"fashion-mnist"'},
    {"/", '"/"'}, {"/proc/self/mem", '"/proc/self/mem"'}, {"/dev/null", '"/dev/null"'},
    {"/nonexistent/x.png", '"/nonexistent/x.png"'}, {DIR, "DIR"}, {TEXTFILE, "DIR/text.txt"},
    {TRUNC, "DIR/truncated.safetensors"}, {"1e3", '"1e3"'}, {"  3  ", '"  3  "'}, {"nan", '"nan"'},
    {"%s%n%d%99999999s", "fmt"}, {"\226\128\174rtl", "rtl"}, {string.rep("\255", 300), "ff*300"},
    {"georce", '"georce"'}, {"rk4", '"rk4"'}, {"__gc", '"__gc"'}, {"__index", '"__index"'},
  }
  for _, n in ipairs(MODEL_NAMES) do t[#t + 1] = {n, '"' .. n .. '"'} end
  if S["path:file-mlp"] then t[#t + 1] = {S["path:file-mlp"], "DIR/file-mlp.safetensors"} end
  return t
end
local STRINGS = str_values()

-- Paths that block or never end (a FIFO without a writer, /dev/zero): drawn rarely, since each
-- costs a Ctrl-C after the stall timeout (or aborts the process while that is an open bug).
local SPECIAL = {}
if not skipped("devzero") then SPECIAL[#SPECIAL + 1] = {"/dev/zero", '"/dev/zero"'} end
if not skipped("fifo") then SPECIAL[#SPECIAL + 1] = {FIFO, "DIR/fifo"} end
local function special(p)
  if #SPECIAL > 0 and rng:chance(p) then local e = rng:pick(SPECIAL) return e end
  return nil
end
local function any_string()
  local e = special(0.002) or rng:pick(STRINGS)
  return e[1], e[2]
end

local ERRTAB = setmetatable({}, {__name = "fuzz error table"})

-- Tables.
local function trap_table(kind)
  local mt = {}
  if kind == "index" or kind == "all" then mt.__index = function() raise("fuzz: __index trap") end end
  if kind == "len" or kind == "all" then mt.__len = function() raise("fuzz: __len trap") end end
  if kind == "pairs" or kind == "all" then mt.__pairs = function() raise("fuzz: __pairs trap") end end
  if kind == "newindex" or kind == "all" then mt.__newindex = function() raise("fuzz: __newindex trap") end end
  if kind == "tostring" or kind == "all" then mt.__tostring = function() raise(ERRTAB) end end
  if kind == "eq" or kind == "all" then mt.__eq = function() raise("fuzz: __eq trap") end end
  if kind == "lenhuge" then mt.__len = function() return math.maxinteger end end
  if kind == "name" then mt.__name = BINARY end
  if kind == "proxy" then mt.__index = function(_, k) if type(k) == "number" then return 1 end end; mt.__len = function() return 3 end end
  return setmetatable(kind == "proxy" and {} or {1, 2, 3}, mt)
end

local function cyclic() local t = {1, 2}; t[3] = t; t.self = t; return t end

local BIGLIST
local function big_list()
  if not BIGLIST then BIGLIST = {} for i = 1, 200000 do BIGLIST[i] = i % 7 end end
  return BIGLIST
end

local function table_values()
  return {
    function() return {}, "{}" end,
    function() return {1, 2, 3}, "{1,2,3}" end,
    function() return {0 / 0, math.huge, 1e308}, "{nan,inf,1e308}" end,
    function() return {{1, 2}, {3, 4}}, "{{1,2},{3,4}}" end,
    function() return {{1, 2}, {3}}, "{{1,2},{3}}" end,
    function() return {{}}, "{{}}" end,
    function() return cyclic(), "cyclic" end,
    function() return {[1e9] = 1}, "{[1e9]=1}" end,
    function() return {1, nil, 3}, "{1,nil,3}" end,
    function() return {[1] = 1, [2^53] = 2}, "{[1]=1,[2^53]=2}" end,
    function() return {"a", "b"}, '{"a","b"}' end,
    function() return {true, false}, "{true,false}" end,
    function() return {x = 1, y = 2}, "{x=1,y=2}" end,
    function() return {1, "2", 3}, '{1,"2",3}' end,
    function() return {S.vec2, S.vec2}, "{vec2,vec2}" end,
    function() return {S.vec2, 1}, "{vec2,1}" end,
    function() return {[0] = 1, [-1] = 2}, "{[0]=1,[-1]=2}" end,
    function() return {1.5, 2.5}, "{1.5,2.5}" end,
    function() return big_list(), "list200k" end,
    function() local k = rng:pick({"index", "len", "pairs", "newindex", "tostring", "eq", "all", "lenhuge", "name", "proxy"})
      return trap_table(k), "trap:" .. k end,
    -- Copies: the fuzzer never changes the real geo table or a metatable (op:newindex would).
    function() local t = {} for k, v in pairs(geo) do t[k] = v end return t, "copy(geo)" end,
    function() local t = {} for k, v in pairs(getmetatable(S.vec2) or {}) do t[k] = v end return t, "copy(mt(Vector))" end,
  }
end
local TABLES = table_values()

-- Functions (callbacks).
local function valid_sampler(d) return function(k) return geo.randn(d, math.tointeger(k) or 1) end end
local FUNCTIONS = {
  {function() raise("fuzz: callback error") end, "fn:err-string"},
  {function() raise(ERRTAB) end, "fn:err-table"},
  {function() raise(nil) end, "fn:err-nil"},
  {function() raise(S.vec2) end, "fn:err-vector"},
  {function() end, "fn:returns-nothing"},
  {function() return "not a vector" end, "fn:returns-string"},
  {function() return {1, 2} end, "fn:returns-table"},
  {function() return geo.vec{1, 2, 3} end, "fn:returns-vec3"},
  {function() return geo.vec{0 / 0, 0 / 0} end, "fn:returns-nan2"},
  {function() return 1, 2, 3, 4, 5 end, "fn:returns-many"},
  {function() return coroutine.yield(1) end, "fn:yields"},
  {function() local t = clock() while clock() - t < 0.2 do end return geo.randn(2, 1) end, "fn:slow"},
  {function() collectgarbage() collectgarbage() return geo.randn(2, 1) end, "fn:gc"},
  {valid_sampler(2), "fn:sampler2"},
  {valid_sampler(16), "fn:sampler16"},
  {function() local function deep(n) return deep(n + 1) + 1 end return deep(1) end, "fn:stack-overflow"},
  {function() return geo.geodesic(S["man:sphere"], geo.vec{1, 1}, geo.vec{1.5, 2}, {points = 4})[2] end, "fn:reentrant"},
  {function() raise(setmetatable({}, {__tostring = function() error("tostring of error") end})) end, "fn:err-bad-tostring"},
  {geo.vec, "geo.vec"}, {tostring, "tostring"},
}

-- Coroutines and files.
local CO_SUSPENDED = coroutine.create(function() coroutine.yield(1) end); coroutine.resume(CO_SUSPENDED)
local CO_DEAD = coroutine.create(function() end); coroutine.resume(CO_DEAD)
local CO_NEW = coroutine.create(function() end)
local OPEN_FILE = io.open(DIR .. "/open.txt", "w+")
local CLOSED_FILE = io.open(DIR .. "/closed.txt", "w"); CLOSED_FILE:close()
local OTHERS = {
  {CO_SUSPENDED, "co:suspended"}, {CO_DEAD, "co:dead"}, {CO_NEW, "co:new"},
  {io.stdout, "io.stdout"}, {io.stdin, "io.stdin"}, {io.stderr, "io.stderr"},
  {OPEN_FILE, "file:open"}, {CLOSED_FILE, "file:closed"},
}

local function any_geo_object()
  if #FREED > 0 and rng:chance(0.15) then local f = rng:pick(FREED) return f[1], f[2] end
  local tname = rng:pick(TYPE_NAMES)
  local k = rng:pick(TYPES[tname])
  return S[k], k
end

--- Any awkward value.
local function awkward()
  local kind = rng:weighted({3, 8, 7, 6, 4, 3, 7})
  if kind == 1 then
    local c = rng:int(3)
    if c == 1 then return nil, "nil" elseif c == 2 then return true, "true" else return false, "false" end
  elseif kind == 2 then local e = rng:pick(NUMBERS) return e[1], e[2]
  elseif kind == 3 then return any_string()
  elseif kind == 4 then return rng:pick(TABLES)()
  elseif kind == 5 then local e = rng:pick(FUNCTIONS) return e[1], e[2]
  elseif kind == 6 then local e = rng:pick(OTHERS) return e[1], e[2]
  else return any_geo_object() end
end

------------------------------------------------------------------------------------------------
-- Almost-valid values for the known signatures.

local function fmtnum(x)
  if math.type(x) == "integer" then return tostring(x) end
  if x ~= x then return "nan" end
  return string.format("%.4g", x)
end

local BAD_ENTRIES = {{0 / 0, "nan"}, {math.huge, "inf"}, {-math.huge, "-inf"}, {1e308, "1e308"},
                     {1e-320, "1e-320"}, {1e154, "1e154"}, {-1e200, "-1e200"}}

--- A list of d numbers: mostly normal(0, scale), sometimes with one bad entry.
local function numbers(d, scale, bad)
  local t = {}
  for i = 1, d do t[i] = rng:normal() * scale end
  local note = ""
  if bad then
    local e = rng:pick(BAD_ENTRIES)
    local i = rng:int(math.max(d, 1))
    if d > 0 then t[i] = e[1]; note = "," .. e[2] .. "@" .. i end
  end
  return t, note
end

local function render_numbers(t)
  if #t > 4 then return "" end
  local p = {}
  for i = 1, #t do p[i] = fmtnum(t[i]) end
  return "{" .. table.concat(p, ",") .. "}"
end

--- A latent vector for manifold m (or of dimension d): mostly valid.
local function latent(m, opts)
  opts = opts or {}
  local d = m and mdim(m) or opts.d or 2
  local r = rng:float()
  local dim, scale, bad, kind = d, opts.scale or 1, false, "z"
  if r < 0.04 then bad = true; kind = "zbad"
  elseif r < 0.06 then scale = 0; kind = "zero"
  elseif r < 0.09 then
    dim = rng:pick({d + 1, math.max(d - 1, 0), 1, 3, 784, 0}); kind = "zdim"
  elseif r < 0.11 then scale = rng:pick({1e6, 1e-300, 1e150}); kind = "zscale" end
  local t, note = numbers(dim, scale, bad)
  if scale == 0 then for i = 1, dim do t[i] = 0.0 end end
  local ok, v = pcall(geo.vec, t)
  if not ok then return t, "table" end
  if opts.ctx then table.insert(opts.ctx.latents, v) end
  return v, string.format("%s%d%s%s", kind, dim, note, render_numbers(t))
end

--- A data-space vector for m: a test image (resized), or numbers.
local function datavec(m)
  local D = m and m.data_dim or 784
  local r = rng:float()
  if D == 784 and r < 0.6 and S.ds then
    local i = rng:int(#S.ds)
    return S.ds[i], "ds[" .. i .. "]"
  elseif r < 0.85 then
    local t = numbers(D, 0.5, rng:chance(0.1))
    return geo.vec(t), "x" .. D
  end
  local dim = rng:pick({D + 1, 1, 784, 0})
  return geo.vec((numbers(dim, 0.5))), "xdim" .. dim
end

local function pick_manifold(maxcost)
  for _ = 1, 20 do
    local e = rng:pick(MANIFOLDS)
    if e.cost <= maxcost then return e end
  end
  return MANIFOLDS[1]
end

--- A path on m (a fresh line, usually), or a sample path.
local function path_on(m, mname)
  if rng:chance(0.85) then
    local n = rng:pick({2, 3, 4, 5, 8})
    local a = geo.vec((numbers(mdim(m), 1)))
    local b = geo.vec((numbers(mdim(m), 1)))
    local ok, p = pcall(geo.line, m, a, b, {points = n})
    if ok then return p, string.format("line(%s,%d)", mname, n) end
  end
  local names = TYPES["geo.Path"] or {}
  if #names == 0 then return nil, "nil" end
  local k = rng:pick(names)
  return S[k], k
end

local function loop_on(m, mname)
  if mname == "sphere" or mname == "sphere2" then
    local t = 0.2 + rng:float() * 2.5
    local ok, p = pcall(geo.line, m, geo.vec{t, 0}, geo.vec{t, 2 * math.pi}, {points = rng:pick({8, 32, 101})})
    if ok then return p, string.format("latitude(%.3g)", t) end
  end
  if rng:chance(0.5) then
    local a = geo.vec((numbers(mdim(m), 1)))
    local ok, p = pcall(geo.line, m, a, a, {points = rng:pick({2, 3, 5})})
    if ok then return p, "line(a,a)" end
  end
  return path_on(m, mname)
end

local function write_path()
  local sp = special(0.01)
  if sp then return sp[1], sp[2] end
  local r = rng:int(10)
  if r <= 5 then return DIR .. "/out" .. rng:int(4) .. ".png", "DIR/outN.png"
  elseif r == 6 then return DIR, "DIR"
  elseif r == 7 then return DIR .. "/nodir/x.png", "DIR/nodir/x.png"
  elseif r == 8 then return "/nonexistent/x.png", '"/nonexistent/x.png"'
  elseif r == 9 then return DIR .. "/" .. string.rep("n", 300) .. ".png", "DIR/n*300.png"
  else return DIR .. "/" .. BINARY:gsub("[%z/]", "_") .. ".png", "DIR/binary.png" end
end

--- Output paths of writing functions stay in DIR (or in a folder that does not exist): a
--- system path such as /dev/null must never be written, let alone renamed over.
local function confine(s)
  if type(s) ~= "string" then return s end
  if s:sub(1, #DIR + 1) == DIR .. "/" or s == DIR then return s end
  if s:sub(1, 13) == "/nonexistent/" then return s end
  return DIR .. "/w/" .. s:gsub("%z", "_"):gsub("^/+", "")
end

local function images(m)
  local r = rng:int(8)
  if r <= 3 and S.ds then local i = rng:int(#S.ds) return S.ds[i], "ds[" .. i .. "]" end
  if r == 4 and S.ds then
    local t = {}
    for i = 1, rng:int(6) do t[i] = S.ds[rng:int(#S.ds)] end
    return t, "{" .. #t .. " images}"
  end
  if r == 5 then return path_on(S["man:vae2d"] or m, "vae2d") end
  if r == 6 then
    local n = rng:pick({1, 3, 4, 9, 100, 784, 785, 3 * 28 * 28})
    return geo.vec((numbers(n, 0.5, rng:chance(0.3)))), "vec" .. n
  end
  if r == 7 then return {}, "{}" end
  return awkward()
end

------------------------------------------------------------------------------------------------
-- Option tables: keys of each function (from SPEC/README, completed at startup from the
-- functions' own "unknown option" messages) and values for them.

local OPTION_KEYS = {
  sphere = {"radius"}, torus = {"R", "r"}, plane = {"dim"}, saddle = {}, swissroll = {"a", "theta0"},
  line = {"points"},
  geodesic = {"points", "solver", "tol", "max_iter", "progress", "init"},
  exp = {"steps", "method", "progress"},
  log = {"points", "solver", "tol", "max_iter", "progress", "steps", "details"},
  transport = {"method"},
  analogy = {"points", "solver", "tol", "max_iter", "progress", "steps", "transport"},
  holonomy = {"method", "closure_tol"},
  sweep = {"samples", "seed", "measure", "points", "sampler", "scale", "path_points", "solver", "tol", "max_iter", "progress"},
  dataset = {"split"},
  latent_map = {"paths", "range", "resolution", "width", "log", "colormap", "progress"},
  save_png = {"cols", "shape", "scale", "separator"},
  train_vae = {"data", "latent", "arch", "hidden", "activation", "epochs", "batch", "lr", "seed", "likelihood",
               "sigma", "subset", "out", "name", "progress", "verbose"},
}
local OPTION_POS = {sphere = 1, torus = 1, plane = 1, saddle = 1, swissroll = 1, line = 4, geodesic = 4, exp = 4,
                    log = 4, transport = 4, analogy = 5, holonomy = 4, sweep = 2, dataset = 2, latent_map = 3,
                    save_png = 3, train_vae = 1}
local CHOICES = {
  solver = {"georce", "descent", "newton"}, method = {"rk4", "projection", "polar"}, transport = {"projection", "polar"},
  measure = {"sectional", "scalar", "ratio"}, split = {"train", "test"}, colormap = {"viridis", "magma", "gray"},
  arch = {"mlp", "conv"}, activation = {"silu", "elu", "gelu", "tanh", "softplus", "relu", "leaky_relu"},
  likelihood = {"bernoulli", "gaussian"},
}

-- Values of a key: a valid-looking one most of the time (small sizes), else anything.
local function small_int(lo, hi, huge)
  if rng:chance(0.93) then local n = rng:range(lo, hi) return n, tostring(n) end
  local e = rng:pick(huge or {{0, "0"}, {-1, "-1"}, {1e9, "1e9"}, {2^31, "2^31"}, {math.maxinteger, "maxinteger"},
                             {1.5, "1.5"}, {0 / 0, "nan"}, {100000, "100000"}, {1, "1"}})
  return e[1], e[2]
end
local function real(vals)
  if rng:chance(0.85) then local x = rng:pick(vals) return x, fmtnum(x) end
  local e = rng:pick(NUMBERS)
  return e[1], e[2]
end

local KEYGEN = {}
KEYGEN.radius = function() return real({1, 2, 0.5, 1e-3}) end
KEYGEN.R = function() return real({2, 3, 1.5}) end
KEYGEN.r = function() return real({1, 0.5, 0.25}) end
KEYGEN.dim = function() return small_int(1, 6) end
KEYGEN.a = function() return real({1, 0.5, 2}) end
KEYGEN.theta0 = function() return real({2 * math.pi, 1, 0}) end
KEYGEN.points = function(ctx)
  if ctx.fname == "sweep" then
    local m = ctx.m
    local t = {}
    for i = 1, rng:int(4) do t[i] = (latent(m)) end
    if rng:chance(0.1) then t[#t + 1] = "not a point" end
    return t, "{" .. #t .. " points}"
  end
  return small_int(2, 8)
end
KEYGEN.path_points = function() return small_int(2, 6) end
KEYGEN.tol = function() return real({1e-6, 1e-3, 1e-2, 0.1}) end
KEYGEN.max_iter = function() return small_int(1, 10) end
KEYGEN.progress = function() if rng:chance(0.9) then return false, "false" end return true, "true" end
KEYGEN.details = function() local b = rng:chance(0.5) return b, tostring(b) end
KEYGEN.log = KEYGEN.details
KEYGEN.verbose = KEYGEN.details
KEYGEN.init = function(ctx)
  local a, b = ctx.latents[1], ctx.latents[2]
  if a and b and rng:chance(0.8) then
    local n = rng:range(2, 8)
    local ok, p = pcall(geo.line, ctx.m, a, b, {points = n})
    if ok then return p, "line(a,b," .. n .. ")" end
  end
  return path_on(ctx.m, ctx.mname)
end
KEYGEN.steps = function() return small_int(1, 20) end
KEYGEN.closure_tol = function() return real({1e-6, 1e-3, 1, 0}) end
KEYGEN.samples = function() return small_int(1, 6) end
KEYGEN.seed = function() if rng:chance(0.8) then local n = rng:range(-5, 1000) return n, tostring(n) end
  local e = rng:pick(NUMBERS) return e[1], e[2] end
KEYGEN.sampler = function(ctx)
  if rng:chance(0.6) then return valid_sampler(mdim(ctx.m)), "fn:sampler" .. mdim(ctx.m) end
  local e = rng:pick(FUNCTIONS) return e[1], e[2]
end
KEYGEN.scale = function(ctx)
  if ctx.fname == "save_png" then return small_int(1, 3) end
  return real({1, 0.5, 2, 1e-3})
end
KEYGEN.range = function() return real({3, 1, 0.5, 10}) end
KEYGEN.resolution = function() return small_int(2, 12, {{1, "1"}, {0, "0"}, {1e9, "1e9"}, {4096, "4096"}, {0.5, "0.5"}}) end
KEYGEN.width = function() return small_int(2, 64, {{1, "1"}, {0, "0"}, {1e9, "1e9"}, {100000, "100000"}, {2^31, "2^31"}}) end
KEYGEN.paths = function(ctx)
  local t = {}
  for i = 1, rng:int(3) do t[i] = (path_on(ctx.m, ctx.mname)) end
  if rng:chance(0.3) then t[#t + 1] = {S.vec2, S.vec2} end
  return t, "{" .. #t .. " paths}"
end
KEYGEN.cols = function() return small_int(1, 6) end
KEYGEN.separator = function() return small_int(0, 2) end
KEYGEN.shape = function()
  local e = rng:pick({{{1, 28, 28}, "{1,28,28}"}, {{28, 28}, "{28,28}"}, {{784}, "{784}"}, {{3, 28, 28}, "{3,28,28}"},
                      {{0, 28, 28}, "{0,28,28}"}, {{1, 2^40, 2^40}, "{1,2^40,2^40}"}, {{1.5}, "{1.5}"}, {{}, "{}"},
                      {{1, -28, -28}, "{1,-28,-28}"}})
  return e[1], e[2]
end
KEYGEN.data = function()
  if rng:chance(0.85) and S.ds then return S.ds, "ds" end
  return awkward()
end
KEYGEN.latent = function() return small_int(1, 3) end
KEYGEN.hidden = function(ctx)
  local r = rng:int(6)
  if r <= 3 then return {rng:range(1, 4)}, "{small}" end
  if r == 4 then return {2, 2}, "{2,2}" end
  if r == 5 then return {}, "{}" end
  return {1e9}, "{1e9}"
end
KEYGEN.epochs = function() return small_int(1, 1, {{0, "0"}, {2, "2"}, {-1, "-1"}, {1.5, "1.5"}}) end
KEYGEN.batch = function() return small_int(1, 32) end
KEYGEN.lr = function() return real({1e-3, 0.1, 1}) end
KEYGEN.sigma = function() return real({0.1, 1}) end
KEYGEN.subset = function() return small_int(1, 64, {{0, "0"}, {-1, "-1"}, {1e9, "1e9"}, {128, "128"}}) end
KEYGEN.out = function() local p, d = write_path() return p:gsub("%.png$", ".safetensors"), d end
KEYGEN.name = function() local e = rng:pick(STRINGS) return e[1], e[2] end

local function key_value(key, ctx)
  if rng:chance(0.06) then return awkward() end
  if CHOICES[key] then
    if rng:chance(0.9) then local c = rng:pick(CHOICES[key]) return c, '"' .. c .. '"' end
    local e = rng:pick(STRINGS) return e[1], e[2]
  end
  local g = KEYGEN[key]
  if g then return g(ctx) end
  return awkward()
end

--- An options table for function fname (keys as known, values mostly valid; some unknown keys).
local function options(fname, ctx)
  local r = rng:float()
  if r < 0.04 then return awkward() end
  if r < 0.12 then return nil, "nil" end
  local keys = OPTION_KEYS[fname] or {}
  local t, parts = {}, {}
  for _, k in ipairs(keys) do
    if rng:chance(0.3) then
      local v, d = key_value(k, ctx)
      t[k] = v
      parts[#parts + 1] = k .. "=" .. d
    end
  end
  -- Bounded work: the expensive functions get small sizes unless a bad value was drawn.
  if fname == "train_vae" then
    if rng:chance(0.95) then t.subset = t.subset or rng:range(1, 64); t.epochs = t.epochs or 1 end
    if rng:chance(0.95) and t.hidden == nil then t.hidden = {rng:range(1, 4), rng:range(1, 4)} end
    if rng:chance(0.9) and t.data == nil and S.ds then t.data = S.ds; parts[#parts + 1] = "data=ds" end
    t.out = confine(t.out)
    parts[#parts + 1] = string.format("(subset=%s,epochs=%s)", tostring(t.subset), tostring(t.epochs))
  elseif fname == "sweep" and t.samples == nil and t.points == nil and rng:chance(0.95) then
    t.samples = rng:range(1, 6); parts[#parts + 1] = "samples=" .. t.samples
  elseif fname == "latent_map" and t.resolution == nil and rng:chance(0.95) then
    t.resolution = rng:range(2, 12); parts[#parts + 1] = "resolution=" .. t.resolution
  elseif (fname == "geodesic" or fname == "log" or fname == "analogy") and rng:chance(0.9) then
    if t.points == nil then t.points = rng:range(2, rng:chance(0.8) and 8 or 16); parts[#parts + 1] = "points=" .. t.points end
    if t.max_iter == nil and ctx.cost and ctx.cost > 1 then t.max_iter = rng:range(1, 5); parts[#parts + 1] = "max_iter=" .. t.max_iter end
  elseif fname == "exp" and t.steps == nil and rng:chance(0.9) then
    t.steps = rng:range(1, 20); parts[#parts + 1] = "steps=" .. t.steps
  end
  if rng:chance(0.03) then t.iters = 1; parts[#parts + 1] = "iters=1" end
  if rng:chance(0.01) then t[1] = true; parts[#parts + 1] = "[1]=true" end
  if rng:chance(0.01) then t[S.vec2] = 1; parts[#parts + 1] = "[vec2]=1" end
  if rng:chance(0.01) then t[BINARY] = 1; parts[#parts + 1] = "[binary]=1" end
  if rng:chance(0.015) then
    setmetatable(t, {__index = function() raise("fuzz: options __index trap") end,
                     __pairs = function() raise("fuzz: options __pairs trap") end})
    parts[#parts + 1] = "+trap-mt"
  end
  return t, "{" .. table.concat(parts, ",") .. "}"
end

-- Probe the functions for their option keys ("unknown option 'x' (expected one of: ...)").
do
  local sph = S["man:sphere"]
  local a, b = geo.vec{1, 0.5}, geo.vec{1.5, 1}
  local prefix = {
    line = {sph, a, b}, geodesic = {sph, a, b}, exp = {sph, a, b}, log = {sph, a, b},
    transport = {sph, S["path:line-sphere"], a}, analogy = {sph, a, b, a}, holonomy = {sph, S["path:loop-sphere"], a},
    sweep = {sph}, dataset = {"fashion-mnist"}, latent_map = {sph, DIR .. "/probe.png"},
    save_png = {DIR .. "/probe.png", S.vec2}, sphere = {}, torus = {}, plane = {}, saddle = {}, swissroll = {},
    train_vae = {},
  }
  for fname, args in pairs(prefix) do
    local f = geo[fname]
    if type(f) == "function" then
      local pos = OPTION_POS[fname]
      local call = {table.unpack(args)}
      call[pos] = {["\1probe"] = 1}
      local ok, e = pcall(f, table.unpack(call, 1, pos))
      local list = (not ok and type(e) == "string") and e:match("expected one of: ([^)]*)%)")
      if list then
        local known = {}
        for _, k in ipairs(OPTION_KEYS[fname] or {}) do known[k] = true end
        OPTION_KEYS[fname] = OPTION_KEYS[fname] or {}
        for k in list:gmatch("[^,%s]+") do
          if not known[k] then table.insert(OPTION_KEYS[fname], k); known[k] = true end
        end
      end
    end
  end
end

------------------------------------------------------------------------------------------------
-- Signatures: argument kinds of the known functions and methods. Unknown ones get random
-- arguments only.

local HEAVY = {geodesic = true, log = true, analogy = true, exp = true, sweep = true, holonomy = true,
               latent_map = true, train_vae = true, scalar = true, transport = true, graph = true, distances = true,
               frechet_mean = true, tangent_pca = true}

local SIGS = {
  vec = {"numtable"}, zeros = {"size"}, randn = {"size", "seed"}, matrix = {"mattable"},
  sphere = {"opts"}, torus = {"opts"}, plane = {"opts"}, saddle = {"opts"}, swissroll = {"opts"},
  load = {"readpath"}, model = {"modelname"}, models = {}, regularized = {"M", "lambda"},
  line = {"M", "Z", "Z", "opts"}, geodesic = {"M", "Z", "Z", "opts"}, exp = {"M", "Z", "Zsmall", "opts"},
  log = {"M", "Z", "Z", "opts"}, transport = {"M", "P", "Z", "opts"}, analogy = {"M", "Z", "Z", "Z", "opts"},
  sectional = {"M", "Z", "Z", "Z"}, scalar = {"M", "Z"}, holonomy = {"M", "LOOP", "Z", "opts"},
  sweep = {"M", "opts"}, dataset = {"dsname", "opts"}, latent_map = {"M2", "writepath", "opts"},
  save_png = {"writepath", "images", "opts"}, train_vae = {"opts"}, clock = {},
  read_json = {"readpath"}, read_csv = {"readpath", "opts"},
  ["Vector.dot"] = {"self", "samevec"}, ["Vector.norm"] = {"self"}, ["Vector.normalized"] = {"self"},
  ["Vector.totable"] = {"self"},
  ["Matrix.rows"] = {"self"}, ["Matrix.cols"] = {"self"}, ["Matrix.t"] = {"self"}, ["Matrix.totable"] = {"self"},
  ["Matrix.get"] = {"self", "row", "col"},
  ["Manifold.decode"] = {"selfM", "Z"}, ["Manifold.encode"] = {"selfM", "X"}, ["Manifold.jacobian"] = {"selfM", "Z"},
  ["Manifold.metric"] = {"selfM", "Z"}, ["Manifold.volume"] = {"selfM", "Z"}, ["Manifold.singular_values"] = {"selfM", "Z"},
  ["Path.length"] = {"self"}, ["Path.energy"] = {"self"}, ["Path.decode"] = {"self"}, ["Path.points"] = {"self"},
  ["Dataset.label"] = {"self", "dsindex"}, ["Dataset.class"] = {"self", "dsindex"},
  __add = {"self", "same"}, __sub = {"self", "same"}, __mul = {"mulleft", "mulright"}, __div = {"self", "scalar"},
  __unm = {"self"}, __eq = {"self", "same"}, __len = {"self"}, __tostring = {"self"}, __index = {"self", "key"},
  __gc = {"gcarg"},
}

--- Generates one argument of kind `kind`; ctx carries the target and the chosen manifold.
local function gen_arg(kind, ctx)
  if kind == "M" or kind == "M2" or kind == "selfM" then
    if kind == "M2" and rng:chance(0.8) then
      local twod = {}
      for _, e in ipairs(MANIFOLDS) do if mdim(e.m) == 2 and e.cost <= 2 then twod[#twod + 1] = e end end
      local e = rng:pick(twod)
      ctx.m, ctx.mname, ctx.cost = e.m, e.name, e.cost
      return e.m, "man:" .. e.name
    end
    local e = pick_manifold(ctx.heavy and (rng:chance(0.9) and 1 or (rng:chance(0.7) and 2 or 3)) or 3)
    ctx.m, ctx.mname, ctx.cost = e.m, e.name, e.cost
    return e.m, "man:" .. e.name
  end
  local m = ctx.m or S["man:sphere"]
  if kind == "Z" then return latent(m, {ctx = ctx})
  elseif kind == "Zsmall" then return latent(m, {scale = 0.3, ctx = ctx})
  elseif kind == "X" then return datavec(m)
  elseif kind == "P" then return path_on(m, ctx.mname or "sphere")
  elseif kind == "LOOP" then return loop_on(m, ctx.mname or "sphere")
  elseif kind == "opts" then return options(ctx.fname, ctx)
  elseif kind == "numtable" then
    local r = rng:int(10)
    if r <= 6 then local t, note = numbers(rng:range(0, 6), 1, rng:chance(0.2)) return t, "{" .. #t .. " numbers" .. note .. "}" end
    return rng:pick(TABLES)()
  elseif kind == "mattable" then
    local r = rng:int(10)
    if r <= 6 then
      local rows, cols = rng:range(1, 4), rng:range(1, 4)
      local t = {}
      for i = 1, rows do t[i] = (numbers(cols, 1, rng:chance(0.05))) end
      if rng:chance(0.15) then t[rng:int(rows)] = (numbers(cols + 1, 1)) end
      return t, string.format("{%dx%d}", rows, cols)
    end
    return rng:pick(TABLES)()
  elseif kind == "size" then
    return small_int(0, 20, {{-1, "-1"}, {1e8, "1e8"}, {1e8 + 1, "1e8+1"}, {1e9, "1e9"}, {2^31, "2^31"}, {2^40, "2^40"},
                             {0.5, "0.5"}, {0 / 0, "nan"}, {math.huge, "inf"}, {math.mininteger, "mininteger"},
                             {"3", '"3"'}, {784, "784"}, {5e7, "5e7"}})
  elseif kind == "seed" then return KEYGEN.seed()
  elseif kind == "readpath" then
    local sp = special(0.01)
    if sp then return sp[1], sp[2] end
    if rng:chance(0.3) and S["path:file-mlp"] then return S["path:file-mlp"], "DIR/file-mlp.safetensors" end
    local e = rng:pick(STRINGS) return e[1], e[2]
  elseif kind == "modelname" then
    if rng:chance(0.6) then local n = rng:pick(MODEL_NAMES) return n, '"' .. n .. '"' end
    if rng:chance(0.3) then return nil, "nil" end
    local e = rng:pick(STRINGS) return e[1], e[2]
  elseif kind == "dsname" then
    if rng:chance(0.8) then return "fashion-mnist", '"fashion-mnist"' end
    local e = rng:pick(STRINGS) return e[1], e[2]
  elseif kind == "lambda" then return real({0.1, 1, 1e-3, 0})
  elseif kind == "writepath" then return write_path()
  elseif kind == "images" then return images(m)
  elseif kind == "self" then
    local names = TYPES[ctx.tname] or {}
    if #names > 0 and rng:chance(0.95) then local k = rng:pick(names) ctx.self = S[k] return S[k], k end
    return any_geo_object()
  elseif kind == "samevec" or kind == "same" then
    local s = ctx.self
    if ctx.tname == "geo.Vector" and s then
      local n = #s
      if rng:chance(0.85) then local t = numbers(n, 1, rng:chance(0.1)) return geo.vec(t), "vec" .. n end
      local t = numbers(rng:pick({n + 1, math.max(0, n - 1), 784}), 1)
      return geo.vec(t), "vec" .. #t
    elseif ctx.tname == "geo.Matrix" and s then
      if rng:chance(0.7) then return s, "self" end
      local k = rng:pick(TYPES["geo.Matrix"]) return S[k], k
    end
    if s and rng:chance(0.6) then return s, "self" end
    return any_geo_object()
  elseif kind == "mulleft" then
    if rng:chance(0.5) then return real({2, -1, 0.5, 0}) end
    return gen_arg("self", ctx)
  elseif kind == "mulright" then
    if ctx.tname == "geo.Matrix" and ctx.self and rng:chance(0.6) then
      return geo.vec((numbers(ctx.self:cols(), 1))), "vec(cols)"
    end
    if rng:chance(0.5) then return gen_arg("self", ctx) end
    return real({2, -1, 0.5, 0})
  elseif kind == "scalar" then return real({2, -1, 0.5, 0})
  elseif kind == "row" or kind == "col" then
    local s = ctx.self
    local n = 2
    if s and ctx.tname == "geo.Matrix" then n = (kind == "row") and s:rows() or s:cols() end
    return small_int(1, n, {{0, "0"}, {n + 1, "n+1"}, {-1, "-1"}, {1.5, "1.5"}, {0 / 0, "nan"}, {2^53, "2^53"},
                           {math.maxinteger, "maxinteger"}, {"1", '"1"'}})
  elseif kind == "dsindex" then
    local n = S.ds and #S.ds or 10
    return small_int(1, n, {{0, "0"}, {n + 1, "n+1"}, {-1, "-1"}, {1.5, "1.5"}, {0 / 0, "nan"}, {2^53, "2^53"},
                           {math.mininteger, "mininteger"}, {"1", '"1"'}})
  elseif kind == "key" then
    local r = rng:int(8)
    local s = ctx.self
    if r <= 3 then
      local n = 3
      pcall(function() n = #s end)
      return small_int(0, n + 1, {{-1, "-1"}, {0.5, "0.5"}, {0 / 0, "nan"}, {2^53, "2^53"}, {math.mininteger, "mininteger"},
                                  {1e308, "1e308"}, {math.huge, "inf"}})
    elseif r <= 6 then
      local k = rng:pick({"name", "description", "latent_dim", "data_dim", "data_shape", "has_encoder", "converged",
                          "stop", "iterations", "evaluations", "solver", "manifold", "split", "classes", "dot", "decode",
                          "rows", "label", "__gc", "__index", "__methods", "__name", "", "nonexistent"})
      return k, '"' .. k .. '"'
    end
    return awkward()
  elseif kind == "gcarg" then
    local r = rng:int(10)
    if r <= 5 then local o = fresh(ctx.tname) return o, "fresh:" .. short_type(ctx.tname) end
    if r <= 7 then
      local other = rng:pick(TYPE_NAMES)
      return fresh(other), "fresh:" .. short_type(other)
    end
    local v, d = awkward()
    -- Never free a shared sample: give a fresh object of its type instead.
    if type(v) == "userdata" and getmetatable(v) and FRESH[rawget(getmetatable(v), "__name") or ""] then
      local tn = getmetatable(v).__name
      return fresh(tn), "fresh:" .. short_type(tn)
    end
    return v, d
  end
  return awkward()
end

------------------------------------------------------------------------------------------------
-- Targets: every function of geo, every method and metamethod of every geo type, operators.

local TARGETS = {}
local ONLY = {}
for name in (os.getenv("GEOREPL_FUZZ_ONLY") or ""):gmatch("[^,%s]+") do ONLY[name] = true end
local ALL_TARGETS = {}
local function add_target(t)
  ALL_TARGETS[#ALL_TARGETS + 1] = t
  if skipped(t.name) or (t.short and skipped(t.short)) then return end
  if next(ONLY) and not (ONLY[t.name] or (t.short and ONLY[t.short])) then return end
  TARGETS[#TARGETS + 1] = t
end

do
  local names = {}
  for k, v in pairs(geo) do if type(v) == "function" then names[#names + 1] = k end end
  table.sort(names)
  for _, k in ipairs(names) do
    add_target({name = "geo." .. k, short = k, fn = geo[k], sig = SIGS[k], fname = k, weight = 4, heavy = HEAVY[k]})
  end
  -- Methods and metamethods, through the metatables of the samples (and of geo.models()).
  local seen = {}
  local function walk(mt, tname)
    if type(mt) ~= "table" or seen[mt] then return end
    seen[mt] = true
    local tshort = short_type(tname)
    local methods = {}
    for _, src in ipairs({rawget(mt, "__methods"), type(rawget(mt, "__index")) == "table" and rawget(mt, "__index") or nil}) do
      if type(src) == "table" then
        for k, v in pairs(src) do if type(v) == "function" then methods[k] = v end end
      end
    end
    local mnames = {}
    for k in pairs(methods) do mnames[#mnames + 1] = k end
    table.sort(mnames)
    for _, k in ipairs(mnames) do
      add_target({name = tshort .. "." .. k, short = k, fn = methods[k], sig = SIGS[tshort .. "." .. k], tname = tname,
                  weight = 2, heavy = false})
    end
    local metas = {}
    for k, v in pairs(mt) do if type(k) == "string" and k:sub(1, 2) == "__" and type(v) == "function" then metas[#metas + 1] = k end end
    table.sort(metas)
    for _, k in ipairs(metas) do
      add_target({name = tshort .. "." .. k, short = k, fn = mt[k], sig = SIGS[k], tname = tname, weight = 1, meta = true})
    end
  end
  for _, tname in ipairs(TYPE_NAMES) do walk(getmetatable(S[TYPES[tname][1]]), tname) end
  if S.models then walk(getmetatable(S.models), "geo.models") end
end

-- Operators through the language (the same metamethods reached as Lua reaches them).
local BINOPS = {"+", "-", "*", "/", "%", "^", "//", "&", "|", "~", "<<", ">>", "..", "==", "<", "<="}
local OPS = {
  ["op:binary"] = function(args)
    local op = rng:pick(BINOPS)
    local a, b = args[1], args[2]
    local f = load("local a, b = ... return a " .. op .. " b")
    return function() return f(a, b) end, op
  end,
  ["op:unary"] = function(args)
    local op = rng:pick({"-", "#", "~", "not "})
    local f = load("local a = ... return " .. op .. "a")
    return function() return f(args[1]) end, op
  end,
  ["op:index"] = function(args) return function() return args[1][args[2]] end, "a[b]" end,
  ["op:newindex"] = function(args) return function() args[1][args[2]] = args[3] end, "a[b]=c" end,
  ["op:call"] = function(args) return function() return args[1](table.unpack(args, 2, 4)) end, "a(...)" end,
  ["op:tostring"] = function(args) return function() return tostring(args[1]), string.format("%s", args[1]) end, "tostring" end,
  ["op:method"] = function(args)
    local name = rng:pick({"dot", "norm", "normalized", "totable", "rows", "cols", "get", "t", "decode", "encode",
                           "jacobian", "metric", "volume", "singular_values", "length", "energy", "points", "label", "class"})
    return function() local o = args[1] return o[name](o, table.unpack(args, 2, 4)) end, ":" .. name
  end,
  ["op:pairs"] = function(args)
    return function()
      local n = 0
      for _ in pairs(args[1]) do n = n + 1; if n > 100 then break end end
      for _ in ipairs(args[1]) do n = n + 1; if n > 200 then break end end
      return n
    end, "pairs/ipairs"
  end,
  ["op:gc-use"] = function(args)
    return function()
      local o = args[1]
      local mt = getmetatable(o)
      mt.__gc(o); mt.__gc(o)
      local r = {pcall(tostring, o)}
      local _ = pcall(function() return #o end)
      local _ = pcall(function() return o[1] end)
      for k, f in pairs(rawget(mt, "__methods") or {}) do pcall(f, o, o) end
      local _ = pcall(function() return o + o end)
      local _ = pcall(function() return o == o end)
      return r[2]
    end, "free-then-use"
  end,
  ["op:collect"] = function() return function() collectgarbage("collect") return collectgarbage("count") end, "collectgarbage" end,
  -- debug.setupvalue on a geo C function (its upvalue says which binding it is): redirect it to
  -- another binding or a bad value, call it, and restore it.
  ["op:rebind"] = function(args)
    local cfns = {}
    for _, t in ipairs(ALL_TARGETS) do
      if t.fn and debug.getinfo(t.fn, "S").what == "C" and debug.getupvalue(t.fn, 1) ~= nil then cfns[#cfns + 1] = t end
    end
    if #cfns == 0 then return function() return "no C functions" end, "rebind (none)" end
    local t = rng:pick(cfns)
    local e = rng:chance(0.8) and {rng:range(0, 120), nil} or rng:pick({{-1, "-1"}, {2^40, "2^40"}, {math.mininteger, "mininteger"},
      {1.5, "1.5"}, {"x", '"x"'}, {{}, "{}"}, {false, "false"}, {0 / 0, "nan"}})
    local id, iddesc = e[1], e[2] or tostring(e[1])
    local n = #args
    return function()
      local fn = t.fn
      local _, old = debug.getupvalue(fn, 1)
      debug.setupvalue(fn, 1, id)
      local r = table.pack(pcall(fn, table.unpack(args, 1, n)))
      debug.setupvalue(fn, 1, old)
      if not r[1] then error(r[2], 0) end
      return r[2]
    end, "rebind " .. t.name .. " to " .. iddesc
  end,
}
do
  local names = {}
  for k in pairs(OPS) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do add_target({name = k, op = OPS[k], weight = (k == "op:collect") and 0.1 or 1}) end
end

local WEIGHTS = {}
for i, t in ipairs(TARGETS) do WEIGHTS[i] = t.weight end
if #TARGETS == 0 then
  io.stderr:write("api.lua: no targets left (GEOREPL_FUZZ_ONLY / GEOREPL_FUZZ_SKIP)\n")
  os.exit(2)
end

------------------------------------------------------------------------------------------------
-- One call.

local counts = {calls = 0, ok = 0, error = 0, unclear = 0, interrupted = 0, slow = 0}
local stop = false
local max_message = 0

local is_interrupt = lib.is_interrupt

local function was_raised(e)
  if e == nil then return raised_nil end
  for _, v in ipairs(raised) do if rawequal(v, e) then return true end end
  return false
end

--- ok | error | unclear | interrupted, and a note for unclear ones.
local function classify(ok, e)
  if ok then return "ok" end
  if was_raised(e) then return "error" end
  if type(e) == "string" and not is_interrupt(e) and #e > max_message then max_message = #e end
  return lib.classify(false, e)
end

local function gen_call(t)
  local ctx = {fname = t.fname, tname = t.tname, heavy = t.heavy, latents = {}}
  local args, descs, n = {}, {}, 0
  local sig = t.sig
  local mode = sig and rng:weighted({50, 28, 8, 14}) or 4
  if t.op then
    n = rng:range(1, 4)
    for i = 1, n do
      if i == 1 and rng:chance(0.7) then args[i], descs[i] = any_geo_object()
      else args[i], descs[i] = awkward() end
    end
    if t.name == "op:gc-use" then
      local tn = rng:pick(TYPE_NAMES)
      args[1], descs[1] = fresh(tn), "fresh:" .. short_type(tn)
    end
    return args, descs, n
  end
  if mode <= 3 then
    for i, kind in ipairs(sig) do args[i], descs[i] = gen_arg(kind, ctx) end
    n = #sig
    if mode == 2 then
      local i = rng:int(n + 1)
      args[i], descs[i] = awkward()
      if i > n then n = i end
    elseif mode == 3 then
      if rng:chance(0.5) and n > 0 then n = rng:range(0, n - 1)
      else for _ = 1, rng:range(1, 2) do n = n + 1; args[n], descs[n] = awkward() end end
    end
  else
    n = rng:range(0, 5)
    for i = 1, n do args[i], descs[i] = awkward() end
    if t.tname and n > 0 and rng:chance(0.5) then args[1], descs[1] = gen_arg("self", ctx) end
  end
  return args, descs, n
end

local WRITERS = {save_png = {1}, latent_map = {2}, write_json = {1}, write_csv = {1}}

-- The shared samples are never freed: a __gc call gets a fresh object of the same type instead,
-- so that every call sees the same samples (and replays alone as it ran in its batch).
local SAMPLE_SET = {}
for _, v in pairs(S) do SAMPLE_SET[v] = true end
local function protect(args, descs, n)
  for i = 1, n do
    local v = args[i]
    if SAMPLE_SET[v] and type(v) == "userdata" then
      local tn = rawget(getmetatable(v) or {}, "__name")
      local f = tn and fresh(tn)
      if f then args[i], descs[i] = f, "fresh:" .. short_type(tn) end
    end
  end
end

local function one_call(k)
  rng = lib.rng(SEED, k)
  raised, raised_nil = {}, false
  local t = TARGETS[rng:weighted(WEIGHTS)]
  log:begin(k, t.name)
  local gok, args, descs, n = pcall(gen_call, t)
  if not gok then
    -- A generator met a freed or odd object: fall back to random arguments.
    log:part("[generation: " .. lib.escape(tostring(args), 80) .. "]")
    n = rng:range(0, 5)
    args, descs = {}, {}
    for i = 1, n do args[i], descs[i] = awkward() end
  end
  -- Files are written only into DIR (or a folder that does not exist).
  local w = WRITERS[t.short or ""]
  if w or (t.short and (t.short:match("^write") or t.short:match("^save"))) then
    for i = 1, n do
      -- A number names a file too (Lua converts it, as luaL_checkstring does).
      if type(args[i]) == "number" and w and w[1] == i then args[i] = tostring(args[i]) end
      if type(args[i]) == "string" then args[i] = confine(args[i]) end
      if type(args[i]) == "table" and rawget(args[i], "out") ~= nil then rawset(args[i], "out", confine(rawget(args[i], "out"))) end
    end
  end
  if t.short == "__gc" then protect(args, descs, n) end
  local fn, opdesc = t.fn, nil
  if t.op then fn, opdesc = t.op(args) end
  for i = 1, n do descs[i] = lib.escape(tostring(descs[i]), 80) end
  log:part((opdesc and ("[" .. opdesc .. "] ") or "") .. "(" .. table.concat(descs, ", ", 1, n) .. ")")
  local in_coroutine = rng:chance(0.08)
  local t0 = clock()
  local ok, e
  if in_coroutine then
    local co = coroutine.create(function() return pcall(fn, table.unpack(args, 1, n)) end)
    local rok, pok, pe = coroutine.resume(co)
    if not rok then ok, e = false, pok
    elseif coroutine.status(co) ~= "dead" then ok, e = false, {"coroutine suspended by the call"}
    else ok, e = pok, pe end
  else
    ok, e = pcall(fn, table.unpack(args, 1, n))
  end
  local dt = clock() - t0
  local outcome, note = classify(ok, e)
  counts.calls = counts.calls + 1
  counts[outcome] = counts[outcome] + 1
  if dt > 5 then counts.slow = counts.slow + 1 end
  local msg = ""
  if not ok then
    msg = type(e) == "string" and lib.escape(e, 160) or ("<" .. type(e) .. ">")
  elseif t.short == "__tostring" or (t.name == "op:tostring" and type(args[1]) ~= "string") then
    -- Strings made for display must not carry raw control characters (\n is fine in lists).
    if type(e) == "string" and e:gsub("\n", ""):find("[%z\1-\31\127]") then
      counts.unclear = counts.unclear + 1; counts.ok = counts.ok - 1
      outcome, note = "unclear", "tostring result with raw control characters"
      msg = lib.escape(e, 160)
    end
  end
  log:finish(string.format("%s %.3fs%s%s%s", outcome, dt, in_coroutine and " [in coroutine]" or "",
                           note and (" UNCLEAR(" .. note .. ")") or "", msg ~= "" and (" " .. msg) or ""))
  if outcome == "interrupted" then stop = true end
end

------------------------------------------------------------------------------------------------
-- Main loop. An interruption ends the run after the call (the hook that raised it may fire once
-- more right after the call: the outer pcall absorbs it).

local nextk = FIRST
local internal_errors = 0
local function run()
  while nextk <= COUNT and not stop do
    local k = nextk
    nextk = k + 1
    one_call(k)
  end
end
while nextk <= COUNT and not stop do
  local ok, e = pcall(run)
  if not ok then
    if is_interrupt(e) then
      if not stop then counts.interrupted = counts.interrupted + 1; counts.calls = counts.calls + 1 end
      if log.open then log:finish("interrupted (outside the call)") end
      stop = true
    else
      internal_errors = internal_errors + 1
      if log.open then log:finish("FUZZER-ERROR " .. lib.escape(tostring(e), 300)) end
      io.stderr:write("api.lua: internal error at call " .. (nextk - 1) .. ": " .. tostring(e) .. "\n")
      if internal_errors > 20 then error("api.lua: too many internal errors") end
    end
  end
end

if OPEN_FILE then pcall(OPEN_FILE.close, OPEN_FILE) end
print(string.format("targets: %d (%d geo functions, %d types)", #TARGETS,
  (function() local n = 0 for _, t in ipairs(TARGETS) do if t.fname then n = n + 1 end end return n end)(), #TYPE_NAMES))
print(string.format("api: seed %d calls %d ok %d errors %d unclear %d interrupted %d slow %d next %d",
  SEED, counts.calls, counts.ok, counts.error, counts.unclear, counts.interrupted, counts.slow, nextk))
