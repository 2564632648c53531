-- Shared helpers of the georepl fuzzers (scripts/fuzz/api.lua, model.lua and onnx.lua):
-- a seeded PRNG in plain Lua 5.4 integer arithmetic (independent of math.random), a line log
-- that is flushed before every call, a JSON encoder with ordered objects and raw snippets, a
-- safetensors writer, builders of small valid georepl model files, and how outcomes are
-- classified and logged.
--
--     local lib = dofile(here .. "/lib.lua")
--
-- Every call (or file) k of a run with seed S draws from its own generator, seeded from (S, k),
-- so that `georepl scripts/fuzz/api.lua S 1 LOG k` replays call k alone (see README.md).

local lib = {}

------------------------------------------------------------------------------------------------
-- PRNG: splitmix64 to seed, xorshift64* to draw. Integers wrap around in Lua 5.4.

local function mix64(x)
  x = x + 0x9E3779B97F4A7C15
  x = (x ~ (x >> 30)) * 0xBF58476D1CE4E5B9
  x = (x ~ (x >> 27)) * 0x94D049BB133111EB
  return x ~ (x >> 31)
end
lib.mix64 = mix64

local Rng = {}
Rng.__index = Rng

--- A generator for call (or file) `k` of the run with seed `seed`.
function lib.rng(seed, k)
  local s = mix64(mix64(seed) ~ mix64(k * 0x632BE59BD9B4E019 + 1))
  if s == 0 then s = 0x1234567 end
  return setmetatable({s = s}, Rng)
end

function Rng:next64()
  local x = self.s
  x = x ~ (x >> 12); x = x ~ (x << 25); x = x ~ (x >> 27)
  self.s = x
  return x * 0x2545F4914F6CDD1D
end
--- An integer in 1..n (n >= 1).
function Rng:int(n) return ((self:next64() >> 1) % n) + 1 end
--- An integer in lo..hi.
function Rng:range(lo, hi) return lo + self:int(hi - lo + 1) - 1 end
--- A float in [0, 1).
function Rng:float() return (self:next64() >> 11) * (1.0 / 9007199254740992.0) end
function Rng:chance(p) return self:float() < p end
function Rng:pick(t) return t[self:int(#t)] end
--- A standard normal deviate (Box-Muller).
function Rng:normal()
  local u = self:float()
  if u < 1e-300 then u = 1e-300 end
  return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * self:float())
end
--- Index into a table of weights {w1, w2, ...}.
function Rng:weighted(ws)
  local total = 0
  for _, w in ipairs(ws) do total = total + w end
  local x = self:float() * total
  for i, w in ipairs(ws) do
    x = x - w
    if x < 0 then return i end
  end
  return #ws
end
--- A random 64-bit seed derived from this generator (for sub-generators).
function Rng:seed() return self:next64() end

------------------------------------------------------------------------------------------------
-- Text helpers.

--- A printable one-line rendering of a string: control bytes, backslash and bytes >= 127 as
--- \ddd escapes, cut to `max` bytes of input with the length noted.
function lib.escape(s, max)
  max = max or 60
  local cut = #s > max
  local t = cut and s:sub(1, max) or s
  t = t:gsub("[%z\1-\31\\\127-\255]", function(c) return string.format("\\%d", c:byte()) end)
  if cut then t = t .. string.format("...(%d bytes)", #s) end
  return t
end

--- Whether a string holds raw control characters (any byte < 32 or 127).
function lib.has_control(s) return s:find("[%z\1-\31\127]") ~= nil end

--- The directory of the running script (arg[0]).
function lib.here()
  return (arg and arg[0] and arg[0]:match("^(.*)/[^/]*$")) or "."
end

function lib.shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

function lib.mkdir(dir)
  os.execute("mkdir -p " .. lib.shell_quote(dir) .. " 2>/dev/null")
  return dir
end

--- The names to skip, from GEOREPL_FUZZ_SKIP="jacobian,save_png,devzero" (empty by default).
function lib.skip_set()
  local set = {}
  for name in (os.getenv("GEOREPL_FUZZ_SKIP") or ""):gmatch("[^,%s]+") do set[name] = true end
  return set
end

------------------------------------------------------------------------------------------------
-- Log: one line per call, written in two parts so that a crash leaves the call's line without
-- its outcome: begin(k, what) ... finish(outcome). Every part is flushed.

local Log = {}
Log.__index = Log

function lib.log(path, seed)
  local f = nil
  if path and path ~= "" and path ~= "-" then
    f = assert(io.open(path, "a"))
    f:setvbuf("no")
  end
  return setmetatable({f = f, seed = seed}, Log)
end
function Log:write(s)
  if self.f then self.f:write(s); self.f:flush() end
end
function Log:begin(k, what) self.open = true; self:write(string.format("%d %d %s", self.seed, k, what)) end
function Log:part(s) self:write(" " .. s) end
function Log:finish(s) self.open = false; self:write(" => " .. s .. "\n") end
function Log:line(s) self:write(s .. "\n") end

------------------------------------------------------------------------------------------------
-- JSON: tables with `_order` (a list of keys) are objects written in that order (then any other
-- string keys, sorted); `{__raw = "text"}` is written as is; other tables are arrays; strings
-- are escaped; integers as integers, floats with 17 digits (NaN and infinities as 1e999-style
-- raw text is up to the caller).

local function json_string(s)
  return '"' .. s:gsub('[%z\1-\31"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\"
    elseif c == "\n" then return "\\n" elseif c == "\t" then return "\\t"
    else return string.format("\\u%04x", c:byte()) end
  end) .. '"'
end
lib.json_string = json_string

local function json(v)
  local t = type(v)
  if t == "string" then return json_string(v)
  elseif t == "number" then
    if math.type(v) == "integer" then return string.format("%d", v) end
    if v ~= v then return "NaN" end
    if v == math.huge then return "1e999" elseif v == -math.huge then return "-1e999" end
    if v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%.1f", v) end
    return string.format("%.17g", v)
  elseif t == "boolean" then return v and "true" or "false"
  elseif t == "nil" then return "null"
  elseif t == "table" then
    if v.__raw then return v.__raw end
    if v._order then
      local parts, seen = {}, {}
      for _, k in ipairs(v._order) do
        seen[k] = true
        if v[k] ~= nil then parts[#parts + 1] = json_string(k) .. ":" .. json(v[k]) end
      end
      local rest = {}
      for k in pairs(v) do
        if type(k) == "string" and k ~= "_order" and not seen[k] then rest[#rest + 1] = k end
      end
      table.sort(rest)
      for _, k in ipairs(rest) do parts[#parts + 1] = json_string(k) .. ":" .. json(v[k]) end
      return "{" .. table.concat(parts, ",") .. "}"
    end
    local parts = {}
    for i = 1, #v do parts[i] = json(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  return "null"
end
lib.json = json

--- An object with keys in the given order: obj("op", "linear", "weight", "w").
function lib.obj(...)
  local o, n = {_order = {}}, select("#", ...)
  for i = 1, n, 2 do
    local k, v = select(i, ...)
    o._order[#o._order + 1] = k
    o[k] = v
  end
  return o
end

------------------------------------------------------------------------------------------------
-- Tensor bytes.

local function f16bits(x)
  if x ~= x then return 0x7E00 end
  local sign = 0
  if x < 0 or (x == 0 and 1 / x < 0) then sign = 0x8000; x = -x end
  if x == 0 then return sign end
  if x >= 65520 then return sign | 0x7C00 end
  if x < 2^-25 then return sign end
  local e = math.floor(math.log(x, 2))
  if 2.0^e > x then e = e - 1 elseif 2.0^(e + 1) <= x then e = e + 1 end
  if e < -14 then return sign | math.floor(x / 2^-24 + 0.5) end
  local m = math.floor((x / 2.0^e - 1) * 1024 + 0.5)
  if m == 1024 then m = 0; e = e + 1 end
  if e > 15 then return sign | 0x7C00 end
  return sign | ((e + 15) << 10) | m
end
lib.f16bits = f16bits

local packers = {
  F64 = function(x) return string.pack("<d", x) end,
  F32 = function(x) return string.pack("<f", x) end,
  BF16 = function(x) return string.pack("<f", x):sub(3, 4) end,
  F16 = function(x) return string.pack("<I2", f16bits(x)) end,
}
local function int_packer(fmt, lo, hi)
  return function(x)
    if x ~= x then x = 0 end
    x = math.floor(math.max(lo, math.min(hi, x * 4)))
    return string.pack(fmt, math.tointeger(x) or 0)
  end
end
packers.I64 = int_packer("<i8", -2^62, 2^62)
packers.I32 = int_packer("<i4", -2^31, 2^31 - 1)
packers.I16 = int_packer("<i2", -32768, 32767)
packers.I8 = int_packer("<i1", -128, 127)
packers.U64 = int_packer("<I8", 0, 2^62)
packers.U32 = int_packer("<I4", 0, 2^32 - 1)
packers.U16 = int_packer("<I2", 0, 65535)
packers.U8 = int_packer("<I1", 0, 255)
packers.BOOL = function(x) return string.pack("<I1", (x ~= 0 and x == x) and 1 or 0) end

lib.dtype_size = {F64 = 8, F32 = 4, F16 = 2, BF16 = 2, I64 = 8, I32 = 4, I16 = 2, I8 = 1,
                  U64 = 8, U32 = 4, U16 = 2, U8 = 1, BOOL = 1}
lib.dtypes = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL"}

function lib.count(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return n
end

--- The bytes of a tensor: `values` is a list of numbers, or {fill = x, n = count} for a
--- constant tensor (cheap for large ones).
function lib.tensor_bytes(values, dtype)
  local pack = packers[dtype] or packers.F32
  if values.fill then return string.rep(pack(values.fill), values.n) end
  local parts = {}
  for i = 1, #values do parts[i] = pack(values[i]) end
  return table.concat(parts)
end

------------------------------------------------------------------------------------------------
-- Safetensors: header length (8 bytes LE), JSON header, data.

--- Encodes tensors {name=, dtype=, shape=, values= | bytes=, offsets=?, entry=? (raw header
--- value), extra=? (extra keys)} with metadata (an ordered object or raw). Offsets not given
--- are consecutive. Returns the file bytes and the header text.
function lib.safetensors(tensors, metadata, opts)
  opts = opts or {}
  local header = {_order = {}}
  local datas, offset = {}, 0
  local entries = {}
  if metadata ~= nil and not opts.metadata_last then entries[#entries + 1] = {"__metadata__", metadata} end
  for _, t in ipairs(tensors) do
    local bytes = t.bytes or lib.tensor_bytes(t.values, t.dtype)
    datas[#datas + 1] = bytes
    local entry = t.entry
    if entry == nil then
      entry = lib.obj("dtype", t.dtype_label or t.dtype, "shape", t.shape_label or t.shape,
                      "data_offsets", t.offsets or {offset, offset + #bytes})
      if t.extra then for k, v in pairs(t.extra) do entry[k] = v end end
    end
    offset = offset + #bytes
    entries[#entries + 1] = {t.name, entry}
  end
  if metadata ~= nil and opts.metadata_last then entries[#entries + 1] = {"__metadata__", metadata} end
  -- Ordered object; duplicate names stay duplicated (the writer does not merge them).
  local parts = {}
  for _, e in ipairs(entries) do parts[#parts + 1] = json_string(e[1]) .. ":" .. json(e[2]) end
  local text = "{" .. table.concat(parts, ",") .. "}"
  if not opts.no_pad then
    while #text % 8 ~= 0 do text = text .. " " end
  end
  local data = table.concat(datas)
  return string.pack("<I8", #text) .. text .. data, text, data
end

------------------------------------------------------------------------------------------------
-- Model builders. A model is
--   {latent = d, data_shape = {...}, tensors = {...}, decoder = {layers}, encoder = {layers}|nil,
--    name = ?, description = ?, dtype = "F32"}
-- where a layer is an ordered object (lib.obj) naming tensors. lib.model_bytes(model) writes it.

local activations = {"relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus", "silu", "gelu"}
lib.activations = activations

local function activation(rng)
  local op = rng:pick(activations)
  if op == "leaky_relu" then return lib.obj("op", op, "slope", 0.2)
  elseif op == "elu" then return lib.obj("op", op, "alpha", 1.0)
  elseif op == "softplus" then return lib.obj("op", op, "beta", 1.0) end
  return lib.obj("op", op)
end
lib.activation = activation

local function randn_values(rng, n, scale)
  local v = {}
  for i = 1, n do v[i] = rng:normal() * scale end
  return v
end

--- Adds a tensor to model m and returns its name.
function lib.add_tensor(m, rng, name, shape, scale, dtype)
  local n = lib.count(shape)
  if n > 2^22 or n < 0 then
    -- Too big to write (a layer sized by a huge network): declared with its shape, one element stored.
    m.tensors[#m.tensors + 1] = {name = name, dtype = dtype or m.dtype, shape = {1}, shape_label = shape, values = {0.01}}
    return name
  end
  m.tensors[#m.tensors + 1] = {name = name, dtype = dtype or m.dtype, shape = shape,
                               values = randn_values(rng, n, scale or (1 / math.sqrt(math.max(1, shape[#shape] or 1))))}
  return name
end

local function linear(m, rng, prefix, i, nin, nout, bias)
  local l = lib.obj("op", "linear", "weight", lib.add_tensor(m, rng, prefix .. "." .. i .. ".weight", {nout, nin}))
  if bias ~= false then l.bias = lib.add_tensor(m, rng, prefix .. "." .. i .. ".bias", {nout}, 0.1); l._order[#l._order + 1] = "bias" end
  return l
end
lib.linear = linear

--- A small MLP decoder (and sometimes an encoder).
function lib.build_mlp(rng)
  local m = {tensors = {}, dtype = rng:pick({"F32", "F32", "F32", "F64", "F16", "BF16"})}
  m.latent = rng:range(1, 4)
  local side = rng:range(1, 4)
  m.data_shape = rng:chance(0.5) and {1, side, side + 1} or {rng:range(1, 12)}
  local dout = lib.count(m.data_shape)
  m.decoder = {}
  local width, k = m.latent, 0
  for _ = 1, rng:range(0, 2) do
    local h = rng:range(1, 8)
    m.decoder[#m.decoder + 1] = linear(m, rng, "decoder", k, width, h, rng:chance(0.9)); k = k + 1
    m.decoder[#m.decoder + 1] = activation(rng); k = k + 1
    width = h
  end
  m.decoder[#m.decoder + 1] = linear(m, rng, "decoder", k, width, dout, rng:chance(0.9)); k = k + 1
  if rng:chance(0.5) then m.decoder[#m.decoder + 1] = lib.obj("op", "sigmoid") end
  if #m.data_shape == 3 and rng:chance(0.3) then m.decoder[#m.decoder + 1] = lib.obj("op", "reshape", "shape", m.data_shape) end
  if rng:chance(0.5) then
    m.encoder = {}
    if #m.data_shape == 3 then m.encoder[1] = lib.obj("op", "flatten") end
    local h = rng:range(1, 6)
    m.encoder[#m.encoder + 1] = linear(m, rng, "encoder", #m.encoder, dout, h)
    m.encoder[#m.encoder + 1] = activation(rng)
    m.encoder[#m.encoder + 1] = linear(m, rng, "encoder", #m.encoder, h, m.latent * rng:range(1, 2))
  end
  return m
end

local function conv_out(h, k, s, p) return (h + 2 * p - k) // s + 1 end
local function convt_out(h, k, s, p, op) return (h - 1) * s - 2 * p + k + op end
lib.conv_out, lib.convt_out = conv_out, convt_out

--- A small conv decoder: linear -> reshape [C,H,W] -> conv_transpose2d -> batchnorm ->
--- activation -> conv2d ... (shapes computed exactly), sometimes with a conv encoder.
function lib.build_conv(rng)
  local m = {tensors = {}, dtype = rng:pick({"F32", "F32", "F64", "F16", "BF16"})}
  m.latent = rng:range(1, 4)
  local c, h, w = rng:range(1, 3), rng:range(1, 3), rng:range(1, 3)
  m.decoder = {linear(m, rng, "decoder", 0, m.latent, c * h * w), lib.obj("op", "reshape", "shape", {c, h, w})}
  local k = 2
  for _ = 1, rng:range(1, 3) do
    local kind = rng:int(4)
    if kind <= 2 then
      local c2, kh, kw = rng:range(1, 3), rng:range(1, 3), rng:range(1, 3)
      local s, p = rng:range(1, 2), rng:range(0, 1)
      local op = rng:range(0, s - 1)
      local h2, w2 = convt_out(h, kh, s, p, op), convt_out(w, kw, s, p, op)
      if h2 >= 1 and w2 >= 1 then
        local l = lib.obj("op", "conv_transpose2d",
          "weight", lib.add_tensor(m, rng, "decoder." .. k .. ".weight", {c, c2, kh, kw}, 0.5))
        if rng:chance(0.8) then l.bias = lib.add_tensor(m, rng, "decoder." .. k .. ".bias", {c2}, 0.1); l._order[#l._order + 1] = "bias" end
        l.stride, l.padding, l.output_padding = {s, s}, (rng:chance(0.5) and {p, p} or p), {op, op}
        l._order[#l._order + 1] = "stride"; l._order[#l._order + 1] = "padding"; l._order[#l._order + 1] = "output_padding"
        m.decoder[#m.decoder + 1] = l
        c, h, w = c2, h2, w2
        k = k + 1
      end
    elseif kind == 3 then
      local c2, kh, kw = rng:range(1, 3), rng:range(1, math.min(3, h)), rng:range(1, math.min(3, w))
      local s, p = rng:range(1, 2), rng:range(0, 1)
      local h2, w2 = conv_out(h, kh, s, p), conv_out(w, kw, s, p)
      if h2 >= 1 and w2 >= 1 then
        local l = lib.obj("op", "conv2d",
          "weight", lib.add_tensor(m, rng, "decoder." .. k .. ".weight", {c2, c, kh, kw}, 0.5))
        if rng:chance(0.8) then l.bias = lib.add_tensor(m, rng, "decoder." .. k .. ".bias", {c2}, 0.1); l._order[#l._order + 1] = "bias" end
        l.stride, l.padding = {s, s}, {p, p}
        l._order[#l._order + 1] = "stride"; l._order[#l._order + 1] = "padding"
        m.decoder[#m.decoder + 1] = l
        c, h, w = c2, h2, w2
        k = k + 1
      end
    else
      local l = lib.obj("op", "batchnorm")
      if rng:chance(0.8) then
        l.weight = lib.add_tensor(m, rng, "decoder." .. k .. ".weight", {c}, 0.5)
        l.bias = lib.add_tensor(m, rng, "decoder." .. k .. ".bias", {c}, 0.1)
        l._order[#l._order + 1] = "weight"; l._order[#l._order + 1] = "bias"
      end
      l.mean = lib.add_tensor(m, rng, "decoder." .. k .. ".mean", {c}, 0.1)
      m.tensors[#m.tensors + 1] = {name = "decoder." .. k .. ".var", dtype = m.dtype, shape = {c},
                                   values = (function() local v = {} for i = 1, c do v[i] = 0.5 + rng:float() end return v end)()}
      l.var = "decoder." .. k .. ".var"
      l.eps = 1e-5
      l._order[#l._order + 1] = "mean"; l._order[#l._order + 1] = "var"; l._order[#l._order + 1] = "eps"
      m.decoder[#m.decoder + 1] = l
      k = k + 1
    end
    m.decoder[#m.decoder + 1] = activation(rng)
    k = k + 1
  end
  if rng:chance(0.3) then
    m.decoder[#m.decoder + 1] = lib.obj("op", "flatten")
    m.data_shape = {c * h * w}
  else
    m.data_shape = {c, h, w}
  end
  if rng:chance(0.4) then
    m.encoder = {}
    if #m.data_shape == 1 then m.encoder[1] = lib.obj("op", "reshape", "shape", {c, h, w}) end
    local c2 = rng:range(1, 2)
    m.encoder[#m.encoder + 1] = lib.obj("op", "conv2d", "weight",
      lib.add_tensor(m, rng, "encoder." .. #m.encoder .. ".weight", {c2, c, 1, 1}, 0.5), "stride", 1, "padding", 0)
    m.encoder[#m.encoder + 1] = activation(rng)
    m.encoder[#m.encoder + 1] = lib.obj("op", "flatten")
    m.encoder[#m.encoder + 1] = linear(m, rng, "encoder", #m.encoder, c2 * h * w, m.latent * 2)
  end
  return m
end

--- The metadata object of a model (ordered), with `override` (key -> string | false | raw).
function lib.metadata(m)
  local meta = lib.obj("georepl.format", "1",
    "georepl.latent_dim", tostring(m.latent),
    "georepl.data_shape", json(m.data_shape),
    "georepl.decoder", m.decoder_text or json(m.decoder))
  if m.encoder or m.encoder_text then
    meta._order[#meta._order + 1] = "georepl.encoder"
    meta["georepl.encoder"] = m.encoder_text or json(m.encoder)
  end
  if m.name then meta._order[#meta._order + 1] = "georepl.name"; meta["georepl.name"] = m.name end
  if m.description then meta._order[#meta._order + 1] = "georepl.description"; meta["georepl.description"] = m.description end
  for k, v in pairs(m.meta_override or {}) do
    if v == false then meta[k] = nil
    else
      if meta[k] == nil then meta._order[#meta._order + 1] = k end
      meta[k] = v
    end
  end
  return meta
end

--- The bytes of model m as a safetensors file.
function lib.model_bytes(m)
  local meta = m.metadata_raw or lib.metadata(m)
  return lib.safetensors(m.tensors, meta, m.st_opts)
end

--- Writes bytes to a file; returns true or nil, message.
function lib.write_file(path, bytes)
  local f, e = io.open(path, "wb")
  if not f then return nil, e end
  f:write(bytes)
  f:close()
  return true
end

------------------------------------------------------------------------------------------------
-- Outcomes: how a call's pcall result is classified and logged (the three fuzzers).

--- True for the error a Ctrl-C raises ("interrupted", alone, first, or after a location).
function lib.is_interrupt(e)
  return type(e) == "string" and (e == "interrupted" or e:match(": interrupted$") ~= nil or e:match("^interrupted") ~= nil)
end

--- ok | error | unclear | interrupted for pcall's (ok, e), and a note for unclear ones: an
--- error is clean when it is a string that reads as a message (not empty, under 1000 bytes,
--- no "(null)", no raw control characters).
function lib.classify(ok, e)
  if ok then return "ok" end
  if lib.is_interrupt(e) then return "interrupted" end
  if type(e) ~= "string" then return "unclear", "error value is a " .. type(e) end
  if e == "" then return "unclear", "empty message" end
  if #e >= 1000 then return "unclear", "message of " .. #e .. " bytes" end
  if e:find("(null)", 1, true) then return "unclear", "(null) in message" end
  if lib.has_control(e) then return "unclear", "raw control characters" end
  return "error"
end

--- The end of a log line: "OUTCOME TIMEs[ UNCLEAR(note)][ message]" (the message escaped and
--- cut to 200 characters, or <type> for a non-string error value).
function lib.outcome_text(outcome, note, dt, ok, e)
  local msg = ""
  if not ok then msg = type(e) == "string" and lib.escape(e, 200) or ("<" .. type(e) .. ">") end
  return string.format("%s %.3fs%s%s", outcome, dt, note and (" UNCLEAR(" .. note .. ")") or "", msg ~= "" and (" " .. msg) or "")
end

return lib
